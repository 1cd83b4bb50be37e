"""The optional similarity score, from a local sentence-transformers folder."""

from __future__ import annotations

import pytest

from dqe.errors import ConfigError

pytestmark = pytest.mark.train


def test_similarity_of_answers_to_references(torch_extra, embedding_model):
    from dqe.eval.embedding import Embedder

    embedder = Embedder(embedding_model, torch_extra.device("cpu"))
    assert (embedder.pooling, embedder.max_length) == ("mean", 64)
    references = [
        "The dog is as loyal as a soldier.",
        "Paris.",
        "The dog is as loyal as a soldier.",
    ]
    scores = embedder.similarity({"tuned": ["The dog is as loyal as a soldier.", "", "Zebras 42"]}, references)["tuned"]
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores[1] == 0.0  # an empty answer is not similar
    assert -1 <= scores[2] < 0.9999


def test_a_folder_that_is_not_there_is_a_usage_error(torch_extra, tmp_path):
    from dqe.eval.embedding import Embedder

    with pytest.raises(ConfigError, match="no such folder"):
        Embedder(tmp_path / "nowhere", torch_extra.device("cpu"))
    with pytest.raises(ConfigError, match="cannot load it offline"):
        Embedder(tmp_path, torch_extra.device("cpu"))
