"""A table's records checked together give each record the verdict a run of its own gives
(tests/batched.py, which the rule tests' parametrized tables share)."""

from __future__ import annotations

from dqe.testing import record, run_rule
from tests.batched import Batched, TableRun
from tests.support import failures

TABLE = [
    record("Why is the sky blue?", "Blue."),
    record("What is 17 * 23 + 9?", "17 * 23 = 391, and 391 + 9 = 400."),
    record("Write a poem about rain.", "As an AI language model, I cannot write poems."),
    record("Translate 'hello' into French.", "Bonjour."),
]


def test_each_record_gets_the_verdict_it_gets_alone():
    for code in ("DQ201", "DQ203"):
        shared = Batched(code, TABLE)
        for item in TABLE:
            alone, batched = run_rule(code, [item]), shared.run(item)
            assert (batched.passed, batched.messages, batched.turns, batched.evidence, batched.scores) == (
                alone.passed,
                alone.messages,
                alone.turns,
                alone.evidence,
                alone.scores,
            )
            assert [f.message for f in batched.report.findings] == [f.message for f in alone.report.findings]
            assert shared.failures(item) == failures([item], code)
    # the table holds a failure of each rule, each read from the run of all four
    assert Batched("DQ201", TABLE).failures(TABLE[0])[0].startswith("question needs reasoning (why)")
    assert Batched("DQ203", TABLE).run(TABLE[2]).messages[0].startswith("answer: AI disclaimer")


def test_the_table_runs_once_and_a_record_outside_it_is_refused():
    calls = []
    shared = TableRun(lambda records: calls.append(len(records)) or [r["output"] for r in records], TABLE)
    assert [shared.of(item) for item in TABLE] == [item["output"] for item in TABLE]
    assert calls == [len(TABLE)]
    try:
        shared.of(record("Not in the table.", "No."))
    except AssertionError as exc:
        assert "not in the table" in str(exc)
    else:
        raise AssertionError("a record outside the table was answered")
