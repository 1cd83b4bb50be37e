"""The task category of every record and how sure the label is: the record's own ``category``
field, else a classifier's label.

The built-in classifier, ``taxonomy``, reads ``rules/categories.toml``: weighted evidence per
category from regular expressions over the request line of the question (the task asked for),
the whole question (topic hints), the answer (its shape) and the conversation's set-up (a system
prompt or first turn that sets a persona), and structural signals (several user turns, declared
tools, tool calls). A linear model trained on records labelled by hand (the pack's ``model``,
dqe/features/category_model.py) weighs that evidence with the words of the request and the shape
of the question and of the answer (a question mark, a wh- opening, code, the answer's length) and turns it
into a probability per category: the likeliest is the label, its probability the confidence.
Without a model the category with the most evidence wins, ties going to the lower ``priority``,
with a confidence fitted on its lead. Below ``uncertain-below`` the label is ``uncertain``
rather than a guess. One vectorized regex per category and kind over the whole batch (polars),
never a Python loop per record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dqe import (
    SPACELESS_TEXT,
    Classifier,
    Feature,
    alias_table,
    classifier_for,
    labelled,
    language_unions,
    normalize_labels,
)
from dqe.errors import ConfigError
from dqe.features.category_model import CategoryModel, load_model, token_frame
from dqe.hookspecs import hookimpl

PACK = "categories"
UNCERTAIN_CATEGORY = "uncertain"  # the label of a record whose evidence is too thin to name a category
ANSWER_CHARS = 150  # of the answer: its shape (a code block, a worked equation) shows at its start

# Where each kind of pattern is matched (see rules/categories.toml).
KINDS = ("question", "hints", "answer", "setup", "against")
# Where templates put the request after the text to work on ("<review> Is this review positive?"),
# the question patterns are tried on the question's last line too: the kind ``last``.
LAST = "last"

# A list of answers to choose from: a header ("Options:", "Answer choices:") or two lettered
# choices, on lines of their own or inline ("(A) table (B) floor").
OPTIONS = (
    r"(?m)^\s*(options|choices|answer choices|possible answers|pick one|choose from)\s*(:|\(|-)"
    r"|(?m)^\s*-?\s*\(?[a-h][).]\s*\S.*\n\s*-?\s*\(?[b-h][).]\s*\S"
    r"|(^|\s)\(?[a-h]\) \S[^\n]{0,80}\s\(?[b-h]\) \S"
)
# A question labelled as one, next to a text labelled as its material.
ASKED = r"(?s)(?m)^\s*(question|q)\s*:.*^\s*(passage|context|article|paragraph|text|story|bio|plot|movie plot|dialogue|conversation|facts?)\s*:|(?m)^\s*(passage|context|article|paragraph|text|story|bio|plot|movie plot|dialogue|conversation|facts?)\s*:(?s).*^\s*(question|q)\s*:"
# A text labelled as the material a question is asked about.
PASSAGE = (
    r"(?m)^\s*(passage|context|article|paragraph|text|document|excerpt|bio|background|plot|movie plot|story|"
    r"dialogue|conversation|review|product review|information|facts?( \d)?|process|title)\s*:"
)

SCORE_SCALE = 10.0  # hand-weighted scores as model features, brought near the 0/1 of the tests
LENGTH_SCALE = 8.0  # log lengths as model features, likewise
FOLLOW_UP_CHARS = 40  # a last request this short that asks for no task of its own follows up the first

PASSAGE_CHARS = 400  # a question this long holds a text to work on, whatever its request asks
LAST_CHARS = 200  # of the question's last line: a request after a text ends it ("... Did the reviewer enjoy it?")

# Structural signals, computed from the conversation's shape rather than its words.
SIGNALS = {
    "user-turns": "two or more user turns",
    "options": "the question lists answers to choose from (an options header, lettered choices)",
    "passage": "a question asked about a text the question holds (labelled, Context:, or 400 characters or more)",
    "tools": "the record declares tools the assistant may call",
    "tool-turns": "a tool call or a tool result among the turns",
    "list-answer": "the answer is a list: three lines or more that start with a bullet or a number",
    "short-answer": "the answer is at most 30 characters",
    "long-answer": "the answer is 600 characters or more",
}


@dataclass(frozen=True)
class CategorySignals:
    name: str
    priority: int  # breaks ties: the lower wins
    patterns: dict[str, dict[bool, str]]  # kind -> regex by whether its languages are written without spaces
    signals: dict[str, float]  # structural signal -> weight
    weights: dict[str, float]  # evidence weight of each kind: the pack's, or the category's own


@dataclass(frozen=True)
class Taxonomy:
    categories: list[CategorySignals]  # in priority order
    head: int  # characters of each text read
    calibration: tuple[float, float, float]  # confidence = sigmoid(a + b * margin + c * score)
    uncertain_below: float
    closing: str | None  # a last request that only closes or thanks ("Thanks!", "好的"): a follow-up
    model: str  # the rule pack of a model trained over this evidence ("": the hand weights decide)


def _number(value: Any, where: str, whole: bool = False) -> float:
    ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if not ok or isinstance(value, bool):
        raise ConfigError(f"{where}: expected a {'whole number' if whole else 'number'}, got {value!r}")
    return value


def _weights(table: Any, base: dict[str, float], where: str) -> dict[str, float]:
    """``base`` with the weights of ``table`` (``{question = 2.0}``) applied, validated."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table of numbers by kind, like {{question = 2.0}}")
    weights = dict(base)
    for kind, value in table.items():
        if kind not in weights:
            raise ConfigError(f"{where}.{kind}: no such kind; known: {', '.join(weights)}")
        weights[kind] = _number(value, f"{where}.{kind}")
    return weights


