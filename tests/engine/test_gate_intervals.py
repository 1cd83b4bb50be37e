"""The gate on data sets of any size: a share gets a Wilson 95% interval, a metric fails only
when its whole interval lies past the fail level and warns when only its value does, a count is
held to its levels as it is, and a metric that cannot be measured says why."""

from __future__ import annotations

import pytest

from dqe.engine.gate import evaluate_gate, wilson
from dqe.engine.rule import GateMetric

SHARE = GateMetric(
    name="vertical", key="d.share", description="a share", direction="max", fail=0.3, bounds=(0, 1), n_key="d.n"
)
MINIMUM = GateMetric(
    name="passing", key="d.share", description="a share", direction="min", fail=0.8, bounds=(0, 1), n_key="d.n"
)
COUNT = GateMetric(name="invalid", key="d.count", description="a count", direction="max", fail=0, bounds=(0, None))


def result(metric: GateMetric, **section):
    return evaluate_gate([metric], {"d": section}).metrics[0]


@pytest.mark.parametrize(
    ("share", "n", "low", "high"),
    [
        (0.6, 40, 0.4460, 0.7365),  # the 40-record set, 60% vertical
        (0.0, 10, 0.0, 0.2775),  # no vertical record of ten: not surely none
        (1.0, 10, 0.7225, 1.0),
        (0.5, 10_000, 0.4902, 0.5098),
    ],
)
def test_wilson_interval_of_a_share(share, n, low, high):
    assert wilson(share, n) == pytest.approx((low, high), abs=1e-4)


def test_a_share_whose_whole_interval_lies_past_the_level_fails():
    m = result(SHARE, share=0.6, n=40)
    assert (m.state, m.n, m.ci_low, m.ci_high) == ("fail", 40, 0.446, 0.7365)
    assert m.reason == "its whole 95% interval lies above the fail level 0.3"


def test_a_share_past_the_level_whose_interval_reaches_back_warns():
    m = result(SHARE, share=0.4, n=10)
    assert m.state == "warn"
    assert m.reason == "0.4 is above the fail level 0.3, but its 95% interval reaches back to it"


def test_the_same_share_on_more_records_fails():
    assert result(SHARE, share=0.4, n=10).state == "warn"
    assert result(SHARE, share=0.4, n=1_000).state == "fail"


def test_a_minimum_fails_when_its_whole_interval_lies_below():
    assert result(MINIMUM, share=0.7, n=20).state == "warn"  # 95% CI 0.48-0.85 reaches 0.8
    assert result(MINIMUM, share=0.7, n=500).state == "fail"
    assert result(MINIMUM, share=0.9, n=20).state == "pass"


def test_a_count_is_exact_and_has_no_interval():
    m = result(COUNT, count=1)
    assert (m.state, m.n, m.ci_low, m.ci_high) == ("fail", None, None, None)
    assert m.reason == "1 is above the fail level 0"


def test_an_interval_the_rule_computed_is_used_as_it_is():
    metric = SHARE.model_copy(update={"interval_key": "d.ci"})
    m = result(metric, share=0.5, n=40, ci=[0.25, 0.7])
    assert (m.ci_low, m.ci_high, m.state) == (0.25, 0.7, "warn")


def test_a_metric_that_cannot_be_measured_says_why():
    with_note = SHARE.model_copy(update={"note_key": "d.note"})
    assert result(with_note, share=None, n=0, note="no records passed").reason == "not measured: no records passed"
    assert result(SHARE, share=None, n=0).reason == "not measured: no records to measure it on (n = 0)"
    assert evaluate_gate([SHARE], {}).metrics[0].reason == "not measured: no rule in this run reported d.share"
    assert result(SHARE, share=None, n=0).state == "skipped"
