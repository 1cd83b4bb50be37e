"""DQ208 copied-prompt: an answer that hands back the question, or the text it gave, unchanged."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import (
    WORD_UNIT,
    RecordRule,
    RuleOptions,
    hookimpl,
    marker_pattern,
    picked_choice,
    turn_name,
    turn_texts,
    worst_exchange,
)

PACK = "copied-prompt"
_SPACE = 64  # bytes of whitespace a copy may carry at its ends beyond the question's
_OPENING_SHARE = 0.5  # an answer that is the opening of the text given and this much of it is a copy cut short


class CopiedPromptOptions(RuleOptions):
    min_words: int = Field(
        3,
        ge=1,
        description="shorter answers are not judged: a one-word label may rightly be the word the question gave",
    )


class CopiedPrompt(RecordRule):
    """Compares every assistant turn with the user turn it answers: an answer that is that turn
    word for word, or the text the question gave after its first line (Alpaca's `input`: "Summarize
    this article.\\n<article>" answered with the article), says nothing new. Whitespace at either end
    aside, the texts must be the same: an answer that only fixes case or indentation has changed
    something. A question that asks for a correction, a sorting or a pick (the `unchanged`
    patterns of the `copied-prompt` rule pack: "correct", "proofread", "sort", "extract", "改正") may be
    answered by its text unchanged, when nothing needed changing, and passes."""

    code = "DQ208"
    name = "copied-prompt"
    summary = "an answer that repeats the question, or the text it gave, word for word"
    why = (
        "A generator that fails copies its input: 'List courses like this one: Bitcoin and "
        "Cryptocurrency Technologies' answered 'Bitcoin and Cryptocurrency Technologies'. A model "
        "trained on such pairs learns to parrot the prompt."
    )
    example = (
        '{"instruction": "Summarize the article.", "input": "A study found that light during sleep raises the '
        'heart rate.", "output": "A study found that light during sleep raises the heart rate."} fails: '
        "'answer repeats the question's text word for word'."
    )
    Options = CopiedPromptOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        self.unchanged = marker_pattern(context.pack(PACK), "unchanged", "patterns", PACK)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        # a copy is no longer than what it copies, whitespace at its ends aside: only those
        # answers are compared (cheap)
        turns = turn_texts(batch).filter(
            (pl.col("role") == "assistant")
            & (pl.col("text").str.len_bytes() <= pl.col("question").str.len_bytes() + _SPACE)
        )
        answer = pl.col("text").str.strip_chars()
        question = pl.col("question").str.strip_chars()
        parts = question.str.splitn("\n", 2)
        given = parts.struct.field("field_1").str.strip_chars()
        whole, text = answer == question, given.is_not_null() & (given != "") & (answer == given)
        # a copy that stops part way: the opening of the text given, most of it ("...summary of the
        # dialogue" answered with the dialogue less its last line); a quote of one sentence is less,
        # and the first of two options listed is picked, not copied
        opening = (
            given.is_not_null()
            & (answer != "")
            & given.str.starts_with(answer)
            & (answer.str.len_bytes() >= given.str.len_bytes() * _OPENING_SHARE)
            & ~picked_choice(question, answer)
        )
        # words are counted in the copies alone: a filter evaluates every operand of & on every row
        copies = turns.filter(whole | text | opening).filter(
            answer.str.count_matches(WORD_UNIT) >= self.options.min_words  # type: ignore[attr-defined]
        )
        if self.unchanged is not None:
            # what the question asks: its first line when the answer is the text given after it
            asked = pl.when(whole).then(question).otherwise(parts.struct.field("field_0"))
            copies = copies.filter(~asked.str.contains(self.unchanged))
        what = (
            pl.when(whole)
            .then(pl.lit("the question"))
            .when(answer == given)
            .then(pl.lit("the question's text"))
            .otherwise(pl.lit("the opening of the question's text"))
        )
        judged = copies.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("{} repeats {} word for word", turn_name(), what),
            evidence=pl.format(
                "{} word(s), the same as {} once stripped; the question asks for no correction, sorting or pick",
                answer.str.count_matches(WORD_UNIT),
                what,
            ),
        )
        return worst_exchange(batch, judged)


@hookimpl
def dqe_register_rules(register):
    register(CopiedPrompt)
