"""JUnit XML, the test-result format CI servers display: one test case per rule, and one per
gate metric.

A rule of severity ``error`` with failing records is a failed test case (its sampled findings
in the body); a ``warning`` or ``info`` rule passes and lists its findings as output, as the
gate treats them; a rule that raised is an errored test case. A gate metric that fails is a
failed test case, one that was not measured is skipped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from dqe.report.model import Report
from dqe.report.render.common import gate_sentence, number

# Characters XML 1.0 cannot hold, even escaped; record text can contain them.
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _ILLEGAL.sub("\ufffd", text)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        node.text = xml_text(text)
    return node


def _rule_suite(report: Report, root: ET.Element) -> None:
    by_code: dict[str, list[str]] = {}
    for f in report.findings:
        by_code.setdefault(f.code, []).append(f"{f.source}: {f.explained}")
    suite = _element(root, "testsuite", name="dqe.rules")
    failures = errors = 0
    timings = report.timings
    for r in report.rules:
        case = _element(suite, "testcase", classname="dqe.rules", name=f"{r.code} {r.name}", time="0")
        lines = by_code.get(r.code, [])
        sampled = (
            "" if report.findings_complete or len(lines) >= r.failed else f"\n({len(lines):,} of {r.failed:,} shown)"
        )
        body = "\n".join(lines) + sampled
        message = f"{number(r.failed)} of {number(r.evaluated)} records fail {r.code} {r.name}: {r.summary}"
        if r.errors:
            errors += 1
            raised = [e.message for e in report.errors if e.code == r.code]
            _element(
                case,
                "error",
                "\n".join(raised[:20]),
                message=f"rule {r.code} raised on {number(r.errors)} records",
                type="RuleError",
            )
        elif r.failed and r.severity == "error":
            failures += 1
            _element(case, "failure", body, message=message, type=r.code)
        elif r.failed:
            _element(case, "system-out", f"{message} (severity {r.severity}: records are kept)\n{body}")
    suite.set("tests", str(len(report.rules)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", f"{sum(timings.values()):.3f}")


def _gate_suite(report: Report, root: ET.Element) -> None:
    suite = _element(root, "testsuite", name="dqe.gate")
    failures = skipped = 0
    for m in report.gate.metrics:
        case = _element(suite, "testcase", classname="dqe.gate", name=m.name, time="0")
        sentence = gate_sentence(m)
        if m.state == "fail":
            failures += 1
            _element(case, "failure", sentence, message=sentence, type="GateFailure")
        elif m.state == "skipped":
            skipped += 1
            _element(case, "skipped", message=sentence)
        elif m.state == "warn":
            _element(case, "system-out", sentence)
    suite.set("tests", str(len(report.gate.metrics)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    suite.set("time", "0")


def render_junit(report: Report) -> str:
    root = ET.Element("testsuites", {"name": "dqe"})
    _rule_suite(report, root)
    _gate_suite(report, root)
    suites = list(root)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("time", suites[0].get("time", "0"))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
