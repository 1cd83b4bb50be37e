"""DQ105 template-cannot-render: the model's chat template rejects the conversation (--model)."""

from __future__ import annotations

import polars as pl

from dqe import EncodingRule, hookimpl


class TemplateCannotRender(EncodingRule):
    """Renders each record with the template ``dqe train`` will use and fails those it cannot
    render: a chat template that raises (roles it rejects, such as a system turn or two user
    turns in a row, or tool turns it has no place for), or one that renders the conversation
    differently turn by turn so that the answer to learn cannot be found. The message is the
    template's own. Skipped without ``--model`` / ``--train-config``."""

    code = "DQ105"
    name = "template-cannot-render"
    summary = "the trainer's template cannot render the conversation (dqe check --model)"
    why = (
        "The trainer drops a record its template cannot render, with a line in its ledger: the "
        "data trained on silently shrinks, often by a whole kind of record (every one with a "
        "system prompt, say, under a template that has no place for one)."
    )
    example = "A record with a system prompt under a chat template that raises on the system role fails with the template's message."

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        settings = self.context.encoding.settings
        error = pl.col("train_render_error")
        failed = error.is_not_null()
        return batch.select(
            passed=~failed,
            score=pl.when(failed).then(0.0).otherwise(1.0),
            message=pl.when(failed).then(pl.format("the template cannot render the record: {}", error)),
            turn=pl.lit(None, dtype=pl.Int32),
            evidence=pl.when(failed).then(
                pl.format(
                    "roles {}; {}, template {}",
                    pl.col("turns").list.eval(pl.element().struct.field("role")).list.join(", "),
                    pl.lit(settings.model),
                    pl.lit(settings.template),
                )
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(TemplateCannotRender)
