"""JSON files of a run folder (manifests, state, split): indented, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from dqe.files import atomic_output


def write_json(path: Path, data: Any) -> None:
    with atomic_output(path) as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())
