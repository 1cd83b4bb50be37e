"""What dqe keeps between runs: the parsed rule packs, the patterns already checked, the
regex unions made of pack terms and the tokenizer's merge table, so that a small check does
not spend seconds parsing and compiling the same packs each time.

Entries live in ``$DQE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/dqe``, else ``~/.cache/dqe``;
``DQE_CACHE_DIR=`` switches it off), are keyed by what they were made from, and are written
atomically; one that cannot be read or written is made again, never an error.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def cache_dir() -> Path | None:
    """Where the cache lives, or None when it is switched off."""
    configured = os.environ.get("DQE_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dqe"


def _file(kind: str, key: str) -> Path | None:
    root = cache_dir()
    if root is None:
        return None
    return root / kind / hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def load(kind: str, key: str) -> bytes | None:
    """The bytes stored for ``key``, or None."""
    path = _file(kind, key)
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def store(kind: str, key: str, data: bytes) -> None:
    """Keep ``data`` for ``key``; silently nothing where the cache cannot be written."""
    path = _file(kind, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError:
        return
