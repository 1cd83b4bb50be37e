"""DQ101 token-length: the formatted example fits the context the model will be trained with."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import RecordRule, RuleOptions, hookimpl


class TokenLengthOptions(RuleOptions):
    max_tokens: int = Field(4096, ge=1, description="largest formatted example, in tokens")


class TokenLength(RecordRule):
    """Counts the tokens of the whole formatted example (system prompt, every turn and the
    template's own markup) with the configured tokenizer, and fails records above the cap. The
    finding names no turn (the example as a whole is too long); its evidence gives the count, its
    parts, the cap, the tokenizer and the template."""

    code = "DQ101"
    name = "token-length"
    summary = "formatted example longer than max-tokens (4096 by default)"
    why = (
        "A trainer truncates or drops examples longer than its sequence length: a truncated "
        "answer teaches the model to stop mid-sentence, and a dropped one silently changes the "
        "data you checked. Long examples also dominate memory and step time."
    )
    example = "An answer of 5,000 tokens with max-tokens = 4096 fails: '5,012 tokens > 4,096'."
    Options = TokenLengthOptions
    needs = ("tokens",)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        limit = self.options.max_tokens
        total = pl.col("tokens_total")
        over = total > limit
        tokenizer, template = self.context.tokenizer.name, self.context.template_name
        return batch.select(
            passed=~over,
            score=pl.min_horizontal(pl.lit(1.0), pl.lit(float(limit)) / total.cast(pl.Float64).clip(lower_bound=1)),
            message=pl.when(over).then(pl.format("{} tokens > {} ({})", total, pl.lit(limit), pl.lit(tokenizer))),
            # The whole formatted example is at fault, not one turn: no turn, but what was counted.
            turn=pl.lit(None, dtype=pl.Int32),
            evidence=pl.when(over).then(
                pl.format(
                    "{} tokens counted (system prompt {}, {} turns {}, template markup included; last question {}, "
                    "last answer {}) > max-tokens {}; tokenizer {}, template {}",
                    total,
                    "tokens_system",
                    pl.col("turns").list.len(),
                    total - pl.col("tokens_system"),
                    "tokens_question",
                    "tokens_answer",
                    pl.lit(limit),
                    pl.lit(tokenizer),
                    pl.lit(template),
                )
            ),
        )

    def summarize(self, table: pl.DataFrame) -> dict:
        if table.height == 0:
            return {}
        over = int((table["tokens_total"] > self.options.max_tokens).sum())
        return {"tokens": {"max_tokens": self.options.max_tokens, "over_limit": over}}


@hookimpl
def dqe_register_rules(register):
    register(TokenLength)
