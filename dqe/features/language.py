"""The language of every user and assistant turn, and the answers written in another language
than the user's.

Detection is ``dqe.features.langid`` (langdetect's profiles, vectorized), every turn of a batch in one
call. On top of it this feature decides what a reader of the report wants to know:

- Only user and assistant turns are detected: the system prompt, tool schemas, tool calls and
  tool results are context (null in ``language_turns``). An empty or code-only turn is ``und``.
- Chinese is ``zh``: langdetect's ``zh-cn`` and ``zh-tw`` merge, and text written in Han
  characters alone is Chinese (Korean needs hangul), unless it holds more of the shapes of Han
  only Japanese writes (県, 気, 読) than of those only Chinese writes (们, 這; ``han_forms``, from
  langdetect's profiles): then it is Japanese, and Han with neither those shapes nor hiragana
  ("1. 文学", "24日、25日") is plausible in both. A text mixing Chinese,
  Japanese or Korean with another script is in the CJK language when its CJK characters weigh
  ``cjk_share`` of its letters.
- A text is ``und`` (undetermined) when its best language leads the runner-up by less than
  ``detection.min_lead`` nats or it has fewer than ``min_letters`` letters: "OK", "Paris". Its
  plausible languages (those within ``mismatch.min_contrast`` nats per n-gram of its best)
  still say what it could be, where it has enough letters (and words) to go on.
- Two passes. The first detects each turn as langdetect would (code blocks left out), stopping
  once a language leads by 20 nats. The turns of the exchanges whose answer and user turn
  disagree (no shared plausible language, or different best ones), the answers to user turns
  that cannot tell, and the turns decided by a lead under 20 nats (a few in a hundred) are
  detected again on their ``prose`` (tool-call syntax, code, JSON, URLs, titles in 《》, e-mail
  addresses, numbers and formulas, names inside sentences and, where enough is left, quotes removed; each
  word once) until a language leads by 40 nats, and need ``min_words`` words besides:
  "Albert Einstein was wikipedia('Albert Einstein')." is no German, "5 teddies * 3
  bunnies/teddy = 15 bunnies" no Welsh. A user's quotes are data, never its language.
- A short text (``function-words.max-words`` words at most) that leads by less than 20 nats is
  the language it holds the most distinct function words of (the pack's ``function-words``),
  where that language has at least ``min-hits`` of them and no other as many: "Do you like
  neo-nazis?" leads for Swahili by its n-grams and holds "do" and "you".
- A user turn of several lines, in a disagreeing exchange, is also plausible in the languages
  of its first and last lines: a Chinese instruction over English material may be answered in
  either.
- Within a record whose turns' best languages differ, a turn is labelled with the language a
  determined turn has and most turns find plausible, when it is plausible for this one ("How
  does neural network work in deep learning?" scores Afrikaans alone, English beside its
  English answer).
- The conversation's language is the one most of its user turns are in (the first, on a tie),
  or the record's own ``language`` field (a code or a name such as "Chinese") when no user
  turn tells.

Each assistant turn is held to the user turn it answers, or, when that turn cannot tell ("OK",
code only), to the conversation's language. It conflicts when both sides single one language
out (or one is Chinese, Japanese or Korean and the other none of them) and no language is
plausible for both. The conflict was asked for when the user asked for the answer's language
(a translation or a language, the pack's ``translation.patterns``; one that names no language
asks for any) in that turn, an earlier one or the system prompt (a standing request: "from now
on answer in French"), or named it for that turn (``translation.mentions``: "in Spanish"). A
user turn that requires a language (``translation.required``: "Translate into French: ...")
conflicts with an answer that came back in the user turn's own language, none of its lines or
new quotes in the language required (``against``: request).

Columns, per record: ``language_turns`` (a code per turn, null for turns not judged: the
``languages`` label), ``language_user`` (True for user turns, False for assistant turns, null
for the rest), ``language_plausible`` (per turn, the bits of its plausible languages, which
DQ301 checks against the allowed ones), ``language_asked`` (per turn, an answer in a language
the user asked for), ``language_conflicts`` (the conflicting exchanges, with the evidence that
decided: DQ302's findings) and ``language_mismatch`` (a conflict nobody asked for). The
report's ``languages`` section counts user turns (``question``) and assistant turns
(``answer``) per language, and records with a mismatch.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dqe import CODE_LINE, Feature, bare_code, check_regex, without_code, without_trace
from dqe.errors import ConfigError
from dqe.features.langid import (
    DECISIVE,
    UNDETERMINED_LANGUAGE,
    Detection,
    LanguageIdentifier,
    Profiles,
    load_profiles,
    profiles_dir,
)
from dqe.hookspecs import hookimpl

PACK = "language"
_MERGED = {"zh-cn": "zh", "zh-tw": "zh"}
_NEEDS_SCRIPT = {"ko": "hangul", "ja": "kana"}  # written without these, a text is not this language
# Japanese prose is a third kana or more; Chinese that quotes a Japanese name has little.
_KANA_SHARE = 0.25
# Nats of lead that end the scoring of a text detected again (langdetect's is 20: a few
# sentences of arithmetic led by 20 nats for Welsh at 16 positions; scoring every n-gram
# instead changed no label of GSM8K's 14,946 texts).
_DECISIVE_AGAIN = 40.0
# Characters a word of a short text takes at most, to pass over long texts before counting words.
_CHARS_PER_WORD = 12
# Words a text detected again needs for its plausible languages to count (two words are enough
# to say "not Chinese"); a label needs the pack's min_words.
_PLAUSIBLE_WORDS = 2
# Kinds of Latin letter a text in Latin letters alone, detected again, needs to be in a language
# at all: ASCII art (".oooooo") and laughter ("hahaha") score as Somali or Hausa on two letters.
_LETTER_KINDS = 5
# A text with this many capitals, and this many times as many as small letters, is written in
# capitals and detected in small ones: one word of capitals ("NASA") stays as it is.
_SHOUTED_LETTERS = 40
_SHOUTED_SHARE = 4
# Share of an answer's words that are its user turn's: the text to translate said again untranslated.
_RESTATED = 0.5
# Shapes of Han only Chinese writes that make a passage of a Japanese answer Chinese (one is a name's).
_CHINESE_SHAPES = 2
# A question longer than this is not compared with its answer for an edit of its text (the
# comparison's cost grows with the product of the lengths).
_EDITED_MAX_CHARS = 4000

# What ``prose`` removes. Character classes are ASCII where Python's \w would run into Chinese.
_ID = r"[A-Za-z_][A-Za-z0-9_.]*"
_NOT_PROSE = "|".join(
    (
        r"(?s:```.*?(?:```|\z)|~~~.*?(?:~~~|\z))",  # fenced code, closed or not
        r"`[^`\n]{1,200}`",  # inline code
        r'(?s:""".*?(?:"""|\z)|\'\'\'.*?(?:\'\'\'|\z))',  # docstrings, fenced or not: code's own comments
        r"(?s:/\*.*?(?:\*/|\z))",  # block comments
        r"(?:https?://|www\.)[^\s<>\"'`]+",  # URLs
        r"《[^》\n]{1,300}》",  # titles of works, names in any language: "有《Automatic》、《First Love》。" is Chinese
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",  # e-mail addresses
        r"\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}",  # JSON objects, template braces
        # date and time formats: dd/mm/yyyy, YYYY-MM-DD, hh:mm:ss
        r"(?i:(?-u:\b)(?:d{1,2}|m{1,2}|y{2,4}|hh|ss)(?:[-/.:](?:d{1,2}|m{1,2}|y{2,4}|hh|ss))+(?-u:\b))",
        r"[A-Za-z][A-Za-z0-9]*(?:\\?_[A-Za-z0-9]+)+=?[^\s,;]*",  # identifiers, Markdown-escaped too (input\_format=...)
        r"\[\s*(?:'[^'\n]*'|\"[^\"\n]*\")(?:\s*,\s*(?:'[^'\n]*'|\"[^\"\n]*\"))*\s*\]",  # lists of strings: ['Ralph', 'Tom']
        _ID + r"\(\s*(?:'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\")[^()\n]*\)",  # tool calls: name('...')
        _ID + r"\((?:[^()\n]|\((?:[^()\n]|\([^()\n]*\))*\))*\)",  # calls: name(...), name(f(x))
    )
)
_NOT_A_SENTENCE = r"(?m)^[^\n]*[^.!?。！？:：\s][ \t]*$"
# Numbers and formulas (any token holding a digit: 42, 3.5%, 2*x+5=20), identifiers
# (snake_case, camelCase, dotted.names) and operators.
_SYMBOLS = "|".join(
    (
        r"[!-~]*[0-9][!-~]*",
        r"[A-Za-z0-9]*_[A-Za-z0-9_]*",
        r"[a-z]+[A-Z][A-Za-z]*",
        r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+",
        r"[=+*/^<>|\\~#$%&@×÷±≈≤≥∑∫√π]+",
    )
)
_QUOTED = "|".join(
    (
        r"\"[^\"\n]{1,300}\"",
        r"“[^”\n]{1,300}”",
        r"‘[^’\n]{1,300}’",
        r"「[^」\n]{1,300}」",
        r"『[^』\n]{1,300}』",
        r"«[^»\n]{1,300}»",
        r"(?:^|[\s(\[:])'[^'\n]{1,300}'(?:$|[\s.,;:!?)\]])",
    )
)
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
# A name's letters stop where Chinese, Japanese or Korean begins: "Android手机的充电" names "Android"
_NAME_LETTERS = rf"[[\p{{L}}\p{{M}}]--[{_CJK}]]"
# Capitalized words inside a sentence: names mostly ("Albert Einstein", "Leonardo da Vinci"),
# which pull a short text towards their own language, and runs of them over lines (a list of
# names). A sentence's first word stays: "What", "How", "The" say much about a short question.
_CAPITALIZED = (
    rf"(?P<before>[\p{{L}}\p{{M}}\p{{N}},;)\]\"'’”]\s+)\p{{Lu}}{_NAME_LETTERS}*(?:\s+\p{{Lu}}{_NAME_LETTERS}*)*"
)
# A line of capitalized words only, a list's item or not, is a name or a title ("- La Cocina
# Latina", "2. Salud Foods"): a list of brand names is in no language of its own.
_NAME_LINE = rf"(?m)^[ \t]*(?:[-*•+]|[0-9]{{1,3}}[.)])?[ \t]*\p{{Lu}}[[\p{{L}}\p{{M}}'’.&-]--[{_CJK}]]*(?:[ \t]+(?:\p{{Lu}}[[\p{{L}}\p{{M}}'’.&-]--[{_CJK}]]*|&))*[ \t]*$"
# A word: two letters or more of a script with words, or one CJK character.
_WORD = rf"(?:^|[^\p{{L}}\p{{M}}])[\p{{L}}--[{_CJK}]][[\p{{L}}\p{{M}}]--[{_CJK}]]+|[{_CJK}]"


@lru_cache(maxsize=1)
def known_languages() -> tuple[str, ...]:
    """The codes this feature can report: langdetect's languages, Chinese as ``zh``."""
    profiled = (name for name in os.listdir(profiles_dir()) if not name.startswith("."))
    return tuple(sorted({_MERGED.get(name, name) for name in profiled}))


_BITS = np.left_shift(np.uint64(1), np.arange(len(known_languages()), dtype=np.uint64))
UND = len(known_languages())  # the index of "und", one past the known languages
_ANY = np.bitwise_or.reduce(_BITS)  # every language: what a request that names none asks for
_CJK_BITS = np.bitwise_or.reduce(_BITS[[known_languages().index(code) for code in ("zh", "ja", "ko")]])


def han_forms(profiles: Profiles) -> tuple[str, str]:
    """Character classes (for regular expressions) of the Han characters only Japanese writes
    (its own reformed shapes: 県, 気, 楽, 読, 円, 発) and of those only one Chinese script writes
    (simplified 们, 这, 说, 县; traditional 們, 國, 說, 縣), as langdetect's profiles tell: a
    character whose class (langdetect's ``NGram.normalize``) is a 1-gram of the Japanese profile
    alone, or of one Chinese profile and not the Japanese one. Shapes all three share (日, 国 in
    two of them, 的) tell nothing."""
    han = np.arange(0x4E00, 0xA000)
    rows = profiles.unigram[profiles.code[han] >> 1]
    seen = profiles.weights[rows][:, [profiles.languages.index(c) for c in ("ja", "zh-cn", "zh-tw")]] > 0
    japanese = han[seen[:, 0] & ~seen[:, 1] & ~seen[:, 2]]
    chinese = han[~seen[:, 0] & (seen[:, 1] ^ seen[:, 2])]
    return tuple("[" + "".join(map(chr, chars)) + "]" for chars in (japanese, chinese))  # type: ignore[return-value]


def language_bits(codes: np.ndarray | list[str]) -> np.ndarray:
    """One bit per reported language (``known_languages`` order), for sets of plausible ones."""
    index = np.searchsorted(np.array(known_languages(), dtype=object), np.asarray(codes, dtype=object))
    return _BITS[np.minimum(index, _BITS.size - 1)]


@lru_cache(maxsize=8)
def plausible_names(column: str) -> pl.Expr:
    """The codes of the languages in a column of plausible-language bits, as a list."""
    bits = pl.col(column)
    return pl.concat_list(
        [
            pl.when((bits & pl.lit(int(bit), dtype=pl.UInt64)) != 0).then(pl.lit(code))
            for bit, code in zip(_BITS, known_languages(), strict=True)
        ]
    ).list.drop_nulls()


def normalize_code(code: str) -> str:
    """A language code as this feature reports it: ``zh-CN``, ``zh_tw``, ``ZH`` -> ``zh``."""
    code = code.strip().lower().replace("_", "-")
    return "zh" if code.split("-")[0] == "zh" else _MERGED.get(code, code)


class _DetectionPack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_lead: float = Field(8.0, ge=0)
    min_letters: int = Field(10, ge=0)
    min_words: int = Field(4, ge=0)
    cjk_share: float = Field(0.3, ge=0, le=1)
    cjk_weight: float = Field(3.0, gt=0)


class _MismatchPack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_contrast: float = Field(0.3, ge=0)
    edited_share: float = Field(0.8, gt=0, le=1, alias="edited-share")


class _TranslationPack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patterns: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    required: list[str] = Field(default_factory=list)


class _MixedPack(BaseModel):
    """DQ302's answers that slip into CJK text (read by the rule; validated here, with the pack)."""

    model_config = ConfigDict(extra="forbid")
    min_chars: int = Field(20, ge=1, alias="min-chars")
    min_run: int = Field(8, ge=1, alias="min-run")
    exempt: list[str] = Field(default_factory=list)


class _FunctionWordsPack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_words: int = Field(12, ge=0, alias="max-words")
    min_hits: int = Field(2, ge=1, alias="min-hits")
    words: dict[str, list[str]] = Field(default_factory=dict)


class LanguagePack(BaseModel):
    """The ``language`` rule pack (``rules/language.toml``)."""

    model_config = ConfigDict(extra="forbid")
    meta: dict[str, Any] = Field(default_factory=dict)
    detection: _DetectionPack = Field(default_factory=_DetectionPack)
    mismatch: _MismatchPack = Field(default_factory=_MismatchPack)
    translation: _TranslationPack = Field(default_factory=_TranslationPack)
    mixed: _MixedPack = Field(default_factory=_MixedPack)
    function_words: _FunctionWordsPack = Field(default_factory=_FunctionWordsPack, alias="function-words")
    names: dict[str, str] = Field(default_factory=dict)


def load_pack(data: dict[str, Any]) -> LanguagePack:
    """The pack, validated; a bad value or pattern is a ``ConfigError`` naming it."""
    try:
        pack = LanguagePack.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"rule pack '{PACK}': {problems}") from None
    lists = (
        ("translation pattern", pack.translation.patterns),
        ("translation mention", pack.translation.mentions),
        ("translation requirement", pack.translation.required),
        ("mixed exempt pattern", pack.mixed.exempt),
    )
    for what, patterns in lists:
        for pattern in patterns:
            try:
                check_regex(pattern, what)  # a pattern checked in an earlier run is not compiled again
            except ConfigError:
                try:
                    pl.Series([""]).str.contains(pattern)
                except pl.exceptions.PolarsError as exc:
                    raise ConfigError(
                        f"rule pack '{PACK}': {what} {pattern!r} is not a valid regular expression ({exc})"
                    ) from None
    unknown = sorted({code for code in pack.names.values() if normalize_code(code) not in known_languages()})
    if unknown:
        raise ConfigError(f"rule pack '{PACK}': names map to unknown language codes: {', '.join(unknown)}")
    unknown = sorted(code for code in pack.function_words.words if normalize_code(code) not in known_languages())
    if unknown:
        raise ConfigError(f"rule pack '{PACK}': function-words.words: unknown language codes: {', '.join(unknown)}")
    return pack


