"""The task category of every record: its own ``category`` field, else a classifier's label.

The built-in classifier, ``taxonomy``, reads ``rules/categories.toml``: each category has
regular-expression signals in several languages and a priority; categories are tried in
priority order and the first that matches wins. It runs one vectorized regex per category
over the whole batch (polars), never a Python loop per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dqe.classifier import (
    Classifier,
    alias_table,
    labelled,
    normalize_labels,
    pattern_lists,
    regex_union,
)
from dqe.config import ConfigError
from dqe.feature import Feature
from dqe.hookspecs import hookimpl

PACK = "categories"
OTHER = "other"  # the label of a record no signal matches


@dataclass(frozen=True)
class CategorySignals:
    name: str
    priority: int
    question: str | None  # strong: one regex over the head of the question
    answer: str | None  # strong: one regex over the head of the answer
    min_user_turns: int | None  # strong, structural: at least this many user turns
    hints: str | None  # weak: one regex over the head of the question, tried after every strong one


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    return value


def load_taxonomy(pack: dict[str, Any]) -> tuple[list[CategorySignals], CategorySignals | None, int]:
    """The categories in priority order, the fallback and the head length, validated."""
    where = f"rule pack '{PACK}'"
    table = pack.get("categories")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{where}: needs a [categories.NAME] table for each category")
    head = _int(pack.get("meta", {}).get("head-chars", 600), f"{where}: meta.head-chars")
    signals = []
    for name, spec in table.items():
        key = f"{where}: categories.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{key}: expected a table")
        if "priority" not in spec:
            raise ConfigError(f"{key}: needs a 'priority' (lower is tried first)")
        turns = spec.get("min-user-turns")
        signals.append(
            CategorySignals(
                name=name,
                priority=_int(spec["priority"], f"{key}.priority"),
                question=regex_union(pattern_lists(spec.get("question"), f"{key}.question"), f"{key}.question"),
                answer=regex_union(pattern_lists(spec.get("answer"), f"{key}.answer"), f"{key}.answer"),
                min_user_turns=None if turns is None else _int(turns, f"{key}.min-user-turns"),
                hints=regex_union(pattern_lists(spec.get("hints"), f"{key}.hints"), f"{key}.hints"),
            )
        )
    signals.sort(key=lambda s: (s.priority, s.name))
    fallback = None
    spec = pack.get("fallback")
    if spec is not None:
        category = spec.get("category") if isinstance(spec, dict) else None
        if category not in table:
            raise ConfigError(f"{where}: fallback.category must name a category, got {category!r}")
        fallback = CategorySignals(
            name=category,
            priority=0,
            question=regex_union(
                pattern_lists(spec.get("question"), f"{where}: fallback.question"), f"{where}: fallback.question"
            ),
            answer=None,
            min_user_turns=None,
            hints=None,
        )
    return signals, fallback, head


def category_aliases(context: Any) -> dict[str, str]:
    """Spellings of each category in data sets' own fields: the configured classifier's
    labels first, then the taxonomy's names, labels and aliases."""
    names = [(label, []) for label in context.classifier("category").labels()]
    for name, spec in context.pack(PACK).get("categories", {}).items():
        spec = spec if isinstance(spec, dict) else {}
        extra = [spec.get("label"), spec.get("zh"), *spec.get("aliases", [])]
        names.append((name, [a for a in extra if isinstance(a, str) and a]))
    return alias_table(names)


def _hinted(signals: CategorySignals) -> pl.Expr | None:
    return pl.col("_q").str.contains(signals.hints) if signals.hints else None


def _matches(signals: CategorySignals) -> pl.Expr | None:
    parts = []
    if signals.question:
        parts.append(pl.col("_q").str.contains(signals.question))
    if signals.answer:
        parts.append(pl.col("_a").str.contains(signals.answer))
    if signals.min_user_turns is not None:
        parts.append(pl.col("_user_turns") >= signals.min_user_turns)
    if not parts:
        return None
    return pl.any_horizontal(parts)


class TaxonomyClassifier(Classifier):
    """Regex signals per category from ``rules/categories.toml``: the first category by
    priority whose strong signals match, else the first whose hints match, else the
    fallback, else null."""

    name = "taxonomy"
    target = "category"
    summary = "regex signals per category (rules/categories.toml), first match by priority"

    def __init__(self, context):
        super().__init__(context)
        self.signals, self.fallback, self.head = load_taxonomy(context.pack(PACK))
        tiers = [(s, _matches(s)) for s in self.signals] + [(s, _hinted(s)) for s in self.signals]
        if self.fallback is not None:
            tiers.append((self.fallback, _matches(self.fallback)))
        tiers = [(s, m) for s, m in tiers if m is not None]
        self._names = np.array([s.name for s, _ in tiers], dtype=object)
        self._tests = [m.alias(str(i)) for i, (_, m) in enumerate(tiers)]

    def labels(self) -> list[str]:
        return [s.name for s in self.signals]

    def classify(self, batch: pl.DataFrame) -> pl.Series:
        if not self._tests or batch.height == 0:
            return pl.Series("category", [None] * batch.height, dtype=pl.String)
        head = self.head
        matched = (
            batch.lazy()
            .select(
                _q=pl.col("question").fill_null("").str.slice(0, head).str.to_lowercase(),
                _a=pl.col("answer").fill_null("").str.slice(0, head).str.to_lowercase(),
                _user_turns=pl.col("turns").list.eval(pl.element().struct.field("role") == "user").list.sum(),
            )
            .select(self._tests)
            .collect()
            .to_numpy()
        )
        first = matched.argmax(axis=1)  # the first test that matched, in tier order
        labels = np.where(matched.any(axis=1), self._names[first], None)
        return pl.Series("category", labels.tolist(), dtype=pl.String)


class Category(Feature):
    """``category_pred``: the record's own ``category`` (aliases read as the taxonomy's names),
    else the label of the configured category classifier, else ``other``."""

    name = "category"
    summary = "task category: the record's category field, else the configured classifier"
    columns = ("category_pred",)
    keep = ("category_pred",)
    labels = {"category": "category_pred"}

    def __init__(self, context):
        super().__init__(context)
        self.classifier = context.classifier("category")
        self.aliases = category_aliases(context)

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        given = normalize_labels(batch["category"], self.aliases)
        return pl.DataFrame([labelled(batch, given, self.classifier, OTHER, "category_pred")])


@hookimpl
def dqe_register_classifiers(register):
    register(TaxonomyClassifier)


@hookimpl
def dqe_register_features(register):
    register(Category)
