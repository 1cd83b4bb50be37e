"""DQ209 misspelling: answers whose words are misspelled ("recieve", "definately")."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import GateMetric, RecordRule, RuleOptions, hookimpl, worst_exchange

_SHOWN = 5  # words quoted per message
_ALWAYS = 2  # this many misspelled words are judged however short the answer ("The capittal of Peru")


class MisspellingOptions(RuleOptions):
    max_share: float = Field(
        0.015, ge=0.0, le=1.0, description="largest share of an answer's looked-up words that may be misspelled"
    )
    min_misspelled: int = Field(1, ge=1, description="fewest misspelled words that can fail an answer")
    max_unknown: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="an answer with a larger share of unknown words is not in the language it was taken for "
        "(or is a list of names, a transliteration): not judged",
    )


class Misspelling(RecordRule):
    """Looks up the words of every assistant turn in a language pyspellchecker has a word list
    for (English, German, French, Spanish, Italian, Portuguese, Dutch, Russian and four more; the
    `spelling` feature), leaving out Markdown code, lines of code, quoted strings, URLs, numbers,
    identifiers and capitalised words (names, acronyms), and the terms the rest of the record
    says (the question's, the answer's own code's), and a reasoning trace before the reply: a trace
    is scratch a model wrote, whose unknown words are variables, units and the half-words of a cut
    generation, not typos (it trains the model too, but a model does not misspell). A word no list holds, in any listed form
    (British spelling, an ending off, a compound of listed words: the `spelling` pack), is
    misspelled. An answer fails when its misspelled words are more than max-share of the words
    looked up (and at least min-misspelled); the finding names them. An answer with more than
    max-unknown of its words unknown, and more than two, is not judged: it is in another
    language than detected, or a list of names. A warning, and off unless selected
    (`extend-select = ["DQ209"]`): on proofread data most of what it finds is a rare term, a
    foreign word or a code word the lists lack (37 of 47 findings on ../shared/data), which reads
    as a misspelling until the pack lists it; turn it on for data nobody proofread."""

    code = "DQ209"
    name = "misspelling"
    summary = "misspelled words in an answer (pyspellchecker's word lists)"
    why = (
        "A model learns spelling from its fine-tuning data as much as anything else: answers with "
        "typos teach it to make them, and they mark data nobody proofread (OCR, hasty human "
        "writing, machine translation)."
    )
    example = (
        '"We will recieve the package tommorow and definately open it." warns: '
        "'answer has 3 misspelled words of 8 (38%): recieve, tommorow, definately'."
    )
    severity = "warning"
    default_enabled = False
    Options = MisspellingOptions
    needs = ("spelling",)
    gate_metrics = (
        GateMetric(
            name="misspelled-share",
            key="spelling.share",
            description="share of the looked-up words of answers that are misspelled (DQ209)",
            direction="max",
            bounds=(0, 1),
        ),
    )

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        o = self.options
        turns = (
            batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32), t="spelling_turns")
            .explode("t")
            .drop_nulls("t")
            .unnest("t")
            .with_columns(n=pl.col("misspelled").list.len())
            .filter((pl.col("n") <= pl.col("words") * o.max_unknown) | (pl.col("n") <= _ALWAYS))
        )
        share = pl.col("n") / pl.col("words")
        failed = (share > o.max_share) & (pl.col("n") >= o.min_misspelled)
        words = pl.col("misspelled").list.unique(maintain_order=True)
        judged = turns.select(
            "_r",
            "turn",
            passed=~failed,
            score=(1.0 - share / max(o.max_share, 1e-9) / 2).clip(0.0, 1.0),
            message=pl.when(failed).then(
                pl.format(
                    "{} has {} misspelled word{} of {} ({}%): {}",
                    pl.when("final").then(pl.lit("answer")).otherwise(pl.format("assistant turn {}", "turn")),
                    "n",
                    pl.when(pl.col("n") == 1).then(pl.lit("")).otherwise(pl.lit("s")),
                    "words",
                    (share * 100).round(0).cast(pl.Int64),
                    words.list.head(_SHOWN).list.join(", "),
                )
            ),
            evidence=pl.when(failed).then(
                pl.format(
                    "language {}; {} of {} words looked up are in no list (limit {}%): {}",
                    "language",
                    "n",
                    "words",
                    pl.lit(f"{o.max_share * 100:g}"),
                    words.list.join(", "),
                )
            ),
        )
        return worst_exchange(batch, judged)


@hookimpl
def dqe_register_rules(register):
    register(Misspelling)
