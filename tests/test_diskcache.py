"""What dqe keeps between runs: stored and found again, switched off, never an error."""

from __future__ import annotations

from dqe import diskcache
from dqe.engine import rulepacks


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
