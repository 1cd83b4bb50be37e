"""Verdicts on disk (SQLite), keyed by what the judge was asked: a rerun of the same records
with the same model and rubric sends nothing and costs nothing.

The key is a hash of the model name and the exact request messages, which hold the rubric and
the record's conversation; so editing a record, the rubric or the prompt asks again, and
fields the judge never sees (ids, metadata) do not.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL, created REAL NOT NULL)"
_LOOKUP_CHUNK = 500  # keys per SELECT (SQLite limits bound parameters)


def default_cache_dir() -> Path:
    """$DQE_CACHE_DIR/judge, else $XDG_CACHE_HOME/dqe/judge, else ~/.cache/dqe/judge."""
    if os.environ.get("DQE_CACHE_DIR"):
        return Path(os.environ["DQE_CACHE_DIR"]) / "judge"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dqe" / "judge"


def request_key(model: str, messages: list[dict[str, str]]) -> str:
    data = json.dumps({"model": model, "messages": messages}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


class VerdictCache:
    """Used from one thread (the rule's); the HTTP calls run elsewhere."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "verdicts.sqlite3"
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            part = keys[start : start + _LOOKUP_CHUNK]
            rows = self._db.execute(
                f"SELECT key, verdict FROM verdicts WHERE key IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
            found.update((key, json.loads(verdict)) for key, verdict in rows)
        return found

    def put_many(self, verdicts: dict[str, dict[str, Any]]) -> None:
        if verdicts:
            now = time.time()
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO verdicts (key, verdict, created) VALUES (?, ?, ?)",
                    [(key, json.dumps(v, ensure_ascii=False), now) for key, v in verdicts.items()],
                )

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM verdicts").fetchone()[0]
