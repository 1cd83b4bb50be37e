"""A linear model over the taxonomy's evidence and the words of the request: which category a
person would give a record, learned from records labelled by hand.

The taxonomy's hand-set weights say what evidence points where; they cannot say how much a
pattern counts against another one, or that "Generate a sentence using ..." is one task and
"Generate a description of ..." another. This model reads the same evidence (every pattern of
``rules/categories.toml`` and the structural signals, as 0/1 features), the hand-weighted
scores, and the words and word pairs of the request line and the answer's opening (Chinese:
characters and character pairs), and gives each category a logit: a softmax over them is the
label's probability. It is trained by ``benchmarks/train_categories.py`` (numpy, multinomial
logistic regression with an L2 penalty) and shipped as a rule pack of weights,
``rules/categories-model.toml``; nothing is downloaded.

Vectorized: the tokens of the whole batch are found with polars (one ``extract_all`` per text,
exploded once, the pairs by a shift within each record), joined to the vocabulary, each (record,
token) kept once, and summed into the logits with one ``np.bincount`` per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from dqe.errors import ConfigError

TOKENS = r"[a-z][a-z'+#]*|\d+|```|\p{Han}"  # words, numbers, code fences; each Chinese character a token
LINE_TOKENS = 40  # of the request line: the task is named in its first words
ANSWER_TOKENS = 8  # of the answer: its opening shows its shape ("The sentiment ...", "```python")


def token_frame(texts: pl.DataFrame) -> pl.DataFrame:
    """Every record's tokens, one row each (``_row``, ``token``): ``w:`` words and ``b:`` pairs of
    the request line ``_line``, ``^:`` its first word, ``l:`` words of the question's last line
    ``_last`` (where a template puts its request after the text), ``a:`` words of the answer's
    opening ``_a``. A token a record repeats comes once per occurrence: a model counts it once
    (``CategoryModel.probabilities``), which is cheaper to do on the vocabulary's numbers after
    the join than on the strings before it."""
    words = texts.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
        line=pl.col("_line").fill_null("").str.extract_all(TOKENS).list.head(LINE_TOKENS),
        last=pl.col("_last").fill_null("").str.extract_all(TOKENS).list.head(LINE_TOKENS),
        answer=pl.col("_a").fill_null("").str.extract_all(TOKENS).list.head(ANSWER_TOKENS),
    )
    # flat columns: prefixing and pairing a flat column is cheaper than list.eval per record
    line = words.select("_row", "line").explode("line").drop_nulls("line")
    word, same_record = pl.col("line"), pl.col("_row") == pl.col("_row").shift(-1)
    return pl.concat(
        [
            line.select("_row", token="w:" + word),
            line.select("_row", token=pl.when(same_record).then("b:" + word + " " + word.shift(-1))),
            words.select("_row", token="^:" + pl.col("line").list.first()),
            words.select("_row", "last").explode("last").select("_row", token="l:" + pl.col("last")),
            words.select("_row", "answer").explode("answer").select("_row", token="a:" + pl.col("answer")),
        ]
    ).drop_nulls("token")


@dataclass(frozen=True)
class CategoryModel:
    classes: list[str]  # the categories, in the order of the weights' columns
    features: list[str]  # the dense features (``programming:question``, ``signal:tools``, ...)
    vocabulary: pl.DataFrame  # token -> _col (its row in ``token_weights``)
    dense_weights: np.ndarray  # features x classes
    token_weights: np.ndarray  # tokens x classes
    bias: np.ndarray  # classes
    temperature: float  # logits are divided by it before the softmax (fitted by cross-validation)

    @cached_property
    def _by_class(self) -> np.ndarray:
        """The token weights a class to a row: what one ``np.bincount`` per class reads."""
        return np.ascontiguousarray(self.token_weights.T)

    def probabilities(self, dense: np.ndarray, tokens: pl.DataFrame) -> np.ndarray:
        """Softmax probabilities (records x classes) of records with the dense features
        ``dense`` (records x features) and the tokens ``tokens`` (``_row``, ``token``)."""
        logits = dense @ self.dense_weights + self.bias
        hits = tokens.join(self.vocabulary, on="token", how="inner")
        if hits.height:
            # each (record, token) once, as one integer: unique on numbers, not on strings
            width = len(self.token_weights)
            key = (hits["_row"].cast(pl.Int64) * width + hits["_col"]).unique().to_numpy()
            rows, columns = key // width, key % width
            for c, weights in enumerate(self._by_class):
                logits[:, c] += np.bincount(rows, weights=weights[columns], minlength=len(logits))
        logits /= self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return odds / odds.sum(axis=1, keepdims=True)


def _matrix(rows: Any, width: int, where: str) -> np.ndarray:
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a list of lists of numbers") from None
    if matrix.ndim != 2 or matrix.shape[1] != width:
        raise ConfigError(f"{where}: expected rows of {width} numbers (one per class), got shape {matrix.shape}")
    return matrix


def load_model(pack: dict[str, Any], name: str, categories: list[str]) -> CategoryModel:
    """The model of the pack ``name``, validated against the taxonomy's ``categories``."""
    where = f"rule pack '{name}'"
    meta = pack.get("meta", {})
    classes, features, vocabulary = meta.get("classes"), meta.get("features"), meta.get("vocabulary")
    for key, value in (("classes", classes), ("features", features), ("vocabulary", vocabulary)):
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{where}: meta.{key} must be a list of strings")
    unknown = sorted(set(classes) - set(categories))
    missing = sorted(set(categories) - set(classes))
    if unknown or missing:
        raise ConfigError(
            f"{where}: trained on other categories than the taxonomy's (unknown: {unknown}, missing: {missing}); "
            'retrain it (benchmarks/train_categories.py) or set model = "" in the categories pack'
        )
    weights = pack.get("weights", {})
    width = len(classes)
    bias = _matrix([weights.get("bias")], width, f"{where}: weights.bias")[0]
    dense = _matrix(weights.get("dense"), width, f"{where}: weights.dense")
    tokens = _matrix(weights.get("tokens"), width, f"{where}: weights.tokens")
    if dense.shape[0] != len(features) or tokens.shape[0] != len(vocabulary):
        raise ConfigError(f"{where}: weights.dense needs one row per feature and weights.tokens one per token")
    temperature = meta.get("temperature", 1.0)
    if not isinstance(temperature, int | float) or isinstance(temperature, bool) or temperature <= 0:
        raise ConfigError(f"{where}: meta.temperature must be a positive number, got {temperature!r}")
    table = pl.DataFrame(
        {"token": vocabulary, "_col": np.arange(len(vocabulary), dtype=np.int64)},
        schema={"token": pl.String, "_col": pl.Int64},
    )
    return CategoryModel(list(classes), list(features), table, dense, tokens, bias, float(temperature))
