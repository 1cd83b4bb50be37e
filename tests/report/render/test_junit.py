"""--format junit: one test case per rule and per gate metric, parsed as CI servers do."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import dqe
from dqe.report.render.junit import render_junit, xml_text


def suites(report) -> dict[str, ET.Element]:
    root = ET.fromstring(render_junit(report))
    assert root.tag == "testsuites"
    return {s.get("name"): s for s in root.findall("testsuite")}


def test_one_test_case_per_rule(report):
    rules = suites(report)["dqe.rules"]
    cases = {c.get("name"): c for c in rules.findall("testcase")}
    assert list(cases) == [f"{r.code} {r.name}" for r in report.rules]
    assert rules.get("tests") == str(len(report.rules))
    assert rules.get("failures") == "3"  # DQ000, DQ001 and DQ101 each fail some records
    failure = cases["DQ001 structure"].find("failure")
    assert failure is not None
    assert failure.get("message").startswith("3 of 119 records fail DQ001 structure")
    assert "data.jsonl:4: turn 2: empty answer (evidence: turns: user > assistant (empty))" in failure.text


def test_gate_metrics_are_test_cases(report):
    gate = suites(report)["dqe.gate"]
    cases = {c.get("name"): c for c in gate.findall("testcase")}
    assert {"pass-rate", "invalid-records", "passed-records"} <= set(cases)
    assert cases["invalid-records"].find("failure") is not None
    assert cases["pass-rate"].find("failure") is None
    assert gate.get("failures") == "1"


def test_a_clean_data_set_has_no_failures():
    report = dqe.check([{"instruction": "Say hi.", "output": "Hi."}])
    root = ET.fromstring(render_junit(report))
    assert root.get("failures") == "0" and root.get("errors") == "0"


def test_a_warning_rule_passes_and_lists_its_findings(defect_file):
    report = dqe.check(defect_file, rules={"DQ101": {"severity": "warning"}})
    cases = {c.get("name"): c for c in suites(report)["dqe.rules"].findall("testcase")}
    case = cases["DQ101 token-length"]
    assert case.find("failure") is None
    assert "records are kept" in case.find("system-out").text


def test_characters_xml_cannot_hold_are_replaced():
    assert xml_text("a\x00b\x1bc\td") == "a\ufffdb\ufffdc\td"
