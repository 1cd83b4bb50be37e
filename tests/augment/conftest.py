"""The data dqe augment grows in these tests: two translations among other tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.augment.server import DATA


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in DATA), encoding="utf-8")
    return path
