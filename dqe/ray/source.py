"""A Ray Data datasource that reads dqe's inputs part by part (``dqe.ray.plan``).

Ray's own ``read_json`` does not fit: it infers one Arrow schema across records (an ``input``
that is a string in one record and an object in another breaks it), fails the whole read on one
malformed line instead of reporting it, and knows no line numbers. So each row carries what
dqe's reader needs: ``_idx``, ``_file``, ``_line`` and the raw line of a JSON Lines record (the
record stage parses it exactly as the local reader does), or the pickled item of a file read by
dqe's reader (Arrow cannot hold heterogeneous objects). Each block is one task of the local
engine's (``TASK_BATCHES`` of its reader's batches, fewer at a part's end): the record stage
takes blocks whole and joins their batches in one call, as the local engine's workers do.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pyarrow as pa
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from dqe.engine.workers import TASK_BATCHES
from dqe.ray.plan import Part

SCHEMA = pa.schema(
    [
        ("_idx", pa.uint64()),
        ("_file", pa.uint32()),
        ("_line", pa.uint32()),
        ("raw", pa.binary()),  # a JSON Lines line with its newline
        ("item", pa.binary()),  # a pickled dqe Item
    ]
)


def read_part(part: Part, batch_size: int) -> Iterator[pa.Table]:
    """The rows of one part, a block per task: ``TASK_BATCHES`` batches, counted from the part's first."""
    block = batch_size * TASK_BATCHES
    cols: dict[str, list] = {name: [] for name in SCHEMA.names}
    for idx, file, line, value in part.items():
        raw = isinstance(value, bytes)
        cols["_idx"].append(idx)
        cols["_file"].append(file)
        cols["_line"].append(line)
        cols["raw"].append(value if raw else None)
        cols["item"].append(None if raw else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        if (idx + 1 - part.start) % block == 0:
            yield pa.table(cols, schema=SCHEMA)
            cols = {name: [] for name in SCHEMA.names}
    if cols["_idx"]:
        yield pa.table(cols, schema=SCHEMA)


class PartSource(Datasource):
    """One read task per part, in input order."""

    def __init__(self, parts: list[Part], batch_size: int):
        super().__init__()
        self.parts = parts
        self.batch_size = batch_size

    def estimate_inmemory_data_size(self) -> int | None:
        return sum(max(r.end - r.start, 0) for p in self.parts for r in p.ranges[:1]) or None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context=None) -> list:
        return [
            ReadTask(
                lambda p=p: read_part(p, self.batch_size),
                BlockMetadata(
                    num_rows=p.stop - p.start,
                    size_bytes=max(p.ranges[0].end - p.ranges[0].start, 1),
                    input_files=tuple(dict.fromkeys(r.path for r in p.ranges)),
                    exec_stats=None,
                ),
                schema=SCHEMA,
            )
            for p in self.parts
        ]
