"""`--engine ray` gives the local engine's report, outputs and manifest, on hard cases cut into
many read ranges and batches, and stops (exit code 2) where it cannot do the same."""

from __future__ import annotations

import gc
import json
import random
import tempfile
from types import SimpleNamespace

import polars as pl
import pytest
from click.testing import CliRunner

import dqe
from dqe import hookimpl
from dqe.cli import main
from dqe.report.manifest import manifest_path

pytest.importorskip("ray.data", reason="the [ray] extra is not installed: pip install -e '.[ray]'")

WORDS = [
    "river",
    "mountain",
    "orange",
    "quickly",
    "library",
    "teacher",
    "window",
    "garden",
    "silver",
    "engine",
    "market",
    "yellow",
    "ancient",
    "forest",
    "simple",
    "measure",
    "honest",
    "bridge",
    "thunder",
    "paper",
    "rocket",
    "planet",
    "kitchen",
    "gentle",
]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def hard_cases(folder):
    """A folder of every container and the records that decide duplicates and validity."""
    rng = random.Random(7)
    base = [
        {"instruction": sentence(rng, 8) + " Explain why.", "input": "", "output": sentence(rng, 40)} for _ in range(30)
    ]
    lines = [json.dumps(r) for r in base]
    # near-duplicate chains (A~B~C with A and C further apart), exact copies up to case and spaces,
    # copies of a record other rules reject (empty answer), and records of equal quality
    for i in range(0, 12, 3):
        words = base[i]["output"].split()
        for step in (1, 2):
            edited = list(words)
            for k in range(step * 2):
                edited[(k * 7 + step) % len(edited)] = "zebra"
            lines.append(json.dumps({**base[i], "output": " ".join(edited)}))
        lines.append(json.dumps({**base[i], "instruction": base[i]["instruction"].upper() + "  "}))
    empty = {"instruction": "Summarize the text.", "input": "Some text.", "output": ""}
    lines += [json.dumps(empty), json.dumps(empty), "", "   ", "{not json", "[1, 2]", '{"instruction": 5}']
    lines += [
        json.dumps(
            {"instruction": "你好，请介绍一下长城。", "input": "", "output": "长城是中国古代的军事防御工程。" * 3}
        )
    ]
    lines += [json.dumps({**base[5], "_dqe": {"note": "a field of the data's own"}})]
    lines += [
        '{"instruction": "Add them.", "input": "", "output": "12345678901234567890123", "id": 12345678901234567890123}'
    ]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "b_bom.jsonl").write_bytes("\ufeff".encode() + "\n".join(lines[:4]).encode() + b"\n")
    (folder / "c_utf16.jsonl").write_text("\n".join(lines[3:9]) + "\n", encoding="utf-16")
    array = [*base[:4], base[1], {"conversations": "not a list"}]
    (folder / "d_array.json").write_text(json.dumps(array), encoding="utf-8")
    pl.DataFrame(base[10:16]).write_parquet(folder / "e.parquet")
    return folder


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    # many batches of a few records; a report's sample shorter than some rules' findings
    (tmp_path / "dqe.toml").write_text("batch-size = 7\nfindings-per-rule = 3\n")
    return hard_cases(folder)


def report(*args, complete: bool = True) -> dict:
    flags = ["--format", "json", *(["--all-findings"] if complete else [])]
    result = CliRunner().invoke(main, ["check", *map(str, args), *flags])
    assert result.exit_code in (0, 1), result.output
    found = json.loads(result.stdout)  # Ray may warn on stderr (memory, load): the report is stdout
    found.pop("timings", None)
    return found


@pytest.mark.slow  # a local cluster's parity runs: about 30 s each on two cores (CI's slow step runs them)
def test_check_reports_as_the_local_engine(ray_cluster, small_ranges, data):
    local, ray = report(data), report(data, "--engine", "ray")
    assert ray == local
    # the default report's first findings of each rule, sampled from the shards without gathering them
    sampled = report(data, complete=False)
    assert report(data, "--engine", "ray", complete=False) == sampled
    assert not sampled["findings_complete"] and len(sampled["findings"]) < len(local["findings"])
    assert local["summary"]["invalid"] == 4 and local["summary"]["rejected"] > 0
    assert {f["code"] for f in local["findings"]} >= {"DQ000", "DQ401", "DQ402"}
    bad = {f["source"].rsplit("/", 1)[-1] for f in local["findings"] if f["code"] == "DQ000"}
    # by file and line; a JSON array on one line by the record's number in it
    assert bad == {"a.jsonl:47", "a.jsonl:48", "a.jsonl:49", "d_array.json:6"}
    # --format jsonl: the local engine's lines, written a task's records at a time, never gathered
    from dqe.report.render.jsonl import render_jsonl, stream_jsonl

    on_ray, written = dqe.check(data, engine="ray"), []
    stream_jsonl(on_ray, written.append)
    assert len(written) > 1 and "".join(written) == render_jsonl(dqe.check(data))
    assert "table" not in vars(on_ray._records.frames) and "findings" not in vars(on_ray._records.frames)


@pytest.mark.slow  # a local cluster's parity runs: about 30 s each on two cores (CI's slow step runs them)
def test_filter_writes_what_the_local_engine_writes(ray_cluster, small_ranges, data, tmp_path):
    outputs = {}
    for engine in ("local", "ray"):
        passed, rejected = tmp_path / f"{engine}-ok.jsonl", tmp_path / f"{engine}-bad.jsonl"
        code, out = run("filter", data, "--passed", passed, "--rejected", rejected, "--engine", engine)
        assert code in (0, 1), out
        manifest = json.loads(manifest_path(passed).read_text())
        outputs[engine] = (passed.read_bytes(), rejected.read_bytes(), manifest["passed_ids_sha256"])
    assert outputs["ray"] == outputs["local"]


