"""Stock phrases of model-written text in every answer: the `machine-style` pack's phrases.

One polars scan per batch finds every phrase of the pack in the assistant turns (Markdown code
and reasoning traces left out); a phrase counts once however often an answer says it, and matches that read the same
(lower case, spaces collapsed) are one phrase. A structure of the pack's `categories` (a list of
bold-titled points) counts as one phrase, its label. The pack's languages are scanned one pattern each,
as ``marker_patterns`` advises for a large English list beside a Chinese one.

Columns, per record: ``machine_style_phrases`` (the distinct phrases of all its answers, in the
order first said) and ``machine_style_turn`` (the assistant turn holding most of them), and
``machine_style_count`` (how many), kept for the data set's `synthetic-share`.
"""

from __future__ import annotations

import polars as pl

from dqe import (
    Feature,
    collapse_spaces,
    exchanges,
    marker_patterns,
    pack_categories,
    pack_value,
    without_code,
    without_trace,
)
from dqe.hookspecs import hookimpl

PACK = "machine-style"


class MachineStyleFeature(Feature):
    name = "machine_style"
    summary = "stock phrases of model-written answers (the `machine-style` pack) per record"
    columns = ("machine_style_phrases", "machine_style_turn", "machine_style_count")
    keep = ("machine_style_count",)

    def __init__(self, context):
        super().__init__(context)
        pack = context.pack(PACK)
        self.patterns = marker_patterns(pack, "phrases", "patterns", PACK)
        self.structures = (
            [
                (pack_value(table, "label", PACK, str, default=name), pattern)
                for name, (table, pattern) in pack_categories(pack, PACK).items()
                if pattern is not None
            ]
            if "categories" in pack
            else []
        )

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        rows = batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32))
        empty = pl.lit([], dtype=pl.List(pl.String))
        if not self.patterns and not self.structures:
            return rows.select(
                machine_style_phrases=empty,
                machine_style_turn=pl.lit(None, dtype=pl.Int32),
                machine_style_count=pl.lit(0, dtype=pl.UInt32),
            )
        # the reply only: a reasoning trace is a model's scratch by design, in the voice of
        # reasoning ("Okay, let me", "Wait"), not the stock phrases of a reply to the user
        # the reply as a column of its own: an eager select evaluates an expression each time it is read
        text = pl.col("_reply")
        found = [text.str.extract_all(p) for p in self.patterns]
        # a structure counts once, by its label
        found += [pl.when(text.str.contains(p)).then(pl.lit([label])).otherwise(empty) for label, p in self.structures]
        phrases = pl.concat_list(found).list.eval(collapse_spaces(pl.element().str.to_lowercase().str.strip_chars()))
        hits = (
            exchanges(batch)
            .with_columns(_reply=without_code(without_trace(pl.col("answer"))))
            .select("_r", "turn", phrases=phrases.list.unique(maintain_order=True))
            .filter(pl.col("phrases").list.len() > 0)
        )
        per_record = (
            hits.sort("_r", "turn")
            .group_by("_r", maintain_order=True)
            .agg(
                machine_style_turn=pl.col("turn").sort_by(pl.col("phrases").list.len(), descending=True).first(),
                machine_style_phrases=pl.col("phrases")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .unique(maintain_order=True),
            )
        )
        return (
            rows.join(per_record, on="_r", how="left", maintain_order="left")
            .with_columns(pl.col("machine_style_phrases").fill_null(empty))
            .select(
                "machine_style_phrases",
                "machine_style_turn",
                machine_style_count=pl.col("machine_style_phrases").list.len().cast(pl.UInt32),
            )
        )


@hookimpl
def dqe_register_features(register):
    register(MachineStyleFeature)
