"""Arrow IPC files, as Hugging Face ``datasets`` writes them with ``save_to_disk``
(``data-00000-of-00001.arrow``, the streaming format; the file format is read too)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dqe.errors import InputError
from dqe.io.values import MAX_DEPTH, TOO_DEEP, Item, dtype_depth, dumps, too_deep

_ROWS = 10_000  # rows turned into items at a time


def read_arrow(path: Path, label: str | None = None) -> Iterator[Item]:
    """Every row of an Arrow IPC file as an item, numbered from 1; a row nested deeper than
    ``MAX_DEPTH`` is an invalid item, as in the other containers."""
    import polars as pl

    name = label or str(path)
    try:
        frame = pl.read_ipc_stream(path)
    except Exception:  # not the streaming format: the file format, or no Arrow at all
        try:
            frame = pl.read_ipc(path, memory_map=False)
        except Exception as exc:
            raise InputError(f"{name}: cannot be read as Arrow ({exc})") from None
    deep = 1 + max((dtype_depth(t) for t in frame.schema.values()), default=0) > MAX_DEPTH
    for offset in range(0, frame.height, _ROWS):
        for i, row in enumerate(frame.slice(offset, _ROWS).iter_rows(named=True), start=offset + 1):
            if deep and too_deep(row):
                yield Item(i, None, TOO_DEEP, dumps(row).decode())
                continue
            yield Item(i, row)
