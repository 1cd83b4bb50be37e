"""The category model: tokens of the request and the answer's opening, weights read from a rule
pack and checked against the taxonomy, probabilities summed from both."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dqe.engine.config import load_config
from dqe.engine.engine import Engine
from dqe.engine.plugins import load_plugins
from dqe.errors import ConfigError
from dqe.features.category_model import load_model, token_frame


def test_tokens_are_words_pairs_the_first_word_the_last_line_and_the_answer_opening():
    texts = pl.DataFrame(
        {
            "_line": ["name a tree", "写诗", "great phone"],
            "_last": [None, None, "is it positive?"],
            "_a": ["oak.", None, None],
        }
    )
    tokens = token_frame(texts)
    first = set(tokens.filter(pl.col("_row") == 0)["token"].to_list())
    assert first == {"w:name", "w:a", "w:tree", "b:name a", "b:a tree", "^:name", "a:oak"}
    second = set(tokens.filter(pl.col("_row") == 1)["token"].to_list())
    assert second == {"w:写", "w:诗", "b:写 诗", "^:写"}  # Chinese: characters and their pairs
    third = set(tokens.filter(pl.col("_row") == 2)["token"].to_list())
    # a request after the text it is about ("<review>\nIs it positive?"): its words are read apart
    assert {"l:is", "l:it", "l:positive"} <= third


def pack(**weights):
    return {
        "meta": {
            "classes": ["math", "poetry"],
            "features": ["math:question"],
            "vocabulary": ["w:poem"],
            "temperature": 1,
        },
        "weights": {"bias": [0, 0], "dense": [[2, 0]], "tokens": [[0, 3]], **weights},
    }


def test_the_weights_of_dense_features_and_tokens_add_up_to_the_probabilities():
    model = load_model(pack(), "m", ["math", "poetry"])
    dense = np.array([[1.0], [0.0]])
    tokens = pl.DataFrame({"_row": [1], "token": ["w:poem"]}, schema={"_row": pl.UInt32, "token": pl.String})
    p = model.probabilities(dense, tokens)
    assert p.argmax(axis=1).tolist() == [0, 1]
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] == pytest.approx(1 / (1 + np.exp(-2)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weights": {"bias": [0, 0], "dense": [[2, 0, 1]], "tokens": [[0, 3]]}}, r"weights.dense: expected rows of 2"),
        ({"weights": {"bias": [0, 0], "dense": [], "tokens": [[0, 3]]}}, r"weights.dense"),
        ({"meta": {"classes": "math"}}, r"meta.classes must be a list of strings"),
    ],
)
def test_a_malformed_model_is_a_config_error_naming_the_key(change, message):
    broken = pack()
    for key, value in change.items():
        broken[key] = {**broken[key], **value}
    with pytest.raises(ConfigError, match=message):
        load_model(broken, "m", ["math", "poetry"])


def test_a_model_trained_on_other_categories_says_to_retrain_or_switch_it_off():
    with pytest.raises(ConfigError, match=r"unknown: \[\], missing: \['poker'\].*retrain it.*model = \"\""):
        load_model(pack(), "m", ["math", "poetry", "poker"])


def labels(records, **config):
    loaded = load_config(overrides={"select": ["DQ411"], **config}, discover=False)
    return Engine(loaded, load_plugins()).run(records).table.sort("_idx")["category_pred"].to_list()


def test_a_category_added_by_a_user_pack_needs_the_model_retrained_or_off(tmp_path):
    (tmp_path / "categories.toml").write_text("[categories.poker]\npriority = 300\nquestion.en = ['\\bpoker\\b']\n")
    record = [{"instruction": "Explain the rules of poker.", "output": "Each player ..."}]
    with pytest.raises(ConfigError, match=r"rule pack 'categories-model': trained on other categories"):
        labels(record, **{"rule-packs": [str(tmp_path / "categories.toml")]})
    (tmp_path / "categories.toml").write_text(
        "[meta]\nmodel = ''\n[categories.poker]\npriority = 1\nquestion.en = ['\\bpoker\\b']\n"
    )
    assert labels(record, **{"rule-packs": [str(tmp_path / "categories.toml")]}) == ["poker"]


def test_a_token_a_record_repeats_counts_once():
    model = load_model(pack(), "m", ["math", "poetry"])
    dense = np.zeros((2, 1))
    schema = {"_row": pl.UInt32, "token": pl.String}
    once = pl.DataFrame({"_row": [1], "token": ["w:poem"]}, schema=schema)
    thrice = pl.DataFrame({"_row": [1, 1, 1], "token": ["w:poem"] * 3}, schema=schema)
    assert np.allclose(model.probabilities(dense, once), model.probabilities(dense, thrice))
