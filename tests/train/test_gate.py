"""The trainer trains only on data the gate passed, as it was when it passed.

These refusals happen before any model is loaded, so they need no torch.
"""

from __future__ import annotations

import json

import pytest

from dqe.engine.train_config import load_train_config
from dqe.errors import GateRefused
from dqe.report.manifest import ids_sha256, manifest_path
from dqe.train.run import train


def config(data, tmp_path):
    return load_train_config(None, {"model": "not-loaded", "data": data, "out": tmp_path / "run"})


def refusal(data, tmp_path, **kw) -> list[str]:
    with pytest.raises(GateRefused) as info:
        train(config(data, tmp_path), echo=False, **kw)
    assert not (tmp_path / "run" / "run.json").exists()
    return info.value.problems


def test_data_without_a_gate_manifest_is_refused(tmp_path, filtered, rasbt):
    filtered(rasbt[:30])
    problems = refusal(tmp_path / "data.jsonl", tmp_path)  # the raw data, not what passed
    assert len(problems) == 1 and problems[0].startswith("no gate manifest for")


def test_a_failed_gate_is_refused_with_its_failing_metrics(tmp_path, filtered, rasbt):
    broken = [{**r, "output": ""} for r in rasbt[30:45]]
    ok = filtered(rasbt[:30] + broken)  # 30 of 45 pass: pass rate 0.67 < 0.8
    (problem,) = refusal(ok, tmp_path)
    assert "the gate failed" in problem
    assert "gate metric pass-rate (records.pass_rate) = 0.666667 < 0.8" in problem


def test_data_changed_since_filtering_is_refused(tmp_path, filtered, rasbt):
    ok = filtered(rasbt[:30])
    with open(ok, "a") as f:
        f.write(json.dumps(rasbt[40]) + "\n")
    problems = refusal(ok, tmp_path)
    assert any("changed since it was filtered" in p and "stale" in p for p in problems)


def test_a_config_changed_since_filtering_is_refused(tmp_path, filtered, rasbt):
    ok = filtered(rasbt[:30], template="alpaca")  # command-line overrides are part of the config
    manifest = json.loads(manifest_path(ok).read_text())
    assert manifest["config"]["overrides"]["template"] == "alpaca"
    (tmp_path / "dqe.toml").write_text('template = "alpaca"\n[rules.token-length]\nmax-tokens = 64\n')
    (problem,) = refusal(ok, tmp_path)
    assert "the dqe config" in problem and "changed since the data was filtered" in problem


def test_records_missing_from_passed_ids_are_refused(tmp_path, filtered, rasbt):
    ok = filtered(rasbt[:30])
    path = manifest_path(ok)
    manifest = json.loads(path.read_text())
    manifest["passed_ids"] = manifest["passed_ids"][2:]
    manifest["passed_ids_sha256"] = ids_sha256(manifest["passed_ids"])
    path.write_text(json.dumps(manifest))
    (problem,) = refusal(ok, tmp_path)
    assert problem.startswith(f"2 records of {ok} are not among the gate manifest's passed ids")


def test_an_edited_manifest_is_refused(tmp_path, filtered, rasbt):
    ok = filtered(rasbt[:30])
    path = manifest_path(ok)
    manifest = json.loads(path.read_text())
    manifest["passed_ids"].append("0123456789abcdef")
    path.write_text(json.dumps(manifest))
    problems = refusal(ok, tmp_path)
    assert any("passed_ids do not match passed_ids_sha256" in p for p in problems)


def test_data_checked_with_another_model_or_template_is_refused_naming_both(tmp_path, filtered, rasbt, english_model):
    from dqe.errors import ConfigError

    ok = filtered(rasbt[:30], model=str(english_model), template="alpaca")
    manifest = json.loads(manifest_path(ok).read_text())
    assert (manifest["tokenizer"], manifest["template"]) == (f"model:{english_model}", "alpaca")
    other = load_train_config(
        None, {"model": str(english_model), "data": ok, "out": tmp_path / "run", "template": "chatml"}
    )
    with pytest.raises(ConfigError) as info:
        train(other, echo=False)
    assert f"checked with the tokenizer of {english_model} and template 'alpaca'" in str(info.value)
    assert f"this run trains {english_model} with template 'chatml'" in str(info.value)
    with pytest.raises(ConfigError, match="but this run trains not-loaded with template 'alpaca'"):
        train(config(ok, tmp_path), echo=False)


def test_the_same_model_and_template_pass_and_a_generic_count_is_a_note(english_model):
    from dqe.report.manifest import GateManifest
    from dqe.train.gate import check_encoding

    checked = GateManifest.model_construct(tokenizer=f"model:{english_model}", template="alpaca")
    assert check_encoding(checked, str(english_model), "alpaca") is None
    generic = GateManifest.model_construct(tokenizer="tiktoken:cl100k_base", template="chatml")
    note = check_encoding(generic, "org/model", "alpaca")
    assert note.startswith("the gate counted tokens with tiktoken:cl100k_base and template chatml")
    assert check_encoding(GateManifest.model_construct(tokenizer=None, template=None), "m", "alpaca") is None
