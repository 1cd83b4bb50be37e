"""DQ411 category-balance: the passing records cover the task categories in the shares wanted."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
from pydantic import Field, field_validator

from dqe import (
    UNCERTAIN_CATEGORY,
    DatasetResult,
    DatasetRule,
    GateMetric,
    RuleOptions,
    category_aliases,
    category_quotas,
    classifier_for,
    hookimpl,
    label_key,
    over_quota,
    wilson,
)

_SHOWN = 3  # categories listed as most and least represented


def imbalance_interval(shares: dict[str, float], target: dict[str, float], n: int) -> tuple[float, float]:
    """A 95% interval for the imbalance (total variation distance to ``target``) of the mix the
    ``n`` records were drawn from, given their ``shares``.

    The low end is the Wilson lower bound of the share of records in the categories above their
    target, less those categories' target: at least that share would have to change category.
    The high end adds to the measured distance a bound on how far an empirical distribution lies
    from its source (McDiarmid's inequality around the expected L1 deviation). Simulated on
    mixes of 28 categories and 10 to 10,000 records it covers the true imbalance 86-100% of the
    time (benchmarks/bench_categories.py); where the mix is close to its target (imbalance near
    0, far from any gate level) the low end sits above the truth.
    """
    names = set(shares) | set(target)
    over = [c for c in names if shares.get(c, 0.0) > target.get(c, 0.0)]
    measured = 0.5 * sum(abs(shares.get(c, 0.0) - target.get(c, 0.0)) for c in names)
    low = wilson(sum(shares[c] for c in over), n)[0] - sum(target.get(c, 0.0) for c in over) if over else 0.0
    spread = sum(math.sqrt(p / n) for p in shares.values()) + math.sqrt(2 * math.log(2 / (1 - 0.95)) / n)
    return max(0.0, low), min(1.0, measured + 0.5 * spread)


class CategoryBalanceOptions(RuleOptions):
    target: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "share of each category you want, like {math = 0.2, programming = 0.2}; categories left out "
            "share what is left equally (nothing when the shares add up to 1); empty: uniform over the taxonomy"
        ),
    )
    tolerance: float = Field(
        2.0,
        ge=1.0,
        description="with --balance or --max-records, a category keeps at most this multiple of its target share",
    )

    @field_validator("target")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not 0 <= v <= 1]
        if bad:
            raise ValueError(f"shares must be between 0 and 1 ({', '.join(bad)})")
        if sum(value.values()) > 1 + 1e-6:
            raise ValueError(f"shares add up to {sum(value.values()):g}, more than 1")
        return value


class CategoryBalance(DatasetRule):
    """Measures the task categories of the passing records (the ``category`` feature: each
    record's own field, else the configured classifier) against a target distribution, uniform
    over the taxonomy unless configured. Reports the counts, the normalized entropy, the most
    and least represented categories and those missing entirely. The imbalance is the total
    variation distance to the target: the share of records that would have to change category
    for the data to match it (0 matches, 1 is as far as it gets). It is measured on any number
    of records, with a 95% interval (``imbalance_interval``): the gate fails when the whole
    interval lies above its threshold and warns when the imbalance alone does. Records whose
    category is ``uncertain`` are counted but left out of the shares.

    With ``dqe filter --balance`` (or ``--max-records``) it also selects: every category
    keeps at most ``tolerance`` times its target share of the selection, its best records by
    quality; the others are rejected with the quota in the message. It counts records after
    deduplication, record rules and the vertical-domain maximum of DQ421 (it runs at stage 15,
    after them)."""

    code = "DQ411"
    name = "category-balance"
    summary = "task categories far from the target mix (uniform by default); --balance downsamples"
    why = (
        "A fine-tuned model gets good at what its data is full of and forgets the rest: a set "
        "that is 80% open questions trains little programming, translation or summarization, "
        "whatever its size. Balance across abilities matters more than volume (about 10,000 "
        "well-chosen records do well), so over-represented categories are what to cut first."
    )
    example = (
        "1,000 records, 600 of them math and 16 in each of the other 25 categories: imbalance "
        "0.56 against the uniform target. 'dqe filter --balance' keeps 433, math at most twice "
        "the uniform share of them, and rejects 567 math records: 'over the quota of category "
        "math: 33 of 600 kept (best by quality)'."
    )
    Options = CategoryBalanceOptions
    needs = ("category", "subject")
    stage = 15
    selection = True
    gate_metrics = (
        GateMetric(
            name="category-imbalance",
            key="categories.imbalance",
            description="distance of the category mix from the target (0 matches, 1 is far)",
            direction="max",
            fail=0.85,
            warn=0.6,
            bounds=(0, 1),
            n_key="categories.records",
            interval_key="categories.imbalance_ci",
            note_key="categories.note",
        ),
    )

    def __init__(self, options, context):
        super().__init__(options, context)
        aliases = category_aliases(context)
        self.labels = [aliases.get(label_key(c), label_key(c)) for c in classifier_for(context, "category").labels()]
        self.wanted = {aliases.get(label_key(c), label_key(c)): share for c, share in self.options.target.items()}
        context.quota_cuts["category"] = lambda eligible: self.cut(eligible)[0]

    def target(self, observed: list[str]) -> dict[str, float]:
        """The target share of every known category: the classifier's labels, the configured
        ones and those the data names itself."""
        known = list(dict.fromkeys([*self.labels, *self.wanted, *(c for c in observed if c != UNCERTAIN_CATEGORY)]))
        rest = [c for c in known if c not in self.wanted]
        left = max(0.0, 1.0 - sum(self.wanted.values()))
        spread = left / len(rest) if rest and left > 1e-9 else 0.0
        return {c: self.wanted.get(c, spread) for c in known}

    def cut(self, eligible: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int], dict[str, int]]:
        """The records of ``eligible`` over their category's quota, the quotas, the counts."""
        counts = dict(eligible.group_by("category_pred").len().iter_rows())
        free = counts.pop(UNCERTAIN_CATEGORY, 0)
        config = self.context.config
        quotas = category_quotas(counts, self.target(list(counts)), self.options.tolerance, free, config.max_records)
        return over_quota(eligible, "category_pred", quotas), quotas, counts

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        if not self.context.config.selecting:
            return DatasetResult()
        over, quotas, counts = self.cut(table.filter(~pl.col("rejected")))
        metrics = {"categories": {"quotas": quotas}}
        if over.height == 0:
            return DatasetResult(metrics=metrics)
        by = "IFD" if self.context.config.rank_by == "ifd" else "quality"
        messages = {
            c: f"over the quota of category {c}: {quotas[c]:,} of {counts[c]:,} kept (best by {by})"
            for c in over["category_pred"].unique()
        }
        failed = over.select(
            "_idx",
            score=pl.col("quality"),
            message=pl.col("category_pred").replace_strict(messages, return_dtype=pl.String),
        )
        return DatasetResult(failed=failed, metrics=metrics)

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        passing = table.filter(~pl.col("rejected")) if "rejected" in table.columns else table
        counts = dict(
            passing.group_by("category_pred").len().sort(["len", "category_pred"], descending=[True, False]).iter_rows()
        )
        uncertain = counts.get(UNCERTAIN_CATEGORY, 0)
        classified = {c: n for c, n in counts.items() if c != UNCERTAIN_CATEGORY}
        total = sum(classified.values())
        target = self.target(list(classified))
        wanted = [c for c, q in target.items() if q > 0]
        shares = {c: n / total for c, n in classified.items()} if total else {}
        imbalance = 0.5 * sum(abs(shares.get(c, 0.0) - target.get(c, 0.0)) for c in set(shares) | set(target))
        entropy = -sum(p * math.log(p) for p in shares.values() if p > 0)
        confidence = passing.filter(pl.col("category_pred") != UNCERTAIN_CATEGORY)["category_confidence"].drop_nulls()

        def row(c: str) -> dict[str, Any]:
            return {
                "category": c,
                "count": classified[c],
                "share": round(shares[c], 4),
                "target": round(target.get(c, 0.0), 4),
            }

        present = [c for c in classified if target.get(c, 0) > 0]
        section: dict[str, Any] = {
            "counts": counts,
            "target": {c: round(q, 4) for c, q in target.items()},
            "records": total,
            "uncertain": uncertain,
            "mean_confidence": round(float(confidence.mean()), 4) if confidence.len() else None,
            "entropy": round(entropy / math.log(len(wanted)), 4) if total and len(wanted) > 1 else None,
            "imbalance": round(imbalance, 4) if total else None,
            "missing": [c for c in wanted if c not in classified],
            "most": [row(c) for c in list(classified)[:_SHOWN]],
            "least": [row(c) for c in present[::-1][:_SHOWN]],
            "classifier": self.context.config.classifiers.category,
        }
        if total:
            low, high = imbalance_interval(shares, target, total)
            section["imbalance_ci"] = [round(low, 4), round(high, 4)]
        elif uncertain:
            section["note"] = f"none of the {uncertain:,} passing records has a category its classifier is sure of"
        else:
            section["note"] = "no records passed the record rules"
        return {"categories": section}


@hookimpl
def dqe_register_rules(register):
    register(CategoryBalance)
