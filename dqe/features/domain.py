"""The domain of every record: its own ``domain`` field, else a classifier's label, else general.

The built-in classifier, ``lexicon``, reads the packs in ``rules/domains/``: each vertical domain
(medical, legal, finance, ...) has a lexicon in several languages. A domain is what the question
asks about, so the request line (the question's first line) carries the evidence: each distinct
term of a domain in it is a hit, a ``strong`` term (one that alone places a question in the domain:
"ibuprofen", "lawsuit", "mortgage", "my knee hurts") two. Terms in the input below the request line
(a passage to work on) count half, and so do those past the first 300 characters of a long first
line (a review or an article with its request after it, as templates write them). The system prompt
is part of what is asked (a bank's assistant is asked about finance): its terms count in full. So
do the earlier user turns of a conversation when the last question is a short follow-up ("Thanks,
that helps" after a question about a rash is medical); a question of its own after them ("what is
overfitting?" after a talk about stock prices) keeps half their weight. The answer only supports a
domain the question already touches: half a hit a term, one hit at most. A record goes to the
domain with the most hits, if that reaches the pack's ``min-hits``; a record whose task category is
one the general pack names (a word problem, a program, a story) is general whatever its words.
Three regex passes per domain over the whole batch, no Python loop per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dqe import (
    SPACELESS,
    Classifier,
    Feature,
    alias_table,
    classifier_for,
    labelled,
    normalize_labels,
    regex_union,
)
from dqe.errors import ConfigError
from dqe.hookspecs import hookimpl

PREFIX = "domains/"
GENERAL_DOMAIN = "general"  # the label of a record no vertical lexicon matches
HEAD_CHARS = 1000  # of the question and of the answer: enough to tell, cheap to scan
LINE_CHARS = 300  # of a first line: a longer one is a text to work on (a review, an article), read as a passage
CONTEXT_HIT = 1.0  # a term in the system prompt, or an earlier user turn before a follow-up: part of what is asked
EARLIER_HIT = 0.5  # a term in an earlier user turn before a question of its own
FOLLOW_UP_BYTES = 60  # a last question this short leans on the turns before it ("What about Microsoft?", 谢谢你的信息)
INPUT_HIT = 0.5  # a term in a passage below the request line (a text to work on) is half a hit
INPUT_MOST = 1.5  # and a passage alone cannot place a record: it supports what the request line names
TOPIC_BYTES = 60  # an input this short names the topic the request line asks about ("Product: Headphones"): in full
STRONG_FIRST = 0.01  # between domains of equal hits, the one the question names more strong terms of wins
ANSWER_HIT = 0.5  # and so is a term in the answer, for a domain the question touches
ANSWER_MOST = 1.0  # and all of them together at most
SURE_CATEGORY = 0.5  # a category guessed less surely than not does not make a record general
# In a batch this small, the lexicons' regexes are run in this thread, one expression after
# another: polars compiles a regex again in each of its threads that runs it (2-3 ms for a
# lexicon's), and a few records give its threads nothing to share out.
SMALL_BATCH = 2_000


@dataclass(frozen=True)
class Lexicon:
    name: str
    vertical: bool
    min_hits: int
    terms: tuple[str, ...]  # one regex per language over every term, strong ones first
    strong: tuple[str, ...]  # one regex per language over the terms that count twice
    aliases: tuple[str, ...]


def _terms(table: Any, where: str) -> dict[str, list[str]]:
    """A table of term lists by language, validated, each term as a regex: whole words where
    words have spaces."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of term lists by language")
    terms = {}
    for lang, values in table.items():
        if not (isinstance(values, list) and all(isinstance(v, str) and v for v in values)):
            raise ConfigError(f"{where}.{lang}: expected a list of non-empty strings")
        regex_union(values, f"{where}.{lang}")  # names the bad term, if any
        terms[lang] = values if lang in SPACELESS else [rf"\b(?:{v})\b" for v in values]
    return terms


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
    aliases = [a for a in (spec.get("label"), spec.get("zh"), *spec.get("aliases", [])) if isinstance(a, str) and a]
    terms = _terms(pack.get("terms", {}), f"{where}: terms")
    strong = _terms(pack.get("strong", {}), f"{where}: strong")
    unions = [regex_union(strong.get(lang, []) + terms.get(lang, []), where) for lang in {**strong, **terms}]
    strong_unions = [regex_union(v, where) for v in strong.values() if v]
    return Lexicon(
        name, vertical, min_hits, tuple(u for u in unions if u), tuple(u for u in strong_unions if u), tuple(aliases)
    )


