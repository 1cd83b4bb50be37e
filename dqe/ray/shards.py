"""The run's folder of shards: what the record stage writes of each task, named in input order.

Each task of the record stage (two batches of the local reader's, ``dqe.ray.record_stage``)
becomes, in the run's folder, a Parquet file of each kind, named by the task's first ``_idx``
(so names sort in input order): ``kept`` (what the data-set rules collected and every feature's
kept columns: the data-set stage reads them), ``report`` (what a report reads of each record:
``Engine.record_columns``), ``findings`` (the record rules' findings) and ``invalid`` (the items that could not be read, where the task had any). The data-set stage
adds the data-set rules' findings as one file, by record (``DATASET_FINDINGS``). The driver reads them back
only for a per-record view (``dqe.ray.frames``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

KINDS = ("kept", "report", "findings", "invalid")
DATASET_FINDINGS = "dataset-findings.parquet"
INVALID_SCHEMA = {"_idx": pl.UInt64, "_file": pl.UInt32, "_line": pl.UInt32, "reason": pl.String}


def shard(folder: str, kind: str, first: int) -> Path:
    """The ``kind`` file of the task whose first record is ``first``."""
    return Path(folder) / f"{kind}-{first:015d}.parquet"


def shards(folder: str, kind: str) -> list[Path]:
    """Every ``kind`` file of the run's folder, in input order."""
    return sorted(Path(folder).glob(f"{kind}-[0-9]*.parquet"))


def first_of(path: Path) -> int:
    """The first ``_idx`` of the task a shard holds."""
    return int(path.stem.rsplit("-", 1)[1])


def read(paths: list[Path], columns: list[str] | None = None, schema: dict | None = None) -> pl.DataFrame:
    """The shards ``paths`` as one frame, in their order (empty with ``schema`` when none)."""
    if not paths:
        return pl.DataFrame(schema=schema)
    return pl.concat([pl.read_parquet(path, columns=columns) for path in paths], how="vertical")
