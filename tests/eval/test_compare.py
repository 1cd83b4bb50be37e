"""``dqe eval RUN_A --against RUN_B``: two runs of the tiny Llama on the same test split, side
by side; runs tested on other records are refused."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dqe.cli import main

pytestmark = [pytest.mark.train, pytest.mark.slow]


def another_run(trained_run, tmp_path, monkeypatch, overrides):
    """A second run like ``trained_run``, with its config changed by ``overrides``."""
    from dqe.engine.train_config import build_config
    from dqe.train.run import train
    from dqe.train.runfolder import read_json

    monkeypatch.chdir(trained_run.parents[1])  # where the data was filtered: the gate reads its config here
    monkeypatch.setenv("DQE_DISABLE_PLUGINS", "all")
    table = {**read_json(trained_run / "train_config.json"), "out": str(tmp_path / "b")}
    train(build_config(table, overrides), echo=False)
    return tmp_path / "b"


def test_a_run_on_all_records_against_one_on_those_that_passed(torch_extra, trained_run, tmp_path, monkeypatch):
    """``trained_run`` trained on the records that passed dqe's rules; B on every record, tested
    on A's test records (``split.test-from``)."""
    import dqe

    root = trained_run.parents[1]
    monkeypatch.chdir(root)
    dqe.filter(root / "data.jsonl", tmp_path / "all.jsonl", tmp_path / "none.jsonl", select=["DQ001"])
    every, passed = (len(p.read_text().splitlines()) for p in (tmp_path / "all.jsonl", root / "ok.jsonl"))
    assert every > passed  # the rules rejected some records: the runs trained on different data
    run_b = another_run(
        trained_run,
        tmp_path,
        monkeypatch,
        {"data": tmp_path / "all.jsonl", "split.test_from": trained_run, "max_steps": 2},
    )
    args = ["eval", str(trained_run), "--against", str(run_b), "--max-new-tokens", "4", "--quiet"]
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    c = json.loads(result.output)

    a_report = json.loads((trained_run / "eval" / "report.json").read_text())
    b_report = json.loads((run_b / "eval" / "report.json").read_text())
    metrics = {m["name"]: m for m in c["metrics"]}
    tuned = {r: {m["name"]: m["tuned"] for m in report["metrics"]} for r, report in (("a", a_report), ("b", b_report))}
    for name in ("loss", "perplexity", "rouge1", "rouge2", "rougeL"):
        assert metrics[name]["a"] == tuned["a"][name] and metrics[name]["b"] == tuned["b"][name]
        assert metrics[name]["diff"] == pytest.approx(tuned["a"][name] - tuned["b"][name])
    assert metrics["loss"]["a"] != pytest.approx(metrics["loss"]["b"], rel=1e-4)  # 6 steps against 2
    rules = {r["code"]: r for r in c["rules"]}
    assert {"DQ001", "any"} <= set(rules)
    assert rules["any"]["diff"] == pytest.approx(rules["any"]["a_share"] - rules["any"]["b_share"])
    assert sum(c["closer"].values()) == a_report["test"]["evaluated"] == c["test_records"] == 8
    page = (trained_run / "eval" / "comparison.html").read_text()
    assert str(run_b) in page and "Metrics of the tuned models" in page
    assert json.loads((trained_run / "eval" / "comparison.json").read_text())["metrics"] == c["metrics"]

    text = CliRunner().invoke(main, args).output
    assert f"dqe eval {trained_run} --against" in text and "answers closer to the reference (ROUGE-L): A " in text


def test_runs_tested_on_other_records_are_refused_naming_both(torch_extra, trained_run, tmp_path, monkeypatch):
    run_b = another_run(trained_run, tmp_path, monkeypatch, {"max_steps": 1, "seed": 7})  # another seed: another split
    result = CliRunner().invoke(main, ["eval", str(trained_run), "--against", str(run_b), "--quiet"])
    assert result.exit_code == 2
    assert f"{trained_run} and {run_b} were tested on different records" in result.output


def test_a_test_split_from_a_run_on_other_records_is_refused(torch_extra, trained_run, tmp_path, monkeypatch):
    from dqe.errors import ConfigError
    from dqe.train.runfolder import read_json

    other = tmp_path / "other"
    other.mkdir()
    ids = read_json(trained_run / "split.json")["test_ids"]
    (other / "split.json").write_text(json.dumps({"test_ids": [*ids, "0123456789abcdef"]}))
    with pytest.raises(
        ConfigError, match=f"'split.test-from': 1 of the {len(ids) + 1} test records of {other} are not"
    ):
        another_run(trained_run, tmp_path, monkeypatch, {"split.test_from": other})