def general_categories(context: Any, key: str = "categories") -> set[str]:
    """The task categories whose records are general whatever their topic (the general pack's
    ``domain.categories``: a story about a doctor trains storytelling), or, with ``key``
    ``named-categories``, general unless their request line names a strong term (a word problem
    about money trains arithmetic; one about compound interest, finance)."""
    name = f"{PREFIX}{GENERAL_DOMAIN}"
    spec = context.pack(name).get("domain", {}) if name in context.packs.names(PREFIX) else {}
    names = spec.get(key, []) if isinstance(spec, dict) else []
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ConfigError(f"rule pack '{name}': domain.{key} must be a list of category names")
    return set(names)


def load_lexicons(context: Any) -> list[Lexicon]:
    """Every domain pack, in name order (the order that breaks ties)."""
    names = context.packs.names(PREFIX)
    lexicons = [_lexicon(n[len(PREFIX) :], context.pack(n)) for n in names]
    if not any(lex.name == GENERAL_DOMAIN for lex in lexicons):
        lexicons.append(Lexicon(GENERAL_DOMAIN, False, 1, (), (), ()))
    return lexicons


_READ = ("_line", "_ctx", "_rest", "_sys", "_a")  # the texts a record's hits are counted in


def _counts(texts: pl.DataFrame, lexicons: list[Lexicon]) -> pl.DataFrame:
    """``texts`` with the distinct terms of every lexicon in every text (``_line:medical:terms``),
    each counted once: ``_hits`` reads a count several times, and an expression repeated in
    one select is evaluated again each time. A text empty in every record counts none, and the
    answer is read only where the question names a term of the lexicon (it supports a domain
    the question touches, nothing more: ``_hits``)."""
    counts = []
    for text in _READ[:-1]:
        empty = texts[text].null_count() == 0 and texts[text].str.len_bytes().max() == 0
        for lexicon in lexicons:
            for kind, patterns in (("terms", lexicon.terms), ("strong", lexicon.strong)):
                if patterns:
                    counts.append(_distinct_terms(text, patterns, empty).alias(f"{text}:{lexicon.name}:{kind}"))
    texts = texts.with_columns_seq(counts) if texts.height < SMALL_BATCH else texts.with_columns(counts)
    answers = []
    for lexicon in lexicons:
        # the terms patterns hold the strong terms too: a question with none names no term
        asked = pl.any_horizontal(pl.col(f"{text}:{lexicon.name}:terms") > 0 for text in _READ[:-1])
        touched = texts.select(asked).to_series()
        read = texts.filter(touched)
        for kind, patterns in (("terms", lexicon.terms), ("strong", lexicon.strong)):
            if patterns:
                found = read.select(_distinct_terms("_a", patterns, read.height == 0)).to_series()
                zero = pl.zeros(texts.height, dtype=pl.Float64, eager=True)
                answers.append(zero.scatter(touched.arg_true(), found).alias(f"_a:{lexicon.name}:{kind}"))
    return texts.with_columns(answers)


def _distinct_terms(text: str, patterns: tuple[str, ...], empty: bool) -> pl.Expr:
    """How many distinct terms of ``patterns`` ``text`` holds (0 for a text known to be empty)."""
    if empty:
        return pl.lit(0.0)
    found = [pl.col(text).str.extract_all(p) for p in patterns]
    return pl.concat_list(found).list.unique().list.len().cast(pl.Float64)


def _distinct(text: str, lexicon: Lexicon, kind: str) -> pl.Expr:
    """The distinct ``terms`` or ``strong`` terms of ``lexicon`` in ``text`` (see ``_counts``)."""
    return pl.col(f"{text}:{lexicon.name}:{kind}")