def _meta(
    pack: dict[str, Any], where: str
) -> tuple[dict[str, float], int, tuple[float, float, float], float, str | None, str]:
    meta = pack.get("meta", {})
    head = int(_number(meta.get("head-chars", 600), f"{where}: meta.head-chars", whole=True))
    defaults = {"question": 3.0, "first": 3.0, LAST: 2.0, "hints": 1.0, "answer": 2.0, "setup": 4.0, "against": -4.0}
    weights = _weights(meta.get("weights", {}), defaults, f"{where}: meta.weights")
    calibration = meta.get("calibration", [0.0, 1.0, 0.0])
    if not (isinstance(calibration, list) and len(calibration) == 3):
        raise ConfigError(f"{where}: meta.calibration must be three numbers [a, b, c]")
    a, b, c = (_number(v, f"{where}: meta.calibration") for v in calibration)
    below = _number(meta.get("uncertain-below", 0.5), f"{where}: meta.uncertain-below")
    if not 0 <= below <= 1:
        raise ConfigError(f"{where}: meta.uncertain-below must be between 0 and 1, got {below!r}")
    closing = language_unions(meta.get("closing"), f"{where}: meta.closing", by_script=False).get(False)
    model = meta.get("model", "")
    if not isinstance(model, str):
        raise ConfigError(f'{where}: meta.model must name a rule pack (or be ""), got {model!r}')
    return weights, head, (a, b, c), below, closing, model


def load_taxonomy(pack: dict[str, Any]) -> Taxonomy:
    """The categories in priority order with their evidence weights, validated."""
    where = f"rule pack '{PACK}'"
    table = pack.get("categories")
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{where}: needs a [categories.NAME] table for each category")
    weights, head, calibration, below, closing, model = _meta(pack, where)
    categories = []
    for name, spec in table.items():
        key = f"{where}: categories.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{key}: expected a table")
        if "priority" not in spec:
            raise ConfigError(f"{key}: needs a 'priority' (lower wins a tie)")
        patterns = {}
        for kind in KINDS:
            unions = language_unions(spec.get(kind), f"{key}.{kind}", by_script=kind == "question")
            if unions:
                patterns[kind] = unions
        signals = spec.get("signals", {})
        if not isinstance(signals, dict):
            raise ConfigError(f"{key}.signals: expected a table of weights by signal, like {{user-turns = 4}}")
        for signal, weight in signals.items():
            if signal not in SIGNALS:
                raise ConfigError(f"{key}.signals.{signal}: no such signal; known: {', '.join(SIGNALS)}")
            _number(weight, f"{key}.signals.{signal}")
        priority = int(_number(spec["priority"], f"{key}.priority", whole=True))
        own = _weights(spec.get("weights", {}), weights, f"{key}.weights")
        categories.append(CategorySignals(name, priority, patterns, dict(signals), own))
    categories.sort(key=lambda c: (c.priority, c.name))
    return Taxonomy(categories, head, calibration, below, closing, model)