def _without_code(texts: pl.Series) -> pl.Series:
    """Texts with their code removed (``dqe.without_code``), touching only those that quote any."""
    quoting = texts.str.contains(r"`|~~~").arg_true()
    if quoting.len() == 0:
        return texts
    return texts.scatter(quoting, without_code(texts.gather(quoting)))


def unshouted(texts: pl.Series) -> pl.Series:
    """Texts written in capitals ("PARIS EST UNE VILLE MAGNIFIQUE", an answer asked for in capitals)
    in lower case: langdetect reads no n-gram inside a word of capitals, and what is left of such a
    text (a few accented letters: "RÉCUPERATION") can lead for any language (M-IFEval's French JSON
    in capitals read as Vietnamese, unseen)."""
    upper = texts.str.count_matches(r"\p{Lu}")
    shouted = (upper >= _SHOUTED_LETTERS) & (upper >= _SHOUTED_SHARE * texts.str.count_matches(r"\p{Ll}"))
    if not shouted.any():
        return texts
    return pl.select(pl.when(shouted).then(texts.str.to_lowercase()).otherwise(texts)).to_series()


def words(texts: pl.Series) -> pl.Series:
    """Words per text: runs of two letters or more, CJK characters one by one."""
    return texts.str.count_matches(_WORD)


