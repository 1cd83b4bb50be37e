"""DQ302 language-mismatch: an answer is in the language of its question, unless asked otherwise."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe.hookspecs import hookimpl
from dqe.rule import RecordRule, RuleOptions


class LanguageMismatchOptions(RuleOptions):
    allow_translation: bool = Field(
        True,
        description="a question that asks for a translation or names another language "
        "(patterns in the 'language' pack) may be answered in another language",
    )


class LanguageMismatch(RecordRule):
    """Fails a record whose answer is written in another language than its question: both
    languages determined by the ``language`` feature, different, and no language explains both
    texts well (within the pack's ``mismatch.min_contrast`` of each text's best), so that a
    Chinese explanation of English words, or English arithmetic that langdetect takes for
    French, passes. A question that asks for a
    translation or names another language ("Translate ... into French", "用英文回答",
    "What is 'cat' in Spanish?") may be answered in that language. Short answers whose
    language cannot be told ("OK", "42", code only) pass."""

    code = "DQ302"
    name = "language-mismatch"
    summary = "answer in another language than its question, no translation asked"
    why = (
        "A model learns to answer in the language it is asked in from examples that do. A "
        "Chinese question answered in English (a common slip of machine-built or merged data "
        "sets) teaches it to switch languages on users who did not ask for it."
    )
    example = (
        '{"instruction": "法国的首都是哪里？", "output": "The capital of France is Paris."} '
        "fails: 'question zh, answer en'. "
        '{"instruction": "把这句话翻译成英文：我爱你", "output": "I love you."} passes.'
    )
    Options = LanguageMismatchOptions
    needs = ("language",)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        failed = pl.col("language_mismatch")
        if self.options.allow_translation:
            failed = failed & ~pl.col("language_translation")
        return batch.select(
            passed=~failed,
            score=(~failed).cast(pl.Float64),
            message=pl.when(failed).then(pl.format("question {}, answer {}", "language_question", "language_answer")),
        )


@hookimpl
def dqe_register_rules(register):
    register(LanguageMismatch)
