"""The language of each record's question and answer, detected once per text.

Detection is ``dqe.langid`` (langdetect's profiles, vectorized); on top of it this feature
decides what a data set's reader wants to know:

- Code blocks and inline code are left out: code is no language. An answer that is only code
  is ``und``.
- Chinese is ``zh``: langdetect's ``zh-cn`` and ``zh-tw`` merge, and text written in Han
  characters alone is Chinese (langdetect calls short Chinese Korean or Japanese at times;
  Korean needs hangul and Japanese kana here).
- A text is ``und`` (undetermined) when its best language leads the runner-up by less than
  ``detection.min_lead`` nats (the ``language`` pack): "OK", "Paris", "You too!". The exact
  scores decide the rest: langdetect's own answer for a close call (``dqe.langreplay``) is
  a seeded coin toss, and such texts are undetermined here anyway.
- The question's language falls back on the record's own ``language`` field (a code or a name
  such as "Chinese") when the question's text is undetermined; the text otherwise decides, as a
  field is often a data-set default copied to every record.

Columns: ``language_question`` and ``language_answer`` (codes); the bits of the languages
plausible for each (``language_bits``: those within ``mismatch.min_contrast`` nats per n-gram
of the best, which DQ301 checks against the allowed ones); ``language_mismatch`` (both
determined, different, and no language plausible for both); ``language_translation`` (the
question asks for a translation or names another language, patterns in the pack; looked for
only where the answer's language differs from the question's). The report's ``languages``
section counts them: questions and answers per language, and mismatches where no
translation was asked.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dqe.config import ConfigError
from dqe.feature import Feature
from dqe.hookspecs import hookimpl
from dqe.langid import UNDETERMINED, Detection, LanguageIdentifier, load_profiles, profiles_dir

PACK = "language"
_FENCED = r"(?s)```.*?```"
_OPEN_FENCE = r"(?s)```.*$"
_INLINE_CODE = r"`[^`\n]+`"
_MERGED = {"zh-cn": "zh", "zh-tw": "zh"}
_NEEDS_SCRIPT = {"ko": "hangul", "ja": "kana"}  # written without these, a text is not this language
# Japanese prose is a third kana or more; Chinese that quotes a Japanese name has little.
_KANA_SHARE = 0.25


@lru_cache(maxsize=1)
def known_languages() -> tuple[str, ...]:
    """The codes this feature can report: langdetect's languages, Chinese as ``zh``."""
    profiled = (name for name in os.listdir(profiles_dir()) if not name.startswith("."))
    return tuple(sorted({_MERGED.get(name, name) for name in profiled}))


_BITS = np.left_shift(np.uint64(1), np.arange(len(known_languages()), dtype=np.uint64))


def language_bits(codes: np.ndarray | list[str]) -> np.ndarray:
    """One bit per reported language (``known_languages`` order), for sets of plausible ones."""
    index = np.searchsorted(np.array(known_languages(), dtype=object), np.asarray(codes, dtype=object))
    return _BITS[np.minimum(index, _BITS.size - 1)]


def normalize_code(code: str) -> str:
    """A language code as this feature reports it: ``zh-CN``, ``zh_tw``, ``ZH`` -> ``zh``."""
    code = code.strip().lower().replace("_", "-")
    return "zh" if code.split("-")[0] == "zh" else _MERGED.get(code, code)


class _DetectionPack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_lead: float = Field(8.0, ge=0)
    min_letters: int = Field(10, ge=0)
    cjk_share: float = Field(0.3, ge=0, le=1)
    cjk_weight: float = Field(3.0, gt=0)


class _MismatchPack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_contrast: float = Field(0.3, ge=0)


class _TranslationPack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patterns: list[str] = Field(default_factory=list)


class LanguagePack(BaseModel):
    """The ``language`` rule pack (``rules/language.toml``)."""

    model_config = ConfigDict(extra="forbid")
    meta: dict[str, Any] = Field(default_factory=dict)
    detection: _DetectionPack = Field(default_factory=_DetectionPack)
    mismatch: _MismatchPack = Field(default_factory=_MismatchPack)
    translation: _TranslationPack = Field(default_factory=_TranslationPack)
    names: dict[str, str] = Field(default_factory=dict)


def load_pack(data: dict[str, Any]) -> LanguagePack:
    """The pack, validated; a bad value or pattern is a ``ConfigError`` naming it."""
    try:
        pack = LanguagePack.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"rule pack '{PACK}': {problems}") from None
    for pattern in pack.translation.patterns:
        try:
            pl.Series([""]).str.contains(pattern)
        except pl.exceptions.PolarsError as exc:
            raise ConfigError(
                f"rule pack '{PACK}': translation pattern {pattern!r} is not a valid regular expression ({exc})"
            ) from None
    unknown = sorted({code for code in pack.names.values() if normalize_code(code) not in known_languages()})
    if unknown:
        raise ConfigError(f"rule pack '{PACK}': names map to unknown language codes: {', '.join(unknown)}")
    return pack


def without_code(texts: pl.Series) -> pl.Series:
    """Texts with fenced code blocks and inline code replaced by a space."""
    quoting = texts.str.contains("`", literal=True).arg_true()
    if quoting.len() == 0:
        return texts
    code = texts.gather(quoting)
    prose = code.str.replace_all(_FENCED, " ").str.replace_all(_OPEN_FENCE, " ")
    return texts.scatter(quoting, prose.str.replace_all(_INLINE_CODE, " "))


