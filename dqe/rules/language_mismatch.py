"""DQ302 language-mismatch: every answer is in the language of the user it answers, unless asked otherwise."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import RecordRule, RuleOptions, exchanges, hookimpl, pack_value, without_code, worst_exchange

_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
_CJK_LANGUAGES = ("zh", "ja", "ko")


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
    mixed: bool = Field(
        True,
        description="fail an answer that slips into Chinese, Japanese or Korean in a conversation whose user "
        "writes none (thresholds and exemptions in the 'language' pack's [mixed] table)",
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
    it; one who requires a language ("Translate into French: ...", "翻译成英文", "영어로 번역", the
    pack's ``translation.required``) is not answered by an answer that comes back in the user's
    own language with no line or new quote in the language required ("request fr, answer en").
    A Japanese answer to a Japanese user turn that slips into Chinese mid-way (a passage of Han
    without kana holding shapes only Chinese writes: "让孩子安全无虑的冒险时刻") fails ("question ja,
    answer ja with zh"). An answer that slips into Chinese, Japanese or Korean mid-way (a sentence of it, not a
    name) fails too where no user turn of the conversation holds CJK text and the user did not
    name such a language or place (option ``mixed``, the pack's ``[mixed]`` table; the report's
    ``languages`` section counts whole-turn mismatches only). The finding
    names the first turn at fault and gives both languages and the scores that decided."""

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

    def __init__(self, options, context):
        super().__init__(options, context)
        pack = context.pack("language")
        self.mixed = options.mixed and "mixed" in pack
        if self.mixed:
            self.min_chars = pack_value(pack, "mixed.min-chars", "language", int)
            self.min_run = pack_value(pack, "mixed.min-run", "language", int)
            exempt = [
                *pack_value(pack, "mixed.exempt", "language", list),
                *pack_value(pack, "translation.patterns", "language", list, default=[]),
                *pack_value(pack, "translation.mentions", "language", list, default=[]),
            ]
            self.exempt = "(?i)" + "|".join(f"(?:{p})" for p in exempt)

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
            conflicts = conflicts.filter(pl.col("against") != "conversation")
        judged = conflicts.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("{} {}, answer {}", "against", "expected", "answer"),
            evidence="evidence",
        )
        if self.mixed:
            judged = pl.concat([judged, self._mixed(batch, judged)], how="vertical_relaxed")
        return worst_exchange(batch, judged)

    def _mixed(self, batch: pl.DataFrame, judged: pl.DataFrame) -> pl.DataFrame:
        """Answers that slip into CJK text in a conversation whose user writes none and did not ask
        about it; an exchange already in conflict is judged once."""
        # only answers with a run of CJK characters as long as a sentence's are read further
        turns = exchanges(batch).filter(
            pl.col("answer").str.contains(f"{_CJK}{{{self.min_run}}}") & ~pl.col("question").str.contains(_CJK)
        )
        if turns.is_empty():
            return turns.select(
                "_r", "turn", passed=pl.lit(False), score=pl.lit(0.0), message=pl.lit(""), evidence=pl.lit("")
            )
        labels = (
            batch.select("language_turns", "language_user", "language_asked", "system")
            .with_row_index("_r")
            .filter(pl.col("_r").is_in(turns["_r"].unique().implode()))
        ).select(
            "_r",
            _cjk_user=pl.col("language_turns")
            .list.gather(pl.col("language_user").list.eval(pl.element().fill_null(False).arg_true()))
            .list.eval(pl.element().is_in(_CJK_LANGUAGES))
            .list.any(),
            _system=pl.col("system").fill_null(""),
            _labels=pl.col("language_turns"),
            _asked=pl.col("language_asked"),
        )
        run = without_code(pl.col("answer")).str.extract_all(f"{_CJK}+")
        turns = (
            turns.join(labels, on="_r", how="left")
            .filter(
                # a language the user asked for, in this turn or standing ("from now on in Chinese")
                ~pl.col("_asked").list.get(pl.col("turn") - 1, null_on_oob=True).fill_null(False)
                & ~pl.col("_cjk_user").fill_null(False)
                & ~pl.col("question").str.contains(self.exempt)
                & ~pl.col("_system").str.contains(self.exempt)
            )
            .with_columns(_runs=run)
            .with_columns(
                _chars=pl.col("_runs").list.eval(pl.element().str.len_chars()).list.sum(),
                _longest=pl.col("_runs").list.eval(pl.element().sort_by(pl.element().str.len_chars())).list.last(),
            )
            .filter((pl.col("_chars") >= self.min_chars) & (pl.col("_longest").str.len_chars() >= self.min_run))
            .join(judged.select("_r", "turn"), on=["_r", "turn"], how="anti")
        )
        asked = pl.col("_labels").list.get(pl.col("question_turn") - 1, null_on_oob=True).fill_null("und")
        answered = pl.col("_labels").list.get(pl.col("turn") - 1, null_on_oob=True).fill_null("und")
        return turns.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("question {}, answer {} with CJK text", asked, answered),
            evidence=pl.format(
                'answer holds {} CJK characters, the longest run "{}" ({} characters); the conversation\'s '
                "user turns hold none and name no CJK language or place",
                "_chars",
                pl.col("_longest").str.slice(0, 30),
                pl.col("_longest").str.len_chars(),
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(LanguageMismatch)
