"""The dqe command as a user runs it: exit codes, formats, outputs, and a fast --help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dqe.cli import main

GOOD = {"instruction": "Name a primary colour.", "input": "", "output": "Red is a primary colour."}
EMPTY_ANSWER = {"instruction": "Summarize the text.", "input": "Some text.", "output": ""}


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def test_help_does_not_import_torch_or_polars():
    code = (
        "import sys\n"
        "from dqe.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'polars') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


def test_check_does_not_import_torch(write_jsonl):
    path = write_jsonl([GOOD])
    code = (
        "import sys\nfrom dqe.cli import main\n"
        f"try:\n    main(['check', {str(path)!r}, '--format', 'json'])\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('torch', 'transformers', 'peft') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


def test_clean_data_passes_with_exit_0(write_jsonl):
    others = [
        ("What is 2 + 2?", "2 + 2 is 4."),
        ("Who wrote Hamlet?", "William Shakespeare."),
        ("Name a planet.", "Mars."),
    ]
    code, out = run("check", write_jsonl([GOOD, *({"instruction": q, "output": a} for q, a in others)]))
    assert code == 0
    assert "gate PASS" in out


def test_failing_gate_exits_1_and_names_the_record(write_jsonl):
    path = write_jsonl([GOOD, EMPTY_ANSWER])
    code, out = run("check", path)
    assert code == 1
    assert f"{path}:2" in out and "empty answer" in out


def test_rules_with_nothing_to_check_say_so(write_jsonl):
    code, out = run("check", write_jsonl([GOOD]), "--select", "DQ001,DQ403")
    assert "contamination (skipped: no --against)" in out


def test_missing_file_exits_2_with_its_name(tmp_path):
    code, out = run("check", tmp_path / "nope.jsonl")
    assert code == 2 and "nope.jsonl: no such file" in out


def test_unknown_format_exits_2(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("instruction,output\n")
    code, out = run("check", path)
    assert code == 2 and "unknown format" in out


def test_unrecognised_records_exit_2_with_a_hint(write_jsonl):
    code, out = run("check", write_jsonl([{"foo": 1, "bar": 2}]))
    assert code == 2 and "unknown record format (keys seen: bar, foo)" in out


def test_json_report_follows_the_contract(write_jsonl, tmp_path):
    out_file = tmp_path / "report.json"
    code, _ = run("check", write_jsonl([GOOD, EMPTY_ANSWER, "{broken"]), "--format", "json", "-o", out_file)
    assert code == 1
    report = json.loads(out_file.read_text())
    assert report["summary"] == {"records": 3, "passed": 1, "rejected": 1, "invalid": 1, "errors": 0, "gate": "fail"}
    rules = {r["code"]: r for r in report["rules"]}
    assert set(rules["DQ001"]) >= {"code", "name", "scope", "severity", "evaluated", "failed"}
    assert rules["DQ001"]["failed"] == 1 and rules["DQ000"]["failed"] == 1
    assert report["dataset"]["tokens"]["total"]["max"] > 0
    assert report["dataset"]["records"]["pass_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert {f["code"] for f in report["findings"]} == {"DQ000", "DQ001"}
    assert report["findings_complete"] is True
    assert {m["name"]: m["state"] for m in report["gate"]["metrics"]}["invalid-records"] == "fail"


def test_findings_are_sampled_per_rule_unless_all_are_asked_for(write_jsonl, tmp_path):
    path = write_jsonl([EMPTY_ANSWER] * 30)
    _, out = run("check", path, "--format", "json", "--ignore", "DQ4")
    report = json.loads(out)
    assert len(report["findings"]) == 20 and report["findings_complete"] is False
    _, out = run("check", path, "--format", "json", "--all-findings", "--ignore", "DQ4")
    assert len(json.loads(out)["findings"]) == 30


def test_jsonl_format_prints_one_record_a_line_with_its_findings_and_labels(write_jsonl):
    _, out = run("check", write_jsonl([EMPTY_ANSWER, GOOD, EMPTY_ANSWER]), "--format", "jsonl", "--ignore", "DQ4")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["source"].rsplit(":", 1)[1], r["verdict"]) for r in lines] == [
        ("1", "rejected"),
        ("2", "passed"),
        ("3", "rejected"),
    ]
    assert [f["code"] for f in lines[0]["findings"]] == ["DQ001"] and lines[1]["findings"] == []
    labels = lines[1]["labels"]
    assert labels["tokens"] > 0 and labels["languages"]["answer"] == "en"
    assert set(labels["cot"]) == {"need", "score"}


def test_jsonl_names_the_turn_a_finding_is_about(write_jsonl):
    looping = " ".join(["The cat sat on the mat again."] * 30)
    conversation = {
        "conversations": [
            {"from": "human", "value": "Tell me about cats."},
            {"from": "gpt", "value": looping},
            {"from": "human", "value": "Thanks, and dogs?"},
            {"from": "gpt", "value": "Dogs are loyal companions that have lived with people for thousands of years."},
        ]
    }
    _, out = run("check", write_jsonl([conversation]), "--format", "jsonl", "--select", "DQ202")
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert [(f["code"], f["turn"]) for f in record["findings"]] == [("DQ202", 2)]


def test_statistics_counts_failures_per_rule(write_jsonl):
    _, out = run("check", write_jsonl([EMPTY_ANSWER, EMPTY_ANSWER, GOOD]), "--statistics")
    assert out.splitlines()[0].split() == ["2", "DQ001", "structure"]


def test_select_and_ignore(write_jsonl):
    path = write_jsonl([EMPTY_ANSWER])
    assert run("check", path, "--ignore", "DQ001")[0] == 0
    code, out = run("check", path, "--select", "DQ1")
    assert code == 0 and "DQ001" not in out.split("Rules")[1].split("Dataset")[0]
    code, out = run("check", path, "--select", "XX9")
    assert code == 2 and "'select': 'XX9' matches no rule" in out


def test_max_tokens_from_a_config_file(write_jsonl, tmp_path):
    (tmp_path / "dqe.toml").write_text("[rules.DQ101]\nmax-tokens = 5\n")
    code, out = run("check", write_jsonl([GOOD]))
    assert code == 1 and "tokens > 5" in out


def test_bad_config_key_exits_2_naming_it(write_jsonl, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dqe]\nselct = ['DQ1']\n")
    code, out = run("check", write_jsonl([GOOD]))
    assert code == 2 and "unknown key 'tool.dqe.selct'" in out
    (tmp_path / "pyproject.toml").write_text("[tool.dqe.rules.DQ101]\nmax-tokens = 'lots'\n")
    code, out = run("check", write_jsonl([GOOD]))
    assert code == 2 and "rules.DQ101.max-tokens" in out


def test_filter_splits_every_record_and_writes_a_manifest(write_jsonl, tmp_path):
    src = write_jsonl([GOOD, EMPTY_ANSWER, "{broken", GOOD])
    ok, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    code, out = run("filter", src, "--passed", ok, "--rejected", bad, "--ignore", "DQ4")  # GOOD twice
    assert code == 1  # a quarter invalid fails the gate, but both outputs are written
    passed = [json.loads(line) for line in ok.read_text().splitlines()]
    rejected = [json.loads(line) for line in bad.read_text().splitlines()]
    assert passed == [GOOD, GOOD]
    assert rejected[0]["_dqe"]["reasons"][0]["code"] == "DQ001"
    assert {k: v for k, v in rejected[0].items() if k != "_dqe"} == EMPTY_ANSWER
    assert rejected[1]["_dqe"]["raw"] == "{broken" and rejected[1]["_dqe"]["status"] == "invalid"
    assert (tmp_path / "ok.jsonl.manifest.json").exists()


def test_filter_refuses_the_same_file_for_both_outputs(write_jsonl, tmp_path):
    code, out = run("filter", write_jsonl([GOOD]), "--passed", tmp_path / "x.jsonl", "--rejected", tmp_path / "x.jsonl")
    assert code == 2


def test_convert_alpaca_to_sharegpt_keeps_other_fields(write_jsonl, tmp_path):
    out_file = tmp_path / "out.jsonl"
    code, _ = run(
        "convert", write_jsonl([{**GOOD, "id": 7, "system": "Be brief."}]), "--to", "sharegpt", "-o", out_file
    )
    assert code == 0
    converted = json.loads(out_file.read_text())
    assert converted == {
        "conversations": [{"from": "human", "value": GOOD["instruction"]}, {"from": "gpt", "value": GOOD["output"]}],
        "system": "Be brief.",
        "id": 7,
    }


def test_rules_rule_and_plugins_commands():
    code, out = run("rules")
    assert code == 0 and "DQ101" in out and "token-length" in out
    code, out = run("rule", "DQ101")
    assert code == 0 and "Why it matters" in out and "max-tokens" in out
    code, out = run("rule", "token-length")
    assert code == 0 and out.startswith("DQ101")
    assert run("rule", "NOPE999")[0] == 2
    code, out = run("plugins")
    assert code == 0 and "dqe.rules.token_length" in out


def test_columns_map_non_standard_field_names(write_jsonl):
    path = write_jsonl([{"question": "2+2?", "answer": "4"}, {"question": "Capital of Peru?", "answer": ""}])
    code, out = run("check", path, "--columns", "prompt=question,response=answer")
    assert code == 1 and f"{path}:2" in out and "empty answer" in out
    code, out = run("check", path, "--columns", "prompt=question,answer")
    assert code == 2 and "'answer' is not KEY=FIELD" in out
    code, out = run("check", path, "--columns", "promt=question")
    assert code == 2 and "unknown key 'columns.promt'" in out


def test_an_empty_file_is_reported_and_fails_the_gate(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    code, out = run("check", path)
    assert code == 1 and "empty file" in out and "passed-records" in out
