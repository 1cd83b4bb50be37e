"""What a classifier is: it labels a batch of records with a task category or a domain.

The built-in classifiers read declarative packs (the task taxonomy in ``rules/categories.toml``,
the domain lexicons in ``rules/domains/``). A plugin can register a better one (a fine-tuned
model, an embedding lookup) with ``dqe_register_classifiers(register)``, and a config picks it:
``classifiers = {category = "my-classifier"}``. A record's own ``category`` or ``domain``
field always wins over any classifier.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from dqe import diskcache
from dqe.errors import ConfigError, PluginError

if TYPE_CHECKING:
    import polars as pl

    from dqe.engine.context import Context

Target = Literal["category", "domain"]
TARGETS: tuple[Target, ...] = ("category", "domain")


class Classifier(ABC):
    """Labels records with a category or a domain, a whole batch per call.

    ``classify`` gets a batch frame (the columns of ``dqe.records.batch_schema``) and returns,
    for each record in order, its label: a String Series (null where it cannot tell; the
    feature then labels the record ``uncertain`` or ``general``), or a frame with a String
    ``label`` and a Float64 ``confidence`` column (0..1: how likely the label is right) when
    the classifier can say how sure it is.
    """

    name: ClassVar[str]
    target: ClassVar[Target]  # what it labels: "category" or "domain"
    summary: ClassVar[str]

    def __init__(self, context: Context):
        self.context = context

    def labels(self) -> list[str]:
        """Every label it can give, in its preferred order; [] when it cannot say.

        The category balance rule takes a uniform target over these labels by default.
        """
        return []

    @abstractmethod
    def classify(self, batch: pl.DataFrame) -> pl.Series | pl.DataFrame:
        """One label per record of ``batch`` (String, null where unknown), alone or with its
        confidence (a frame of ``label`` and ``confidence``)."""


def classifier_for(context: Context, target: Target) -> Classifier:
    """The run's configured category or domain classifier (``classifiers = {category = ...}``),
    made once per run and shared by every rule and feature that asks."""
    key = f"classifier:{target}"
    if key not in context.shared:
        from dqe.guard import blame

        registry = context.registry
        name = getattr(context.config.classifiers, target)
        cls = registry.classifiers.get(name)
        if cls is None or cls.target != target:
            known = ", ".join(sorted(n for n, c in registry.classifiers.items() if c.target == target))
            raise ConfigError(f"'classifiers.{target}': no {target} classifier '{name}'; known: {known or 'none'}")
        with blame(f"{target} classifier '{name}' (plugin '{registry.plugin_of('classifier', name)}') __init__"):
            context.shared[key] = cls(context)
    return context.shared[key]


def label_key(text: str) -> str:
    """The spelling labels are compared in: lower case, words joined by '-'.

    ``"Open_QA"``, ``"open qa"`` and ``"open-qa"`` are the same label.
    """
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def alias_table(names: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """``{spelling: label}`` from each label and its aliases, keys in ``label_key`` form."""
    table: dict[str, str] = {}
    for label, aliases in names:
        for alias in (label, *aliases):
            table.setdefault(label_key(alias), label)
    return table


def normalize_labels(values: pl.Series, aliases: dict[str, str]) -> pl.Series:
    """A record's own label field, spelled as the classifier's labels where it is an alias.

    Empty values become null; labels nobody knows are kept in ``label_key`` form.
    """
    import polars as pl

    keyed = values.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s_]+", "-")
    keyed = pl.select(pl.when(keyed.str.len_chars() > 0).then(keyed)).to_series()
    return keyed.replace(aliases).alias(values.name)


SPACELESS = ("zh", "ja")  # languages written without spaces between words
# A character of those scripts: text without one cannot match their patterns.
SPACELESS_TEXT = r"[\p{Han}\p{Hiragana}\p{Katakana}]"


def language_unions(table: object, where: str, by_script: bool = True) -> dict[bool, str]:
    """The patterns of a pack table of lists by language (``{en = [...], zh = [...]}``) as one
    regex, or with ``by_script`` as two, by whether their language is written without spaces
    (zh, ja: True).

    Split by script where the patterns have gaps (``.{0,40}``): Rust's engine runs a union of
    English and Chinese patterns with gaps several times slower than the two apart, once its
    automaton outgrows its cache; and the Chinese ones need only be tried on text with Chinese in
    it. Keywords alone are cheapest in one regex: each regex is a pass over the text.
    """

    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of pattern lists by language, like {{en = [...], zh = [...]}}")
    groups: dict[bool, list[str]] = {False: [], True: []}
    for lang, values in table.items():
        if not (isinstance(values, list) and all(isinstance(v, str) and v for v in values)):
            raise ConfigError(f"{where}.{lang}: expected a list of non-empty strings")
        regex_union(values, f"{where}.{lang}")  # a bad pattern is named by its language and index
        groups[by_script and lang in SPACELESS] += values
    return {spaceless: union for spaceless, values in groups.items() if (union := regex_union(values, where))}


_WORD_BOUNDARY = re.compile(r"(?<!\\)((?:\\\\)*)\\b")  # a \b not itself escaped


def ascii_boundaries(pattern: str) -> str:
    """``\\b`` as an ASCII word boundary, ``(?-u:\\b)``.

    Rust's fast regex engines cannot evaluate a Unicode word boundary on non-ASCII text and
    fall back to one about a hundred times slower; any text with a curly quote or a Chinese
    character would pay for it. Word boundaries only matter for words written with spaces, and
    an ASCII boundary serves those (a term ending in an accented letter is the exception).
    """
    if "\\b" not in pattern:  # most terms: words, no boundary of their own
        return pattern
    return _WORD_BOUNDARY.sub(lambda m: m.group(1) + "(?-u:\\b)", pattern)


# What fold_case keeps as written: flags and group names up to their first ':', ')' or '>'
# ((?U), (?P<Name>), Unicode classes (\p{Han}), and any other escape (\D, \W).
_CASED_AS_WRITTEN = re.compile(r"\(\?[^:)>]*(?:[:)>]|\Z)|\\[pP]\{[^}]*(?:\}|\Z)|\\.", re.DOTALL)


def fold_case(pattern: str) -> str:
    """``pattern`` in lower case, for text lowered once per batch: cheaper than ``(?i)``,
    which makes every regex fold case itself (twice as slow). Escapes (``\\D``, ``\\W``,
    ``\\p{Han}``), flags and group names (``(?U)``, ``(?P<Name>``) are kept as written."""
    if "\\" not in pattern and "(?" not in pattern:  # most terms: nothing kept as written
        return pattern.lower()
    out: list[str] = []
    done = 0
    for kept in _CASED_AS_WRITTEN.finditer(pattern):
        out.append(pattern[done : kept.start()].lower())
        out.append(kept.group())
        done = kept.end()
    out.append(pattern[done:].lower())
    return "".join(out)


def regex_union(patterns: list[str], where: str) -> str | None:
    """One regex matching any of ``patterns`` (polars / Rust syntax), each checked first so
    that a bad pattern is an error naming its pack key, not a failure mid-run.

    Match it against lower-cased text: the patterns are lower-cased (``fold_case``), and
    ``\\b`` is an ASCII word boundary (``ascii_boundaries``). Unions made before, in this
    process or an earlier run, are looked up: a check's set-up asks for 292 unions of 10,784
    terms, 172 of them distinct, and making them cost 65 ms of a small check.
    """
    if not patterns:
        return None
    made = _unions()
    key = _union_key(patterns)
    union = made.get(key)
    if union is None:
        union = made[key] = _checked_union(patterns, where)
    return union


def _checked_union(patterns: list[str], where: str) -> str:
    from dqe.engine.patterns import first_invalid

    bad = first_invalid(patterns)
    if bad is not None:
        i, exc = bad
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("error:")), lines[0] if lines else "")
        raise ConfigError(f"{where}[{i}]: invalid regular expression {patterns[i]!r}: {reason}") from None
    return "|".join(f"(?:{ascii_boundaries(fold_case(p))})" for p in patterns)


_UNIONS: dict[str, str] | None = None  # union by the digest of its patterns (this process and earlier runs)


def _union_key(patterns: list[str]) -> str:
    text = "\0".join(patterns).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def _unions_cache_key() -> str:
    """The unions are kept by the polars version that checked their patterns and the code that
    makes them (this module)."""
    import polars as pl

    return f"{pl.__version__} {hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16).hexdigest()}"


def _unions() -> dict[str, str]:
    global _UNIONS
    if _UNIONS is None:
        _UNIONS = {}
        key = _unions_cache_key()
        cached = diskcache.load("unions", key)
        if cached:
            with contextlib.suppress(ValueError, TypeError):  # a broken write: made again
                _UNIONS.update(json.loads(cached))
        atexit.register(_save_unions, key, len(_UNIONS))  # once, when the process ends
    return _UNIONS


def _save_unions(key: str, loaded: int) -> None:
    """Keep the unions this process made for the next run, when it made new ones."""
    if _UNIONS is not None and len(_UNIONS) > loaded:
        diskcache.store("unions", key, json.dumps(_UNIONS).encode())


def labelled(
    batch: pl.DataFrame,
    given: pl.Series,
    classifier: Classifier,
    unknown: str,
    column: str,
    confidence: str | None = None,
) -> pl.DataFrame:
    """``given`` where set, else the classifier's label, else ``unknown``: the ``column`` of
    labels and, when asked for, the ``confidence`` of each (1 for a record's own label, null
    where the classifier gives none). Only the records without a label of their own are handed
    to the classifier."""
    import polars as pl

    from dqe.guard import blame

    labels = given.alias(column)
    sure = pl.Series(confidence or "confidence", [1.0] * given.len(), dtype=pl.Float64)
    missing = given.is_null()
    if missing.any():
        rows = missing.arg_true()
        plugin = classifier.context.registry.plugin_of("classifier", classifier.name)
        what = f"{classifier.target} classifier '{classifier.name}' (plugin '{plugin}')"
        with blame(f"{what} classify()"):
            predicted = classifier.classify(batch.filter(missing))
        label, score = _label_and_confidence(predicted)
        if label is None or label.len() != rows.len() or (score is not None and score.len() != rows.len()):
            got = (
                f"{len(predicted)} labels"
                if isinstance(predicted, pl.Series | pl.DataFrame)
                else type(predicted).__name__
            )
            raise PluginError(
                f"{what} returned {got} for {rows.len()} records; expected a String Series, one label per record, "
                "or a frame of 'label' and 'confidence'"
            )
        with blame(f"{what}: its labels, cast to strings, and confidences, cast to numbers,"):
            labels = labels.scatter(rows, label.cast(pl.String).fill_null(unknown))
            known = score if score is not None else pl.Series([None] * rows.len(), dtype=pl.Float64)
            sure = sure.scatter(rows, known.cast(pl.Float64).clip(0.0, 1.0))
    return pl.DataFrame([labels, sure.alias(confidence)] if confidence else [labels])


def _label_and_confidence(predicted: object) -> tuple[pl.Series | None, pl.Series | None]:
    """A classifier's answer as (labels, confidences or None); (None, None) when malformed."""
    import polars as pl

    if isinstance(predicted, pl.Series):
        return predicted, None
    if isinstance(predicted, pl.DataFrame) and "label" in predicted.columns:
        return predicted["label"], predicted["confidence"] if "confidence" in predicted.columns else None
    return None, None