def category_aliases(context: Any) -> dict[str, str]:
    """Spellings of each category in data sets' own fields: the configured classifier's
    labels first, then the taxonomy's names, labels and aliases."""
    names = [(label, []) for label in classifier_for(context, "category").labels()]
    for name, spec in context.pack(PACK).get("categories", {}).items():
        spec = spec if isinstance(spec, dict) else {}
        extra = [spec.get("label"), spec.get("zh"), *spec.get("aliases", [])]
        names.append((name, [a for a in extra if isinstance(a, str) and a]))
    return alias_table(names)


def _texts(head: int) -> list[pl.Expr]:
    """The lower-cased texts patterns are matched on, and the structural signals."""
    whole = pl.col("question").fill_null("").str.strip_chars()
    question = whole.str.slice(0, head).str.to_lowercase()
    line = question.str.slice(0, question.str.find("\n", literal=True))
    tail = whole.str.slice(-head).str.to_lowercase()  # of a long question: where the request and options go
    # the last line that asks something: not a bare cue for the answer ("Answer:", "A:")
    asked = tail.str.replace(r"(?:\n[ \t]*(?:answer|a|output|response|the answer is)[ \t]*:?[ \t]*)+$", "")
    last = asked.str.extract(r"([^\n]*)$").fill_null("").str.slice(-LAST_CHARS).str.strip_chars()
    first_turn = pl.col("turns").list.first().struct.field("content").fill_null("").str.slice(0, head)
    first_turn = first_turn.str.strip_chars_start().str.to_lowercase()
    first_line = first_turn.str.slice(0, first_turn.str.find("\n", literal=True))
    roles = pl.col("turns").list.eval(pl.element().struct.field("role"))
    answer = pl.col("answer").fill_null("")
    tools = pl.col("tools").fill_null("").str.slice(0, 20).str.strip_chars()
    return [
        question.alias("_q"),
        line.alias("_line"),
        # the end of the last line, where it is not the request line's start (null for one short line)
        pl.when(whole.str.contains("\n", literal=True) | (whole.str.len_chars() > LAST_CHARS))
        .then(last)
        .otherwise(None)
        .alias("_last"),
        answer.str.slice(0, ANSWER_CHARS).str.strip_chars_start().str.to_lowercase().alias("_a"),
        first_line.alias("_first"),
        pl.concat_str(
            [pl.col("system").fill_null("").str.slice(0, head).str.to_lowercase(), first_line], separator="\n"
        ).alias("_setup"),
        (roles.list.count_matches("user") >= 2).alias("user-turns"),
        ((tools.str.len_bytes() > 0) & ~tools.is_in(["[]", "{}", "null"])).alias("tools"),
        (roles.list.contains("tool_call") | roles.list.contains("tool")).alias("tool-turns"),
        pl.concat_str([question, tail], separator="\n").str.contains(OPTIONS).alias("options"),
        (
            ((whole.str.len_chars() >= PASSAGE_CHARS) | question.str.contains(PASSAGE))
            & (pl.concat_str([line, last], separator="\n", ignore_nulls=True).str.contains("?", literal=True))
            | question.str.contains(ASKED)
        ).alias("passage"),
        (answer.str.slice(0, 2000).str.count_matches(r"(?m)^\s*([-*•]|\d+[.)、]|[a-z][.)])\s+\S") >= 3).alias(
            "list-answer"
        ),
        (answer.str.len_chars() <= 30).alias("short-answer"),
        (answer.str.len_chars() >= 600).alias("long-answer"),
    ]


# The text each kind is matched on (see rules/categories.toml).
_TEXTS = {"question": "_line", "hints": "_q", "answer": "_a", "setup": "_setup", "against": "_setup"}


