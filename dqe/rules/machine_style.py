"""DQ210 machine-style: answers in the stock phrases of a chat model ("Certainly! Here's", "总之")."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field

from dqe import GateMetric, RecordRule, RuleOptions, hookimpl

_SHOWN = 5  # phrases quoted per message


class MachineStyleOptions(RuleOptions):
    min_phrases: int = Field(
        2,
        ge=1,
        description="distinct stock phrases a record's answers must hold to read as machine-written (one proves "
        "nothing: people write 'in conclusion' too)",
    )


class MachineStyle(RecordRule):
    """Looks in every assistant turn, Markdown code and a reasoning trace before the reply left out
    (a trace is a model's scratch by design, in the voice of reasoning, not a reply to the user:
    what matters is whether the replies read as a chat model's), for the stock phrases and structures
    of model-written text that the `machine-style` rule pack lists ("Certainly! Here's", "I hope
    this helps", "It's important to note", "delve", "In conclusion", a list of bold-titled points,
    "总之", "值得注意的是", "首先……其次……最后"), and marks a record whose answers hold
    min-phrases distinct ones or more, naming them. Info only: machine-written data is not wrong,
    but a data set made mostly of it teaches a model the voice of the model that wrote it. The
    share of such records is the gate metric `synthetic-share` (no warn or fail level unless the
    config sets one). What it cannot tell: a short or plain answer a model wrote (most of Alpaca)
    holds no stock phrase, and a person imitating the style reads as a model."""

    code = "DQ210"
    name = "machine-style"
    summary = "answers in the stock phrases of model-written text (an info finding; the synthetic-share metric)"
    why = (
        "Fine-tuning on model-written answers copies their tics: every answer opens with "
        "'Certainly!' and closes with 'I hope this helps', and 'delve' spreads. The share of such "
        "records tells how much of a data set is distilled from another model."
    )
    example = (
        "\"Certainly! Here's an overview. ... It's important to note that ... I hope this helps!\" is "
        "marked: 'answers read as machine-written: 3 stock phrases (certainly! here; it's important to "
        "note; i hope this helps)'."
    )
    severity = "info"
    Options = MachineStyleOptions
    needs = ("machine_style",)
    gate_metrics = (
        GateMetric(
            name="synthetic-share",
            key="machine_style.synthetic_share",
            description="share of the records whose answers read as machine-written (DQ210)",
            direction="max",
            bounds=(0, 1),
            n_key="machine_style.records",
        ),
    )

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        n = pl.col("machine_style_count")
        marked = n >= self.options.min_phrases
        shown = pl.col("machine_style_phrases").list.head(_SHOWN).list.join("; ")  # a phrase may hold a comma
        return batch.select(
            passed=~marked,
            score=(1.0 - n.cast(pl.Float64) / (2 * self.options.min_phrases)).clip(0.0, 1.0),
            turn=pl.col("machine_style_turn"),
            message=pl.when(marked).then(pl.format("answers read as machine-written: {} stock phrases ({})", n, shown)),
            evidence=pl.when(marked).then(
                pl.format(
                    '{} distinct stock phrases of the machine-style pack (min {}): "{}"',
                    n,
                    pl.lit(self.options.min_phrases),
                    pl.col("machine_style_phrases").list.join('", "'),
                )
            ),
        )

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        if table.height == 0:
            return {}
        marked = int((table["machine_style_count"] >= self.options.min_phrases).sum())
        return {
            "machine_style": {
                "records": table.height,
                "with_phrases": int((table["machine_style_count"] > 0).sum()),
                "machine_written": marked,
                "synthetic_share": round(marked / table.height, 6),
                "min_phrases": self.options.min_phrases,
            }
        }


@hookimpl
def dqe_register_rules(register):
    register(MachineStyle)
