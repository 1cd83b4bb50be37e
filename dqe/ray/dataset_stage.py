"""The data-set stage off the driver: one Ray task where the shards are.

The record stage's actors write each task's kept columns, report columns, findings and invalid
items as Parquet shards in the run's folder (``dqe.ray.shards``). This task makes the driver's
engine again (the same plugin checks as an actor), reads the kept columns in input order, takes
what the record rules rejected from the findings' shards, and runs the local engine's own
data-set half (``Engine.dataset_stage``: summaries, DQ401-DQ431 and third-party data-set rules,
every rule's summary) on them. The data-set rules' findings are written beside the shards
(``DATASET_FINDINGS``, by record); only the ``dataset`` section, each data-set rule's counts, the rules'
errors and the run's totals (records by status, findings) come back. So the driver holds no row
per record; the task holds the kept columns of every record, on one node: of the data-set rules
only DQ401 is distributed yet (``dqe.ray.exact_duplicates``, given to this task as what it found),
see docs/ray.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dqe.engine.config import LoadedConfig
from dqe.engine.engine import FINDINGS_SCHEMA, Engine, RuleErrorInfo
from dqe.engine.frames import RecordFrames
from dqe.engine.rule import DatasetResult, DatasetRule
from dqe.io.reader import FileInfo
from dqe.ray.record_stage import set_up
from dqe.ray.shards import DATASET_FINDINGS, INVALID_SCHEMA, read, shards

Counts = tuple[str, int, int, int, str | None]  # code, evaluated, failed, errors, skipped


def rejected_by_record_rules(folder: str) -> pl.Series:
    """The ``_idx`` of the records a record rule rejected, from the findings' shards."""
    findings = read(shards(folder, "findings"), ["_idx", "severity"], FINDINGS_SCHEMA)
    return findings.filter(pl.col("severity") == "error")["_idx"]


def totals(frames: RecordFrames, selection: set[str]) -> dict[str, int]:
    """What the driver's report counts of every record: records by status, the records only
    selection rejected (``selection``: their codes), the rule findings."""
    return {
        "total": frames.total,
        **{status: frames.count(status) for status in ("passed", "rejected", "invalid")},
        "deselected": frames.deselected(selection),
        "findings": frames.findings_count,
    }


def run_dataset_stage(
    engine: type[Engine],
    loaded: LoadedConfig,
    disabled: list[str],
    files: list[FileInfo],
    fingerprint: list[tuple[str, str, str, bool, str]],
    folder: str,
    given: dict[str, DatasetResult],
) -> tuple[dict[str, Any], list[Counts], list[RuleErrorInfo], dict[str, int]]:
    """The ``dataset`` section, each data-set rule's counts, the rule errors and the run's
    totals (``totals``) of the run's data-set half, on the shards in ``folder`` (``given``: what
    rules evaluated on the cluster found, by code); the data-set rules' findings are written to
    ``DATASET_FINDINGS`` in ``folder``."""
    checker, _ = set_up(engine, loaded, disabled, files, fingerprint)
    errors: list[RuleErrorInfo] = []
    kept = read(shards(folder, "kept"))
    stage = checker.dataset_stage(kept, rejected_by_record_rules(folder), errors, given)
    # by record (each record's in the rules' order), so that a per-record view reads them on a task at a time
    by_record = stage.findings.sort("_idx", maintain_order=True)
    by_record.write_parquet(Path(folder) / DATASET_FINDINGS, compression="lz4")
    found = read([*shards(folder, "findings"), Path(folder) / DATASET_FINDINGS], ["_idx", "code", "severity"])
    invalid = read(shards(folder, "invalid"), ["_idx"], INVALID_SCHEMA)
    frames = RecordFrames(stage.table.select("_idx"), found, invalid)
    rules = [a for a in checker.rules if isinstance(a.rule, DatasetRule)]
    selection = {a.code for a in rules if not a.skipped and a.rule.selection}  # type: ignore[attr-defined]
    counts = [(a.code, a.evaluated, a.failed, a.errors, a.skipped) for a in rules]
    return stage.dataset, counts, errors, totals(frames, selection)