def prose(texts: pl.Series, min_words: int = 4, quotes: pl.Series | None = None) -> pl.Series:
    """What of each text a language can be told from: tool-call syntax (``wikipedia('...')``,
    ``python(...)``, ReAct's ``Action:`` lines), code (fenced, inline, docstrings and block
    comments, lines of code outside fences, decorators and one-word statements among them, and in a text most
    of whose lines are code, every line that does not end as a sentence), JSON, URLs,
    e-mail addresses, numbers and formulas, identifiers, lines of capitalized words only and
    capitalized words inside sentences (names) replaced by spaces; quotes too where ``min_words`` words are left without them (a
    quoted name or phrase is mentioned, not spoken; a text that is all quote is judged on its
    quote; ``quotes``: per text, whether its quotes may stand for it at all, which a user's
    may not: quoted values and phrases are what the user gives, not the language they write
    in); each word kept once."""
    # no-break spaces read as spaces: code pasted from a web page has them between its tokens
    # a reasoning trace before the answer (<think>...</think>) is not the answer: what follows it is
    texts = (
        without_trace(texts.fill_null("")).str.replace_all("\u00a0", " ", literal=True).str.replace_all(_NOT_PROSE, " ")
    )
    # In a text most of whose lines are code, the lines no pattern knows ("chmod u+x file") are
    # code too: only lines that end as a sentence does stay.
    mostly_code = bare_code(texts, least=2)
    texts = texts.str.replace_all(CODE_LINE, "").str.replace_all(_NAME_LINE, "")
    base = (
        pl.select(pl.when(mostly_code).then(texts.str.replace_all(_NOT_A_SENTENCE, "")).otherwise(texts))
        .to_series()
        .str.replace_all(_SYMBOLS, " ")
        .str.replace_all(_CAPITALIZED, "${before} ")
    )
    unquoted = base.str.replace_all(_QUOTED, " ")
    enough = words(unquoted) >= min_words
    if quotes is not None:
        enough = enough | ~quotes
    return _distinct(pl.select(pl.when(enough).then(unquoted).otherwise(base)).to_series())


def _distinct(texts: pl.Series) -> pl.Series:
    """Each text's whitespace-separated tokens, each once: "3 dozen cookies - 2 dozen = 1 dozen
    cookies" says "dozen" once, not three times more Dutch than English."""
    tokens = texts.str.replace_all(r"\s+", " ").str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    return tokens.list.unique(maintain_order=True).list.join(" ")


