"""DQ107 question-does-not-help: IFD at or above 1, read from dqe score's file (--scores)."""

from __future__ import annotations

from dqe.testing import assert_findings, run_rule
from tests.support import write_scores

RECORDS = [
    {"instruction": "List three primary colours.", "output": "Red, yellow and blue."},
    {"instruction": "Name a prime number.", "output": "The weather was mild all week."},
    {"instruction": "Say hello.", "output": "Hello!"},
    {"instruction": "Summarize the text.", "output": "Too long to score."},
]


def test_an_answer_the_question_does_not_help_predict_warns_with_both_perplexities(tmp_path):
    scores = write_scores(tmp_path / "scores.jsonl", RECORDS, [0.62, 1.07, 1.0, None])
    run = run_rule("DQ107", RECORDS, scores=str(scores))
    assert_findings(run, {1: "the question does not help predict the answer: IFD 1.07", 2: "IFD 1.0 "})
    assert run.messages[1].endswith("(perplexity 10.0 with the question, 9.35 without)")
    assert run.evidence[1] == "5 answer tokens scored with tiny (fp32, template alpaca); max-ifd 1.0"
    assert run.scores[1] == 1 / 1.07
    assert run.passed[3]  # not scored: not judged


def test_the_threshold_is_an_option(tmp_path):
    scores = write_scores(tmp_path / "scores.jsonl", RECORDS, [0.62, 1.07, 1.0, None])
    run = run_rule("DQ107", RECORDS, scores=str(scores), rules={"DQ107": {"max-ifd": 0.6}})
    assert sorted(run.failed) == [0, 1, 2]


def test_without_scores_the_rule_is_skipped_and_says_why():
    run = run_rule("DQ107", RECORDS)
    (row,) = [r for r in run.report.rules if r.code == "DQ107"]
    assert row.skipped == "no --scores"
    assert row.evaluated == 0 and all(run.passed)
