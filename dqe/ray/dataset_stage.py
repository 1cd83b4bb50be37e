"""The data-set stage off the driver: one Ray task where the kept columns are.

The record stage's actors write each batch's kept columns as a Parquet shard in the run's folder
(``dqe.ray.record_stage``). This task makes the driver's engine again (the same plugin checks as
an actor), reads the shards in input order and runs the local engine's own data-set half
(``Engine.dataset_stage``: summaries, DQ401-DQ431 and third-party data-set rules, every rule's
summary) on them. Only what the report needs comes back: the data-set rules' findings, the
``dataset`` section, each data-set rule's counts and the rules' errors. So the driver's memory
does not hold the kept columns of every record; the task's does, on one node: of the data-set
rules only DQ401 is distributed yet (``dqe.ray.exact_duplicates``, given to this task as what it
found), see docs/ray.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dqe.engine.config import LoadedConfig
from dqe.engine.engine import Engine, RuleErrorInfo
from dqe.engine.rule import DatasetResult, DatasetRule
from dqe.io.reader import FileInfo
from dqe.ray.record_stage import set_up

Counts = tuple[str, int, int, int, str | None]  # code, evaluated, failed, errors, skipped


def kept_columns(folder: str) -> pl.DataFrame:
    """Every shard of the run's folder, in input order."""
    shards = sorted(Path(folder).glob("kept-*.parquet"))
    return pl.concat([pl.read_parquet(path) for path in shards], how="vertical")


def run_dataset_stage(
    engine: type[Engine],
    loaded: LoadedConfig,
    disabled: list[str],
    files: list[FileInfo],
    fingerprint: list[tuple[str, str, str, bool, str]],
    folder: str,
    rejected: pl.Series,
    given: dict[str, DatasetResult],
) -> tuple[pl.DataFrame, dict[str, Any], list[Counts], list[RuleErrorInfo]]:
    """The data-set rules' findings, the ``dataset`` section, each data-set rule's counts and
    the rule errors of the run's data-set half, on the kept columns in ``folder`` (``rejected``:
    the ``_idx`` of the records the record rules rejected; ``given``: what rules evaluated on
    the cluster found, by code)."""
    checker, _ = set_up(engine, loaded, disabled, files, fingerprint)
    errors: list[RuleErrorInfo] = []
    stage = checker.dataset_stage(kept_columns(folder), rejected, errors, given)
    counts = [
        (a.code, a.evaluated, a.failed, a.errors, a.skipped) for a in checker.rules if isinstance(a.rule, DatasetRule)
    ]
    return stage.findings, stage.dataset, counts, errors
