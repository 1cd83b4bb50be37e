"""What a classifier is: it labels a batch of records with a task category or a domain.

The built-in classifiers read declarative packs (the task taxonomy in ``rules/categories.toml``,
the domain lexicons in ``rules/domains/``). A plugin can register a better one (a fine-tuned
model, an embedding lookup) with ``dqe_register_classifiers(register)``, and a config picks it:
``classifiers = {category = "my-classifier"}``. A record's own ``category`` or ``domain``
field always wins over any classifier.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    import polars as pl

    from dqe.context import Context

Target = Literal["category", "domain"]
TARGETS: tuple[Target, ...] = ("category", "domain")


class Classifier(ABC):
    """Labels records with a category or a domain, a whole batch per call.

    ``classify`` gets a batch frame (the columns of ``dqe.records.batch_schema``) and returns
    a String Series of the same height: the label of each record, or null where it cannot
    tell (the feature then labels the record ``other`` or ``general``).
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
    def classify(self, batch: pl.DataFrame) -> pl.Series:
        """One label per record of ``batch`` (String, null where unknown)."""


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


def pattern_lists(table: object, where: str) -> list[str]:
    """Patterns of a pack table grouped by language (``{en = [...], zh = [...]}``), flattened."""
    from dqe.config import ConfigError

    if table is None:
        return []
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table of pattern lists by language, like {{en = [...], zh = [...]}}")
    patterns: list[str] = []
    for lang, values in table.items():
        if not (isinstance(values, list) and all(isinstance(v, str) and v for v in values)):
            raise ConfigError(f"{where}.{lang}: expected a list of non-empty strings")
        regex_union(values, f"{where}.{lang}")  # a bad pattern is named by its language and index
        patterns += values
    return patterns


_WORD_BOUNDARY = re.compile(r"(?<!\\)((?:\\\\)*)\\b")  # a \b not itself escaped


def ascii_boundaries(pattern: str) -> str:
    """``\\b`` as an ASCII word boundary, ``(?-u:\\b)``.

    Rust's fast regex engines cannot evaluate a Unicode word boundary on non-ASCII text and
    fall back to one about a hundred times slower; any text with a curly quote or a Chinese
    character would pay for it. Word boundaries only matter for words written with spaces, and
    an ASCII boundary serves those (a term ending in an accented letter is the exception).
    """
    return _WORD_BOUNDARY.sub(lambda m: m.group(1) + "(?-u:\\b)", pattern)


def fold_case(pattern: str) -> str:
    """``pattern`` in lower case, for text lowered once per batch: cheaper than ``(?i)``,
    which makes every regex fold case itself (twice as slow). Escapes (``\\D``, ``\\W``,
    ``\\p{Han}``), flags and group names (``(?U)``, ``(?P<Name>``) are kept as written."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("(?", i):  # flags and group names: (?U), (?P<Name>
            end = min((j for j in (pattern.find(c, i + 2) for c in ":)>") if j >= 0), default=len(pattern) - 1) + 1
            out.append(pattern[i:end])
            i = end
            continue
        if pattern[i] == "\\" and i + 1 < len(pattern):
            end = i + 2
            if pattern[i + 1] in "pP" and pattern[i + 2 : i + 3] == "{":
                end = pattern.find("}", i) + 1 or len(pattern)
            out.append(pattern[i:end])
            i = end
            continue
        out.append(pattern[i].lower())
        i += 1
    return "".join(out)


def regex_union(patterns: list[str], where: str) -> str | None:
    """One regex matching any of ``patterns`` (polars / Rust syntax), each checked first so
    that a bad pattern is an error naming its pack key, not a failure mid-run.

    Match it against lower-cased text: the patterns are lower-cased (``fold_case``), and
    ``\\b`` is an ASCII word boundary (``ascii_boundaries``).
    """
    import polars as pl
    from polars.exceptions import ComputeError

    from dqe.config import ConfigError

    probe = pl.Series([""], dtype=pl.String)
    for i, pattern in enumerate(patterns):
        try:
            probe.str.contains(pattern)
        except ComputeError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            reason = next((line for line in lines if line.startswith("error:")), lines[0] if lines else "")
            raise ConfigError(f"{where}[{i}]: invalid regular expression {pattern!r}: {reason}") from None
    if not patterns:
        return None
    return "|".join(f"(?:{ascii_boundaries(fold_case(p))})" for p in patterns)


def labelled(batch: pl.DataFrame, given: pl.Series, classifier: Classifier, unknown: str, column: str) -> pl.Series:
    """``given`` where set, else the classifier's label, else ``unknown``. Only the records
    without a label of their own are handed to the classifier."""
    import polars as pl

    from dqe.guard import PluginError, blame

    missing = given.is_null()
    if not missing.any():
        return given.alias(column)
    rows = missing.arg_true()
    plugin = classifier.context.registry.plugin_of("classifier", classifier.name)
    what = f"{classifier.target} classifier '{classifier.name}' (plugin '{plugin}')"
    with blame(f"{what} classify()"):
        predicted = classifier.classify(batch.filter(missing))
    if not (isinstance(predicted, pl.Series) and predicted.len() == rows.len()):
        got = f"{predicted.len()} labels" if isinstance(predicted, pl.Series) else type(predicted).__name__
        raise PluginError(
            f"{what} returned {got} for {rows.len()} records; expected a String Series, one label per record"
        )
    with blame(f"{what}: its labels, cast to strings,"):
        labels = predicted.cast(pl.String)
    return given.scatter(rows, labels.fill_null(unknown)).alias(column)
