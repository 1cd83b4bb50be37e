"""What dqe keeps between runs: stored and found again, switched off, never an error."""

from __future__ import annotations

import pytest

from dqe import diskcache
from dqe.engine import classifier, rulepacks
from dqe.errors import ConfigError


def test_stored_bytes_are_found_again_by_their_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path))
    diskcache.store("packs", "some key", b"data")
    assert diskcache.load("packs", "some key") == b"data"
    assert diskcache.load("packs", "another key") is None


def test_an_empty_cache_dir_switches_it_off(monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", "")
    diskcache.store("packs", "k", b"data")
    assert diskcache.cache_dir() is None and diskcache.load("packs", "k") is None


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DQE_CACHE_DIR", str(blocker))
    diskcache.store("packs", "k", b"data")  # nothing written, nothing raised
    assert diskcache.load("packs", "k") is None


def test_a_pack_read_from_the_cache_is_the_pack(tmp_path, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path / "cache"))
    pack = tmp_path / "mine.toml"
    pack.write_text('[answer.en]\nconnectives = ["so", "because"]\n')
    parsed = rulepacks._read(pack)
    rulepacks._PARSED.clear()  # as a new process finds it: on disk only
    assert rulepacks._read(pack) == parsed == {"answer": {"en": {"connectives": ["so", "because"]}}}
    pack.write_text('[answer.en]\nconnectives = ["thus"]\n')  # changed on disk: read again
    assert rulepacks._read(pack)["answer"]["en"]["connectives"] == ["thus"]


def test_a_regex_union_made_in_an_earlier_run_is_the_union(tmp_path, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(classifier, "_UNIONS", None)
    terms = [r"\bHeart attack\b", "Cardio(?:logy)?", r"\p{Han}+病"]
    made = classifier.regex_union(terms, "pack 'medical'")
    assert made == r"(?:(?-u:\b)heart attack(?-u:\b))|(?:cardio(?:logy)?)|(?:\p{Han}+病)"
    classifier._save_unions(classifier._unions_cache_key(), 0)
    monkeypatch.setattr(classifier, "_UNIONS", None)  # as a new process finds it: on disk only
    assert classifier.regex_union(terms, "another pack") == made
    assert classifier.regex_union(terms[:2], "pack 'medical'") != made  # other terms, another union


def test_a_bad_term_is_named_though_the_unions_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path / "cache"))
    classifier.regex_union(["fine"], "pack")
    with pytest.raises(ConfigError, match=r"pack 'x'\[1\]: invalid regular expression '\(unclosed'"):
        classifier.regex_union(["fine", "(unclosed"], "pack 'x'")
    with pytest.raises(ConfigError, match=r"pack 'x'\[1\]"):  # a failed union is not kept
        classifier.regex_union(["fine", "(unclosed"], "pack 'x'")