def _tests(categories: list[CategorySignals], spaceless: bool, on: str | None = None) -> list[pl.Expr]:
    """Whether the patterns of the spaced or the spaceless languages match, one boolean column
    per category and kind (``3:question``); with ``on`` (``first``, ``last``), the question
    patterns on the first user turn (``3:first``) or the question's last line (``3:last``).

    Keep them few: polars keeps the last 32 regexes it compiled, and every regex beyond them
    is compiled again for every batch.
    """
    if on:
        return [
            pl.col(f"_{on}").str.contains(category.patterns["question"][spaceless]).alias(f"{i}:{on}")
            for i, category in enumerate(categories)
            if spaceless in category.patterns.get("question", {})
        ]
    return [
        pl.col(_TEXTS[kind]).str.contains(unions[spaceless]).alias(f"{i}:{kind}")
        for i, category in enumerate(categories)
        for kind, unions in category.patterns.items()
        if spaceless in unions
    ]


# The shape of a question and of its answer, whatever their words: a linear model cannot read
# "short" or "long" off a log length, so lengths come in bins, each a 0/1 feature.
ANSWER_BINS = (15, 40, 100, 250, 600, 1500)  # characters: a word, a phrase, a sentence, a paragraph, ...
WH = r"^\s*(what|who|whom|whose|when|where|which|why|how)\b|^\s*(什么|谁|哪|为什么|为何|如何|怎么|怎样|多少)"
YES_NO = r"^\s*(is|are|was|were|can|could|do|does|did|should|will|would|has|have|may)\b"
ASKS = r"[?？]\s*$|[吗呢]\s*[?？。]?\s*$"
QUOTED = r"\"[^\"]{2,}\"|“[^”]{2,}”|「[^」]{2,}」|\x27[^\x27]{4,}\x27"
CODE = r"```|(?m)^\s*(def |class |function |#include|import |public |select |for \(|if \()|[;{]\s*$"


def _bins(values: np.ndarray, edges: tuple[int, ...], name: str) -> dict[str, np.ndarray]:
    """One 0/1 feature per bin of ``values`` (``name:0``, ``name:15``, ...: each bin by its lower edge)."""
    which = np.searchsorted(np.asarray(edges), values, side="right")
    return {f"{name}:{low}": (which == k).astype(np.float64) for k, low in enumerate((0, *edges))}


def _shape(batch: pl.DataFrame, texts: pl.DataFrame) -> dict[str, np.ndarray]:
    """The question's shape (asks with a question mark, opens with a wh- or a yes/no word, quotes a
    text, holds code, how much of it is digits) and the answer's (its length in bins, its lines
    and sentences): what tells an explanation from a fact, a list of ideas from an essay."""
    question = pl.col("question").fill_null("").str.slice(0, 2000)
    answer = pl.col("answer").fill_null("").str.slice(0, 4000)
    line = texts["_line"]
    found = batch.select(
        a=pl.col("answer").fill_null("").str.len_chars(),
        digits=question.str.count_matches(r"\d") / (question.str.len_chars() + 1),
        code=question.str.contains(CODE),
        a_code=answer.str.contains(CODE),
        lines=answer.str.count_matches("\n"),
        sentences=answer.str.count_matches(r"[.!?。！？](\s|$)"),
    )
    shape = {
        "shape:asks": line.str.contains(ASKS).to_numpy(),
        "shape:wh": line.str.contains(WH).to_numpy(),
        "shape:yes-no": line.str.contains(YES_NO).to_numpy(),
        "shape:quoted": line.str.contains(QUOTED).to_numpy(),
        "shape:code": found["code"].to_numpy(),
        "shape:answer-code": found["a_code"].to_numpy(),
        "shape:digits": found["digits"].to_numpy(),
        "shape:answer-lines": np.log1p(found["lines"].to_numpy().astype(np.float64)) / LENGTH_SCALE * 2,
        "shape:answer-sentences": np.log1p(found["sentences"].to_numpy().astype(np.float64)) / LENGTH_SCALE * 2,
    }
    shape = {name: values.astype(np.float64) for name, values in shape.items()}
    shape.update(_bins(found["a"].to_numpy(), ANSWER_BINS, "answer-chars"))
    return shape


