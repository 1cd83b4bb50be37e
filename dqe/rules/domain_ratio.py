"""DQ421 domain-ratio: vertical-domain records stay a minority of the passing records."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from dqe import (
    GENERAL_DOMAIN,
    DatasetResult,
    DatasetRule,
    GateMetric,
    RuleOptions,
    best_first,
    hookimpl,
    vertical_quota,
)

DEFAULT_MAX_SHARE = 0.3


def _metric(max_share: float) -> GateMetric:
    return GateMetric(
        name="domain-ratio",
        key="domains.vertical_share",
        description="share of vertical-domain records (medical, legal, finance, ...) among passing records",
        direction="max",
        fail=max_share,
        bounds=(0, 1),
        n_key="domains.records",
        note_key="domains.note",
    )


class DomainRatioOptions(RuleOptions):
    max_share: float = Field(
        DEFAULT_MAX_SHARE,
        ge=0.0,
        le=1.0,
        description=(
            "largest share of vertical-domain records among passing records: the domain-ratio gate "
            "fails above it, and --balance / --max-records keep the best vertical records up to it"
        ),
    )


class DomainRatio(DatasetRule):
    """Measures the domains of the passing records (the ``domain`` feature: each record's own
    field, else the lexicons in ``rules/domains/``) and the share of vertical-domain records,
    every domain but general, on any number of records: the gate's domain-ratio metric fails
    when the share's whole 95% interval (Wilson's) lies above ``max-share``, and warns when the
    share alone does ("n = 40, vertical share 0.6, 95% CI 0.45-0.74").

    With ``dqe filter --balance`` (or ``--max-records``) it also selects: it keeps the best
    vertical records by quality, as many as ``max-share`` of the selection allows, and rejects
    the rest. It runs at stage 10, after deduplication, and sizes the share for what the
    category quotas of DQ411 (stage 15) and max-records (stage 20) will leave."""

    code = "DQ421"
    name = "domain-ratio"
    summary = "vertical-domain records (medical, legal, finance, ...) above max-share; --balance downsamples"
    why = (
        "Fine-tuning teaches a model how to answer far more than what to know. Domain knowledge "
        "belongs in continued pre-training; an SFT set that is mostly medical or legal text "
        "narrows the model's behaviour to that domain and costs it general ability. Keep vertical "
        "domains a minority of the instruction data."
    )
    example = (
        "1,000 records of which 450 are medical: vertical share 0.45 > 0.3 fails the gate; "
        "'dqe filter --balance' keeps the best 235 medical records (235 of 785 is 0.3) and rejects "
        "215: 'vertical domain medical: over the 30% maximum share (235 of 450 vertical records kept)'."
    )
    Options = DomainRatioOptions
    needs = ("domain",)
    stage = 10
    selection = True
    gate_metrics = (_metric(DEFAULT_MAX_SHARE),)

    def __init__(self, options, context):
        super().__init__(options, context)
        self.gate_metrics = (_metric(self.options.max_share),)  # the gate follows the option

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        config = self.context.config
        if not config.selecting:
            return DatasetResult()
        eligible = table.filter(~pl.col("rejected"))
        verticals = best_first(eligible.filter(pl.col("domain_pred") != GENERAL_DOMAIN)).with_row_index("_rank")
        allowed, kept = self._plan(eligible, verticals)
        if allowed >= verticals.height:
            return DatasetResult()
        note = f"over the {self.options.max_share:.0%} maximum share ({kept:,} of {verticals.height:,} vertical records kept)"
        failed = verticals.slice(allowed).select(
            "_idx",
            score=pl.col("quality"),
            message=pl.format("vertical domain {}: {}", pl.col("domain_pred"), pl.lit(note)),
        )
        return DatasetResult(failed=failed)

    def _plan(self, eligible: pl.DataFrame, verticals: pl.DataFrame) -> tuple[int, int]:
        """How many of the best vertical records to leave in (a rank cut-off), and how many
        of them the selection will hold.

        The share is of the final selection, which the category quotas of DQ411 (the next
        stage) shrink; so it plays the category cut forward on what it would leave, and while
        the verticals kept are over their allowance, it takes out the worst of them (their
        categories then keep the next best records in their place) and plays it again.
        """
        config = self.context.config
        cut = self.context.quota_cuts.get("category")  # DQ411's, when it runs
        allowed = verticals.height
        while True:
            pool = eligible.join(verticals.slice(allowed).select("_idx"), on="_idx", how="anti")
            kept = pool.join(cut(pool).select("_idx"), on="_idx", how="anti") if cut else pool
            ranks = verticals.join(kept.select("_idx"), on="_idx", how="semi")["_rank"].sort()
            allowance = vertical_quota(
                ranks.len(), kept.height - ranks.len(), self.options.max_share, config.max_records
            )
            if ranks.len() <= allowance:
                return allowed, ranks.len()
            allowed = int(ranks[allowance])  # every vertical ranked from here on goes

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        passing = table.filter(~pl.col("rejected")) if "rejected" in table.columns else table
        counts = dict(
            passing.group_by("domain_pred").len().sort(["len", "domain_pred"], descending=[True, False]).iter_rows()
        )
        vertical = sum(n for d, n in counts.items() if d != GENERAL_DOMAIN)
        section: dict[str, Any] = {
            "counts": counts,
            "records": passing.height,
            "vertical": vertical,
            "vertical_share": round(vertical / passing.height, 4) if passing.height else None,
            "max_vertical_share": self.options.max_share,
            "classifier": self.context.config.classifiers.domain,
        }
        if not passing.height:
            section["note"] = "no records passed the record rules"
        return {"domains": section}


@hookimpl
def dqe_register_rules(register):
    register(DomainRatio)
