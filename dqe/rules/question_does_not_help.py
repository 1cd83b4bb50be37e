"""DQ107 question-does-not-help: the model predicts the answer no better with its question (--scores)."""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from pydantic import Field

from dqe import RecordRule, RuleOptions, hookimpl


class QuestionDoesNotHelpOptions(RuleOptions):
    max_ifd: float = Field(
        1.0, gt=0, description="IFD at or above which the record is flagged (1: the question does not help at all)"
    )


class QuestionDoesNotHelp(RecordRule):
    """Reads the base model's scores of each record from the file ``dqe score`` wrote
    (``--scores``): the answer's perplexity with its question (as training sees it) and alone,
    and IFD, their ratio (Cherry LLM). An IFD at or above ``max-ifd`` (1) means the model
    predicts the answer as well without the question as with it: an answer that does not
    respond to its question (shuffled, mismatched), or one so generic that any question fits.
    Records the score file could not score (the trainer drops them) are not judged. A warning;
    skipped without ``--scores``."""

    code = "DQ107"
    name = "question-does-not-help"
    summary = "the base model predicts the answer no better with its question: IFD >= 1 (dqe check --scores)"
    why = (
        "Instruction tuning teaches the model to answer the question it is given. Where the "
        "question does not make the answer any more likely (IFD >= 1), the pair teaches nothing "
        "about following instructions: a mismatched answer, or boilerplate that fits any question. "
        "Cherry LLM and Superfiltering leave such records out, and a small model suffices to find them."
    )
    example = (
        "'List three primary colours.' answered with an unrelated paragraph warns: 'the question does "
        "not help predict the answer: IFD 1.07 (perplexity 18.4 with the question, 17.2 without)'."
    )
    severity = "warning"
    needs: ClassVar[tuple[str, ...]] = ("model-scores",)
    Options = QuestionDoesNotHelpOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        if context.config.scores is None:
            self.skipped = "no --scores"

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        limit = self.options.max_ifd
        ifd = pl.col("score_ifd")
        failed = (ifd >= limit).fill_null(False)
        header = self.context.scores.header
        return batch.select(
            passed=~failed,
            score=pl.when(failed).then((pl.lit(limit) / ifd).clip(0.0, 1.0)).otherwise(1.0),
            message=pl.when(failed).then(
                pl.format(
                    "the question does not help predict the answer: IFD {} (perplexity {} with the question, {} without)",
                    ifd.round(3),
                    pl.col("score_ppl").round(2),
                    pl.col("score_ppl_alone").round(2),
                )
            ),
            turn=pl.lit(None, dtype=pl.Int32),
            evidence=pl.when(failed).then(
                pl.format(
                    "{} answer tokens scored with {} ({}, template {}); max-ifd {}",
                    pl.col("score_tokens"),
                    pl.lit(header.encoding.model),
                    pl.lit(header.precision),
                    pl.lit(header.encoding.template),
                    pl.lit(limit),
                )
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(QuestionDoesNotHelp)
