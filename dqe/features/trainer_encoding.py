"""The trainer's encoding of every record (``dqe check --model``): what ``dqe train`` will see.

Records go through the trainer's own encoder (``dqe.engine.encoding``: the template or the
model's chat template, the system prompt, masking, ``fit_length`` at seq-len), one batch call
into the tokenizer per batch, so the rules on these columns report what training would
otherwise do silently: cut an answer, learn nothing from a record, fail to render it, feed
the model bytes of text its vocabulary does not hold, or leave an answer's reasoning out.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dqe import ConfigError, Feature
from dqe.hookspecs import hookimpl


class TrainerEncoding(Feature):
    name = "trainer-encoding"
    summary = "the trainer's encoding (dqe check --model): tokens, supervised tokens kept at seq-len, render errors"
    columns = (
        "train_tokens",
        "train_supervised",
        "train_supervised_kept",
        "train_dropped",
        "train_render_error",
        "train_poor_tokens",
        "train_lost_traces",
    )
    keep = ("train_tokens", "train_supervised", "train_supervised_kept", "train_dropped", "train_render_error")

    def __init__(self, context):
        super().__init__(context)
        if context.encoding is None:
            raise ConfigError("the trainer-encoding feature needs a model: dqe check --model PATH (or --train-config)")

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        encoded = self.context.encoding.encode(batch)
        failed = pl.Series([p is not None for p in encoded.problem])
        return pl.DataFrame(
            {
                "train_tokens": encoded.tokens,
                "train_supervised": encoded.supervised,
                "train_supervised_kept": encoded.kept_supervised,
                "train_dropped": encoded.dropped,
                "train_render_error": encoded.problem,
                "train_poor_tokens": encoded.poor,
                "train_lost_traces": encoded.lost_traces,
            },
            schema={
                "train_tokens": pl.UInt32,
                "train_supervised": pl.UInt32,
                "train_supervised_kept": pl.UInt32,
                "train_dropped": pl.String,
                "train_render_error": pl.String,
                "train_poor_tokens": pl.UInt32,
                "train_lost_traces": pl.List(pl.Int32),
            },
        ).with_columns(
            # a record the template cannot render has no count: null, not 0
            pl.when(~failed).then(pl.col(c)).alias(c)
            for c in ("train_tokens", "train_supervised", "train_supervised_kept", "train_poor_tokens")
        )

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        settings = self.context.encoding.settings
        rendered = table.filter(pl.col("train_render_error").is_null())
        return {
            "trainer_encoding": {
                "model": settings.model,
                "template": settings.template,
                "seq_len": settings.seq_len,
                "overlong": settings.overlong,
                "records": table.height,
                "not_rendered": table.height - rendered.height,
                "tokens": int(rendered["train_tokens"].sum() or 0),
                "supervised_tokens": int(rendered["train_supervised"].sum() or 0),
                "supervised_tokens_kept": int(rendered["train_supervised_kept"].sum() or 0),
                "over_seq_len": int((rendered["train_tokens"] > settings.seq_len).sum()),
                "dropped": {k: v for k, v in rendered["train_dropped"].drop_nulls().value_counts().iter_rows()},
            }
        }


@hookimpl
def dqe_register_features(register):
    register(TrainerEncoding)
