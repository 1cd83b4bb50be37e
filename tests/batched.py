"""One engine run shared by every case of a parametrized table of records.

A case that runs a rule on its own record pays for a whole engine run (about a quarter of a
second of CPU, nearly all of it fixed cost), and the tables of the rule tests hold hundreds of
cases. A record rule judges each record as it would alone (the engine's contract, which
``dqe.testing.assert_rule_contract`` checks), so a table's records are checked together, once
per test process, the first time a case asks, and each case reads its own record's verdict:

    BARE = Batched("DQ201", [qa(question, answer) for question, answer in CASES])

    @pytest.mark.parametrize(("question", "answer"), CASES)
    def test_bare_answers_fail(question, answer):
        assert list(BARE.failures(qa(question, answer))) == [0]

The records of one table share one record format, as those of one ``run_rule`` call do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from dqe.testing import RuleRun, run_rule
from tests.support import failures


class Batched:
    """A rule's verdicts on a table's records, each read as ``failures([record], code)`` or
    ``run_rule(code, [record])`` would give it, from one run of the rule over all of them."""

    def __init__(self, code: str, records: Iterable[Mapping[str, Any]], **config: Any):
        self.code, self.config = code, config
        self.records = [dict(r) for r in records]
        self._failures: dict[int, str] | None = None
        self._run: RuleRun | None = None

    def _index(self, record: Mapping[str, Any]) -> int:
        try:
            return self.records.index(dict(record))
        except ValueError:
            raise AssertionError(f"the record is not in the table checked together: {record!r}") from None

    def failures(self, record: Mapping[str, Any]) -> dict[int, str]:
        """``failures([record], code)``: {0: message} where the rule fails the record, else {}."""
        i = self._index(record)
        if self._failures is None:
            self._failures = failures(self.records, self.code, **self.config)
        return {0: self._failures[i]} if i in self._failures else {}

    def run(self, record: Mapping[str, Any]) -> RuleRun:
        """``run_rule(code, [record])``: the record's verdict, as a run of one record (the errors
        and the report are the whole table's)."""
        i = self._index(record)
        if self._run is None:
            self._run = run_rule(self.code, self.records, **self.config)
        run = self._run
        return replace(
            run,
            passed=run.passed[i : i + 1],
            scores=run.scores[i : i + 1],
            messages=run.messages[i : i + 1],
            turns=run.turns[i : i + 1],
            evidence=run.evidence[i : i + 1],
        )
