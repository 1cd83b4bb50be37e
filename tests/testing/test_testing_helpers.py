"""``dqe.testing``: what a plugin's tests use to build records, run a rule and check findings."""

from __future__ import annotations

import polars as pl
import pytest

from dqe import RecordRule
from dqe.errors import PluginError
from dqe.rules.structure import Structure
from dqe.testing import RuleRun, assert_findings, batch, conversation, record, run_rule


class Shouting(RecordRule):
    """Fails answers written in capitals."""

    code = "SHT001"
    name = "shouting"
    summary = "answer in capitals"

    def check(self, frame: pl.DataFrame) -> pl.DataFrame:
        loud = frame["answer"].str.contains(r"^[^a-z]*[A-Z]{3}[^a-z]*$")
        return frame.select(
            passed=~loud,
            score=pl.when(loud).then(0.2).otherwise(1.0),
            message=pl.when(loud).then(pl.lit("answer in capitals")),
        )


def test_record_and_conversation_build_records():
    assert record("Q?", "A.", system="S", category="math") == {
        "instruction": "Q?",
        "input": "",
        "output": "A.",
        "system": "S",
        "category": "math",
    }
    assert record(history=[("q1", "a1")])["history"] == [["q1", "a1"]]
    assert conversation("Hi", "Hello", system="Be kind.")["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]


def test_run_rule_registers_a_rule_class_nobody_installed():
    run = run_rule(Shouting, ["HELLO THERE", "Hello there", record(answer="OK THEN")])
    assert isinstance(run, RuleRun)
    assert run.passed == [False, True, False]
    assert run.scores == [0.2, 1.0, 0.2]
    assert run.messages == ["answer in capitals", None, "answer in capitals"]
    assert run.failed == [0, 2]
    assert run.report.rules[-1].plugin == "dqe.testing:SHT001"


def test_run_rule_takes_a_code_or_a_name_and_options():
    assert run_rule("DQ101", ["word " * 50], {"max-tokens": 10}).failed == [0]
    assert run_rule("token-length", ["word " * 50], {"max_tokens": 1000}).failed == []
    assert run_rule(Structure, [record(answer="")]).messages == ["empty answer"]


def test_run_rule_reports_invalid_records():
    run = run_rule(Shouting, [record(), {"instruction": 3, "output": "x"}])
    assert run.passed == [True, False]
    assert run.messages[1].startswith("DQ000 invalid record:")


def test_run_rule_refuses_a_class_whose_code_is_taken():
    class Impostor(Shouting):
        """Claims a built-in code."""

        code = "DQ001"

    with pytest.raises(PluginError, match="Impostor's code DQ001 is taken by dqe.rules.structure.Structure"):
        run_rule(Impostor, ["x"])


def test_assert_findings_explains_every_mismatch():
    run = run_rule(Shouting, ["HELLO THERE", "Hello there"])
    assert_findings(run, {0: "capitals"})
    assert_findings(run, [0])
    with pytest.raises(AssertionError) as exc:
        assert_findings(run, {0: "lower case", 1: None, 5: None})
    assert str(exc.value) == (
        "SHT001:\n"
        "  record 0: expected a message containing 'lower case', got 'answer in capitals'\n"
        "  record 1: expected a finding, but it passed\n"
        "  records [5] were expected to fail, but only 2 records ran"
    )


def test_assert_findings_fails_on_a_rule_that_raised():
    class Raises(Shouting):
        """Raises on every batch."""

        code = "SHT002"
        name = "raises"

        def check(self, frame):
            raise RuntimeError("boom")

    run = run_rule(Raises, ["x"])
    assert run.passed == [False]
    with pytest.raises(AssertionError, match="rule SHT002 raised: <records>:1: RuntimeError: boom"):
        assert_findings(run, [0])


def test_batch_is_what_check_receives():
    frame = batch([record("Q?", "A."), "B."], needs=["tokens"])
    assert frame["question"].to_list() == ["Q?", "Answer the question."]
    assert frame["answer"].to_list() == ["A.", "B."]
    assert {"turns", "tokens_total"} <= set(frame.columns)
    assert Shouting.check(None, frame)["passed"].to_list() == [True, True]  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="no feature 'nope'"):
        batch(["x"], needs=["nope"])


def test_assert_rule_contract_passes_a_rule_that_keeps_it():
    from dqe.testing import assert_rule_contract

    assert_rule_contract(Structure, [record("Hi?", "Hello."), record("Hi?", ""), record("", "An answer.")])
    assert_rule_contract(Structure, [conversation("a", "b", "c", "d"), conversation("a", "", "c")])
    assert_rule_contract(Shouting, [record(answer="HELLO"), record(answer="hello")])


class LongestFails(RecordRule):
    """Fails the longest answer of its batch: a verdict that depends on the other records."""

    code = "TST031"
    name = "longest-fails"
    summary = "fails the longest answer in the batch"

    def check(self, batch):
        longest = pl.col("answer").str.len_chars() == pl.col("answer").str.len_chars().max()
        return batch.select(passed=~longest)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (LongestFails, "record 0: in the batch (True, 1.0, None), alone (False, 0.0, 'failed TST031')"),
        ("nan", "check() returned a score that is not a finite number (NaN)"),
        ("mutate", "check() changed its batch in place"),
        ("print", "check() printed to stdout: 'printed by a hostile plugin with print()"),
    ],
)
def test_assert_rule_contract_names_what_a_rule_breaks(rule, problem):
    from dqe.testing import assert_rule_contract
    from dqe.testing.hostile import RECORD_RULE, Hostile

    plugins = []
    if isinstance(rule, str):
        plugins, rule = [Hostile("check", rule)], RECORD_RULE
    with pytest.raises(AssertionError) as exc:
        assert_rule_contract(rule, [record(answer="short"), record(answer="a longer answer")], plugins=plugins)
    assert problem in str(exc.value)
