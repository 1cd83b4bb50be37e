"""The ids of the records ``dqe filter`` passed, sorted and unique for the gate manifest,
without holding them all: every ``RUN`` ids are sorted and written to a temporary file (a
run), and the runs are merged as the manifest is written. A run of fewer ids stays in memory."""

from __future__ import annotations

import heapq
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RUN = 262_144  # ids held at once: about 20 MB


class PassedIds:
    """Ids added in any order, read back sorted and unique (``sorted``); a context manager
    that removes its runs' folder."""

    def __init__(self, run: int | None = None):
        self.run = run or RUN
        self._held: list[str] = []
        self._runs: list[Path] = []
        self._folder: str | None = None

    def add(self, record: str) -> None:
        self._held.append(record)
        if len(self._held) >= self.run:
            self._spill()

    def sorted(self) -> Iterator[str]:
        """Every id once, in sorted order."""
        files = [path.open(encoding="utf-8") for path in self._runs]
        try:
            runs = [(line.rstrip("\n") for line in file) for file in files]
            last = None
            for record in heapq.merge(sorted(set(self._held)), *runs):
                if record != last:
                    yield record
                    last = record
        finally:
            for file in files:
                file.close()

    def _spill(self) -> None:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="dqe-passed-ids-")
        path = Path(self._folder) / f"run-{len(self._runs):06d}.txt"
        path.write_text("".join(f"{record}\n" for record in sorted(set(self._held))), encoding="utf-8")
        self._runs.append(path)
        self._held = []

    def __enter__(self) -> PassedIds:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