@pytest.mark.slow  # a local cluster's run and a local one: about 40 s on two cores
def test_a_task_joins_two_batches_as_the_local_engine_does(ray_cluster, data, tmp_path, monkeypatch):
    from dqe.ray.shards import first_of, shards

    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))  # where the run's folder of shards is made
    on_ray = dqe.check(data, engine="ray", batch_size=7, complete=True)
    (folder,) = runs.glob("dqe-ray-run-*")  # Ray may make its own there, the first time it reads
    # a.jsonl (50 records) is one read range, and so a part: its batches of 7 checked two at a time
    # (a shard a task); each of the other files holds the start of one batch, checked alone
    firsts = [first_of(path) for path in shards(str(folder), "report")]
    assert firsts == [0, 14, 28, 42, 56, 63, 70]
    # what DQ402 collects is still collected batch by batch: the local engine's report
    local = dqe.check(data, batch_size=7, complete=True)
    assert on_ray.model_dump(exclude={"timings"}) == local.model_dump(exclude={"timings"})


@pytest.mark.slow  # a local cluster's run: about 30 s on two cores
def test_the_driver_keeps_no_row_per_record(ray_cluster, small_ranges, data, tmp_path, monkeypatch):
    from dqe.api import make_engine
    from dqe.ray.exact_duplicates import exact_duplicates
    from dqe.ray.frames import ShardFrames

    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))  # where the run's folder of shards is made
    grouped = []  # DQ401 found by a group-by on the cluster, not by the rule on one table
    monkeypatch.setattr(
        "dqe.ray.engine.exact_duplicates",
        lambda *args, found=exact_duplicates: grouped.append(found(*args)) or grouped[-1],
    )
    engine = make_engine(overrides={"engine": "ray", "batch_size": 7})
    result = engine.run(data)
    assert len(grouped) == 1 and grouped[0].failed.height == 27
    # counted on the cluster: the driver read no shard to count
    frames = result.frames
    assert isinstance(frames, ShardFrames) and result.count("passed") > 0 and frames.total == 72
    assert "table" not in vars(frames) and "findings" not in vars(frames)
    # the kept columns (what DQ402 collected: shingle sets) are gone; a report's columns are read when asked
    (folder,) = runs.glob("dqe-ray-run-*")
    assert not list(folder.glob("kept-*")) and list(folder.glob("report-*"))
    assert set(result.table.columns) <= set(engine.record_columns())
    assert {"_idx", "_id", "category_pred", "tokens_total"} <= set(result.table.columns)
    assert result.table.height == 68 and result.invalid.height == 4
    assert {f["code"] for f in result.findings.to_dicts()} >= {"DQ401", "DQ402"}
    del result, frames
    gc.collect()
    assert not list(runs.glob("dqe-ray-run-*"))  # the shards are gone with the result


def test_a_worker_with_other_plugins_stops_the_run(ray_cluster, data, monkeypatch):
    # as a node would where a plugin package is missing or of another version
    monkeypatch.setattr(
        "dqe.ray.engine.plugin_fingerprint", lambda registry: [("ghost", "dqe-ghost", "1.0", False, "")]
    )
    code, out = run("check", data / "a.jsonl", "--engine", "ray")
    assert code == 2
    assert "differ from the driver's" in out and "dqe-ghost" in out


def test_the_record_stage_actors_start_as_the_local_engines_workers(monkeypatch):
    # polars keeps the memory it frees and runs, with OpenBLAS, on the actor's one core
    from dqe.api import make_engine

    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "dirty_decay_ms:500,muzzy_decay_ms:1000")  # what polars' import writes
    asked = {}

    class Read:
        def map_batches(self, stage, **options):
            asked.update(options)

    make_engine(overrides={"engine": "ray"})._record_stage(Read(), SimpleNamespace(files=[]), [], 7, actors=2)
    started = asked["runtime_env"]["env_vars"]
    assert started["POLARS_MAX_THREADS"] == started["OPENBLAS_NUM_THREADS"] == "1"
    assert started["_RJEM_MALLOC_CONF"].endswith(",dirty_decay_ms:-1,muzzy_decay_ms:-1")


class InProcessPlugin:
    """A plugin registered from code: it lives in this process only."""

    @hookimpl
    def dqe_register_rules(self, register):
        pass


def test_what_the_ray_engine_cannot_do_yet_is_refused():
    from dqe.api import check
    from dqe.errors import ConfigError

    with pytest.raises(ConfigError, match="reads files"):
        check([{"instruction": "Hi", "output": "Hello"}], engine="ray")
    with pytest.raises(ConfigError, match="--workers"):
        check([{"instruction": "Hi", "output": "Hello"}], engine="ray", workers=2)
    with pytest.raises(ConfigError, match="registered from code"):
        check([{"instruction": "Hi", "output": "Hello"}], engine="ray", plugins=[InProcessPlugin()])


@pytest.mark.slow
def test_the_shared_data_reports_as_on_the_local_engine(ray_cluster):
    from tests.support import ROOT

    data = ROOT.parent / "shared" / "data"
    if not data.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    assert report(data, "--engine", "ray") == report(data)
