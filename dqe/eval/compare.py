"""Two runs side by side (``dqe eval RUN_A --against RUN_B``): the tuned models of both on the
same held-out records, metric by metric and rule by rule, with the differences.

This is how a team shows that a rule helps before making it a gate: one run trained on all
records, one on the records that passed, the same test records for both. Runs tested on other
records are refused, since their numbers would not compare. Building it needs no torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, computed_field

from dqe import __version__
from dqe.errors import ConfigError
from dqe.eval.report import EvalReport, RunInfo
from dqe.eval.runfolder import TrainedRun

RUNS = ("a", "b")


def same_test_split(a: TrainedRun, b: TrainedRun) -> None:
    """A ``ConfigError`` naming both runs when they were tested on different records."""
    ids = {}
    for run in (a, b):
        if "test_ids" not in run.split:
            raise ConfigError(f"{run.dir / 'split.json'}: no test_ids (a run of an older dqe train); train it again")
        ids[run.dir] = set(run.split["test_ids"])
    only_a, only_b = ids[a.dir] - ids[b.dir], ids[b.dir] - ids[a.dir]
    if only_a or only_b:
        raise ConfigError(
            f"--against: {a.dir} and {b.dir} were tested on different records ({len(only_a):,} test records only in "
            f"{a.dir}, {len(only_b):,} only in {b.dir}); compare runs whose test splits hold the same records"
        )


class ComparedMetric(BaseModel):
    name: str
    description: str
    better: Literal["lower", "higher"] | None
    a: float | None  # RUN_A's tuned model
    b: float | None  # RUN_B's tuned model

    @computed_field  # type: ignore[prop-decorator]
    @property
    def diff(self) -> float | None:
        """a - b."""
        return None if self.a is None or self.b is None else self.a - self.b

    @property
    def a_better(self) -> bool | None:
        """Whether RUN_A's model does better on it; None when they tie or neither is better."""
        if self.diff is None or self.better is None or abs(self.diff) < 1e-12:
            return None
        return (self.diff < 0) == (self.better == "lower")


class ComparedRule(BaseModel):
    """How many answers of each run's tuned model a rule flagged."""

    code: str
    name: str
    summary: str
    a: int
    b: int
    answers_a: int
    answers_b: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def a_share(self) -> float:
        return self.a / self.answers_a if self.answers_a else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def b_share(self) -> float:
        return self.b / self.answers_b if self.answers_b else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def diff(self) -> float:
        """a_share - b_share."""
        return self.a_share - self.b_share


class Closer(BaseModel):
    """Per test record answered by both: whose answer is closer to the reference by ROUGE-L."""

    a: int
    b: int
    same: int


class Comparison(BaseModel):
    tool: str = "dqe"
    kind: str = "evaluation-comparison"
    version: str = __version__
    a: RunInfo
    b: RunInfo
    test_records: int  # in the shared test split
    metrics: list[ComparedMetric]
    rules: list[ComparedRule]
    closer: Closer
    reports: dict[str, str]  # each run's report.json
    outputs: dict[str, str]


def compare(a: EvalReport, b: EvalReport, test_records: int, outputs: dict[str, str]) -> Comparison:
    """The tuned models of two evaluations, side by side."""
    metrics_b = {m.name: m for m in b.metrics}
    metrics = [
        ComparedMetric(name=m.name, description=m.description, better=m.better, a=m.tuned, b=metrics_b[m.name].tuned)
        for m in a.metrics
        if m.name in metrics_b
    ]
    rules_b = {r.code: r for r in b.rules}
    rules = [
        ComparedRule(
            code=r.code,
            name=r.name,
            summary=r.summary,
            a=r.tuned,
            b=rules_b[r.code].tuned,
            answers_a=r.answers,
            answers_b=rules_b[r.code].answers,
        )
        for r in a.rules
        if r.code in rules_b
    ]
    rouge_b = {e.id: e.tuned.rougeL for e in b.examples}
    diffs = [e.tuned.rougeL - rouge_b[e.id] for e in a.examples if e.id in rouge_b]
    closer = Closer(
        a=sum(d > 1e-9 for d in diffs), b=sum(d < -1e-9 for d in diffs), same=sum(abs(d) <= 1e-9 for d in diffs)
    )
    return Comparison(
        a=a.run,
        b=b.run,
        test_records=test_records,
        metrics=metrics,
        rules=rules,
        closer=closer,
        reports={"a": a.outputs.get("json", ""), "b": b.outputs.get("json", "")},
        outputs=outputs,
    )
