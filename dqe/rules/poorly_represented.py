"""DQ106 poorly-represented-text: the model's tokenizer spells the text in bytes (--model)."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import EncodingRule, RuleOptions, hookimpl


class PoorlyRepresentedOptions(RuleOptions):
    max_share: float = Field(
        0.25, gt=0, le=1, description="largest share of a record's tokens that may be unknown or byte fallbacks"
    )
    min_tokens: int = Field(
        8, ge=1, description="fewest such tokens that fail a record (a short text's one emoji passes)"
    )


class PoorlyRepresentedText(EncodingRule):
    """Counts the tokens of each record's encoding that stand for no whole character: the
    tokenizer's unknown token, and byte fallbacks (``<0xE4>`` pieces, or a byte-level BPE's
    pieces of a character it has no token for). A record fails when their share is above
    ``max-share`` and there are at least ``min-tokens`` of them: a tokenizer without Chinese
    on Chinese data spells every character in two or three bytes. Skipped without ``--model``."""

    code = "DQ106"
    name = "poorly-represented-text"
    summary = "the model's tokenizer spells much of the text in unknown tokens or bytes (dqe check --model)"
    why = (
        "Text a tokenizer has no tokens for becomes unknown tokens (the model learns nothing "
        "from it) or bytes (two or three tokens a character, so records run long and the model "
        "learns the language slowly): the wrong base model for this data, or text that does not "
        "belong in it."
    )
    example = "Chinese answers under an English-only byte-level tokenizer fail: '412 of 530 tokens (78%) are unknown or byte fallbacks'."
    Options = PoorlyRepresentedOptions

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        settings = self.context.encoding.settings
        poor, tokens = pl.col("train_poor_tokens"), pl.col("train_tokens")
        share = poor.cast(pl.Float64) / tokens.cast(pl.Float64).clip(lower_bound=1)
        failed = ((share > self.options.max_share) & (poor >= self.options.min_tokens)).fill_null(False)
        return batch.select(
            passed=~failed,
            score=(1.0 - share).fill_null(1.0),
            message=pl.when(failed).then(
                pl.format(
                    "{} of {} tokens ({}%) are unknown or byte fallbacks",
                    poor,
                    tokens,
                    (share * 100).round(0).cast(pl.Int64),
                )
            ),
            turn=pl.lit(None, dtype=pl.Int32),
            evidence=pl.when(failed).then(
                pl.format(
                    "tokenizer of {}; max-share {}, min-tokens {}",
                    pl.lit(settings.model),
                    pl.lit(self.options.max_share),
                    pl.lit(self.options.min_tokens),
                )
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(PoorlyRepresentedText)