def _bits(columns: np.ndarray) -> np.ndarray:
    """Per row of a (rows, reported languages) bool array, its True columns as bits."""
    packed = np.packbits(columns, axis=1, bitorder="little")
    padded = np.zeros((columns.shape[0], 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view("<u8").ravel().astype(np.uint64)


class Language(Feature):
    name = "language"
    summary = "language of the question and of the answer (langdetect's profiles, vectorized)"
    columns = (
        "language_question",
        "language_answer",
        "language_question_plausible",
        "language_answer_plausible",
        "language_mismatch",
        "language_translation",
    )
    keep = ("language_question", "language_answer", "language_mismatch", "language_translation")
    labels = {"languages.question": "language_question", "languages.answer": "language_answer"}

    def __init__(self, context):
        super().__init__(context)
        self.pack = load_pack(context.pack(PACK))
        self.identifier = LanguageIdentifier(load_profiles())
        self._codes = np.array(known_languages(), dtype=object)
        profiled = self.identifier.profiles.languages
        reported = [_MERGED.get(code, code) for code in profiled]
        # Each reported language's column of langdetect's scores; Chinese takes the max of two.
        self._source = np.array([reported.index(code) for code in self._codes])
        self._merged = [i for i, code in enumerate(profiled) if code in _MERGED]
        self._column = {code: i for i, code in enumerate(self._codes)}
        self._names = {name.lower(): normalize_code(code) for name, code in self.pack.names.items()}
        patterns = self.pack.translation.patterns
        self._translation = "(?i)" + "|".join(f"(?:{p})" for p in patterns) if patterns else None

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        n = batch.height
        texts = without_code(pl.concat([batch["question"], batch["answer"]]).fill_null(""))
        # No seeded replay: it decides only texts led by under 1 nat, which min_lead leaves und.
        found = self.identifier.identify(texts, replay=False)
        language, plausible = self._decide(found)
        question = language[:n]
        undetermined = question == UNDETERMINED
        declared = self._declared(batch["language"]).to_numpy()
        fallback = undetermined & (declared != None)  # noqa: E711 - elementwise on an object array
        question[fallback] = declared[fallback]
        plausible[:n][fallback] = language_bits(declared[fallback])
        answer = language[n:]
        # Different languages, and no language that explains both texts well.
        mismatch = (question != UNDETERMINED) & (answer != UNDETERMINED) & (plausible[:n] & plausible[n:] == 0)
        # Whether the question asks for another language matters only where the answer is in
        # one: the patterns run on those questions alone.
        translation = np.zeros(n, dtype=bool)
        differ = np.flatnonzero((answer != UNDETERMINED) & (answer != question))
        if self._translation and differ.size:
            asking = batch["question"].gather(differ).fill_null("").str.contains(self._translation)
            translation[differ] = asking.to_numpy()
        return pl.DataFrame(
            {
                "language_question": pl.Series(question, dtype=pl.String),
                "language_answer": pl.Series(answer, dtype=pl.String),
                "language_question_plausible": pl.Series(plausible[:n], dtype=pl.UInt64),
                "language_answer_plausible": pl.Series(plausible[n:], dtype=pl.UInt64),
                "language_mismatch": pl.Series(mismatch, dtype=pl.Boolean),
                "language_translation": pl.Series(translation, dtype=pl.Boolean),
            }
        )

    def _decide(self, found: Detection) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the reported language (or ``und``) and the bits of its plausible ones."""
        scores = self._scores(found)
        best = scores.argmax(axis=1)
        top2 = np.partition(scores, -2, axis=1)[:, -2:]
        with np.errstate(invalid="ignore"):  # -inf - -inf: only one language possible
            lead = np.where(np.isneginf(top2[:, 0]), np.inf, top2[:, 1] - top2[:, 0])
            behind = (top2[:, 1:] - scores) / np.maximum(found.ngrams, 1)[:, None]
        weight = self.pack.detection.cjk_weight
        cjk = {code: found.count(script) * weight for code, script in (("zh", "han"), ("ja", "kana"), ("ko", "hangul"))}
        cjk_total = sum(cjk.values())
        letters = found.letters[:, 1:].sum(axis=1) + cjk_total * (1 - 1 / weight)
        detection = self.pack.detection
        determined = np.isposinf(lead) | ((lead >= detection.min_lead) & (letters >= detection.min_letters))
        close = (behind < self.pack.mismatch.min_contrast) & determined[:, None]
        plausible = _bits(close)
        language = np.where(determined, self._codes[best], UNDETERMINED)

        # Mixed with enough Chinese, Japanese or Korean: that language.
        with np.errstate(invalid="ignore", divide="ignore"):
            mostly = cjk_total / letters >= detection.cjk_share
        if mostly.any():
            codes = np.array(list(cjk), dtype=object)
            chosen = codes[np.argmax(np.stack(list(cjk.values()), axis=1), axis=1)]
            kana_share = cjk["ja"] / np.maximum(cjk["ja"] + cjk["zh"], 1)
            chosen = np.where(kana_share >= _KANA_SHARE, "ja", chosen)  # Japanese writes Han too
            language[mostly] = chosen[mostly]
            plausible[mostly] = language_bits(chosen[mostly])
        return language, plausible

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

        def counts(column: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in table[column].value_counts(sort=True).iter_rows()}

        mismatch = int((table["language_mismatch"] & ~table["language_translation"]).sum())
        return {
            "languages": {
                "question": counts("language_question"),
                "answer": counts("language_answer"),
                "mismatch": mismatch,
            }
        }


@hookimpl
def dqe_register_features(register):
    register(Language)
