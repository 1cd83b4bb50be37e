"""The subject of every record: what its question is about (stem, humanities, social, everyday),
or ``none`` for a text task with no topic of its own.

Read from ``rules/subjects.toml``: the terms of each subject's lexicon in the request line of the
question count one each, in the input below it half each; an answer that names one of them
counts half; a record's task category leans to a subject (code is stem, a poem humanities, correcting
a sentence none); a text task on a passage takes the passage's topic instead. The subject with
the most evidence wins. One regex pass per subject and text over the whole batch, no Python
loop per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dqe import SPACELESS, Feature, regex_union
from dqe.errors import ConfigError
from dqe.hookspecs import hookimpl

PACK = "subjects"
NONE = "none"  # the subject of a text task on a sentence: no topic of its own
INPUT_HIT = 0.5  # a term in the input below the request line counts half
ANSWER_HIT = 0.5  # an answer that names any of a subject's terms counts half a term


@dataclass(frozen=True)
class Subjects:
    names: list[str]  # in tie-breaking order; NONE last
    terms: list[list[str]]  # per subject, one regex per script (spaced, spaceless languages); NONE has none
    leans: dict[str, dict[str, float]]  # category -> {subject: weight}
    fallback: str
    passage_chars: int


def _number(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)


def load_subjects(pack: dict[str, Any]) -> Subjects:
    """The subjects, their lexicons and the leans of the categories, validated."""
    where = f"rule pack '{PACK}'"
    table = pack.get("subjects")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{where}: needs a [subjects.NAME.terms] table for each subject")
    names, terms = [], []
    for name, spec in table.items():
        key = f"{where}: subjects.{name}"
        lexicon = spec.get("terms", {}) if isinstance(spec, dict) else None
        if not isinstance(lexicon, dict):
            raise ConfigError(f"{key}.terms: expected a table of term lists by language")
        scripts: dict[bool, list[str]] = {False: [], True: []}
        for lang, values in lexicon.items():
            if not (isinstance(values, list) and all(isinstance(v, str) and v for v in values)):
                raise ConfigError(f"{key}.terms.{lang}: expected a list of non-empty strings")
            regex_union(values, f"{key}.terms.{lang}")  # names the bad term, if any
            spaceless = lang in SPACELESS
            scripts[spaceless] += values if spaceless else [rf"\b(?:{v})\b" for v in values]
        names.append(name)
        # one regex per script: a union of English and Chinese terms is several times slower
        terms.append([u for u in (regex_union(v, f"{key}.terms") for v in scripts.values()) if u])
    if NONE not in names:
        names.append(NONE)
        terms.append([])
    leans: dict[str, dict[str, float]] = {}
    for category, lean in pack.get("categories", {}).items():
        key = f"{where}: categories.{category}"
        if not isinstance(lean, dict):
            raise ConfigError(f"{key}: expected a table of weights by subject, like {{stem = 3.0}}")
        for subject, weight in lean.items():
            if subject not in names:
                raise ConfigError(f"{key}.{subject}: no such subject; known: {', '.join(names)}")
            leans.setdefault(category, {})[subject] = _number(weight, f"{key}.{subject}")
    meta = pack.get("meta", {})
    fallback = meta.get("fallback", names[0])
    if fallback not in names:
        raise ConfigError(f"{where}: meta.fallback must name a subject, got {fallback!r}")
    passage = meta.get("passage-chars", 200)
    if not isinstance(passage, int) or isinstance(passage, bool) or passage < 0:
        raise ConfigError(f"{where}: meta.passage-chars must be a whole number, got {passage!r}")
    return Subjects(names, terms, leans, fallback, passage)


class Subject(Feature):
    """``subject``: what the question is about, from the subjects' lexicons and the lean of the
    record's task category (``rules/subjects.toml``)."""

    name = "subject"
    summary = "subject of the question (stem, humanities, social, everyday, none): lexicons and the task's lean"
    needs = ("category",)
    columns = ("subject",)
    keep = ("subject",)
    labels = {"subject": "subject"}

    def __init__(self, context):
        super().__init__(context)
        self.subjects = load_subjects(context.pack(PACK))

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        s = self.subjects
        if batch.height == 0:
            return pl.DataFrame({"subject": []}, schema={"subject": pl.String})
        question = pl.col("question").fill_null("").str.strip_chars().str.to_lowercase()
        end = question.str.find("\n", literal=True)
        texts = batch.select(
            _line=question.str.slice(0, end).str.slice(0, 600),
            _rest=question.str.slice(end + 1).fill_null("").str.slice(0, 400),
            _a=pl.col("answer").fill_null("").str.slice(0, 300).str.to_lowercase(),
            _category="category_pred",
        )
        counted = texts.select(
            [
                (
                    pl.sum_horizontal([pl.col("_line").str.count_matches(t) for t in terms]).cast(pl.Float64)
                    + INPUT_HIT
                    * pl.sum_horizontal([pl.col("_rest").str.count_matches(t) for t in terms]).cast(pl.Float64)
                    + ANSWER_HIT * pl.any_horizontal([pl.col("_a").str.contains(t) for t in terms]).cast(pl.Float64)
                ).alias(name)
                for name, terms in zip(s.names, s.terms, strict=True)
                if terms
            ]
        )
        scores = np.zeros((batch.height, len(s.names)))
        for j, name in enumerate(s.names):
            if name in counted.columns:
                scores[:, j] = counted[name].to_numpy()
        passage = (texts["_rest"].str.len_chars() >= s.passage_chars).to_numpy()
        categories = texts["_category"].to_numpy()
        for category, lean in s.leans.items():
            rows = categories == category
            for subject, weight in lean.items():
                # a text task on a passage takes the passage's topic: no lean to none
                scores[:, s.names.index(subject)] += weight * (rows & ~passage if subject == NONE else rows)
        best = scores.argmax(axis=1)
        names = np.array(s.names, dtype=object)
        labels = np.where(scores.max(axis=1) > 0, names[best], s.fallback)
        return pl.DataFrame({"subject": labels.tolist()}, schema={"subject": pl.String})

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        """The subjects of the records that passed the record rules, most first."""
        passing = table.filter(~pl.col("rejected")) if "rejected" in table.columns else table
        counts = passing.group_by("subject").len().sort(["len", "subject"], descending=[True, False])
        return {"subjects": {"counts": dict(counts.iter_rows())}}


@hookimpl
def dqe_register_features(register):
    register(Subject)
