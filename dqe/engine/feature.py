"""What a feature is: per-record columns several rules share, computed once per batch.

Token counts are a feature: the length rules, the report's percentiles and the trainer's ledger
all read them, and tokenizing twice would double the cost of a check.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import polars as pl

    from dqe.engine.context import Context


class Feature(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()  # other features computed first
    columns: ClassVar[tuple[str, ...]]  # the columns compute() adds
    keep: ClassVar[tuple[str, ...]] = ()  # columns kept for summarize()
    # Per-record labels shown to users (``dqe check --format jsonl``, ``Report.labels``): label
    # name -> kept column. A dotted name nests: {"cot.need": "cot_need"} gives {"cot": {"need": ...}}.
    labels: ClassVar[dict[str, str]] = {}

    def __init__(self, context: Context):
        self.context = context

    @abstractmethod
    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The new ``columns`` for every record of ``batch`` (same height, same order)."""

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        """Data-set metrics for the report's ``dataset`` section (see ``Rule.summarize``)."""
        return {}


def new_feature(context: Context, name: str) -> Feature:
    """A new instance of the feature registered as ``name``: a rule that reads a feature's
    helpers (its evidence, its text hashes for another data set) asks for it by name, as it
    asks for its columns with ``needs``, instead of importing another plugin's module."""
    from dqe.errors import ConfigError

    try:
        cls = context.registry.features[name]
    except KeyError:
        known = ", ".join(sorted(context.registry.features))
        raise ConfigError(f"no feature '{name}' is registered; known: {known}") from None
    return cls(context)