def _bits(columns: np.ndarray) -> np.ndarray:
    """Per row of a (rows, reported languages) bool array, its True columns as bits."""
    packed = np.packbits(columns, axis=1, bitorder="little")
    padded = np.zeros((columns.shape[0], 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view("<u8").ravel().astype(np.uint64)


def _unbits(bits: np.ndarray) -> np.ndarray:
    """The inverse of ``_bits``: a (rows, reported languages) bool array."""
    return (bits[:, None] & _BITS[None, :]) != 0


@dataclass
class _Decided:
    """What was decided about each of a run of texts (arrays in their order). Languages are
    indices into ``known_languages()``, ``UND`` (one past the last) for undetermined."""

    language: np.ndarray  # the label: the language, or UND
    plausible: np.ndarray  # uint64 bits of the languages within min_contrast of the best; 0: too little text
    best: np.ndarray  # the best language, determined or not
    runner_up: np.ndarray  # the second best
    behind: np.ndarray  # (texts, languages) nats per n-gram each language trails the best by
    lead: np.ndarray  # nats between the best and the runner-up (inf: the script decided)
    ngrams: np.ndarray  # n-grams scored
    cjk: np.ndarray  # CJK share of the weighted letters (the CJK rule decided where >= cjk_share)
    lines: np.ndarray  # uint64 bits: a user turn's first and last lines' languages (its answer may be in them)

    def update(self, rows: np.ndarray, other: _Decided) -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name)[rows] = getattr(other, name)


# One conflicting exchange (``language_conflicts``): what DQ302 reports.
CONFLICT = pl.Struct(
    {
        "turn": pl.Int32,  # the answer's turn
        "question_turn": pl.Int32,  # the user turn it answers (null: none)
        "against": pl.String,  # "question", "conversation" or "request": what the answer was held to
        "expected": pl.String,  # that language ("en/af/nl": the languages a short question could be)
        "answer": pl.String,  # the answer's language
        "asked": pl.Boolean,  # the user asked for a translation or another language
        "evidence": pl.String,  # the scores that decided
    }
)


def _divided(one: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Sets of plausible languages (bits) on two sides of the CJK divide: one all Chinese,
    Japanese or Korean, the other none of them."""
    cjk_one, cjk_other = one & _CJK_BITS, other & _CJK_BITS
    only_one, only_other = (one != 0) & (cjk_one == one), (other != 0) & (cjk_other == other)
    return (only_one & (other != 0) & (cjk_other == 0)) | (only_other & (one != 0) & (cjk_one == 0))


def _segments(keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal values in sorted ``keys``."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)


def _alternation(patterns: list[str]) -> str | None:
    """One case-insensitive regular expression matching any of ``patterns`` (None: no patterns)."""
    return "(?i)" + "|".join(f"(?:{p})" for p in patterns) if patterns else None


def _turn_rows(batch: pl.DataFrame) -> pl.DataFrame:
    """One row per turn of every record, sorted: ``_r`` (the record's row), ``turn`` (1-based),
    ``role`` and ``text``. Records that are one question and one answer come from the
    ``question`` and ``answer`` columns; only longer conversations are exploded."""
    roles = pl.col("turns").list.eval(pl.element().struct.field("role"))
    simple = (roles.list.len() == 2) & (roles.list.first() == "user") & (roles.list.last() == "assistant")
    flags = batch.select(simple.fill_null(False)).to_series()
    rows = pl.int_range(pl.len(), dtype=pl.UInt32)
    pairs = batch.select(_r=rows, question=pl.col("question").fill_null(""), answer=pl.col("answer").fill_null(""))
    pairs = pairs.filter(flags)
    parts = [
        pairs.select("_r", turn=pl.lit(1, pl.Int32), role=pl.lit("user"), text="question"),
        pairs.select("_r", turn=pl.lit(2, pl.Int32), role=pl.lit("assistant"), text="answer"),
    ]
    if not flags.all():
        parts.append(
            batch.select(_r=rows, turns="turns")
            .filter(~flags)
            .explode("turns")
            .unnest("turns")
            .with_columns(turn=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("_r"))
            .filter(pl.col("role").is_not_null())
            .select("_r", "turn", "role", text="content")
        )
    return pl.concat(parts).sort("_r", "turn")


class Language(Feature):
    name = "language"
    summary = "language of every user and assistant turn, and answers in another language than the user's"
    columns = (
        "language_turns",
        "language_user",
        "language_plausible",
        "language_asked",
        "language_conflicts",
        "language_mismatch",
    )
    keep = ("language_turns", "language_user", "language_mismatch")
    labels = {"languages": "language_turns"}

    def __init__(self, context):
        super().__init__(context)
        self.pack = load_pack(context.pack(PACK))
        self.identifier = LanguageIdentifier(load_profiles())
        self._japanese_han, self._chinese_han = han_forms(self.identifier.profiles)
        self._codes = np.array(known_languages(), dtype=object)
        self._labels = pl.Series([*known_languages(), UNDETERMINED_LANGUAGE], dtype=pl.String)
        profiled = self.identifier.profiles.languages
        reported = [_MERGED.get(code, code) for code in profiled]
        # Each reported language's column of langdetect's scores; Chinese takes the max of two.
        self._source = np.array([reported.index(code) for code in self._codes])
        self._merged = [i for i, code in enumerate(profiled) if code in _MERGED]
        self._column = {code: i for i, code in enumerate(self._codes)}
        listed = {normalize_code(code): words for code, words in self.pack.function_words.words.items() if words}
        self._function_table = {code: frozenset(w.lower() for w in ws) for code, ws in listed.items()} or None
        self._names = {name.lower(): normalize_code(code) for name, code in self.pack.names.items()}
        translation = self.pack.translation
        self._asks = _alternation(translation.patterns)
        self._requires = _alternation(translation.required)
        self._mentions = _alternation([*translation.patterns, *translation.mentions])
        # Language names a request may hold: longest first ("simplified chinese" before "chinese").
        names = sorted(self._names, key=len, reverse=True)
        self._named_pattern = (
            "|".join(re.escape(n) if not n.isascii() else rf"\b{re.escape(n)}\b" for n in names) or None
        )

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        turns = _turn_rows(batch)
        role = turns["role"]
        user = (role == "user").to_numpy()
        judged = np.flatnonzero(user | (role == "assistant").to_numpy())
        # From here on, arrays run over the judged turns, in record and turn order.
        owner = turns["_r"].to_numpy()[judged]
        asks = user[judged]
        texts = turns["text"].fill_null("").gather(judged)
        bare = unshouted(_without_code(texts))
        found = self._decide(self.identifier.identify(bare, replay=False), bare)
        # The user turn before each turn (-1: none).
        last = np.maximum.accumulate(np.where(asks, np.arange(judged.size), -1))
        question = np.where(last >= np.searchsorted(owner, owner, side="left"), last, -1)
        # Again: the exchanges whose turns disagree, and the turns decided by a short lead,
        # which names, numbers and code sway ("What is 120 degrees Fahrenheit in Celsius?"
        # leads for German by 12 nats).
        disagree = self._disagree(asks, question, found)
        redo = np.flatnonzero(disagree | ((found.plausible != 0) & (found.lead < DECISIVE)))
        if redo.size:
            found.update(redo, self._again(texts.gather(redo), asks[redo], disagree[redo]))
        self._anchor(owner, found, self._discord(owner, found))

        # Each answer with something to go on and what it is held to: the languages plausible
        # for its user turn where that turn tells (one language ahead, or across the CJK divide
        # from the answer), else the conversation's language.
        answers = np.flatnonzero(~asks & (found.plausible != 0))
        at = np.maximum(question[answers], 0)
        answer_bits = found.plausible[answers]
        asked_bits = found.plausible[at] | found.lines[at]
        by_question = (question[answers] >= 0) & (
            (found.language[at] != UND) | ((found.plausible[at] != 0) & _divided(asked_bits, answer_bits))
        )
        conversation = self._conversation(batch, owner, asks, found, owner[answers[~by_question]])
        held = np.full(batch.height, -1, dtype=np.int64)
        held[conversation["_r"].to_numpy()] = conversation["code"].to_numpy()
        held = held[owner[answers]]
        known = ~by_question & (held >= 0)
        expected = np.where(by_question, found.language[at], held)
        expected_bits = np.where(by_question, asked_bits, np.where(known, _BITS[held], np.uint64(0)))
        # Both sides single one language out, or they are on two sides of the CJK divide (an
        # English sentence too short to tell from Dutch is still not Chinese).
        certain = ((found.language[answers] != UND) & (expected != UND)) | _divided(expected_bits, answer_bits)
        conflict = certain & (by_question | known) & (expected_bits & answer_bits == 0)
        # Whether the answer's language was asked for matters where it is not the user's (nor, a
        # short user turn relabelled after its answer aside, the user turn's own best guess).
        differs = np.flatnonzero(
            ~(by_question | known) | (expected != found.language[answers]) | (found.best[at] != found.best[answers])
        )
        asked = np.zeros(judged.size, dtype=bool)
        asked[answers[differs]] = self._asked(
            batch, texts, owner, asks, question, answers[differs], answer_bits[differs]
        )
        numbered = turns["turn"].gather(judged)
        items = self._conflicts(
            numbered,
            owner,
            answers[conflict],
            question,
            by_question[conflict],
            expected[conflict],
            asked,
            found,
            conversation,
        )
        unmet = pl.concat(
            [
                self._unmet(numbered, owner, texts, asks, question, found),
                self._slipped(numbered, owner, texts, asks, question, found),
            ]
        )
        if unmet.height:
            turn_of = pl.col("item").struct.field("turn").alias("t")
            fresh = unmet.with_columns(turn_of).join(items.select("_r", turn_of), on=["_r", "t"], how="anti")
            items = pl.concat([items, fresh.drop("t")]).sort("_r", turn_of, maintain_order=True)
        conflicts = items.group_by("_r", maintain_order=True).agg(language_conflicts="item")

        # Back from judged turns to every turn, then to one list per record.
        per_turn = turns.select(
            "_r",
            language_turns=self._labels.gather(
                pl.Series(np.full(turns.height, -1), dtype=pl.Int64).scatter(judged, found.language).replace(-1, None)
            ),
            language_user=pl.when(pl.col("role") == "user").then(True).when(pl.col("role") == "assistant").then(False),
            language_plausible=pl.Series(np.zeros(turns.height, dtype=np.uint64)).scatter(judged, found.plausible),
            language_asked=pl.Series(np.zeros(turns.height, dtype=bool)).scatter(judged, asked),
        )
        lists = per_turn.group_by("_r", maintain_order=True).agg(pl.all())
        out = (
            batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32))
            .join(lists, on="_r", how="left", maintain_order="left")
            .join(conflicts, on="_r", how="left", maintain_order="left")
        )
        return out.select(
            *(pl.col(c).fill_null(pl.lit([], out.schema[c])) for c in self.columns[:5]),
            language_mismatch=pl.col("language_conflicts")
            .list.eval(~pl.element().struct.field("asked"))
            .list.any()
            .fill_null(False),
        )

    def _decide(self, found: Detection, texts: pl.Series, counted: np.ndarray | None = None) -> _Decided:
        """Per text, its label (a language or ``UND``), the bits of its plausible languages and
        what decided. ``counted``: words per text, which must reach ``min_words``."""
        scores = self._scores(found)
        self._function_words(texts, scores)
        rows = np.arange(scores.shape[0])
        best = scores.argmax(axis=1) if rows.size else rows
        first = scores[rows, best]
        others = scores.copy()
        others[rows, best] = -np.inf
        second = others.argmax(axis=1) if rows.size else rows
        runner = others[rows, second]
        with np.errstate(invalid="ignore"):  # -inf - -inf: only one language possible
            lead = np.where(np.isneginf(runner), np.inf, first - runner)
            behind = (first[:, None] - scores) / np.maximum(found.ngrams, 1)[:, None]
        weight = self.pack.detection.cjk_weight
        cjk = {code: found.count(script) * weight for code, script in (("zh", "han"), ("ja", "kana"), ("ko", "hangul"))}
        cjk_total = sum(cjk.values())
        letters = found.letters[:, 1:].sum(axis=1) + cjk_total * (1 - 1 / weight)
        detection = self.pack.detection
        # Enough to go on (the plausible languages say something), and one language ahead.
        informative = np.isfinite(first) & (np.isposinf(lead) | (letters >= detection.min_letters))
        determined = informative & (lead >= detection.min_lead)
        if counted is not None:
            informative &= np.isposinf(lead) | (counted >= _PLAUSIBLE_WORDS)
            determined &= np.isposinf(lead) | (counted >= detection.min_words)
        plausible = _bits((behind < self.pack.mismatch.min_contrast) & informative[:, None])
        language = np.where(determined, best, UND)

        # Mixed with enough Chinese, Japanese or Korean: that language.
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.nan_to_num(cjk_total / letters)
        mostly = np.flatnonzero(share >= detection.cjk_share)
        if mostly.size:
            columns = np.array([self._column[code] for code in cjk])
            chosen = columns[np.argmax(np.stack([v[mostly] for v in cjk.values()], axis=1), axis=1)]
            kana_share = cjk["ja"][mostly] / np.maximum(cjk["ja"][mostly] + cjk["zh"][mostly], 1)
            # Japanese writes Han too, and its sentences hiragana: Han with katakana alone is Chinese
            # that transcribes a name ("日语名字叫ダニエル・パウター，你知道他的年龄吗？", KdConv music)
            written = texts.gather(mostly)
            hiragana = written.str.count_matches(r"\p{Hiragana}").to_numpy() > 0
            japanese = (kana_share >= _KANA_SHARE) & (hiragana | (cjk["zh"][mostly] == 0))
            # Japanese written mostly in kanji ("伊勢神宮は何県？", "首都圏：東京への集中による人口過密":
            # ELYZA-tasks and Japanese MT-bench answers, unseen) has its own shapes of Han (県, 圏, 気)
            # and none of Chinese's (们, 這); hiragana with no shape of either is Japanese where
            # langdetect's profiles read the text better as Japanese than as Chinese. A Chinese sentence
            # naming a Japanese shop ("建议您去千只鹤手作り料理 居楽屋", CrossWOZ) holds a shape of each.
            han = chosen != self._column["ko"]
            # counted where the text is not Korean (hangul decided it): a class of 700 shapes costs
            own, foreign = np.zeros(mostly.size, dtype=np.int64), np.zeros(mostly.size, dtype=np.int64)
            at = np.flatnonzero(han)
            if at.size:
                told = written.gather(at)
                own[at] = told.str.count_matches(self._japanese_han).to_numpy()
                foreign[at] = told.str.count_matches(self._chinese_han).to_numpy()
            ja, zh = scores[mostly, self._column["ja"]], scores[mostly, self._column["zh"]]
            japanese |= han & ((own > foreign) | (hiragana & (foreign == 0) & (ja > zh)))
            chosen = np.where(japanese, self._column["ja"], chosen)
            language[mostly] = best[mostly] = chosen
            # As much of another script besides: mixed, plausible in any language (a judgement
            # would be a guess); mostly CJK: that language alone, or, for Han with neither
            # hiragana nor a shape only one language writes ("1. 文学\n2. 歴史", "24日、25日、26日
            # （木曜日）", "アマゾン、5回"), Chinese or Japanese.
            either = han & ~hiragana & (own == 0) & (foreign == 0)
            alone = np.where(
                either, _BITS[chosen] | _BITS[self._column["ja"]] | _BITS[self._column["zh"]], _BITS[chosen]
            )
            plausible[mostly] = np.where(share[mostly] < 1 - detection.cjk_share, _ANY, alone)
        # A script tells the language alone only from two different letters of it, Han aside: the
        # Kannada of "ಥ‿ಥ" and the katakana of a shrug's "ツ" draw faces ("好" is Chinese).
        few = np.flatnonzero(np.isposinf(lead) & (letters < detection.min_letters) & (cjk["zh"] == 0))
        if few.size:
            distinct = texts.gather(few).str.extract_all(r"\p{L}").list.n_unique().fill_null(0).to_numpy()
            faces = few[distinct < 2]
            language[faces], plausible[faces] = UND, 0
        lines = np.zeros(rows.size, dtype=np.uint64)
        return _Decided(language, plausible, best, second, behind, lead, found.ngrams.copy(), share, lines)

    def _function_words(self, texts: pl.Series, scores: np.ndarray) -> None:
        """A short text, led by less than ``DECISIVE`` nats, with more distinct function words of
        one language than of any other (at least ``min-hits``) is scored ``min_lead`` ahead of
        every other language in it. "Do you like neo-nazis?" leads for Swahili by its n-grams
        ("z" and "-nazis") and holds two English function words and no Swahili one; "¿Cuál es
        la capital de Australia?" leads Catalan by too little for a label and holds two Spanish
        ones. A name or a borrowed word sways n-grams, not the words that hold a sentence
        together."""
        table = self._function_table
        if table is None or not texts.len():
            return
        # Only texts whose best language leads by less than DECISIVE nats (a few in a hundred),
        # and short ones: a clear lead, or a long text, has its language.
        with np.errstate(invalid="ignore"):
            top = np.partition(scores, -2, axis=1)[:, -2:] if scores.shape[1] > 1 else scores
            close = np.flatnonzero(np.isfinite(top[:, -1]) & ~(top[:, -1] - top[:, 0] >= DECISIVE))
        if not close.size:
            return
        short = texts.gather(close).str.len_chars() < _CHARS_PER_WORD * self.pack.function_words.max_words
        rows = close[short.fill_null(False).to_numpy()]
        if not rows.size:
            return
        tokens = texts.gather(rows).str.to_lowercase().str.extract_all(r"[\p{L}']+")
        few = (tokens.list.len() <= self.pack.function_words.max_words).fill_null(False).to_numpy()
        rows, tokens = rows[few], tokens.filter(pl.Series(few))
        if not rows.size:
            return
        distinct = tokens.list.unique()
        hits = np.stack(
            [
                distinct.list.eval(pl.element().is_in(list(words))).list.sum().fill_null(0).to_numpy()
                for words in table.values()
            ],
            axis=1,
        )
        # The language with the most function words, alone at the top and with at least
        # min-hits of them, leads every other by min_lead.
        columns = np.array([self._column[code] for code in table])
        ranked = np.sort(hits, axis=1)
        most = ranked[:, -1]
        second = ranked[:, -2] if len(table) > 1 else np.zeros(rows.size, dtype=hits.dtype)
        won = (most >= self.pack.function_words.min_hits) & (most > second)
        at, to = rows[won], columns[hits.argmax(axis=1)[won]]
        if not at.size:
            return
        others = scores[at].copy()
        others[np.arange(at.size), to] = -np.inf
        scores[at, to] = np.maximum(scores[at, to], others.max(axis=1) + self.pack.detection.min_lead)

    def _scores(self, found: Detection) -> np.ndarray:
        """Scores per reported language: Korean and Japanese ruled out of texts without hangul
        or kana, Chinese the better of langdetect's two."""
        merged = found.scores[:, self._source]
        for code, script in _NEEDS_SCRIPT.items():
            merged[found.count(script) == 0, self._column[code]] = -np.inf
        for column in self._merged:
            np.maximum(
                merged[:, self._column["zh"]],
                found.scores[:, column],
                out=merged[:, self._column["zh"]],
            )
        return merged

    def _disagree(self, asks: np.ndarray, question: np.ndarray, found: _Decided) -> np.ndarray:
        """The turns of the exchanges whose answer and user turn share no plausible language or
        differ in their best one, and the answers to user turns that cannot tell (they are held
        to the conversation): where a verdict may fail."""
        answers = np.flatnonzero(~asks & (found.plausible != 0))
        at = np.maximum(question[answers], 0)
        told = (question[answers] >= 0) & (found.plausible[at] != 0)
        apart = told & (
            ((found.plausible[answers] & found.plausible[at]) == 0) | (found.best[answers] != found.best[at])
        )
        out = np.zeros(asks.size, dtype=bool)
        out[answers[apart | ~told]] = True
        out[at[apart]] = True
        return out

    def _discord(self, owner: np.ndarray, found: _Decided) -> np.ndarray:
        """The records whose turns (those with something to go on) differ in their best language."""
        informative = found.plausible != 0
        keys = owner[informative]
        starts = _segments(keys)
        if not starts.size:
            return starts
        best = found.best[informative]
        return keys[starts[np.maximum.reduceat(best, starts) != np.minimum.reduceat(best, starts)]]

    def _again(self, texts: pl.Series, user: np.ndarray, disagree: np.ndarray) -> _Decided:
        """Detect again, on their prose and on more of their n-grams, the turns of the exchanges
        that disagree (where a verdict may fail) and the turns decided by a short lead (the
        labels langdetect gets wrong on names, numbers, tool calls and code): a few in a
        hundred. A user turn of a disagreeing exchange that has several lines, or that introduces
        its material with a colon, is also plausible in the languages of its opening (up to the
        first line break or colon: "下面是生成图像的提示词：masterpiece, 1girl, ...") and of its
        last line."""
        again = self._decide_prose(texts, pl.Series(~user))
        stripped = texts.str.strip_chars()
        lined = user & disagree & (again.plausible != 0)
        # an opening before a colon counts where it holds min_words words: "Translate into
        # Italian:" is too short to be in a language of its own
        opening = stripped.str.extract(r"^([^\n:：]*)[:：]\s*\S")
        colon = (words(opening) >= self.pack.detection.min_words).fill_null(False)
        lined = np.flatnonzero(lined & (stripped.str.contains("\n", literal=True) | colon).to_numpy())
        if lined.size:
            ends = stripped.gather(lined)
            head = pl.select(
                pl.when(colon.gather(lined)).then(opening.gather(lined)).otherwise(ends.str.extract(r"^([^\n]*)"))
            ).to_series()
            ends = pl.concat([head, ends.str.extract(r"([^\n]*)$")])
            line = self._decide_prose(ends, pl.Series(np.zeros(ends.len(), dtype=bool)))
            again.lines[lined] = line.plausible[: lined.size] | line.plausible[lined.size :]
        return again

    def _decide_prose(self, texts: pl.Series, quotes: pl.Series) -> _Decided:
        """``_decide`` on the ``prose`` of ``texts`` (``quotes``: see ``prose``), scored until a
        language leads by ``_DECISIVE_AGAIN`` nats, words counted."""
        cleaned = prose(unshouted(texts), self.pack.detection.min_words, quotes)
        found = self.identifier.identify(cleaned, replay=False, decisive=_DECISIVE_AGAIN)
        decided = self._decide(found, cleaned, words(cleaned).to_numpy())
        kinds = cleaned.str.to_lowercase().str.extract_all(r"\p{Latin}").list.n_unique()
        latin = ~cleaned.str.contains(r"[\p{L}&&\P{Latin}]")
        few = np.flatnonzero((latin & (kinds < _LETTER_KINDS)).to_numpy())
        decided.language[few], decided.plausible[few] = UND, 0
        return decided

    def _anchor(self, owner: np.ndarray, found: _Decided, differ: np.ndarray) -> None:
        """In the records whose turns' best languages differ, label each determined turn with the
        language plausible for most turns of its record that have something to go on (of those,
        the one that trails the best the least, summed over them), when that language is
        plausible for it and for another turn and some turn is determined in it: the record
        decides between the languages a short text leads in by little. Undetermined turns stay
        ``und``."""
        rows = np.flatnonzero(np.isin(owner, differ) & (found.plausible != 0) & (found.plausible != _ANY))
        if not rows.size:
            return
        starts = _segments(owner[rows])
        sizes = np.diff(np.r_[starts, rows.size])
        bits = found.plausible[rows]
        plausible = _unbits(bits)
        votes = np.add.reduceat(plausible.astype(np.int64), starts, axis=0)
        trails = np.add.reduceat(np.where(plausible, found.behind[rows], 0.0), starts, axis=0)
        determined = found.language[rows] != UND
        decided = np.add.reduceat(
            _unbits(np.where(determined, _BITS[np.minimum(found.language[rows], UND - 1)], np.uint64(0))).astype(
                np.int64
            ),
            starts,
            axis=0,
        )
        candidate = (votes == votes.max(axis=1, keepdims=True)) & (decided > 0)
        anchor = np.where(candidate, trails, np.inf).argmin(axis=1)
        shared = np.repeat((votes.max(axis=1) >= 2) & candidate.any(axis=1), sizes)
        anchor = np.repeat(anchor, sizes)
        fits = shared & determined & ((bits & _BITS[anchor]) != 0)
        found.language[rows[fits]] = anchor[fits]

    def _conversation(
        self, batch: pl.DataFrame, owner: np.ndarray, asks: np.ndarray, found: _Decided, records: np.ndarray
    ) -> pl.DataFrame:
        """For ``records``: ``code``, the language most of the record's determined user turns
        are in (the first on a tie; else the record's own ``language`` field; else null), and
        ``support``, what says so ("2 of 3 user turns", "its language field")."""
        records = np.unique(records)
        rows = np.flatnonzero(asks & np.isin(owner, records))
        told = pl.DataFrame(
            {"_r": owner[rows], "code": found.language[rows], "row": rows},
            schema={"_r": pl.UInt32, "code": pl.Int64, "row": pl.Int64},
        )
        top = (
            told.filter(pl.col("code") != UND)
            .group_by("_r", "code")
            .agg(n=pl.len(), first=pl.col("row").min())
            .sort("_r", "n", "first", descending=[False, True, False])
            .unique("_r", keep="first", maintain_order=True)
            .join(told.group_by("_r").agg(total=pl.len()), on="_r", how="left")
        )
        index = pl.Series(records, dtype=pl.UInt32)
        declared = self._declared(batch["language"].gather(index))
        field = pl.Series(np.searchsorted(self._codes, declared.fill_null("").to_numpy()), dtype=pl.Int64)
        return (
            pl.DataFrame({"_r": index, "declared": field.scatter(declared.is_null().arg_true(), None)})
            .join(top, on="_r", how="left", maintain_order="left")
            .select(
                "_r",
                code=pl.coalesce("code", "declared").fill_null(-1),
                support=pl.when(pl.col("code").is_not_null())
                .then(pl.format("{} of {} user turns", "n", "total"))
                .when(pl.col("declared").is_not_null())
                .then(pl.lit("its language field")),
            )
        )

    def _asked(
        self,
        batch: pl.DataFrame,
        texts: pl.Series,
        owner: np.ndarray,
        asks: np.ndarray,
        question: np.ndarray,
        answers: np.ndarray,
        answer_bits: np.ndarray,
    ) -> np.ndarray:
        """For each answer, whether its language was asked for: by a request for a translation
        or a language in its user turn or an earlier one (a standing request) or in the system
        prompt, or a language named in its user turn ("What is 'cat' in Spanish?"). A request
        that names languages asks for those ("把这句话翻译成英文", "from now on answer in
        French"), one that names none for any ("Translate the following.")."""
        if not answers.size or self._mentions is None:
            return np.zeros(answers.size, dtype=bool)
        requested = np.zeros(owner.size, dtype=np.uint64)
        if self._asks is not None:
            scope = np.flatnonzero(asks & np.isin(owner, owner[answers]))
            rows = scope[texts.gather(scope).str.contains(self._asks).to_numpy()]
            requested[rows] = self._named(texts.gather(rows), _ANY)
        # Requests stand from their turn on: per language, any request so far in the record.
        so_far = np.cumsum(_unbits(requested), axis=0)
        start = np.searchsorted(owner, owner[answers], side="left")
        before = np.where(start[:, None] > 0, so_far[np.maximum(start - 1, 0)], 0)
        at = question[answers]
        allowed = np.where(at >= 0, _bits(so_far[np.maximum(at, 0)] > before), np.uint64(0))
        named = texts.gather(np.maximum(at, 0))
        naming = np.flatnonzero((at >= 0) & named.str.contains(self._mentions).to_numpy())
        allowed[naming] |= self._named(named.gather(naming), np.uint64(0))
        system = batch["system"].gather(owner[answers]).fill_null("")
        prompted = np.flatnonzero(system.str.contains(self._mentions).to_numpy())
        allowed[prompted] |= self._named(system.gather(prompted), _ANY)
        found = (allowed & answer_bits) != 0
        rest = np.flatnonzero(~found & (at >= 0))
        found[rest] = self._edited(texts.gather(answers[rest]), named.gather(rest))
        return found

    def _edited(self, answers: pl.Series, questions: pl.Series) -> np.ndarray:
        """Whether each answer is text its question gave, edited: most of its characters (the
        pack's ``mismatch.edited-share``), in order, are the question's. "将下述句子中的错误单词改正：
        "The catt sat on the maat."" answered "The cat sat on the mat.", "删除其中的所有元音字母" answered
        with the English text less its vowels: the material's language is what was asked for."""
        share = self.pack.mismatch.edited_share
        out = np.zeros(answers.len(), dtype=bool)
        for i, (answer, question) in enumerate(zip(answers.to_list(), questions.to_list(), strict=True)):
            answer, question = answer.strip(), question or ""
            # what the question holds cannot make up more of a longer answer; long texts are not compared
            if not answer or len(answer) * share > len(question) or len(question) > _EDITED_MAX_CHARS:
                continue
            blocks = difflib.SequenceMatcher(None, question, answer, autojunk=False).get_matching_blocks()
            out[i] = sum(block.size for block in blocks) >= share * len(answer)
        return out

    def _named(self, texts: pl.Series, unnamed: np.uint64) -> np.ndarray:
        """The languages each text names (the pack's ``names``) as bits; ``unnamed`` where it
        names none."""
        if self._named_pattern is None or texts.is_empty():
            return np.full(texts.len(), unnamed, dtype=np.uint64)
        found = (
            pl.DataFrame(
                {"text": np.arange(texts.len()), "name": texts.str.to_lowercase().str.extract_all(self._named_pattern)}
            )
            .explode("name")
            .drop_nulls("name")
            .with_columns(code=pl.col("name").replace_strict(self._names, default=None))
            .drop_nulls("code")
        )
        bits = np.full(texts.len(), np.uint64(0), dtype=np.uint64)
        index = found["text"].to_numpy()
        np.bitwise_or.at(bits, index, _BITS[np.searchsorted(self._codes, found["code"].to_numpy())])
        bits[bits == 0] = unnamed
        return bits

    def _conflicts(
        self,
        turn: pl.Series,
        owner: np.ndarray,
        rows: np.ndarray,
        question: np.ndarray,
        by_question: np.ndarray,
        expected: np.ndarray,
        asked: np.ndarray,
        found: _Decided,
        conversation: pl.DataFrame,
    ) -> pl.DataFrame:
        """Per record with conflicts, ``language_conflicts``: each conflicting answer's turn,
        its user turn, what it was held to (``against``: question or conversation), both
        languages, whether another language was asked for, and the evidence that decided."""
        if not rows.size:
            return pl.DataFrame(schema={"_r": pl.UInt32, "item": CONFLICT})
        at = question[rows]
        asked_at = np.maximum(at, 0)
        frame = pl.DataFrame(
            {
                "_r": pl.Series(owner[rows], dtype=pl.UInt32),
                "turn": turn.gather(rows),
                "question_turn": turn.gather(asked_at).scatter(np.flatnonzero(at < 0), None),
                "by_question": by_question,
                # A user turn too short to single one language out: the languages it could be in.
                "expected": self._labels.gather(expected).zip_with(
                    pl.Series(expected != UND), self._few(found.plausible[asked_at])
                ),
                "answer": self._labels.gather(found.language[rows]).zip_with(
                    pl.Series(found.language[rows] != UND), self._few(found.plausible[rows])
                ),
                "asked": asked[rows],
                "a_how": self._how(found, rows),
                "q_how": self._how(found, asked_at),
            }
        )
        frame = frame.join(conversation.select("_r", "support"), on="_r", how="left", maintain_order="left")
        evidence = (
            pl.when("by_question")
            .then(
                pl.format(
                    "answer {}; question (turn {}) {}; no language within {} nats/n-gram of both",
                    "a_how",
                    "question_turn",
                    "q_how",
                    pl.lit(self.pack.mismatch.min_contrast),
                )
            )
            .otherwise(
                pl.format(
                    "answer {}; {} too short to tell; conversation {} ({})",
                    "a_how",
                    pl.when(pl.col("question_turn").is_null())
                    .then(pl.lit("no question"))
                    .otherwise(pl.format("question (turn {})", "question_turn")),
                    "expected",
                    "support",
                )
            )
        )
        items = frame.select(
            "_r",
            item=pl.struct(
                "turn",
                "question_turn",
                against=pl.when("by_question").then(pl.lit("question")).otherwise(pl.lit("conversation")),
                expected="expected",
                answer="answer",
                asked="asked",
                evidence=evidence,
            ),
        )
        return items.with_columns(pl.col("item").cast(CONFLICT))

    def _unmet(
        self,
        turn: pl.Series,
        owner: np.ndarray,
        texts: pl.Series,
        asks: np.ndarray,
        question: np.ndarray,
        found: _Decided,
    ) -> pl.DataFrame:
        """The answers to a user turn that requires a language (the pack's ``translation.required``:
        "Translate into French: ...", "영어 문장 3개로 요약", "英語で答えて") that came back in the user
        turn's own language, none of their lines or quotes in a language required, as conflicts
        (``against``: request). A user turn that only names a language ("How do you say 'cat' in
        Spanish?") requires nothing; the language a request requires is the last it names ("translate
        this English text into French": French)."""
        empty = pl.DataFrame(schema={"_r": pl.UInt32, "item": CONFLICT})
        if self._requires is None or self._named_pattern is None:
            return empty
        rows = np.flatnonzero(~asks & (question >= 0) & (found.language != UND))
        asked = texts.gather(question[rows])
        # the material to translate is in the turn: after a colon, on lines of its own or quoted ("My
        # friend needs a document translated from Japanese to Korean. Can you help?" gives none)
        material = asked.str.contains(r"[:：]\s*\S|\n\s*\S") | asked.str.contains(_QUOTED)
        rows = rows[(asked.str.contains(self._requires) & material).to_numpy()]
        if not rows.size:
            return empty
        at = question[rows]
        requests = (
            pl.DataFrame({"row": np.arange(rows.size), "match": texts.gather(at).str.extract_all(self._requires)})
            .explode("match")
            .with_columns(name=pl.col("match").str.to_lowercase().str.extract_all(self._named_pattern).list.last())
            .with_columns(code=pl.col("name").replace_strict(self._names, default=None))
            .drop_nulls("code")
        )
        wanted = np.zeros(rows.size, dtype=np.uint64)
        np.bitwise_or.at(
            wanted,
            requests["row"].to_numpy(),
            _BITS[np.searchsorted(self._codes, requests["code"].to_numpy())],
        )
        plausible = found.plausible[rows]
        unmet = (
            (wanted != 0) & ((plausible & (found.plausible[at] | found.lines[at])) != 0) & ((plausible & wanted) == 0)
        )
        rows, at, wanted = rows[unmet], at[unmet], wanted[unmet]
        if not rows.size:
            return empty
        # the user's text said again in its own language (most of the answer's words are the user
        # turn's), not a refusal, a question back or a copy unchanged (DQ208's)
        said = texts.gather(rows).str.to_lowercase().str.extract_all(_WORD).list.eval(pl.element().str.strip_chars())
        heard = texts.gather(at).str.to_lowercase().str.extract_all(_WORD).list.eval(pl.element().str.strip_chars())
        restated = (
            said.list.set_intersection(heard).list.len()
            >= _RESTATED * said.list.unique().list.len().clip(lower_bound=1)
        ).to_numpy() & ~self._edited(texts.gather(rows), texts.gather(at))
        rows, at, wanted = rows[restated], at[restated], wanted[restated]
        if not rows.size:
            return empty
        # a line or a quote of the answer in a language required meets the request (the source
        # quoted beside its translation), and so does a quote too short to tell that the user turn
        # does not hold: 'In Spanish "bon voyage" can be translated as "buen viaje".'
        lines = pl.DataFrame({"row": np.arange(rows.size), "piece": texts.gather(rows).str.split("\n")})
        quotes = pl.DataFrame(
            {
                "row": np.arange(rows.size),
                "piece": texts.gather(rows).str.extract_all(_QUOTED),
                "asked": texts.gather(at),
            }
        )
        pieces = pl.concat(
            [
                lines.explode("piece").with_columns(new=pl.lit(False)),
                quotes.explode("piece")
                .drop_nulls("piece")
                .with_columns(piece=pl.col("piece").str.strip_chars(" \t\n\"'“”‘’「」『』«»(:[]).,;!?"))
                .select("row", "piece", new=~pl.col("asked").str.contains(pl.col("piece"), literal=True)),
            ],
            how="vertical_relaxed",
        ).filter(pl.col("piece").str.strip_chars().str.len_chars() > 0)
        told = self._decide_prose(pieces["piece"], pl.Series(np.ones(pieces.height, dtype=bool)))
        fits = ((told.plausible & wanted[pieces["row"].to_numpy()]) != 0) | (
            pieces["new"].to_numpy() & (told.language == UND)
        )
        met = np.zeros(rows.size, dtype=bool)
        np.logical_or.at(met, pieces["row"].to_numpy(), fits)
        rows, at, wanted = rows[~met], at[~met], wanted[~met]
        if not rows.size:
            return empty
        frame = pl.DataFrame(
            {
                "_r": pl.Series(owner[rows], dtype=pl.UInt32),
                "turn": turn.gather(rows),
                "question_turn": turn.gather(at),
                "expected": self._names_of(wanted).list.join("/"),
                "answer": self._labels.gather(found.language[rows]),
                "a_how": self._how(found, rows),
            }
        )
        return frame.select(
            "_r",
            item=pl.struct(
                "turn",
                "question_turn",
                against=pl.lit("request"),
                expected="expected",
                answer="answer",
                asked=pl.lit(False),
                evidence=pl.format(
                    "answer {}; the user turn (turn {}) requires {}; no line or quote of the answer is in it",
                    "a_how",
                    "question_turn",
                    "expected",
                ),
            ).cast(CONFLICT),
        )

    def _slipped(
        self,
        turn: pl.Series,
        owner: np.ndarray,
        texts: pl.Series,
        asks: np.ndarray,
        question: np.ndarray,
        found: _Decided,
    ) -> pl.DataFrame:
        """Japanese answers to a Japanese user turn that slip into Chinese mid-way ("【Facebook広告】
        标题：保護の翼に飛ぶ！让孩子安全无虑的冒险时刻", ELYZA-tasks answered by Qwen1.5, unseen): a run of
        Han without kana, the pack's ``mixed.min-run`` characters long or more, holding two shapes
        only Chinese writes or more (这, 让; 這, 讓), code left out, where the user turn names no
        language. A conflict against the question, the answer's label staying Japanese."""
        empty = pl.DataFrame(schema={"_r": pl.UInt32, "item": CONFLICT})
        ja = self._column["ja"]
        rows = np.flatnonzero(~asks & (question >= 0) & (found.language == ja))
        rows = rows[found.language[question[rows]] == ja]
        if self._mentions is not None and rows.size:
            rows = rows[~texts.gather(question[rows]).str.contains(self._mentions).to_numpy()]
        if not rows.size:
            return empty
        run = rf"[\p{{Han}}，。、！？：；]{{{self.pack.mixed.min_run},}}"
        passages = (
            pl.DataFrame({"row": rows, "passage": without_code(texts.gather(rows)).str.extract_all(run)})
            .explode("passage")
            .drop_nulls("passage")
            .with_columns(shapes=pl.col("passage").str.count_matches(self._chinese_han))
            .filter(pl.col("shapes") >= _CHINESE_SHAPES)
            .unique("row", keep="first", maintain_order=True)
        )
        if not passages.height:
            return empty
        rows = passages["row"].to_numpy()
        return pl.DataFrame(
            {
                "_r": pl.Series(owner[rows], dtype=pl.UInt32),
                "turn": turn.gather(rows),
                "question_turn": turn.gather(question[rows]),
                "passage": passages["passage"].str.slice(0, 30),
                "shapes": passages["shapes"],
            }
        ).select(
            "_r",
            item=pl.struct(
                "turn",
                "question_turn",
                against=pl.lit("question"),
                expected=pl.lit("ja"),
                answer=pl.lit("ja with zh"),
                asked=pl.lit(False),
                evidence=pl.format(
                    'answer ja with a Chinese passage "{}" ({} shapes of Han only Chinese writes); question (turn {}) ja',
                    "passage",
                    "shapes",
                    "question_turn",
                ),
            ).cast(CONFLICT),
        )

    def _how(self, found: _Decided, rows: np.ndarray) -> pl.Series:
        """How each text's language was decided, for evidence: "zh (72% CJK letters)",
        "el (by its script)", "en (37.2 nats ahead of de over 120 n-grams)", "und (en 3.1 nats
        ahead of af over 40 n-grams; plausible en/af/nl)"."""
        lead = pl.format("{} nats ahead of {} over {} n-grams", pl.col("lead").round(1), "runner_up", "ngrams")
        return (
            pl.DataFrame(
                {
                    "code": self._labels.gather(found.language[rows]),
                    "best": self._labels.gather(found.best[rows]),
                    "plausible": self._names_of(found.plausible[rows]).list.join("/"),
                    "share": found.cjk[rows],
                    "lead": found.lead[rows],
                    "runner_up": self._labels.gather(found.runner_up[rows]),
                    "ngrams": found.ngrams[rows],
                }
            )
            .select(
                pl.when(pl.col("share") >= self.pack.detection.cjk_share)
                .then(pl.format("{} ({}% CJK letters)", "code", (pl.col("share") * 100).round(0).cast(pl.Int64)))
                .when(pl.col("lead").is_infinite())
                .then(pl.format("{} (by its script)", "code"))
                .when(pl.col("code") != pl.col("best"))
                .then(pl.format("{} ({} {}; plausible {})", "code", "best", lead, "plausible"))
                .otherwise(pl.format("{} ({})", "code", lead))
            )
            .to_series()
        )

    def _few(self, bits: np.ndarray) -> pl.Series:
        """For messages, the languages a text too short to single one out could be in: "af/en/nl",
        or "und" where more than three are."""
        names = self._names_of(bits)
        return pl.select(
            pl.when(names.list.len() <= 3).then(names.list.join("/")).otherwise(pl.lit(UNDETERMINED_LANGUAGE))
        ).to_series()

    def _names_of(self, bits: np.ndarray) -> pl.Series:
        """The codes of the languages in each set of plausible-language bits, as lists."""
        pairs = np.argwhere(_unbits(bits))
        return (
            pl.DataFrame({"row": pairs[:, 0], "code": self._labels.gather(pairs[:, 1])})
            .group_by("row", maintain_order=True)
            .agg("code")
            .join(pl.DataFrame({"row": np.arange(bits.size)}), on="row", how="right")
            .sort("row")["code"]
            .fill_null(pl.lit([], pl.List(pl.String)))
        )

    def _declared(self, declared: pl.Series) -> pl.Series:
        """The record's own ``language`` field as a reported code, or null."""
        named = declared.str.strip_chars().str.to_lowercase().replace(self._names)
        code = pl.select(
            pl.when(named.str.contains("^zh([-_]|$)")).then(pl.lit("zh")).otherwise(named.str.replace(r"[-_].*$", ""))
        ).to_series()
        return pl.select(pl.when(code.is_in(list(self._codes))).then(code)).to_series()

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        if table.height == 0:
            return {}
        turns = table.select("language_turns", "language_user").explode("language_turns", "language_user")
        turns = turns.drop_nulls("language_user")

        def counts(frame: pl.DataFrame) -> dict[str, int]:
            return {str(k): int(v) for k, v in frame["language_turns"].value_counts(sort=True).iter_rows()}

        return {
            "languages": {
                "question": counts(turns.filter(pl.col("language_user"))),
                "answer": counts(turns.filter(~pl.col("language_user"))),
                "mismatch": int(table["language_mismatch"].sum()),
            }
        }


@hookimpl
def dqe_register_features(register):
    register(Language)
