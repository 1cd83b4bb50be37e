"""A Ray Data datasource that reads dqe's inputs range by range (``dqe.ray.plan``).

Ray's own ``read_json`` does not fit: it infers one Arrow schema across records (an ``input``
that is a string in one record and an object in another breaks it), fails the whole read on one
malformed line instead of reporting it, and knows no line numbers. So each row carries what
dqe's reader needs: ``_idx``, ``_file``, ``_line`` and the raw line of a JSON Lines range (the
record stage parses it exactly as the local reader does), or the pickled item of a file read by
dqe's reader (Arrow cannot hold heterogeneous objects).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pyarrow as pa
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from dqe.ray.plan import Range, range_items

SCHEMA = pa.schema(
    [
        ("_idx", pa.uint64()),
        ("_file", pa.uint32()),
        ("_line", pa.uint32()),
        ("raw", pa.binary()),  # a JSON Lines line with its newline
        ("item", pa.binary()),  # a pickled dqe Item
    ]
)
ROWS_PER_BLOCK = 10_000


def read_range(r: Range) -> Iterator[pa.Table]:
    """The rows of one range, in blocks of ``ROWS_PER_BLOCK``."""
    cols: dict[str, list] = {name: [] for name in SCHEMA.names}
    idx = r.first_idx
    for line, value in range_items(r):
        cols["_idx"].append(idx)
        cols["_file"].append(r.file)
        cols["_line"].append(line)
        cols["raw"].append(value if r.cut else None)
        cols["item"].append(None if r.cut else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        idx += 1
        if len(cols["_idx"]) >= ROWS_PER_BLOCK:
            yield pa.table(cols, schema=SCHEMA)
            cols = {name: [] for name in SCHEMA.names}
    if cols["_idx"]:
        yield pa.table(cols, schema=SCHEMA)


class RangeSource(Datasource):
    """One read task per range, in input order."""

    def __init__(self, ranges: list[Range]):
        super().__init__()
        self.ranges = ranges

    def estimate_inmemory_data_size(self) -> int | None:
        return sum(max(r.end - r.start, 0) for r in self.ranges) or None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context=None) -> list:
        return [
            ReadTask(
                lambda r=r: read_range(r),
                BlockMetadata(
                    num_rows=r.items, size_bytes=max(r.end - r.start, 1), input_files=(r.path,), exec_stats=None
                ),
                schema=SCHEMA,
            )
            for r in self.ranges
        ]
