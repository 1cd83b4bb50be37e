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

Vectorized: the tokens of the whole batch are found with polars (one ``extract_all`` and a list
shift for the pairs), joined to the vocabulary, and summed into the logits with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from dqe.errors import ConfigError

TOKENS = r"[a-z][a-z'+#]*|\d+|```|\p{Han}"  # words, numbers, code fences; each Chinese character a token
LINE_TOKENS = 40  # of the request line: the task is named in its first words
ANSWER_TOKENS = 8  # of the answer: its opening shows its shape ("The sentiment ...", "```python")


def token_frame(texts: pl.DataFrame) -> pl.DataFrame:
    """Every record's tokens, one row each (``_row``, ``token``), duplicates removed: ``w:``
    words and ``b:`` pairs of the request line ``_line``, ``^:`` its first word, ``l:`` words of
    the question's last line ``_last`` (where a template puts its request after the text), ``a:``
    words of the answer's opening ``_a``."""
    # the words found once: an expression repeated in one select is evaluated each time
    words = texts.select(
        line=pl.col("_line").fill_null("").str.extract_all(TOKENS).list.head(LINE_TOKENS),
        last=pl.col("_last").fill_null("").str.extract_all(TOKENS).list.head(LINE_TOKENS),
        answer=pl.col("_a").fill_null("").str.extract_all(TOKENS).list.head(ANSWER_TOKENS),
    )
    line, last, answer = pl.col("line"), pl.col("last"), pl.col("answer")
    pairs = line.list.eval(pl.concat_str([pl.element(), pl.element().shift(-1)], separator=" ").drop_nulls())
    lists = words.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
        pl.concat_list(
            line.list.eval("w:" + pl.element()),
            pairs.list.eval("b:" + pl.element()),
            line.list.head(1).list.eval("^:" + pl.element()),
            last.list.eval("l:" + pl.element()),
            answer.list.eval("a:" + pl.element()),
        )
        .alias("token")
        .list.unique(maintain_order=True),  # within a record: cheaper than over the batch
    )
    return lists.explode("token").drop_nulls("token")


@dataclass(frozen=True)
class CategoryModel:
    classes: list[str]  # the categories, in the order of the weights' columns
    features: list[str]  # the dense features (``programming:question``, ``signal:tools``, ...)
    vocabulary: pl.DataFrame  # token -> _col (its row in ``token_weights``)
    dense_weights: np.ndarray  # features x classes
    token_weights: np.ndarray  # tokens x classes
    bias: np.ndarray  # classes
    temperature: float  # logits are divided by it before the softmax (fitted by cross-validation)

    def probabilities(self, dense: np.ndarray, tokens: pl.DataFrame) -> np.ndarray:
        """Softmax probabilities (records x classes) of records with the dense features
        ``dense`` (records x features) and the tokens ``tokens`` (``_row``, ``token``)."""
        logits = dense @ self.dense_weights + self.bias
        hits = tokens.join(self.vocabulary, on="token", how="inner")
        if hits.height:
            # a class at a time: ufunc.at is fast on one dimension, slow on rows of a matrix (the
            # same additions in the same order)
            rows, columns = hits["_row"].to_numpy(), hits["_col"].to_numpy()
            by_class = np.ascontiguousarray(logits.T)
            for c, weights in enumerate(self.token_weights.T):
                np.add.at(by_class[c], rows, weights[columns])
            logits = np.ascontiguousarray(by_class.T)
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
