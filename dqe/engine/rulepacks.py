"""Declarative rule packs: marker lists, patterns, taxonomies and lexicons as TOML, not code.

The packs dqe ships live in the repository's top-level ``rules/`` folder and inside the wheel
as ``dqe/packs``. A pack is named by its path without ``.toml``: ``cot``, ``domains/medical``.
A user's packs (``rule-packs = ["./packs"]`` in config: folders or files) extend the shipped
pack of the same name, lists appended and tables merged, or replace it with
``[meta] mode = "replace"``. Rules read packs through ``Context.pack(name)``.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson

from dqe import diskcache
from dqe.errors import ConfigError


def shipped_dir() -> Path:
    """The shipped packs: ``dqe/packs`` in an installed wheel, ``rules/`` in a checkout."""
    installed = Path(str(files("dqe"))) / "packs"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "rules"


# Parsed packs by file, for the life of the process and (as JSON, dqe.engine.diskcache) between
# runs: a trained model's pack is large (parsing it took most of a small check), and every run of
# the Python API opens the packs again. Kept serialized, so that each reader gets its own copy to
# change; a file changed on disk is read again.
_PARSED: dict[tuple[str, int, int], bytes] = {}


def _read(path: Path) -> dict[str, Any]:
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in _PARSED:
            _PARSED[key] = _parsed(path, repr(key))
        return orjson.loads(_PARSED[key])
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rule pack {path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"rule pack {path}: cannot be read ({exc})") from None


def _parsed(path: Path, key: str) -> bytes:
    """A pack's parsed TOML as JSON bytes, from the disk cache when it holds this version."""
    cached = diskcache.load("packs", key)
    if cached is not None:
        return cached
    data = orjson.dumps(tomllib.loads(path.read_text("utf-8")))  # a TOML date would come back as text: packs hold none
    diskcache.store("packs", key, data)
    return data


def _index(root: Path) -> dict[str, Path]:
    if root.is_file():
        return {_read(root).get("meta", {}).get("name", root.stem): root}
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(root.rglob("*.toml"))}


def _extend(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _extend(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
        else:
            out[key] = value
    return out


class Packs:
    """Shipped packs with the user's packs layered on top, loaded on first use."""

    def __init__(self, user_paths: list[Path] | None = None):
        self._shipped = _index(shipped_dir())
        self._user: list[dict[str, Path]] = []
        for path in user_paths or []:
            if not path.exists():
                raise ConfigError(f"'rule-packs': {path}: no such file or folder")
            self._user.append(_index(path))
        self._cache: dict[str, dict[str, Any]] = {}

    def names(self, prefix: str = "") -> list[str]:
        found = set(self._shipped) | {n for index in self._user for n in index}
        return sorted(n for n in found if n.startswith(prefix))

    def sources(self, name: str) -> list[Path]:
        """The files a pack is built from, shipped first."""
        paths = [self._shipped[name]] if name in self._shipped else []
        return paths + [index[name] for index in self._user if name in index]

    def get(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            sources = self.sources(name)
            if not sources:
                raise ConfigError(f"no rule pack '{name}' (shipped packs: {', '.join(self.names())})")
            data: dict[str, Any] = {}
            for path in sources:
                table = _read(path)
                mode = table.get("meta", {}).get("mode", "extend")
                if mode not in ("extend", "replace"):
                    raise ConfigError(f'rule pack {path}: \'meta.mode\' must be "extend" or "replace", got {mode!r}')
                data = table if mode == "replace" or not data else _extend(data, table)
            self._cache[name] = data
        return self._cache[name]