def _found(text: str, lexicon: Lexicon) -> pl.Expr:
    """Hits of a lexicon in one text: each distinct term once, a strong term twice."""
    hits = _distinct(text, lexicon, "terms")
    return hits + _distinct(text, lexicon, "strong") if lexicon.strong else hits


def _hits(lexicon: Lexicon) -> pl.Expr:
    """The evidence of one domain: the hits of its request line, of the system prompt and of the
    turns before it (half before a question of its own), those of a short input (a topic) or
    half those of a passage (1.5 at most), and, where the question has any, half those of the
    answer (one at most). A record of a category the general pack names only where its request
    line names a strong term is general without one. Ties go to the domain with more strong terms
    in the request line and the turns before it."""
    strong = _distinct("_line", lexicon, "strong") if lexicon.strong else pl.lit(0.0)
    named = strong + _distinct("_ctx", lexicon, "strong") if lexicon.strong else pl.lit(0.0)
    earlier = pl.when(pl.col("_follow_up")).then(CONTEXT_HIT).otherwise(EARLIER_HIT) * _found("_ctx", lexicon)
    rest = _found("_rest", lexicon)
    # an input below a request line of its own, this short, names a topic; the rest of a long first line never
    topic = (pl.col("_rest").str.len_bytes() <= TOPIC_BYTES) & ~pl.col("_spilled")
    question = (
        _found("_line", lexicon)
        + pl.when(topic).then(rest).otherwise((INPUT_HIT * rest).clip(0.0, INPUT_MOST))
        + CONTEXT_HIT * _found("_sys", lexicon)
        + earlier
    )
    answer = (ANSWER_HIT * _found("_a", lexicon)).clip(0.0, ANSWER_MOST)
    hits = question + pl.when(question > 0).then(answer).otherwise(0.0)
    enough = (hits >= lexicon.min_hits) & (~pl.col("_named_only") | (strong > 0))
    return pl.when(enough).then(hits + STRONG_FIRST * named).otherwise(0.0).alias(lexicon.name)


def _head(text: pl.Expr) -> pl.Expr:
    return text.str.slice(0, HEAD_CHARS).str.strip_chars().str.to_lowercase()


def _earlier() -> pl.Expr:
    """The user turns before the final question, lower-cased ("" for a single exchange)."""
    user = pl.element().struct.field("role") == "user"
    earlier = pl.col("turns").list.eval(pl.element().filter(user).struct.field("content"))
    earlier = earlier.list.head(earlier.list.len() - 1).list.join("\n")
    return _head(pl.when(pl.col("turns").list.len() > 2).then(earlier).otherwise(pl.lit("")))