class TaxonomyClassifier(Classifier):
    """Weighted evidence per category from ``rules/categories.toml``: the category with the
    most evidence (ties to the lower priority), with a calibrated confidence; ``uncertain``
    where the confidence is below the pack's ``uncertain-below``."""

    name = "taxonomy"
    target = "category"
    summary = "weighted evidence per category (rules/categories.toml), calibrated confidence, uncertain when thin"

    def __init__(self, context):
        super().__init__(context)
        self.taxonomy = load_taxonomy(context.pack(PACK))
        self._names = np.array([c.name for c in self.taxonomy.categories], dtype=object)
        names = [c.name for c in self.taxonomy.categories]
        model = self.taxonomy.model
        self.model = load_model(context.pack(model), model, names) if model else None
        # Each group of tests is tried only on the records where it can match: the patterns of the
        # spaceless languages on records with such text, those of the first turn on conversations.
        spaceless = pl.col("_line").str.contains(SPACELESS_TEXT)
        chat = pl.col("user-turns")
        lines = pl.col("_last").is_not_null()
        categories = self.taxonomy.categories
        self._groups = [
            (None, _tests(categories, spaceless=False)),
            (spaceless, _tests(categories, spaceless=True)),
            (chat, _tests(categories, spaceless=False, on="first")),
            (chat & pl.col("_first").str.contains(SPACELESS_TEXT), _tests(categories, spaceless=True, on="first")),
            (lines, _tests(categories, spaceless=False, on=LAST)),
            (lines & pl.col("_last").str.contains(SPACELESS_TEXT), _tests(categories, spaceless=True, on=LAST)),
        ]

    def labels(self) -> list[str]:
        return [c.name for c in self.taxonomy.categories]

    def _found(self, texts: pl.DataFrame) -> dict[str, np.ndarray]:
        """Every test's boolean column over all records (False where its group was not tried)."""
        found: dict[str, np.ndarray] = {}
        numbered = texts.with_row_index("_row")
        for where, tests in self._groups:
            if not tests:
                continue
            some = numbered if where is None else numbered.filter(where)
            if some.height == 0:
                continue
            matched = some.select(tests)
            values = matched.to_numpy()
            if where is not None:  # back to every record's row; False where the group was not tried
                full = np.zeros((texts.height, len(tests)), dtype=bool)
                full[some["_row"].to_numpy()] = values
                values = full
            for j, name in enumerate(matched.columns):
                found[name] = found[name] | values[:, j] if name in found else values[:, j]
        return found

    def evidence(self, batch: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, np.ndarray], np.ndarray]:
        """The texts and signals read, every test's column (``3:question``) and the hand-weighted
        evidence of every record for every category (records x categories, priority order)."""
        texts = batch.lazy().select(_texts(self.taxonomy.head)).collect()
        found = self._found(texts)
        signals = {name: texts[name].to_numpy() for name in SIGNALS}
        none = np.zeros(texts.height, dtype=bool)
        scores = np.zeros((texts.height, len(self.taxonomy.categories)))
        # a short last request that names no task of its own ("And the ending?") or only closes
        # ("Thanks!") follows up the first
        follow_up = ~np.any([found.get(f"{i}:question", none) for i in range(scores.shape[1])], axis=0)
        if self.taxonomy.closing:
            follow_up |= texts["_line"].str.contains(self.taxonomy.closing).to_numpy()
        follow_up &= texts["_line"].str.len_chars().to_numpy() <= FOLLOW_UP_CHARS
        for i, category in enumerate(self.taxonomy.categories):
            w = category.weights
            for kind in KINDS:
                scores[:, i] += w[kind] * found.get(f"{i}:{kind}", none)
            # a conversation that asks for the same task first and last is that task, not multi-turn
            first = found.get(f"{i}:first", none)
            scores[:, i] += w["first"] * (found.get(f"{i}:question", none) & first)
            # and so is one whose follow-ups ask for nothing else: as if it asked for that task again
            scores[:, i] += (w["question"] + w["first"]) * (follow_up & first)
            # a request after the text it is about ("<review>\nIs this review positive?")
            scores[:, i] += w[LAST] * found.get(f"{i}:{LAST}", none)
            for signal, weight in category.signals.items():
                scores[:, i] += weight * signals[signal]
        return texts, found, scores

    def features(self, batch: pl.DataFrame) -> tuple[dict[str, np.ndarray], pl.DataFrame, np.ndarray]:
        """What a trained model reads: the dense features by name (each test as 0/1, the
        signals, the hand-weighted scores, the lengths, the question's and the answer's shape),
        the tokens (``_row``, ``token``) and the hand-weighted scores."""
        texts, found, scores = self.evidence(batch)
        dense: dict[str, np.ndarray] = {}
        for i, category in enumerate(self.taxonomy.categories):
            for kind in (*KINDS, "first", LAST):
                if f"{i}:{kind}" in found:
                    dense[f"{category.name}:{kind}"] = found[f"{i}:{kind}"].astype(np.float64)
            dense[f"score:{category.name}"] = scores[:, i] / SCORE_SCALE
        for name in SIGNALS:
            dense[f"signal:{name}"] = texts[name].to_numpy().astype(np.float64)
        lengths = batch.select(
            question=pl.col("question").fill_null("").str.len_chars(),
            answer=pl.col("answer").fill_null("").str.len_chars(),
            input=pl.col("question").fill_null("").str.strip_chars().str.contains("\n", literal=True),
        )
        for name in ("question", "answer"):
            dense[f"length:{name}"] = np.log1p(lengths[name].to_numpy().astype(np.float64)) / LENGTH_SCALE
        dense["input"] = lengths["input"].to_numpy().astype(np.float64)
        dense.update(_shape(batch, texts))
        return dense, token_frame(texts), scores

    def scores(self, batch: pl.DataFrame) -> np.ndarray:
        """The hand-weighted evidence of every record for every category (records x categories)."""
        return self.evidence(batch)[2]

    def _by_model(self, batch: pl.DataFrame, model: CategoryModel) -> tuple[np.ndarray, np.ndarray]:
        dense, tokens, _ = self.features(batch)
        none = np.zeros(batch.height)
        matrix = np.column_stack([dense.get(name, none) for name in model.features] or [np.zeros((batch.height, 0))])
        probabilities = model.probabilities(matrix, tokens)
        best = probabilities.argmax(axis=1)
        return np.array(model.classes, dtype=object)[best], probabilities[np.arange(batch.height), best]

    def _by_weights(self, batch: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        scores = self.scores(batch)
        height = batch.height
        best = scores.argmax(axis=1)  # the first maximum: the lower priority wins a tie
        top = scores[np.arange(height), best]
        runner_up = np.partition(scores, -2, axis=1)[:, -2] if scores.shape[1] > 1 else np.zeros(height)
        a, b, c = self.taxonomy.calibration
        confidence = 1.0 / (1.0 + np.exp(-(a + b * (top - runner_up) + c * top)))
        return np.where(top > 0, self._names[best], UNCERTAIN_CATEGORY), confidence  # no evidence names nothing

    def classify(self, batch: pl.DataFrame) -> pl.DataFrame:
        if batch.height == 0:
            return pl.DataFrame(schema={"label": pl.String, "confidence": pl.Float64})
        names, confidence = self._by_model(batch, self.model) if self.model else self._by_weights(batch)
        labels = np.where(confidence >= self.taxonomy.uncertain_below, names, UNCERTAIN_CATEGORY)
        return pl.DataFrame(
            {"label": labels.tolist(), "confidence": np.round(confidence, 4)},
            schema={"label": pl.String, "confidence": pl.Float64},
        )


class Category(Feature):
    """``category_pred`` and ``category_confidence``: the record's own ``category`` (aliases
    read as the taxonomy's names; confidence 1), else the configured category classifier's label
    and confidence, else ``uncertain``."""

    name = "category"
    summary = "task category and its confidence: the record's category field, else the configured classifier"
    columns = ("category_pred", "category_confidence")
    keep = ("category_pred", "category_confidence")
    labels = {"category": "category_pred", "category_confidence": "category_confidence"}

    def __init__(self, context):
        super().__init__(context)
        self.classifier = classifier_for(context, "category")
        self.aliases = category_aliases(context)

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        given = normalize_labels(batch["category"], self.aliases)
        return labelled(batch, given, self.classifier, UNCERTAIN_CATEGORY, "category_pred", "category_confidence")


@hookimpl
def dqe_register_classifiers(register):
    register(TaxonomyClassifier)


@hookimpl
def dqe_register_features(register):
    register(Category)
