"""``dqe diff before.json after.json``: what changed between two runs over evolving data."""

from __future__ import annotations

import json

from click.testing import CliRunner

import dqe
from dqe.cli import main
from dqe.report.diff import diff_reports

BEFORE = [
    {"instruction": "Say hi.", "output": "Hi."},
    {"instruction": "Name a colour.", "output": ""},  # fails DQ001
    {"instruction": "Count to three.", "output": "1, 2, 3."},
    '{"instruction": "cut',  # invalid
]
AFTER = [
    {"instruction": "Say hi.", "output": "Hi."},
    {"instruction": "Name a colour.", "output": "Blue."},  # fixed
    {"instruction": "Count to three.", "output": ""},  # newly failing
]


def reports(write_jsonl, tmp_path):
    paths = []
    for name, records in (("before", BEFORE), ("after", AFTER)):
        data = write_jsonl(records, name=f"{name}.jsonl")
        out = tmp_path / f"{name}.json"
        out.write_text(dqe.check(data, complete=True).model_dump_json())
        paths.append(out)
    return paths


def test_diff_of_two_reports(write_jsonl, tmp_path):
    before, after = reports(write_jsonl, tmp_path)
    result = diff_reports(
        dqe.Report.model_validate_json(before.read_text()), dqe.Report.model_validate_json(after.read_text())
    )
    summary = {c.name: (c.before, c.after) for c in result.summary}
    assert summary["records"] == (4, 3)
    assert summary["invalid"] == (1, 0)
    assert summary["passed"] == (2, 2)
    rules = {r.code: (r.failed_before, r.failed_after) for r in result.rules}
    assert rules == {"DQ000": (1, 0)}  # DQ001 fails one record in both: not a change
    assert [(c.source.rsplit("/", 1)[-1], c.codes) for c in result.newly_failing] == [("after.jsonl:3", ["DQ001"])]
    assert sorted(c.source.rsplit("/", 1)[-1] for c in result.fixed) == ["before.jsonl:2", "before.jsonl:4"]
    assert result.complete
    assert {c.name for c in result.dataset} >= {"records.total", "records.invalid"}


def test_diff_command_text_and_json(write_jsonl, tmp_path):
    before, after = reports(write_jsonl, tmp_path)
    text = CliRunner().invoke(main, ["diff", str(before), str(after)])
    assert text.exit_code == 0
    assert "Newly failing records: 1" in text.output
    assert "after.jsonl:3  DQ001" in text.output
    assert "No longer failing: 2" in text.output
    assert "pass-rate" in text.output
    as_json = CliRunner().invoke(main, ["diff", str(before), str(after), "--format", "json"])
    data = json.loads(as_json.output)
    assert data["newly_failing"][0]["codes"] == ["DQ001"]


def test_sampled_reports_are_flagged(write_jsonl, tmp_path):
    data = write_jsonl(BEFORE)
    path = tmp_path / "r.json"
    report = dqe.check(data)
    report.findings_complete = False
    path.write_text(report.model_dump_json())
    out = CliRunner().invoke(main, ["diff", str(path), str(path)])
    assert "the record lists are partial" in out.output


def test_a_file_that_is_not_a_report(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    out = CliRunner().invoke(main, ["diff", str(bad), str(bad)])
    assert out.exit_code == 2
    assert "not a dqe JSON report (dqe check --format json)" in out.stderr
    missing = CliRunner().invoke(main, ["diff", str(tmp_path / "nope.json"), str(bad)])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
