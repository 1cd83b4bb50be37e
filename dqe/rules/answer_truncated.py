"""DQ103 answer-truncated: the trainer's sequence length would cut the answer (--model)."""

from __future__ import annotations

import polars as pl

from dqe import EncodingRule, hookimpl


class AnswerTruncated(EncodingRule):
    """Encodes each record exactly as ``dqe train`` will (the model's tokenizer, the template or
    chat template, the system prompt, masking) and fits it to seq-len as the trainer does: a
    record fails when tokens of its answer would be cut away, or when the trainer would drop it
    for its length (``overlong = "drop"``). The message says how many supervised tokens survive.
    Skipped without ``--model`` / ``--train-config``."""

    code = "DQ103"
    name = "answer-truncated"
    summary = "the trainer's seq-len would cut the answer (dqe check --model)"
    why = (
        "The trainer cuts a record at its sequence length, from the end: the answer goes first. "
        "A cut answer teaches the model to stop mid-sentence, and it happens silently, in tokens "
        "of the model's own tokenizer and template, which a generic count misses by tens of tokens."
    )
    example = "A 3,000-token answer at seq-len 2048 fails: 'answer cut at seq-len 2048: 1,610 of 3,012 supervised tokens survive'."

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        settings = self.context.encoding.settings
        tokens, supervised, kept = pl.col("train_tokens"), pl.col("train_supervised"), pl.col("train_supervised_kept")
        dropped = pl.col("train_dropped") == "too-long"
        cut = (kept < supervised).fill_null(False) & (supervised > 0)
        failed = cut | dropped.fill_null(False)
        limit = pl.lit(settings.seq_len)
        return batch.select(
            passed=~failed,
            score=pl.when(failed)
            .then(kept.cast(pl.Float64) / supervised.cast(pl.Float64).clip(lower_bound=1))
            .otherwise(1.0),
            message=pl.when(dropped)
            .then(pl.format("dropped for its length: {} tokens > seq-len {} (overlong = drop)", tokens, limit))
            .when(cut)
            .then(pl.format("answer cut at seq-len {}: {} of {} supervised tokens survive", limit, kept, supervised)),
            turn=pl.lit(None, dtype=pl.Int32),
            evidence=pl.when(failed).then(
                pl.format(
                    "{} tokens encoded with {}, template {}; seq-len {}, overlong {}",
                    tokens,
                    pl.lit(settings.model),
                    pl.lit(settings.template),
                    limit,
                    pl.lit(settings.overlong),
                )
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(AnswerTruncated)
