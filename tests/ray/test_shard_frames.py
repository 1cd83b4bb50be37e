"""A Ray run's frames left in its shards answer what the held frames answer: the report's
sample of findings read shard by shard, the frames read whole only when asked for."""

from __future__ import annotations

import gc

import polars as pl
import pytest

pytest.importorskip("pyarrow", reason="pyarrow comes with the [ray] extra: pip install -e '.[ray]'")

from dqe.engine.engine import FINDINGS_SCHEMA  # noqa: E402
from dqe.engine.frames import RecordFrames  # noqa: E402
from dqe.ray.dataset_stage import totals  # noqa: E402
from dqe.ray.frames import ShardFrames  # noqa: E402
from dqe.ray.shards import DATASET_FINDINGS, INVALID_SCHEMA, read, shard  # noqa: E402


def finding(idx: int, code: str, severity: str = "error") -> dict:
    return {
        "_idx": idx,
        "code": code,
        "severity": severity,
        "score": 1.0,
        "message": f"{code} on {idx}",
        "turn": None,
        "evidence": None,
        "error": False,
    }


def a_run(folder: str) -> RecordFrames:
    """30 records in batches of 10 (record 13 unreadable), as the record stage and the data-set
    stage write them; the same frames held."""
    valid = [i for i in range(30) if i != 13]
    table = pl.DataFrame(
        {"_idx": valid, "_file": [0] * 29, "_line": [i + 1 for i in valid], "_id": [f"id{i}" for i in valid]},
        schema={"_idx": pl.UInt64, "_file": pl.UInt32, "_line": pl.UInt32, "_id": pl.String},
    )
    # DQ201 on every third record, in the order a batch's rules give them (not by record); DQ402 late in the input
    record_rules = [finding(i, "DQ201") for i in reversed(valid) if i % 3 == 0]
    record_rules += [finding(i, "DQ210", "info") for i in valid if i % 4 == 1]
    findings = pl.DataFrame(record_rules, schema=FINDINGS_SCHEMA)
    dataset = pl.DataFrame([finding(i, "DQ402") for i in (28, 22, 25, 29)], schema=FINDINGS_SCHEMA)
    invalid = pl.DataFrame([(13, 0, 14, "malformed JSON")], schema=INVALID_SCHEMA, orient="row")
    for first in (0, 10, 20):
        batch = pl.col("_idx").is_between(first, first + 9)
        table.filter(batch).write_parquet(shard(folder, "report", first))
        findings.filter(batch).write_parquet(shard(folder, "findings", first))
    invalid.write_parquet(shard(folder, "invalid", 10))
    dataset.sort("_idx", maintain_order=True).write_parquet(f"{folder}/{DATASET_FINDINGS}")
    return RecordFrames(table, pl.concat([findings, dataset]), invalid)


def test_the_sample_of_findings_is_the_held_frames_sample(tmp_path, monkeypatch):
    from dqe.ray import frames

    held = a_run(str(tmp_path))
    read_at_once = []  # the sample's ids are read a report shard at a time
    monkeypatch.setattr(frames, "read", lambda paths, *args: read_at_once.append(len(paths)) or read(paths, *args))
    counted = totals(held, set())  # as the data-set stage's task counts them
    assert counted == {"total": 30, "passed": 15, "rejected": 14, "invalid": 1, "deselected": 0, "findings": 21}
    stored = ShardFrames(str(tmp_path), counted)
    for per_rule in (0, 2, 5, 100):
        mine, theirs = stored.sample(per_rule), held.sample(per_rule)
        assert mine[0].sort("_idx", "code").equals(theirs[0].sort("_idx", "code"))
        assert mine[1].equals(theirs[1])
    assert stored.sample(2)[0].sort("_idx", "code")["_id"].to_list() == ["id0", "id1", "id3", "id5", "id22", "id25"]
    assert (stored.total, stored.count("rejected"), stored.findings_count) == (30, 14, 21)
    assert "table" not in vars(stored) and "findings" not in vars(stored)  # nothing read whole
    assert set(read_at_once) == {1}


def test_the_frames_are_read_whole_when_asked_and_go_with_their_folder(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    held = a_run(str(folder))
    stored = ShardFrames(str(folder), {})
    assert stored.table.equals(held.table)
    assert stored.findings.sort("_idx", "code").equals(held.findings.sort("_idx", "code"))
    assert stored.invalid.equals(held.invalid)
    assert stored.statuses.equals(held.statuses)
    del stored
    gc.collect()
    assert not folder.exists()


def test_a_view_written_record_by_record_reads_a_task_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr("dqe.ray.frames.ROWS_AT_ONCE", 1)  # the data-set rules' findings a row at a time
    held = a_run(str(tmp_path))
    parts = list(ShardFrames(str(tmp_path), {}).parts())
    assert [part.statuses["_idx"].to_list() for part in parts] == [list(range(k, k + 10)) for k in (0, 10, 20)]
    assert [part.invalid["_idx"].to_list() for part in parts] == [[], [13], []]
    # each task's findings with the data-set rules' on its records (DQ402 on 22, 25, 28 and 29)
    assert [part.findings.filter(pl.col("code") == "DQ402").height for part in parts] == [0, 0, 4]
    assert pl.concat([part.statuses for part in parts]).equals(held.statuses)
    together = pl.concat([part.findings for part in parts]).sort("_idx", "code", maintain_order=True)
    assert together.equals(held.findings.sort("_idx", "code", maintain_order=True))
