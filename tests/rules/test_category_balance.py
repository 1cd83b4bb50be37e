"""DQ411 category-balance: the category mix against its target, and --balance quotas."""

from __future__ import annotations

import math

import pytest

import dqe
from dqe import ConfigError
from dqe.testing import run_rule
from tests.selection_support import PLUGIN, SELECT, record


def check(records, **options):
    """DQ411's run beside the other selection stages and the test plugin's quality scores."""
    others = [code for code in SELECT if code != "DQ411"]
    return run_rule(
        "DQ411", records, options.pop("dq411", {}), plugins=[PLUGIN], extend_select=others, **options
    ).report


def test_counts_entropy_and_imbalance_against_a_configured_target():
    records = [record("math")] * 6 + [record("programming")] * 3 + [record("translation")]
    target = {"math": 0.5, "programming": 0.25, "translation": 0.25}
    categories = check(records, dq411={"target": target}).dataset["categories"]
    assert categories["counts"] == {"math": 6, "programming": 3, "translation": 1}
    # shares 0.6 / 0.3 / 0.1 against 0.5 / 0.25 / 0.25: half the sum of the gaps
    assert categories["imbalance"] == pytest.approx(0.15)
    entropy = -(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1)) / math.log(3)
    assert categories["entropy"] == pytest.approx(entropy, abs=1e-4)
    assert categories["target"]["math"] == 0.5 and categories["target"]["open-qa"] == 0.0
    assert categories["missing"] == []
    assert [m["category"] for m in categories["most"]] == ["math", "programming", "translation"]
    assert categories["least"][0] == {"category": "translation", "count": 1, "share": 0.1, "target": 0.25}


def test_default_target_is_uniform_over_the_taxonomy_and_reports_what_is_missing():
    categories = check([record("math")] * 5 + [record("programming")] * 5).dataset["categories"]
    assert len(categories["target"]) == 28 and set(categories["target"].values()) == {round(1 / 28, 4)}
    assert "translation" in categories["missing"] and "math" not in categories["missing"]
    assert "role-play" in categories["missing"] and "tool-use" in categories["missing"]
    assert len(categories["missing"]) == 26
    assert categories["imbalance"] == pytest.approx(1 - 2 / 28, abs=1e-4)


def test_partial_target_spreads_the_rest_over_the_other_categories():
    categories = check([record("math")], dq411={"target": {"math": 0.48}}).dataset["categories"]
    assert categories["target"]["math"] == 0.48
    assert categories["target"]["programming"] == pytest.approx(0.52 / 27, abs=1e-4)


def test_labels_of_the_data_outside_the_taxonomy_join_the_uniform_target():
    categories = check([record("legal-drafting")] * 3 + [record("math")]).dataset["categories"]
    assert categories["target"]["legal-drafting"] == round(1 / 29, 4)
    assert categories["most"][0]["category"] == "legal-drafting"


def test_uncertain_records_are_counted_but_left_out_of_the_shares():
    records = [record("math")] * 2 + [{"instruction": "Banana.", "output": "Yes."}] * 2
    categories = check(records, dq411={"target": {"math": 1.0}}).dataset["categories"]
    assert categories["counts"] == {"math": 2, "uncertain": 2}
    assert categories["uncertain"] == 2 and categories["records"] == 2
    assert categories["imbalance"] == 0.0


def metric(report):
    return next(m for m in report.gate.metrics if m.name == "category-imbalance")


def test_a_single_ability_set_fails_the_gate():
    report = check([record("math")] * 300)
    assert metric(report).value == pytest.approx(27 / 28, abs=1e-4)
    assert metric(report).state == "fail" and report.summary.gate == "fail" and report.exit_code == 1


def test_a_small_set_is_measured_with_its_interval_instead_of_skipped():
    # ten records of one ability: imbalance 0.96, but ten records could come from a mix as low
    # as 0.66, so the gate warns; forty leave no doubt
    few, more = check([record("math")] * 10), check([record("math")] * 40)
    assert (metric(few).n, metric(few).value, metric(few).state) == (10, 0.9643, "warn")
    assert metric(few).ci_low == pytest.approx(0.6868, abs=1e-4) and metric(few).ci_high == 1.0
    assert "its 95% interval reaches back" in metric(few).reason
    assert metric(more).state == "fail" and metric(more).ci_low > 0.85


def test_the_interval_narrows_as_the_set_grows():
    mix = {"math": 5, "programming": 3, "translation": 2}
    widths = []
    for times in (1, 10, 100):
        records = [record(c) for c, n in mix.items() for _ in range(n * times)]
        m = metric(check(records, dq411={"target": {"math": 1 / 3, "programming": 1 / 3, "translation": 1 / 3}}))
        assert m.ci_low <= m.value <= m.ci_high
        widths.append(m.ci_high - m.ci_low)
    assert widths[0] > widths[1] > widths[2] and widths[2] < 0.15


