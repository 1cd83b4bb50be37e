"""The model-scores feature: a score file's numbers joined to the records, summed up for the report."""

from __future__ import annotations

import dqe
from tests.support import write_scores


def test_the_summary_counts_what_was_scored_and_why_the_rest_was_not(tmp_path, write_jsonl):
    records = [{"instruction": f"Question {n}.", "output": f"Answer {n}."} for n in range(5)]
    scores = write_scores(tmp_path / "scores.jsonl", records, [0.5, 0.8, 1.0, 1.4, None])
    report = dqe.check(write_jsonl(records), select=["DQ001"], scores=str(scores))
    section = report.dataset["scores"]
    assert (section["records"], section["scored"]) == (5, 4)
    assert section["not_scored"] == {"seq-len 2048 cuts the whole answer away": 1}
    assert section["ifd"]["at_or_above_1"] == 2 and section["ifd"]["p50"] == 0.9
    assert section["ppl"]["mean"] == 10.0
    assert sum(section["histograms"]["ppl"]["counts"]) == 4


def test_the_scores_are_read_even_when_no_rule_asks_for_them(tmp_path, write_jsonl):
    records = [{"instruction": "Say hi.", "output": "Hi."}]
    scores = write_scores(tmp_path / "scores.jsonl", records, [0.7])
    report = dqe.check(write_jsonl(records), select=["DQ001"], ignore=["DQ107"], scores=str(scores))
    assert report.dataset["scores"]["scored"] == 1
