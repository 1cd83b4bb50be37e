"""The run folder's files: JSON (manifests, state, split) written atomically, checkpoint folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from dqe.io.writers import atomic_output


def write_json(path: Path, data: Any) -> None:
    with atomic_output(path) as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoint folders, oldest first (``checkpoints/step-NNNNNN``)."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step-") and not p.name.endswith(".tmp")
    )
