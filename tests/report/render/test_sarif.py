"""--format sarif: valid SARIF 2.1.0, one result per finding, located at file and line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import dqe
from dqe.report.render.sarif import artifact_uri, render_sarif

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-2.1.0-rtm.5.json").read_text("utf-8"))


def validate(log: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(log)


def test_valid_sarif_with_one_result_per_finding(report):
    log = json.loads(render_sarif(report))
    validate(log)
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "dqe"
    assert len(run["results"]) == len(report.findings) > 0
    assert {r["ruleId"] for r in run["results"]} == {"DQ000", "DQ001", "DQ101"}
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
    assert run["properties"]["summary"]["gate"] == "fail"
    assert run["invocations"][0]["exitCode"] == 1


def test_each_result_points_at_its_record(report):
    results = json.loads(render_sarif(report))["runs"][0]["results"]
    by_place = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]): r for r in results}
    # Line 4 holds the record with the hostile instruction and no answer; line 21 is cut off.
    empty = by_place[("DQ001", 4)]
    assert empty["message"]["text"] == "turn 2: empty answer (evidence: turns: user > assistant (empty))"
    assert empty["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("data.jsonl")
    assert empty["partialFingerprints"]["recordId/v1"]
    assert by_place[("DQ101", 12)]["message"]["text"].startswith("5034 tokens > 4096")
    assert "malformed JSON" in by_place[("DQ000", 21)]["message"]["text"]


def test_every_finding_with_all_findings(defect_file):
    report = dqe.check(defect_file, complete=True)
    log = json.loads(render_sarif(report))
    validate(log)
    assert len(log["runs"][0]["results"]) == report.findings_frame.height
    assert log["runs"][0]["properties"]["findingsComplete"] is True


def test_in_memory_records_are_valid_sarif_too():
    report = dqe.check([{"instruction": "Hi", "output": ""}, {"instruction": "Hello", "output": "Hi there."}])
    log = json.loads(render_sarif(report))
    validate(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "%3Crecords%3E"


@pytest.mark.parametrize(
    ("path", "uri"),
    [("data/train set.jsonl", "data/train%20set.jsonl"), ("/elsewhere/x.jsonl", "file:///elsewhere/x.jsonl")],
)
def test_artifact_uris_are_uri_references(path, uri):
    assert artifact_uri(path) == uri


def test_a_path_under_the_current_folder_becomes_relative(tmp_path):
    # the tests run from tmp_path (see conftest)
    assert artifact_uri(str(tmp_path / "sub" / "d.jsonl")) == "sub/d.jsonl"
