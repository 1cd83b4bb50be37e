"""DQ301 language-allowed: questions and answers are in the languages the data set is meant for."""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field, field_validator

from dqe.features.language import known_languages, language_bits, normalize_code
from dqe.hookspecs import hookimpl
from dqe.langid import UNDETERMINED
from dqe.rule import RecordRule, RuleOptions


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
    """Fails a record whose question or answer (option ``fields``) is in a language outside
    ``allowed-languages``. The language is the ``language`` feature's: langdetect's profiles,
    Chinese reported as ``zh``, code left out, ``und`` for texts too short to tell (which pass
    unless ``allow-undetermined`` is false). A text passes when an allowed language explains
    it nearly as well as the detected one (the pack's ``mismatch.min_contrast``): English
    arithmetic that langdetect calls Dutch is English enough. With no languages listed, the
    rule passes every record: list the languages you train for to switch it on. The answer to
    a question that asks for a translation ("Translate ... into French") may be in any
    language unless ``allow-translation`` is false."""

    code = "DQ301"
    name = "language-allowed"
    summary = "question or answer in a language outside allowed-languages (off until you list some)"
    why = (
        "A fine-tuning set for an English or a Chinese assistant that carries records in other "
        "languages (scraped pages, machine-translated rows, a stray Korean batch) teaches the "
        "model to switch languages unprompted, and dilutes the data the budget was meant for."
    )
    example = (
        'With allowed-languages = ["en", "zh"], {"instruction": "Quelle est la capitale de la '
        'France ?", "output": "Paris est la capitale de la France."} fails: '
        "'question fr, answer fr; allowed: en, zh'."
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
        bits = int(np.bitwise_or.reduce(language_bits(allowed)))
        parts = []
        for field in self.options.fields:
            language = pl.col(f"language_{field}")
            outside = (pl.col(f"language_{field}_plausible") & pl.lit(bits, dtype=pl.UInt64)) == 0
            if self.options.allow_undetermined:
                outside = outside & (language != UNDETERMINED)
            if field == "answer" and self.options.allow_translation:
                outside = outside & ~pl.col("language_translation")
            parts.append(pl.when(outside).then(pl.format(f"{field} {{}}", language)))
        reasons = pl.concat_list(parts).list.drop_nulls()
        return batch.select(reasons=reasons).select(
            passed=pl.col("reasons").list.len() == 0,
            score=(pl.col("reasons").list.len() == 0).cast(pl.Float64),
            message=pl.when(pl.col("reasons").list.len() > 0).then(
                pl.concat_str(pl.col("reasons").list.join(", "), pl.lit(f"; allowed: {', '.join(allowed)}"))
            ),
        )


@hookimpl
def dqe_register_rules(register):
    register(LanguageAllowed)