def test_a_set_whose_records_are_all_uncertain_says_why_it_is_not_measured():
    report = check([{"instruction": "Banana.", "output": "Yes."}] * 3)
    assert metric(report).state == "skipped" and metric(report).n == 0
    assert (
        metric(report).reason == "not measured: none of the 3 passing records has a category its classifier is sure of"
    )


def test_the_gate_threshold_can_be_raised_in_config():
    report = check([record("math")] * 300, gate={"category-imbalance": {"fail": 0.99}})
    assert report.summary.gate == "pass"
    assert next(m for m in report.gate.metrics if m.name == "category-imbalance").state == "warn"


def test_without_balance_nothing_is_rejected():
    report = check([record("math")] * 30 + [record("programming")] * 2)
    assert report.summary.rejected == 0
    assert "quotas" not in report.dataset["categories"]


def test_balance_keeps_the_best_of_an_over_represented_category():
    # math: 8 records of qualities 0.1..0.8, programming 2, translation 2; target thirds, tolerance 1.5
    records = [record("math", q / 10) for q in range(1, 9)] + [record("programming")] * 2 + [record("translation")] * 2
    target = {"math": 1 / 3, "programming": 1 / 3, "translation": 1 / 3}
    report = check(records, balance=True, dq411={"target": target, "tolerance": 1.5})
    # a selection of 8: math may keep 1.5 x 1/3 x 8 = 4, the best four (0.8, 0.7, 0.6, 0.5)
    assert report.dataset["categories"]["quotas"] == {"math": 4, "programming": 2, "translation": 2}
    assert report.summary.passed == 8 and report.summary.rejected == 4
    rejected = report.records.filter(report.records["status"] == "rejected")
    assert rejected["record"].to_list() == [0, 1, 2, 3]  # qualities 0.1 .. 0.4
    assert rejected["reasons"][0].to_list() == ["DQ411: over the quota of category math: 4 of 8 kept (best by quality)"]
    assert report.dataset["categories"]["counts"] == {"math": 4, "programming": 2, "translation": 2}


def test_balance_counts_records_after_deduplication():
    # four math records are duplicates (rejected at stage 0): quotas see 4 math, not 8
    records = (
        [record("math", 0.9, question="DUP") for _ in range(4)]
        + [record("math", 0.5)] * 4
        + [record("programming")] * 4
    )
    report = check(records, balance=True, dq411={"target": {"math": 0.5, "programming": 0.5}, "tolerance": 1.0})
    assert report.dataset["categories"]["quotas"] == {"math": 4, "programming": 4}
    dq411 = next(r for r in report.rules if r.code == "DQ411")
    assert dq411.failed == 0
    assert report.summary.rejected == 4  # the duplicates only


def test_balance_rejections_do_not_lower_the_pass_rate():
    records = [record("math")] * 20 + [record("programming")] * 2
    report = check(records, balance=True, dq411={"target": {"math": 0.5, "programming": 0.5}, "tolerance": 1.0})
    records_section = report.dataset["records"]
    assert records_section["passed"] == 4 and records_section["deselected"] == 18
    assert records_section["pass_rate"] == 1.0
    assert report.summary.gate == "pass"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"math": 1.5}, "shares must be between 0 and 1 (math)"),
        ({"math": 0.7, "programming": 0.6}, "shares add up to 1.3, more than 1"),
    ],
)
def test_bad_targets_are_config_errors_naming_the_key(target, message):
    with pytest.raises(ConfigError, match=rf"'rules\.DQ411\.target': .*{message.replace('(', '.').replace(')', '.')}"):
        check([record("math")], dq411={"target": target})


def test_tolerance_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match=r"'rules\.DQ411\.tolerance'"):
        check([record("math")], dq411={"tolerance": 0.5})


@pytest.mark.slow
def test_gsm8k_fails_the_default_gate_and_passes_with_a_math_target():
    from tests.support import real

    report = dqe.check(real("gsm8k_train_alpaca.json"), select=["DQ411"])
    assert report.dataset["categories"]["imbalance"] > 0.9 and report.summary.gate == "fail"
    focused = dqe.check(real("gsm8k_train_alpaca.json"), select=["DQ411"], rules={"DQ411": {"target": {"math": 1.0}}})
    assert focused.dataset["categories"]["imbalance"] < 0.02 and focused.summary.gate == "pass"


def test_alpaca_en_balance_cuts_the_largest_categories_only():
    from tests.support import real

    report = dqe.check(real("llamafactory_alpaca_en_demo.json"), select=["DQ411"], balance=True)
    categories = report.dataset["categories"]
    assert (
        categories["imbalance"]
        < dqe.check(real("llamafactory_alpaca_en_demo.json"), select=["DQ411"]).dataset["categories"]["imbalance"]
    )
    cut = {f.message.split(":")[0].rsplit(" ", 1)[-1] for f in report.findings}
    assert cut <= {"open-qa", "brainstorming", "closed-qa", "composition", "rewriting"}
    # open questions are a quarter of it (by hand labels, and by the category model since issue 13):
    # balancing cuts about a third of the set
    assert report.summary.passed > 600 and report.summary.gate == "pass"