class LexiconClassifier(Classifier):
    """The vertical domain with the most lexicon hits in the question, the answer supporting
    (``rules/domains/``)."""

    name = "lexicon"
    target = "domain"
    summary = "lexicon hits per vertical domain in the question, the answer supporting (rules/domains/*.toml)"

    def __init__(self, context):
        super().__init__(context)
        self.lexicons = [lex for lex in load_lexicons(context) if lex.terms and lex.vertical]
        self.general = sorted(general_categories(context))
        self.named_only = sorted(general_categories(context, "named-categories"))

    def labels(self) -> list[str]:
        return [GENERAL_DOMAIN, *(lex.name for lex in self.lexicons)]

    @staticmethod
    def _category(batch: pl.DataFrame) -> pl.Expr:
        """The task category where it is sure enough to overrule the words (a guess below
        ``SURE_CATEGORY`` leaves the domain to the lexicons); null where there is none."""
        if "category_pred" not in batch.columns:
            return pl.lit(None, pl.String)
        if "category_confidence" not in batch.columns:
            return pl.col("category_pred")
        sure = pl.col("category_confidence").fill_null(1.0) >= SURE_CATEGORY
        return pl.when(sure).then(pl.col("category_pred")).otherwise(None)

    def _topical(self, batch: pl.DataFrame) -> pl.Expr:
        """Whether a record's task can have a domain: not one of the general pack's categories."""
        if not self.general or "category_pred" not in batch.columns:
            return pl.lit(True)
        return (~pl.col("_category").is_in(self.general)).fill_null(True)

    def _names_a_term(self, question: pl.Expr) -> pl.Expr:
        """Whether a question names a term of a lexicon: one pass per language and domain."""
        return pl.any_horizontal([question.str.contains(u) for lex in self.lexicons for u in lex.terms])

    def classify(self, batch: pl.DataFrame) -> pl.Series:
        labels = np.full(batch.height, GENERAL_DOMAIN, dtype=object)
        if not self.lexicons or batch.height == 0:
            return pl.Series("domain", labels, dtype=pl.String)
        question = pl.col("question").fill_null("").str.slice(0, HEAD_CHARS).str.to_lowercase()
        # most questions name no term: one pass per language and domain rules them out (a
        # conversation or a system prompt is read in full: the rest of it may name one); in a
        # small batch that pass is made first, here, so that `_counts` finds the regexes compiled
        small = batch.height < SMALL_BATCH
        named = {"_named": batch.select_seq(self._names_a_term(question)).to_series()} if small else {}
        texts = (
            batch.lazy()
            .select("turns", "system", _q=question, _a="answer", _category=self._category(batch), **named)
            .with_row_index("_row")
            .filter(self._topical(batch))
            .filter(
                (pl.col("turns").list.len() > 2)
                | (pl.col("system").fill_null("").str.len_bytes() > 0)
                | (pl.col("_named") if small else self._names_a_term(pl.col("_q")))
            )
            .select(
                "_row",
                _sys=_head(pl.col("system").fill_null("")),
                _ctx=_earlier(),
                _follow_up=pl.col("_q").str.strip_chars().str.len_bytes() <= FOLLOW_UP_BYTES,
                _line=pl.col("_q").str.extract(r"^\s*([^\n]*)").fill_null("").str.slice(0, LINE_CHARS),
                _rest=pl.concat_str(
                    pl.col("_q").str.extract(r"^\s*[^\n]*").fill_null("").str.slice(LINE_CHARS),
                    pl.col("_q").str.extract(r"^\s*[^\n]*\n((?s).*)").fill_null(""),
                    separator="\n",
                ).str.strip_chars(),
                _spilled=pl.col("_q").str.extract(r"^\s*([^\n]*)").fill_null("").str.len_chars() > LINE_CHARS,
                _a=pl.col("_a").fill_null("").str.slice(0, HEAD_CHARS).str.to_lowercase(),
                _named_only=pl.col("_category").is_in(self.named_only).fill_null(False),
            )
            .collect()
        )
        if texts.height:
            hits = _counts(texts, self.lexicons).select([_hits(lex) for lex in self.lexicons]).to_numpy()
            names = np.array([lex.name for lex in self.lexicons], dtype=object)
            rows = texts["_row"].to_numpy()
            labels[rows] = np.where(hits.max(axis=1) > 0, names[hits.argmax(axis=1)], GENERAL_DOMAIN)
        return pl.Series("domain", labels, dtype=pl.String)


class Domain(Feature):
    """``domain_pred``: the record's own ``domain`` (aliases read as the packs' names), else
    the configured domain classifier's label, else ``general``."""

    name = "domain"
    summary = "domain: the record's domain field, else the configured classifier (general when none)"
    needs = ("category",)  # a word problem about money is general
    columns = ("domain_pred",)
    keep = ("domain_pred",)
    labels = {"domain": "domain_pred"}

    def __init__(self, context):
        super().__init__(context)
        self.classifier = classifier_for(context, "domain")
        self.aliases = alias_table((lex.name, lex.aliases) for lex in load_lexicons(context))

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        given = normalize_labels(batch["domain"], self.aliases)
        return labelled(batch, given, self.classifier, GENERAL_DOMAIN, "domain_pred")


@hookimpl
def dqe_register_classifiers(register):
    register(LexiconClassifier)


@hookimpl
def dqe_register_features(register):
    register(Domain)
