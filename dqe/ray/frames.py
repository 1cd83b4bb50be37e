"""A Ray run's per-record frames, left in the run's shards: the driver holds none of them.

What a report counts (records by status, the records only selection rejected, findings) comes
from the data-set stage's task as totals; the report's sample of findings (the first few of each
rule) is read shard by shard, keeping no more than the sample. The frames themselves (every
record's row, every finding, every invalid item) are read from the shards only when a per-record
view that needs them whole asks (the HTML page, ``--all-findings``, the Python API's frames);
``--format jsonl`` and ``dqe filter`` read them a task at a time (``ShardFrames.parts``). The
run's folder goes when these frames do.
"""

from __future__ import annotations

import bisect
import functools
import shutil
import weakref
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from dqe.engine.engine import FINDINGS_SCHEMA
from dqe.engine.frames import IDS, RecordFrames, first_of_each_code
from dqe.ray.shards import DATASET_FINDINGS, INVALID_SCHEMA, first_of, read, shard, shards

ROWS_AT_ONCE = 65_536  # rows of the data-set rules' findings read at a time for the sample


class ShardFrames(RecordFrames):
    """The frames of the run whose shards are in ``folder``, with its ``totals`` (as
    ``dqe.ray.dataset_stage.totals`` counts them); the folder is removed with this object."""

    def __init__(self, folder: str, totals: dict[str, int]):
        self.folder = folder
        self.totals = totals
        self._remove = weakref.finalize(self, shutil.rmtree, folder, True)

    @functools.cached_property
    def table(self) -> pl.DataFrame:  # type: ignore[override]
        return read(shards(self.folder, "report"))

    @functools.cached_property
    def findings(self) -> pl.DataFrame:  # type: ignore[override]
        return read([*shards(self.folder, "findings"), self._dataset_findings], schema=FINDINGS_SCHEMA)

    @functools.cached_property
    def invalid(self) -> pl.DataFrame:  # type: ignore[override]
        return read(shards(self.folder, "invalid"), schema=INVALID_SCHEMA)

    @property
    def total(self) -> int:
        return self.totals["total"]

    def count(self, status: str) -> int:
        return self.totals[status]

    def deselected(self, selection: set[str]) -> int:
        return self.totals["deselected"]

    @property
    def findings_count(self) -> int:
        return self.totals["findings"]

    def parts(self) -> Iterator[RecordFrames]:
        """A task's records at a time, in input order: its report shard, its findings (the
        record rules' shard, and the data-set rules' on its records, read on from the file
        the data-set stage sorted by record) and its invalid items. One task's rows are held
        at a time, never the run's."""
        firsts = [first_of(path) for path in shards(self.folder, "report")]
        dataset = _InOrder(self._dataset_findings)
        for first, end in zip(firsts, [*firsts[1:], None], strict=True):
            invalid = shard(self.folder, "invalid", first)
            yield RecordFrames(
                pl.read_parquet(shard(self.folder, "report", first)),
                pl.concat([pl.read_parquet(shard(self.folder, "findings", first)), dataset.before(end)]),
                pl.read_parquet(invalid) if invalid.exists() else pl.DataFrame(schema=INVALID_SCHEMA),
            )

    def sample(self, per_rule: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The first ``per_rule`` findings of each code, read shard by shard (the data-set
        rules' in slices), with the ``IDS`` of their records read from the report shards that
        hold them; the first ``per_rule`` invalid items."""
        chosen = pl.DataFrame(schema=FINDINGS_SCHEMA)
        for part in self._findings_parts():
            chosen = first_of_each_code(pl.concat([chosen, part]), per_rule)
        invalid = pl.DataFrame(schema=INVALID_SCHEMA)
        for path in shards(self.folder, "invalid"):
            if invalid.height >= per_rule:
                break
            invalid = pl.concat([invalid, pl.read_parquet(path)])
        return chosen.join(self._ids(chosen["_idx"]), on="_idx", how="left"), invalid.sort("_idx").head(per_rule)

    @property
    def _dataset_findings(self) -> Path:
        return Path(self.folder) / DATASET_FINDINGS

    def _findings_parts(self):
        """Every finding, a shard (or a slice of the data-set rules' findings) at a time."""
        for path in shards(self.folder, "findings"):
            yield pl.read_parquet(path)
        for rows in pq.ParquetFile(self._dataset_findings).iter_batches(ROWS_AT_ONCE):
            part = pl.from_arrow(rows)
            assert isinstance(part, pl.DataFrame)
            yield part

    def _ids(self, idx: pl.Series) -> pl.DataFrame:
        """The ``IDS`` of the records ``idx``, from the report shards that hold them, a shard
        at a time (the first findings of a rare rule can lie in every shard of the run)."""
        paths = shards(self.folder, "report")
        firsts = [first_of(path) for path in paths]
        holding = sorted({bisect.bisect_right(firsts, i) - 1 for i in idx.to_list()}) or [0]
        wanted = pl.col("_idx").is_in(idx.implode())
        return pl.concat([read([paths[k]], list(IDS)).filter(wanted) for k in holding])


class _InOrder:
    """The rows of a Parquet file of findings sorted by record, taken in order, up to a record
    at a time, a slice of the file read at a time."""

    def __init__(self, path: Path):
        self._slices = pq.ParquetFile(path).iter_batches(ROWS_AT_ONCE)
        self._held = pl.DataFrame(schema=FINDINGS_SCHEMA)
        self._done = False

    def before(self, end: int | None) -> pl.DataFrame:
        """The rows not taken yet of the records before ``end`` (None: every row left)."""
        while not self._done and (end is None or self._held.is_empty() or self._held["_idx"][-1] < end):
            rows = next(self._slices, None)
            if rows is None:
                self._done = True
            else:
                self._held = pl.concat([self._held, pl.DataFrame(pl.from_arrow(rows))])
        if end is None:
            taken, self._held = self._held, self._held.clear()
            return taken
        later = self._held["_idx"] >= end
        taken, self._held = self._held.filter(~later), self._held.filter(later)
        return taken
