"""DQ421 domain-ratio: the share of vertical-domain records, its gate, and --balance."""

from __future__ import annotations

import pytest

from dqe.testing import run_rule
from tests.selection_support import PLUGIN, record


def check(records, select=("TST",), **options):
    """DQ421's run, with the test plugin's quality scores (and any rules in ``select``) on."""
    dq421 = options.pop("dq421", {})
    return run_rule("DQ421", records, dq421, plugins=[PLUGIN], extend_select=list(select), **options).report


def mixed(medical: int, general: int, quality=lambda i: 1.0) -> list[dict]:
    return [record("open-qa", quality(i), domain="medical") for i in range(medical)] + [record("open-qa")] * general


def test_counts_and_vertical_share():
    records = mixed(3, 5) + [record("open-qa", domain="legal")] * 2
    domains = check(records).dataset["domains"]
    assert domains["counts"] == {"general": 5, "medical": 3, "legal": 2}
    assert domains["vertical"] == 5 and domains["vertical_share"] == 0.5
    assert domains["max_vertical_share"] == 0.3 and domains["classifier"] == "lexicon"


def metric(report):
    return next(m for m in report.gate.metrics if m.name == "domain-ratio")


def test_a_vertical_majority_fails_the_gate_and_max_share_moves_the_threshold():
    report = check(mixed(40, 60))
    assert (metric(report).value, metric(report).fail, metric(report).state) == (0.4, 0.3, "fail")
    assert report.exit_code == 1
    relaxed = check(mixed(40, 60), dq421={"max-share": 0.5})
    assert relaxed.summary.gate == "pass"


def test_a_small_set_is_measured_with_a_wilson_interval():
    # 4 of 10: the same share as above, but ten records cannot tell it from 0.3
    report = check(mixed(4, 6))
    m = metric(report)
    assert (m.n, m.value, m.ci_low, m.ci_high, m.state) == (10, 0.4, 0.1682, 0.6873, "warn")
    assert report.summary.gate == "pass"


def test_a_set_with_no_passing_record_says_why_the_share_is_not_measured():
    report = check([{"instruction": "Task.", "output": ""}] * 2, select=["DQ001"])
    assert report.dataset["domains"]["vertical_share"] is None
    assert metric(report).state == "skipped"
    assert metric(report).reason == "not measured: no records passed the record rules"


def test_balance_keeps_the_best_vertical_records_up_to_the_maximum():
    # 10 medical (qualities 0.0 .. 0.9) and 14 general, max 0.3: 6 medical of 20 is 0.3
    report = check(mixed(10, 14, quality=lambda i: i / 10), balance=True)
    assert report.summary.passed == 20 and report.dataset["records"]["deselected"] == 4
    assert report.dataset["domains"]["vertical_share"] == 0.3
    rejected = report.records.filter(report.records["status"] == "rejected")
    assert rejected["record"].to_list() == [0, 1, 2, 3]  # the four worst medical records
    assert rejected["reasons"][0].to_list() == [
        "DQ421: vertical domain medical: over the 30% maximum share (6 of 10 vertical records kept)"
    ]
    assert report.summary.gate == "pass"


@pytest.mark.parametrize("flag", [{"balance": True}, {"max_records": 1000}])
def test_nothing_is_dropped_when_the_share_is_already_under_the_maximum(flag):
    report = check(mixed(2, 20), **flag)
    assert report.summary.rejected == 0
