"""The Python API for notebooks and pipelines: paths, lists of dicts or Records, and polars frames."""

from __future__ import annotations

import json

import polars as pl
import pytest

import dqe
from dqe.errors import ConfigError

GOOD = {"instruction": "Name a primary colour.", "output": "Red."}
BAD = {"instruction": "Name a secondary colour.", "output": "  "}


def test_check_a_list_of_dicts():
    report = dqe.check([GOOD, BAD])
    assert (report.summary.records, report.summary.passed, report.summary.rejected) == (2, 1, 1)
    records = report.records
    assert records.columns == ["record", "source", "id", "status", "codes", "reasons"]
    assert records["status"].to_list() == ["passed", "rejected"]
    assert records["source"].to_list() == ["<records>:1", "<records>:2"]
    assert records["reasons"][1].to_list() == ["DQ001: empty answer"]


def test_check_a_polars_frame_and_get_every_finding():
    frame = pl.DataFrame([GOOD, BAD, {**BAD, "instruction": "Name a warm colour."}])
    report = dqe.check(frame, findings_per_rule=1)
    assert len(report.findings) == 1
    assert report.findings_frame.height == 2


def _conversation(answer: str, **original) -> dqe.Record:
    turns = [dqe.Turn(role="user", content="Name a primary colour."), dqe.Turn(role="assistant", content=answer)]
    return dqe.Record(turns=turns, format="openai", original=original)


def test_check_records_as_they_are():
    report = dqe.check([_conversation("Red."), _conversation("  ")])
    assert report.records["status"].to_list() == ["passed", "rejected"]
    assert "DQ001: empty answer" in report.records["reasons"][1].to_list()


def test_records_give_the_same_ids_as_their_objects():
    """A Record's id is that of the object its format writes, so the same record read from a
    file and handed over in memory is one record."""
    obj = {
        "messages": [{"role": "user", "content": "Name a primary colour."}, {"role": "assistant", "content": "Red."}]
    }
    # an id is the record's, whatever rules run: one cheap rule is enough
    from_dict = dqe.check([obj], select=["DQ001"]).records["id"][0]
    from_record = dqe.check([_conversation("Red.", messages=obj["messages"])], select=["DQ001"]).records["id"][0]
    assert from_dict == from_record


def test_filter_writes_records_in_their_format_with_their_other_keys(tmp_path):
    result = dqe.filter(
        [_conversation("Red.", id=7), _conversation("  ", id=8)],
        passed=tmp_path / "passed.jsonl",
        rejected=tmp_path / "rejected.jsonl",
    )
    assert (result.outputs.passed, result.outputs.rejected) == (1, 1)
    passed = [json.loads(line) for line in (tmp_path / "passed.jsonl").read_text().splitlines()]
    assert passed == [
        {
            "id": 7,
            "messages": [
                {"role": "user", "content": "Name a primary colour."},
                {"role": "assistant", "content": "Red."},
            ],
        }
    ]


def test_records_mixed_with_dicts_are_refused():
    with pytest.raises(dqe.InputError, match="<records>:2: a dict among Records"):
        dqe.check([_conversation("Red."), GOOD])


def test_overrides_are_config_keys():
    report = dqe.check([GOOD], select=["DQ101"], rules={"DQ101": {"max-tokens": 3}})
    assert [r.code for r in report.rules] == ["DQ000", "DQ101"]
    assert report.summary.rejected == 1


def test_bad_override_is_a_config_error():
    with pytest.raises(ConfigError, match="rules.DQ101.max-tokens"):
        dqe.check([GOOD], rules={"DQ101": {"max-tokens": -1}})
    with pytest.raises(ConfigError, match="unknown key 'batch-sizes'"):
        dqe.check([GOOD], config={"batch-sizes": 3})


def test_filter_writes_files_and_returns_counts(tmp_path):
    result = dqe.filter([GOOD, BAD], tmp_path / "ok.parquet", tmp_path / "bad.jsonl")
    assert (result.outputs.passed, result.outputs.rejected) == (1, 1)
    assert pl.read_parquet(tmp_path / "ok.parquet").to_dicts() == [GOOD]
    assert result.manifest.name == "ok.parquet.manifest.json"


def test_record_ids_do_not_depend_on_layout(tmp_path):
    one = dqe.check([{"instruction": "a", "output": "b"}], select=["DQ001"]).records["id"][0]
    two = dqe.check([{"output": "b", "instruction": "a"}], select=["DQ001"]).records["id"][0]
    assert one == two


def test_progress_hears_each_phase_and_the_share_of_the_input_read(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({**GOOD, "instruction": f"Name colour {i}."}) + "\n" for i in range(45)))
    heard = []
    dqe.filter(data, tmp_path / "ok.jsonl", tmp_path / "bad.jsonl", progress=heard.append, batch_size=10)
    reading = [p for p in heard if p.phase == "reading"]
    # heard after each task: the first batch alone, then two batches at a time (TASK_BATCHES)
    assert [p.records for p in reading] == [10, 30, 45]
    assert all(p.total == data.stat().st_size for p in reading) and reading[-1].done == data.stat().st_size
    assert [p.done for p in reading] == sorted(p.done for p in reading)
    assert [p.phase for p in heard].index("dataset rules") > len(reading) - 1
    assert heard[-1].phase == "writing" or "writing" not in [p.phase for p in heard]  # written in one chunk here


def test_progress_of_records_in_memory_has_no_total():
    heard = []
    dqe.check([GOOD, BAD], progress=heard.append)
    assert [(p.phase, p.records, p.total) for p in heard] == [("reading", 2, None), ("dataset rules", 2, None)]
