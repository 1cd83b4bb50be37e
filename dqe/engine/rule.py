"""What a rule is. Built-in and third-party rules subclass these and register through hooks.

A record rule sees batches of records as polars frames (columns: ``dqe.records.batch_schema``
plus the features it ``needs``) and returns one row per record: ``passed``, ``score`` (0..1,
1 is best), ``message`` (why it failed) and, optionally, ``turn`` (the 1-based turn at fault)
and ``evidence`` (what matched and the scores that decided, so that a wrong verdict is easy to
see). A rule that judges every exchange of a conversation works on ``dqe.exchanges`` and
folds its per-exchange results with ``worst_exchange``. A dataset rule ``collect``s compact per-record
columns batch by batch and ``evaluate``s the whole set at the end, so that text never has to be
held for the whole data set.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from dqe.engine.config import kebab_case

if TYPE_CHECKING:
    import polars as pl

    from dqe.engine.context import Context

Scope = Literal["record", "dataset"]
Severity = Literal["error", "warning", "info"]
CODE_PATTERN = re.compile(r"^[A-Z]{2,6}[0-9]{3}$")


class RuleOptions(BaseModel):
    """Base of every rule's options. Config spells keys in kebab-case (``max-tokens``)."""

    model_config = ConfigDict(extra="forbid", alias_generator=kebab_case, populate_by_name=True, frozen=True)


class GateMetric(BaseModel):
    """A data-set metric the gate can hold to a threshold (``[tool.dqe.gate]``).

    ``key`` is the metric's dotted path in the report's ``dataset`` section, where the rule's
    ``summarize`` (or ``evaluate``) put it: ``"duplicates.rate"``. ``bounds`` are the values
    it can take, ``(0, 1)`` for a share and ``(0, None)`` for a count: a threshold outside them
    could never pass or never fail, so the config that sets one is refused.

    A metric is measured on a data set of any size; how sure the measure is decides the gate.
    ``n_key`` is the dotted path of the number of records it is measured on: a share of them
    (``"duplicates.records"``) gets a Wilson 95% interval. ``interval_key`` is the path of a
    ``[low, high]`` 95% interval the rule computed itself, for a metric that is no simple share
    (a bootstrap). The gate fails when the whole interval lies past the fail level and warns
    when only the value does. ``note_key`` is the path of the sentence a rule writes when it
    cannot measure the metric (no value), which the report shows.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    key: str
    description: str
    direction: Literal["min", "max"]  # "min": fail below the threshold; "max": fail above it
    fail: float | None = None
    warn: float | None = None
    bounds: tuple[float | None, float | None] = (None, None)
    n_key: str | None = None
    interval_key: str | None = None
    note_key: str | None = None


class DatasetResult(BaseModel):
    """What a dataset rule found: the failing records and the metrics it measured."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    failed: Any = None  # pl.DataFrame with _idx, score, message (optional: turn, evidence); None when nothing failed
    metrics: dict[str, Any] = Field(default_factory=dict)  # merged into the dataset section
    skipped: str | None = None  # why nothing was checked (an option not given): reported, not "0 failed"


