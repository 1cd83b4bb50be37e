"""DQ431 max-records: the N best by quality, within the balance quotas, after deduplication."""

from __future__ import annotations

from dqe.testing import run_rule
from tests.selection_support import PLUGIN, SELECT, record


def check(records, **config):
    """DQ431's run beside the other selection stages and the test plugin's quality scores."""
    others = [code for code in SELECT if code != "DQ431"]
    return run_rule("DQ431", records, plugins=[PLUGIN], extend_select=others, **config).report


def test_inactive_without_max_records():
    report = check([record("math", q / 10) for q in range(10)])
    assert report.summary.rejected == 0
    assert {r.code: r.skipped for r in report.rules}["DQ431"] == "no --max-records"


def test_a_limit_above_the_data_set_is_checked_not_skipped():
    report = check([record("math", q / 10) for q in range(10)], max_records=20)
    row = {r.code: r for r in report.rules}["DQ431"]
    assert (row.skipped, row.evaluated, row.failed) == (None, 10, 0)


def test_keeps_the_n_best_by_quality():
    records = [record("math", q / 10) for q in range(10)]
    report = run_rule("DQ431", records, plugins=[PLUGIN], extend_select=["TST"], max_records=3).report
    statuses = report.records["status"].to_list()
    assert statuses == ["rejected"] * 7 + ["passed"] * 3  # qualities 0.7, 0.8, 0.9 kept
    finding = next(f for f in report.findings if f.code == "DQ431" and f.record == 0)
    assert finding.message == "not among the 3 best records by quality (quality 0.0, cut-off 0.7)"
    assert report.dataset["records"]["pass_rate"] == 1.0 and report.summary.gate == "pass"


def test_honours_category_quotas_domain_maximum_and_deduplication():
    records = (
        [record("math", 0.99, question="DUP")] * 5  # the best records, but duplicates
        + [record("math", 0.9)] * 10  # good but over-represented
        + [record("programming", 0.5)] * 10
        + [record("translation", 0.4)] * 10
        + [record("translation", 0.95, domain="legal")] * 10  # very good but vertical
    )
    target = {"math": 1 / 3, "programming": 1 / 3, "translation": 1 / 3}
    report = check(
        records,
        max_records=12,
        rules={"DQ411": {"target": target, "tolerance": 1.0}, "DQ421": {"max-share": 0.25}},
    )
    kept = report.records.filter(report.records["status"] == "passed")["record"].to_list()
    assert len(kept) == 12
    assert not set(kept) & set(range(5))  # no duplicate
    categories = report.dataset["categories"]["counts"]
    assert categories == {"math": 4, "programming": 4, "translation": 4}  # quotas for 12 records
    legal = [i for i in kept if i >= 35]
    assert 1 <= len(legal) <= 3  # at most 0.25 x 12, and the best of them
    assert legal == list(range(35, 35 + len(legal)))
    assert report.dataset["domains"]["vertical_share"] <= 0.25
    codes = {c for reasons in report.records["codes"] for c in reasons}
    assert codes == {"TST900", "DQ411", "DQ421"}  # quotas sized for 12 left nothing for DQ431 to cut


def test_ties_are_cut_round_robin_over_categories():
    records = [record("math")] * 6 + [record("programming")] * 6 + [record("translation")] * 2
    report = check(records, max_records=6)
    assert report.dataset["categories"]["counts"] == {"math": 2, "programming": 2, "translation": 2}


def test_by_ifd_keeps_the_highest_ifd_below_1_then_the_rest_by_quality(tmp_path):
    from tests.support import write_scores

    records = [record("math", 0.5, question=f"Question {n}.") for n in range(6)]
    ifds = [0.3, 0.9, 1.2, 0.95, None, 0.5]
    scores = write_scores(tmp_path / "scores.jsonl", records, ifds)
    report = check(records, max_records=4, rank_by="ifd", scores=str(scores))
    kept = report.records.filter(report.records["status"] == "passed")["record"].to_list()
    assert kept == [0, 1, 3, 5]  # 0.95, 0.9, 0.5, 0.3; 1.2 and the unscored one go last
    finding = next(f for f in report.findings if f.code == "DQ431" and f.record == 2)
    assert finding.message == "not among the 4 best records by IFD below 1 (IFD 1.2, cut-off 0.3)"


def test_by_ifd_with_balance_keeps_the_highest_ifd_of_each_category(tmp_path):
    from tests.support import write_scores

    records = [record("math", question=f"Sum {n}.") for n in range(4)] + [
        record("programming", question=f"Code {n}.") for n in range(2)
    ]
    scores = write_scores(tmp_path / "scores.jsonl", records, [0.6, 0.9, 0.7, 0.8, 0.2, 0.1])
    target = {"math": 0.5, "programming": 0.5}
    report = check(
        records,
        max_records=4,
        balance=True,
        rank_by="ifd",
        scores=str(scores),
        rules={"DQ411": {"target": target, "tolerance": 1.0}},
    )
    kept = report.records.filter(report.records["status"] == "passed")["record"].to_list()
    assert kept == [1, 3, 4, 5]  # math's two highest IFDs, and both programming records
    finding = next(f for f in report.findings if f.code == "DQ411" and f.record == 0)
    assert finding.message == "over the quota of category math: 2 of 4 kept (best by IFD)"
