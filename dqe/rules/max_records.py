"""DQ431 max-records: keep the N best records by quality (``dqe filter --max-records N``)."""

from __future__ import annotations

import polars as pl

from dqe import DatasetResult, DatasetRule, best_first, hookimpl


class MaxRecords(DatasetRule):
    """Active only when ``max-records`` is set (``dqe filter --max-records N`` or
    ``max-records = N`` in config): of the records still passing, it keeps the N best by
    quality (the mean score of the record rules) and rejects the rest. Records of equal
    quality are taken round-robin over the task categories, then in reading order, so that a
    cut through a tie does not empty the categories that come late in the file. It runs last
    (stage 20): deduplication, the vertical-domain maximum of DQ421 and the category quotas of
    DQ411 have already been applied, and both size their quotas for N records, so the N kept
    honour them. With ``rank-by = "ifd"`` (``--by ifd``) "best" is the model's IFD from
    ``dqe score``: records below 1, the highest first, then the rest by quality."""

    code = "DQ431"
    name = "max-records"
    summary = "with --max-records N: records not among the N best by quality"
    why = (
        "Quality over quantity: about 10,000 finely chosen records fine-tune as well as far "
        "larger sets. Selecting the best N, within the balance quotas and after deduplication, "
        "spends training on the records that teach the most."
    )
    example = (
        "'dqe filter data.jsonl --max-records 10000' on 50,000 passing records keeps the 10,000 "
        "best and rejects 40,000: 'not among the 10,000 best records by quality (quality 0.612, "
        "cut-off 0.875)'."
    )
    needs = ("category",)
    stage = 20
    selection = True

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        limit = self.context.config.max_records
        eligible = table.filter(~pl.col("rejected"))
        if limit is None:
            return DatasetResult(skipped="no --max-records")
        if eligible.height <= limit:
            return DatasetResult()
        ranked = (
            best_first(eligible)
            .with_columns(_turn=pl.int_range(pl.len()).over("merit", "category_pred"))
            .sort(["merit", "_turn", "_idx"], descending=[True, False, False])
        )
        by, shown = ("quality", pl.col("quality"))
        if self.context.config.rank_by == "ifd":
            by, shown = ("IFD below 1", pl.col("score_ifd"))
        cut = ranked.select(shown.round(3).cast(pl.String).fill_null("none"))[limit - 1, 0]
        failed = ranked.slice(limit).select(
            "_idx",
            score=pl.col("quality"),
            message=pl.format(
                "not among the {} best records by {} ({} {}, cut-off {})",
                pl.lit(f"{limit:,}"),
                pl.lit(by),
                pl.lit(by.split()[0]),
                shown.round(3).cast(pl.String).fill_null("none"),
                pl.lit(cut),
            ),
        )
        return DatasetResult(failed=failed)


@hookimpl
def dqe_register_rules(register):
    register(MaxRecords)
