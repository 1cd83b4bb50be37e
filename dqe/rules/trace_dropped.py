"""DQ109 template-drops-trace: the chat template leaves an answer's reasoning trace out (--model)."""

from __future__ import annotations

import polars as pl

from dqe import EncodingRule, hookimpl


class TemplateDropsTrace(EncodingRule):
    """Renders each record with the model's chat template, as ``dqe train`` will, and warns on
    the answers whose reasoning trace (a ``<think>`` block, or ``reasoning_content`` and the other
    trace keys) the template does not render into the text learned: DeepSeek-R1's template cuts
    everything before ``</think>``. (Qwen3's drops the traces of answers before the last question,
    so under ``learn-all-turns`` it renders a conversation differently turn by turn: DQ105.) The
    first line of each learned answer's trace is looked for in its rendered span. A warning:
    the record is sound, the template is the choice to check. Skipped without ``--model`` /
    ``--train-config``; dqe's own templates render a trace as it is written."""

    code = "DQ109"
    name = "template-drops-trace"
    summary = "the trainer's chat template drops an answer's reasoning trace (dqe check --model)"
    severity = "warning"
    why = (
        "Distilled reasoning data is bought for its traces. A chat template written for inference "
        "strips them from the answers it renders, so the run learns the replies without the "
        "reasoning, and nothing in training says so."
    )
    example = "An answer '<think>\\n9 x 9 = 81\\n</think>\\n\\n81' under a template that keeps only the text after </think> warns: 'the chat template drops the reasoning trace'."

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        settings = self.context.encoding.settings
        lost = pl.col("train_lost_traces").fill_null([])
        failed = lost.list.len() > 0
        others = lost.list.slice(1).cast(pl.List(pl.String)).list.join(", ")
        return batch.select(
            passed=~failed,
            score=pl.when(failed).then(0.0).otherwise(1.0),
            message=pl.when(failed).then(
                pl.when(others != "")
                .then(pl.format("the chat template drops the reasoning trace of the answer (also turns {})", others))
                .otherwise(pl.lit("the chat template drops the reasoning trace of the answer"))
            ),
            turn=pl.when(failed).then(lost.list.first()).cast(pl.Int32),
            evidence=pl.when(failed).then(
                pl.format(
                    "the trace's first line is not in the rendered answer; {}, template {}",
                    pl.lit(settings.model),
                    pl.lit(settings.template),
                )
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(TemplateDropsTrace)
