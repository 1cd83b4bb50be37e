"""DQ101 token-length: the formatted example against the cap, with the template's own tokens."""

from __future__ import annotations

import dqe
from tests.support import real


def test_long_answer_fails_with_the_count_in_the_message():
    long = {"instruction": "Write.", "output": "word " * 5000}
    report = dqe.check([long, {"instruction": "Write.", "output": "Short."}], select=["DQ101"])
    assert report.summary.rejected == 1
    (finding,) = report.findings
    assert finding.code == "DQ101" and finding.source == "<records>:1"
    assert finding.message.endswith("tokens > 4096 (tiktoken:cl100k_base)")
    assert int(finding.message.split()[0]) > 5000


def test_template_markup_counts_toward_the_total():
    record = [{"instruction": "hi", "output": "hello"}]
    plain = dqe.check(record, template="plain").dataset["tokens"]["total"]["max"]
    chatml = dqe.check(record, template="chatml").dataset["tokens"]["total"]["max"]
    assert chatml > plain >= 2


def test_question_and_answer_counts_use_the_last_turns():
    record = {"instruction": "one two three", "output": "four", "history": [["x " * 50, "y " * 50]]}
    tokens = dqe.check([record]).dataset["tokens"]
    assert tokens["question"]["max"] == 3 and tokens["answer"]["max"] == 1


def test_gsm8k_is_well_under_the_cap():
    report = dqe.check(real("gsm8k_train_alpaca.json"), select=["DQ101"])
    assert report.summary.rejected == 0
    assert report.dataset["tokens"]["total"]["p99"] < 1000


def test_the_finding_names_no_turn_and_gives_the_count_the_cap_the_tokenizer_and_template():
    from dqe.testing import run_rule

    run = run_rule("DQ101", [{"instruction": "Write.", "output": "word " * 5000}], template="alpaca")
    assert run.turns == [None]
    (evidence,) = run.evidence
    assert evidence.startswith("5031 tokens counted (system prompt 19, 2 turns 5012")
    assert evidence.endswith("> max-tokens 4096; tokenizer tiktoken:cl100k_base, template alpaca")


def test_each_record_is_judged_the_same_in_a_batch_as_alone():
    from dqe.testing import assert_rule_contract

    assert_rule_contract(
        "DQ101", [{"instruction": "Write.", "output": "word " * 5000}, {"instruction": "a", "output": "b"}]
    )
