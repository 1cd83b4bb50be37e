"""One engine run shared by every case of a parametrized table of records.

A case that runs a rule on its own record pays for a whole engine run (about a quarter of a
second of CPU, nearly all of it fixed cost), and the tables of the rule tests hold hundreds of
cases. A record rule judges each record as it would alone (the engine's contract, which
``dqe.testing.assert_rule_contract`` checks), and so do the record features, so a table's
records are checked together, once per test process, the first time a case asks, and each case
reads its own record's verdict:

    BARE = Batched("DQ201", [qa(question, answer) for question, answer in CASES])

    @pytest.mark.parametrize(("question", "answer"), CASES)
    def test_bare_answers_fail(question, answer):
        assert list(BARE.failures(qa(question, answer))) == [0]

The records of one table share one record format, as those of one ``run_rule`` call do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar

from dqe.testing import RuleRun, run_rule
from tests.support import failures

T = TypeVar("T")


class TableRun(Generic[T]):
    """``judge(records)`` (one result per record, in order) called once, on the first ask, and
    each record's result read from it: ``TableRun(domains, records).of(record)`` is
    ``domains([record])[0]``."""

    def __init__(self, judge: Callable[[list[dict[str, Any]]], Sequence[T]], records: Iterable[Mapping[str, Any]]):
        self.judge = judge
        self.records = [dict(r) for r in records]
        self._results: Sequence[T] | None = None

    def index(self, record: Mapping[str, Any]) -> int:
        try:
            return self.records.index(dict(record))
        except ValueError:
            raise AssertionError(f"the record is not in the table checked together: {record!r}") from None

    def of(self, record: Mapping[str, Any]) -> T:
        i = self.index(record)
        if self._results is None:
            self._results = self.judge(self.records)
            assert len(self._results) == len(self.records), "one result a record"
        return self._results[i]


class Batched:
    """A rule's verdicts on a table's records, each read as ``failures([record], code)`` or
    ``run_rule(code, [record])`` would give it, from one run of the rule over all of them."""

    def __init__(self, code: str, records: Iterable[Mapping[str, Any]], **config: Any):
        self.code = code
        self._failures = TableRun(self._each_failure, records)
        self._runs = TableRun(self._each_run, self._failures.records)
        self.config = config

    def _each_failure(self, records: list[dict[str, Any]]) -> list[dict[int, str]]:
        found = failures(records, self.code, **self.config)
        return [{0: found[i]} if i in found else {} for i in range(len(records))]

    def _each_run(self, records: list[dict[str, Any]]) -> list[RuleRun]:
        run = run_rule(self.code, records, **self.config)
        # each record's verdict as a run of its own: the report's findings are the record's (its
        # other parts, and the errors, the table's)
        return [
            replace(
                run,
                passed=run.passed[i : i + 1],
                scores=run.scores[i : i + 1],
                messages=run.messages[i : i + 1],
                turns=run.turns[i : i + 1],
                evidence=run.evidence[i : i + 1],
                report=run.report.model_copy(update={"findings": [f for f in run.report.findings if f.record == i]}),
            )
            for i in range(len(records))
        ]

    def failures(self, record: Mapping[str, Any]) -> dict[int, str]:
        """``failures([record], code)``: {0: message} where the rule fails the record, else {}."""
        return self._failures.of(record)

    def run(self, record: Mapping[str, Any]) -> RuleRun:
        """``run_rule(code, [record])``: the record's verdict, as a run of one record."""
        return self._runs.of(record)
