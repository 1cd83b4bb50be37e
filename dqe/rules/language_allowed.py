"""DQ301 language-allowed: questions and answers are in the languages the data set is meant for."""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from dqe import (
    UNDETERMINED_LANGUAGE,
    RecordRule,
    RuleOptions,
    hookimpl,
    known_languages,
    language_bits,
    normalize_code,
    plausible_names,
    worst_exchange,
)


class LanguageAllowedOptions(RuleOptions):
    allowed_languages: list[str] = Field(
        default_factory=list,
        description="language codes the data may be in (en, zh, ja, fr, ...; zh-cn and zh-tw "
        "mean zh); empty: any language",
    )
    fields: list[Literal["question", "answer"]] = Field(
        default_factory=lambda: ["question", "answer"],
        min_length=1,
        description="which texts to check",
    )
    allow_undetermined: bool = Field(
        True, description="pass texts too short or too mixed to tell their language ('und')"
    )
    allow_translation: bool = Field(
        True,
        description="let the answer to a question that asks for a translation or names another "
        "language (patterns in the 'language' pack) be in any language",
    )

    @field_validator("allowed_languages")
    @classmethod
    def _known(cls, codes: list[str]) -> list[str]:
        normalized = [normalize_code(c) for c in codes]
        unknown = [c for c, n in zip(codes, normalized, strict=True) if n not in known_languages()]
        if unknown:
            raise ValueError(f"unknown language code(s) {', '.join(unknown)}; known: {', '.join(known_languages())}")
        return list(dict.fromkeys(normalized))


class LanguageAllowed(RecordRule):
    """Fails a record with a user turn (question) or assistant turn (answer; option ``fields``)
    in a language outside ``allowed-languages``, judged turn by turn over the whole
    conversation (the system prompt, tools and tool results are context). The language is the
    ``language`` feature's: langdetect's profiles, Chinese reported as ``zh``, code, tool calls
    and names left out, ``und`` for texts too short to tell (which pass unless
    ``allow-undetermined`` is false). A text passes when an allowed language explains it nearly
    as well as the detected one (the pack's ``mismatch.min_contrast``): English arithmetic that
    langdetect calls Dutch is English enough. With no languages listed, the rule passes every
    record: list the languages you train for to switch it on. An answer may be in any language
    where the user asked for a translation or another language (in its turn, an earlier one or
    the system prompt) unless ``allow-translation`` is false. The finding names the first turn
    outside, and gives the languages plausible for it."""

    code = "DQ301"
    name = "language-allowed"
    summary = "a user or assistant turn in a language outside allowed-languages (off until you list some)"
    why = (
        "A fine-tuning set for an English or a Chinese assistant that carries records in other "
        "languages (scraped pages, machine-translated rows, a stray Korean batch) teaches the "
        "model to switch languages unprompted, and dilutes the data the budget was meant for."
    )
    example = (
        'With allowed-languages = ["en", "zh"], {"instruction": "Quelle est la capitale de la '
        'France ?", "output": "Paris est la capitale de la France."} fails: '
        "'question fr; allowed: en, zh (also turns 2)'."
    )
    Options = LanguageAllowedOptions
    needs = ("language",)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        allowed = self.options.allowed_languages
        if not allowed:
            n = batch.height
            return pl.DataFrame(
                {
                    "passed": pl.repeat(True, n, eager=True),
                    "score": pl.repeat(1.0, n, eager=True),
                    "message": pl.repeat(None, n, dtype=pl.String, eager=True),
                }
            )
        bits = pl.lit(int(np.bitwise_or.reduce(language_bits(allowed))), dtype=pl.UInt64)
        lists = ("language_turns", "language_user", "language_plausible", "language_asked")
        turns = (
            batch.select(*lists, _r=pl.int_range(pl.len(), dtype=pl.UInt32))
            .explode(*lists)
            .with_columns(turn=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("_r"))
            .drop_nulls("language_user")
        )
        checked = [pl.col("language_user") == (field == "question") for field in self.options.fields]
        outside = pl.any_horizontal(checked) & ((pl.col("language_plausible") & bits) == 0)
        if self.options.allow_undetermined:
            outside = outside & (pl.col("language_turns") != UNDETERMINED_LANGUAGE)
        if self.options.allow_translation:
            outside = outside & ~pl.col("language_asked")
        plausible = plausible_names("language_plausible")
        field = pl.when(pl.col("language_user")).then(pl.lit("question")).otherwise(pl.lit("answer"))
        judged = turns.filter(outside).select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format(f"{{}} {{}}; allowed: {', '.join(allowed)}", field, "language_turns"),
            evidence=pl.when(plausible.list.len() > 0)
            .then(pl.format("{} {}: plausible {}; none allowed", field, "language_turns", plausible.list.join(", ")))
            .otherwise(pl.format("{} {}: its language cannot be told", field, "language_turns")),
        )
        return worst_exchange(batch, judged)


@hookimpl
def dqe_register_rules(register):
    register(LanguageAllowed)
