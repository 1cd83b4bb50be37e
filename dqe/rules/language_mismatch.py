"""DQ302 language-mismatch: every answer is in the language of the user it answers, unless asked otherwise."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import RecordRule, RuleOptions, hookimpl, worst_exchange


class LanguageMismatchOptions(RuleOptions):
    allow_translation: bool = Field(
        True,
        description="an answer may be in a language the user asked for (a translation or a language, "
        "in its turn, an earlier turn or the system prompt) or named for its turn (patterns in the "
        "'language' pack)",
    )
    conversation: bool = Field(
        True,
        description="hold an answer to a user turn whose language cannot be told ('OK', code only) to "
        "the language the user has been writing in",
    )


class LanguageMismatch(RecordRule):
    """Fails a record with an assistant turn written in another language than the user turn it
    answers, judged turn by turn over the whole conversation (Alpaca history, ShareGPT, OpenAI
    messages; the system prompt, tools and tool results are context). Both languages come from
    the ``language`` feature (names, quotes, code and tool calls left out) and must be told
    apart, with no language explaining both texts well (within the pack's
    ``mismatch.min_contrast`` of each text's best): English arithmetic that langdetect takes
    for Welsh passes, a Chinese explanation of English words passes, English prose answering a
    Chinese instruction fails even when what was asked is English by nature. A text too short
    to single one language out is judged only across the CJK divide ("The capital is Paris." is
    not Chinese, whether English or Dutch). Where the user turn cannot tell ("OK", a name, code
    only), the answer is held to the language the user has been writing in (option
    ``conversation``). A user who asks for a translation or a language ("Translate ... into
    French", "from now on answer in Spanish", "用英文回答") in that turn, an earlier one or the
    system prompt, or names one for that turn ("What is 'cat' in Spanish?"), may be answered in
    it. The finding names the first turn at fault and gives both languages and the scores that
    decided."""

    code = "DQ302"
    name = "language-mismatch"
    summary = "an answer in another language than the user turn it answers, no translation asked"
    why = (
        "A model learns to answer in the language it is asked in from examples that do. A "
        "Chinese question answered in English (a common slip of machine-built, translated or merged "
        "data sets, often in a conversation's early turns) teaches it to switch languages on users "
        "who did not ask for it."
    )
    example = (
        '{"instruction": "法国的首都是哪里？", "output": "The capital of France is Paris."} '
        "fails: 'question zh, answer en' (turn 2). "
        '{"instruction": "把这句话翻译成英文：我爱你", "output": "I love you."} passes.'
    )
    Options = LanguageMismatchOptions
    needs = ("language",)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        conflicts = (
            batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32), conflict="language_conflicts")
            .filter(pl.col("conflict").list.len() > 0)
            .explode("conflict")
            .unnest("conflict")
        )
        if self.options.allow_translation:
            conflicts = conflicts.filter(~pl.col("asked"))
        if not self.options.conversation:
            conflicts = conflicts.filter(pl.col("against") == "question")
        judged = conflicts.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("{} {}, answer {}", "against", "expected", "answer"),
            evidence="evidence",
        )
        return worst_exchange(batch, judged)


@hookimpl
def dqe_register_rules(register):
    register(LanguageMismatch)
