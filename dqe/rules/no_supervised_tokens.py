"""DQ104 no-supervised-tokens: the trainer would learn nothing from the record (--model)."""

from __future__ import annotations

import polars as pl

from dqe import EncodingRule, hookimpl


class NoSupervisedTokens(EncodingRule):
    """Encodes each record as ``dqe train`` will and fails those with no token to learn: no
    assistant turn the template learns from, or answers that render to nothing with a label
    (the trainer drops them as ``no-supervised-tokens``). A record whose answer is cut away
    entirely by seq-len is DQ103's. Skipped without ``--model`` / ``--train-config``."""

    code = "DQ104"
    name = "no-supervised-tokens"
    summary = "the trainer's encoding leaves no token to learn (dqe check --model)"
    why = (
        "Labels are masked on everything but the answers. A record whose encoding has no "
        "supervised token costs a place in a batch and teaches nothing; the trainer drops it, "
        "so the data trained on is not the data that passed."
    )
    example = "A conversation that ends on the user's turn with no earlier answer fails: 'no supervised token'."

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        settings = self.context.encoding.settings
        none = (pl.col("train_dropped") == "no-supervised-tokens").fill_null(False)
        roles = pl.col("turns").list.eval(pl.element().struct.field("role"))
        answers = roles.list.eval(pl.element() == "assistant").list.sum()
        calls = roles.list.eval(pl.element() == "tool_call").list.sum()
        return batch.select(
            passed=~none,
            score=pl.when(none).then(0.0).otherwise(1.0),
            message=pl.when(none).then(
                pl.when((answers == 0) & (calls > 0) & pl.lit(not settings.learn_all_turns))
                .then(
                    pl.lit("no supervised token: the record answers only with tool calls, learned with learn-all-turns")
                )
                .when(answers == 0)
                .then(pl.lit("no supervised token: the record has no assistant turn to learn"))
                .otherwise(pl.lit("no supervised token: the answer the template learns renders to no token"))
            ),
            turn=pl.lit(None, dtype=pl.Int32),
            evidence=pl.when(none).then(
                pl.format(
                    "{} tokens encoded, 0 with a label; {}, template {}, learn-all-turns {}",
                    "train_tokens",
                    pl.lit(settings.model),
                    pl.lit(settings.template),
                    pl.lit(str(settings.learn_all_turns).lower()),
                )
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(NoSupervisedTokens)