class Rule(ABC):
    """Common attributes of every rule; subclass ``RecordRule`` or ``DatasetRule``.

    ``dqe rule CODE`` prints ``summary``, the class docstring (what it does), ``why`` and
    ``example``, and the options with their defaults.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    why: ClassVar[str] = ""
    example: ClassVar[str] = ""
    scope: ClassVar[Scope]
    severity: ClassVar[Severity] = "error"
    default_enabled: ClassVar[bool] = True
    Options: ClassVar[type[RuleOptions]] = RuleOptions
    needs: ClassVar[tuple[str, ...]] = ()  # features computed before the rule runs: ("tokens",)
    keep: ClassVar[tuple[str, ...]] = ()  # batch columns kept for summarize() / evaluate()
    gate_metrics: ClassVar[tuple[GateMetric, ...]] = ()

    def __init__(self, options: RuleOptions, context: Context):
        self.options = options
        self.context = context
        # Why the rule checks nothing in this run (DQ103 without a model), set by a subclass's
        # ``__init__``: the engine then runs neither it nor the features it needs, and reports it
        # as skipped with this reason instead of "0 failed".
        self.skipped: str | None = None

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        """Data-set metrics for the report's ``dataset`` section, from the kept columns of
        every record: ``{"tokens": {"over_limit": 3}}``. Sections merge one level deep."""
        return {}

    def redact(self, texts: pl.Series) -> pl.DataFrame | None:
        """Rewrite what this rule finds in written records, or None (the default) to leave
        records as they were read.

        ``dqe filter`` calls it on every string value of every record it writes (passed and
        rejected, nested fields too), many records at a time. Return a frame of the same
        height with ``text`` (the string to write) and ``count`` (how many spans were replaced;
        0 where nothing changed). The counts go on the record (``_dqe.redactions``) and into
        the report, so a rewrite is never silent. A rule rewrites only when its options ask
        for it: return None otherwise.
        """
        return None


class RecordRule(Rule):
    scope: ClassVar[Scope] = "record"

    @abstractmethod
    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        """One row per record of ``batch``: ``passed`` (bool), ``score`` (float), ``message``,
        and optionally ``turn`` (Int) and ``evidence`` (str)."""


class EncodingRule(RecordRule):
    """A record rule on the trainer's own encoding of each record (the ``trainer-encoding``
    feature: its ``train_*`` columns): skipped, saying why, when the check is given no model
    (``--model``, ``--train-config``), since only a model's tokenizer and template can tell."""

    needs: ClassVar[tuple[str, ...]] = ("trainer-encoding",)

    def __init__(self, options: RuleOptions, context: Context):
        super().__init__(options, context)
        if context.encoding is None:
            self.skipped = "no --model"


def in_batch_order(batch: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """``found`` (a row per failing record, ``_r`` its UInt32 position in ``batch``) spread over
    every record of ``batch`` in order, nulls where nothing was found: the shape ``check`` returns."""
    import polars as pl

    positions = batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32))
    return positions.join(found, on="_r", how="left", maintain_order="left")


def worst_exchange(batch: pl.DataFrame, judged: pl.DataFrame) -> pl.DataFrame:
    """Per-exchange results folded into the one row per record that ``check`` returns.

    ``judged`` has a row per judged exchange: ``_r`` (the record's row in ``batch``), ``turn``,
    ``passed``, ``score``, ``message`` and ``evidence``. A record passes when every exchange
    does; its score is its worst exchange's; a failing record names its first failing turn, with
    that turn's message and evidence, and the message counts the other failing turns.
    """
    import polars as pl

    failing = (
        judged.filter(~pl.col("passed"))
        .sort("_r", "turn")
        .group_by("_r", maintain_order=True)
        .agg(
            pl.col("turn").first(),
            pl.col("message").first(),
            pl.col("evidence").first(),
            others=pl.col("turn").slice(1).cast(pl.String).str.join(", "),
        )
        .select(
            "_r",
            "turn",
            "evidence",
            message=pl.when(pl.col("others") != "")
            .then(pl.format("{} (also turns {})", "message", "others"))
            .otherwise(pl.col("message")),
        )
    )
    scores = judged.group_by("_r").agg(score=pl.col("score").min())
    out = in_batch_order(batch, failing).join(scores, on="_r", how="left", maintain_order="left")
    failed = out["message"].is_not_null()
    return pl.DataFrame(
        {
            "passed": ~failed,
            "score": out["score"].fill_null(1.0),
            "message": out["message"],
            "turn": out["turn"].cast(pl.Int32),
            "evidence": out["evidence"].cast(pl.String),
        }
    )


class DatasetRule(Rule):
    """Dataset rules run after every record rule, in order of ``stage`` then code; each sees
    in the ``rejected`` column what record rules and earlier dataset rules rejected (so that
    balancing quotas count records after deduplication, say). ``summarize`` runs after every
    dataset rule, so its ``rejected`` column is final: it measures what passes."""

    scope: ClassVar[Scope] = "dataset"
    stage: ClassVar[int] = 0
    # A selection rule (balance quotas, max-records) rejects records that are fine, to choose
    # among them: the engine counts records it alone rejected as deselected, not as failures,
    # so that selecting does not lower the pass rate.
    selection: ClassVar[bool] = False

    def collect(self, batch: pl.DataFrame) -> pl.DataFrame | None:
        """Compact per-record columns for ``evaluate`` (same height as ``batch``), or None."""
        return None

    @abstractmethod
    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        """Judge the whole data set: ``table`` holds every valid record's kept columns."""
