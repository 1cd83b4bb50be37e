"""Shared fixtures: a clean folder per test and a writer of JSONL inputs (helpers that are
not fixtures live in tests/support.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import settings

# Property tests try a few generated examples in the default run, each test's @example cases
# always; the slow CI step tries many (`--hypothesis-profile thorough`). A test that sets its
# own max_examples keeps it in both: only cheap tests do. No deadline: the CI machine is shared.
settings.register_profile("fast", max_examples=10, deadline=None)
settings.register_profile("thorough", max_examples=100, deadline=None)
settings.load_profile("fast")


@pytest.fixture
def write_jsonl(tmp_path):
    """Write records (dicts, or raw strings taken as lines) to a JSONL file and return its path."""

    def write(records, name="data.jsonl"):
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _isolated(tmp_path, tmp_path_factory, monkeypatch):
    """Run each test from an empty folder, so that no dqe.toml of the machine leaks in, and
    with installed plugins off (built-ins stay), so that dqe is tested as shipped. Tests of
    plugin loading switch them back on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DQE_DISABLE_PLUGINS", "all")
    monkeypatch.setenv("DQE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "dqe-cache"))  # not the user's
