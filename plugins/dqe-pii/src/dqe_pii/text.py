"""The text the PII rules search: the system prompt and every turn of a record, computed once
per batch for all six rules."""

from __future__ import annotations

import polars as pl

from dqe import Feature

TEXT_COLUMN = "pii_text"


class PiiText(Feature):
    name = TEXT_COLUMN
    summary = "system prompt and every turn of a record, one string (for the PII rules)"
    columns = (TEXT_COLUMN,)

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        contents = pl.col("turns").list.eval(pl.element().struct.field("content")).list.join("\n")
        return batch.select(
            pl.concat_str([pl.col("system").fill_null(""), contents], separator="\n").alias(TEXT_COLUMN)
        )
