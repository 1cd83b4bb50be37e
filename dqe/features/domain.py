"""The domain of every record: its own ``domain`` field, else a classifier's label, else general.

The built-in classifier, ``lexicon``, reads the packs in ``rules/domains/``: each vertical
domain (medical, legal, finance, ...) has a lexicon in several languages, and a record goes to
the domain of which it uses the most distinct terms (at least the pack's ``min-hits``: one
word repeated is not a domain). One regex pass per domain over the whole batch, no Python loop
per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dqe.classifier import Classifier, alias_table, labelled, normalize_labels, regex_union
from dqe.config import ConfigError
from dqe.feature import Feature
from dqe.hookspecs import hookimpl

PREFIX = "domains/"
GENERAL = "general"  # the label of a record no vertical lexicon matches
SPACELESS = ("zh", "ja")  # lexicon languages matched anywhere, not as whole words
HEAD_CHARS = 2000  # of the question and of the answer: enough to tell, cheap to scan


@dataclass(frozen=True)
class Lexicon:
    name: str
    vertical: bool
    min_hits: int
    pattern: str | None  # one regex over every term, None for a domain without terms
    aliases: tuple[str, ...]


def _lexicon(name: str, pack: dict[str, Any]) -> Lexicon:
    where = f"rule pack '{PREFIX}{name}'"
    spec = pack.get("domain", {})
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: [domain] must be a table")
    vertical = spec.get("vertical", True)
    min_hits = spec.get("min-hits", 2)
    if not isinstance(vertical, bool):
        raise ConfigError(f"{where}: domain.vertical must be true or false, got {vertical!r}")
    if not isinstance(min_hits, int) or isinstance(min_hits, bool) or min_hits < 1:
        raise ConfigError(f"{where}: domain.min-hits must be a whole number of at least 1, got {min_hits!r}")
    terms = pack.get("terms", {})
    if not isinstance(terms, dict):
        raise ConfigError(f"{where}: [terms] must be a table of term lists by language")
    patterns = []
    for lang, values in terms.items():
        if not (isinstance(values, list) and all(isinstance(v, str) and v for v in values)):
            raise ConfigError(f"{where}: terms.{lang}: expected a list of non-empty strings")
        regex_union(values, f"{where}: terms.{lang}")  # names the bad term, if any
        patterns += values if lang in SPACELESS else [rf"\b(?:{v})\b" for v in values]
    aliases = [a for a in (spec.get("label"), spec.get("zh"), *spec.get("aliases", [])) if isinstance(a, str) and a]
    return Lexicon(name, vertical, min_hits, regex_union(patterns, f"{where}: terms"), tuple(aliases))


def load_lexicons(context: Any) -> list[Lexicon]:
    """Every domain pack, in name order (the order that breaks ties)."""
    names = context.packs.names(PREFIX)
    lexicons = [_lexicon(n[len(PREFIX) :], context.pack(n)) for n in names]
    if not any(lex.name == GENERAL for lex in lexicons):
        lexicons.append(Lexicon(GENERAL, False, 1, None, ()))
    return lexicons


class LexiconClassifier(Classifier):
    """The vertical domain with the most distinct lexicon terms in question and answer
    (``rules/domains/``)."""

    name = "lexicon"
    target = "domain"
    summary = "distinct lexicon terms per vertical domain (rules/domains/*.toml), the most wins"

    def __init__(self, context):
        super().__init__(context)
        self.lexicons = [lex for lex in load_lexicons(context) if lex.pattern and lex.vertical]

    def labels(self) -> list[str]:
        return [GENERAL, *(lex.name for lex in self.lexicons)]

    def classify(self, batch: pl.DataFrame) -> pl.Series:
        if not self.lexicons or batch.height == 0:
            return pl.Series("domain", [GENERAL] * batch.height, dtype=pl.String)
        text = pl.concat_str(
            [
                pl.col("question").fill_null("").str.slice(0, HEAD_CHARS),
                pl.col("answer").fill_null("").str.slice(0, HEAD_CHARS),
            ],
            separator="\n",
        ).str.to_lowercase()
        hits = (
            batch.lazy()
            .select(
                [
                    pl.when(c >= lex.min_hits).then(c).otherwise(0).alias(lex.name)
                    for lex in self.lexicons
                    for c in [text.str.extract_all(lex.pattern).list.n_unique().cast(pl.UInt32)]  # type: ignore[arg-type]
                ]
            )
            .collect()
            .to_numpy()
        )
        best = hits.argmax(axis=1)
        names = np.array([lex.name for lex in self.lexicons], dtype=object)
        labels = np.where(hits.max(axis=1) > 0, names[best], GENERAL)
        return pl.Series("domain", labels, dtype=pl.String)


class Domain(Feature):
    """``domain_pred``: the record's own ``domain`` (aliases read as the packs' names), else
    the configured domain classifier's label, else ``general``."""

    name = "domain"
    summary = "domain: the record's domain field, else the configured classifier (general when none)"
    columns = ("domain_pred",)
    keep = ("domain_pred",)
    labels = {"domain": "domain_pred"}

    def __init__(self, context):
        super().__init__(context)
        self.classifier = context.classifier("domain")
        self.aliases = alias_table((lex.name, lex.aliases) for lex in load_lexicons(context))

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        given = normalize_labels(batch["domain"], self.aliases)
        return pl.DataFrame([labelled(batch, given, self.classifier, GENERAL, "domain_pred")])


@hookimpl
def dqe_register_classifiers(register):
    register(LexiconClassifier)


@hookimpl
def dqe_register_features(register):
    register(Domain)
