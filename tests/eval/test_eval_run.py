"""``dqe eval`` on a run of ``dqe train`` (the tiny Llama, on CPU): the metrics printed, the
reports and generations written, base against tuned."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from eval_support import BananaPlugin

from dqe.cli import main

pytestmark = [pytest.mark.train, pytest.mark.slow]


def test_dqe_eval_prints_the_metrics_and_writes_the_reports(torch_extra, trained_run):
    result = CliRunner().invoke(
        main, ["eval", str(trained_run), "--max-new-tokens", "8", "--batch-size", "3", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert f"dqe eval {trained_run}" in text
    for line in (
        "loss",
        "perplexity",
        "rouge1",
        "rouge2",
        "rougeL",
        "unfinished",
        "DQ001",
        "DQ302",
        "any",
    ):
        assert any(row.split()[:1] == [line] for row in text.splitlines()), line

    out = trained_run / "eval"
    report = json.loads((out / "report.json").read_text())
    manifest = json.loads((trained_run / "run.json").read_text())
    metrics = {m["name"]: m for m in report["metrics"]}
    # the trainer's own batches and loss: the tuned model's test loss is the one dqe train wrote
    assert metrics["loss"]["tuned"] == pytest.approx(manifest["losses"]["test"], rel=1e-5)
    assert metrics["loss"]["base"] != pytest.approx(metrics["loss"]["tuned"], rel=1e-3)
    assert metrics["perplexity"]["base"] == pytest.approx(math.exp(metrics["loss"]["base"]))
    assert metrics["loss"]["diff"] == pytest.approx(metrics["loss"]["tuned"] - metrics["loss"]["base"])
    assert report["test"] == {**report["test"], "records": 8, "evaluated": 8, "loss_records": 8}
    assert report["settings"]["max_new_tokens"] == 8 and report["settings"]["temperature"] == 0.0

    rows = [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]
    tests = [json.loads(line) for line in (trained_run / "test.jsonl").read_text().splitlines()]
    assert [r["reference"] for r in rows] == [t["output"] for t in tests]
    assert all(
        r["prompt"].startswith("<s>Below is an instruction") and r["prompt"].endswith("### Response:\n") for r in rows
    )
    for row in rows:
        for model in ("base", "tuned"):
            answer = row[model]
            assert 1 <= answer["tokens"] <= 8 and answer["stopped"] in ("eos", "length")
            assert 0 <= answer["rougeL"] <= 1 and isinstance(answer["flags"], list)
    assert rows[0]["base"]["text"] != rows[0]["tuned"]["text"]
    html = (out / "report.html").read_text()
    assert html.count('<tr class="record"') == 8 and "dqe evaluation report" in html


def test_sampling_a_limit_the_rules_chosen_and_similarity(torch_extra, trained_run, embedding_model, tmp_path):
    from dqe.eval.report import EvalSettings
    from dqe.eval.run import evaluate

    settings = EvalSettings(
        limit=3,
        max_new_tokens=6,
        temperature=1.0,
        top_p=0.9,
        seed=7,
        rules=["DQ001", "EVL901"],
        embedding_model=embedding_model,
    )
    first = evaluate(trained_run, settings, out=tmp_path / "a", plugins=[BananaPlugin()], echo=False).report
    again = evaluate(trained_run, settings, out=tmp_path / "b", plugins=[BananaPlugin()], echo=False).report
    assert (first.test.evaluated, first.test.loss_records) == (3, 3)
    assert [r.code for r in first.rules] == ["DQ001", "EVL901", "any"]
    assert [e.tuned.text for e in first.examples] == [e.tuned.text for e in again.examples]  # seeded
    assert (tmp_path / "a" / "generations.jsonl").read_text().count("\n") == 3
    similarity = first.metric("similarity")
    assert -1 <= similarity.tuned <= 1 and similarity.tuned == pytest.approx(
        sum(e.tuned.similarity for e in first.examples) / 3
    )


def test_usage_errors_stop_before_any_generation(torch_extra, trained_run, tmp_path):
    runner = CliRunner()
    rules = runner.invoke(main, ["eval", str(trained_run), "--rules", "XYZ9", "--out", str(tmp_path / "r")])
    assert rules.exit_code == 2 and "'select': 'XYZ9' matches no rule" in rules.output
    folder = runner.invoke(main, ["eval", str(trained_run), "--embedding-model", str(tmp_path / "none")])
    assert folder.exit_code == 2 and "--embedding-model" in folder.output and "no such folder" in folder.output
    assert not (tmp_path / "r").exists()
    missing = runner.invoke(main, ["eval", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no such run folder" in missing.output
    empty = runner.invoke(main, ["eval", str(tmp_path)])
    assert empty.exit_code == 2 and "not a finished dqe train run (no train_config.json" in empty.output
    bad = tmp_path / "mc.jsonl"
    bad.write_text('{"question": "Q?", "choices": ["a", "b"], "answer": "C"}\n')
    choices = runner.invoke(main, ["eval", str(trained_run), "--choices", str(bad), "--out", str(tmp_path / "r")])
    assert choices.exit_code == 2 and f"{bad}:1: 'answer': 'C' is not one of the 2 choices" in choices.output
    assert not (tmp_path / "r").exists()


def test_multiple_choice_accuracy_per_subject_in_every_report(torch_extra, trained_run, tmp_path):
    from pathlib import Path

    choices = Path(__file__).parent / "data" / "choices.jsonl"
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        main,
        ["eval", str(trained_run), "--choices", str(choices), "--max-new-tokens", "2", "--out", str(out), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "multiple choice: 6 of 6 questions" in result.output and "choices_acc_norm" in result.output
    report = json.loads((out / "report.json").read_text())
    c = report["choices"]
    assert [s["subject"] for s in c["subjects"]] == ["arithmetic", "astronomy", "biology", "geography"]
    assert c["evaluated"] == 6 and all(len(i["loglik"]["tuned"]) == 4 for i in c["items"])
    for item in c["items"]:  # each model picks its most likely choice
        for model in ("base", "tuned"):
            ll = item["loglik"][model]
            assert item["picked"][model]["acc"] == ll.index(max(ll))
    acc = next(m for m in report["metrics"] if m["name"] == "choices_acc")
    assert acc["base"] == c["accuracy"]["base"]["acc"] and acc["tuned"] == c["accuracy"]["tuned"]["acc"]
    html = (out / "report.html").read_text()
    assert 'id="choices"' in html and "geography" in html


def test_no_output_replaces_a_file_of_the_run(torch_extra, trained_run):
    runner = CliRunner()
    test_split = trained_run / "test.jsonl"
    before = test_split.read_bytes()
    report = runner.invoke(main, ["eval", str(trained_run), "-o", str(test_split)])
    assert report.exit_code == 2 and f"-o/--output {test_split} is an input" in report.output
    moved = runner.invoke(
        main, ["eval", str(trained_run), "--out", str(trained_run), "-o", str(trained_run / "report.json")]
    )
    assert moved.exit_code == 2 and "are the same file" in moved.output
    assert test_split.read_bytes() == before


@pytest.mark.parametrize("method", ["p-tuning", "prompt-tuning"])
def test_a_prompt_method_run_evaluates_like_a_lora_run(torch_extra, tmp_path, tiny_model, rasbt, method):
    from dqe.eval.report import EvalSettings
    from dqe.eval.run import evaluate
    from tests.eval.conftest import train_a_run

    run = train_a_run(tmp_path, tiny_model, rasbt[:80], method=method)
    report = evaluate(run, EvalSettings(max_new_tokens=4, batch_size=3), echo=False).report
    loss = report.metric("loss")
    assert loss.tuned == pytest.approx(report.run.test_loss_at_training, rel=1e-6)  # the virtual tokens counted
    assert loss.base != pytest.approx(loss.tuned, rel=1e-6)  # switched off for the base model
    assert report.test.evaluated == 8 and all(e.tuned.tokens for e in report.examples)


def test_the_report_lists_the_training_records_the_run_fitted_badly(torch_extra, trained_run, tmp_path):
    from dqe.engine.ledger import read_ledger

    out = tmp_path / "fit"
    args = ["eval", str(trained_run), "--limit", "1", "--max-new-tokens", "2", "--quiet", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    fit = json.loads((out / "report.json").read_text())["fit"]
    trained = [r for r in read_ledger(trained_run) if r.split == "train"]
    assert fit["records"] == len(trained) > 0 and fit["ledger"] == str(trained_run / "ledger.jsonl")
    losses = {r.id: r.loss for r in trained}
    for m in fit["worst_for_length"]:
        assert (
            m["z"] >= fit["min_z"]
            and m["loss"] == losses[m["id"]]
            and m["source"].startswith(str(trained_run.parents[1]))
        )
    assert f"{len(trained)} training records with a loss in" in result.output.replace("\n", "")
    assert 'id="fit"' in (out / "report.html").read_text()
