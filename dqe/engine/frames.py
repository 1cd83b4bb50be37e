"""A run's per-record frames, and what a report counts and samples of them.

The local engine holds every record's row and every finding in memory (``RecordFrames``). An
engine whose records live elsewhere (``dqe.ray`` leaves them in files on the cluster) subclasses
it: the counts and the report's sample of findings are then answered without gathering the
frames, which load only when a per-record view is asked for (``--format jsonl``, outputs).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import polars as pl

IDS = ("_idx", "_file", "_line", "_id")  # where a record is, and its id: what a finding is shown with


class RecordFrames:
    """Every record's row (``table``), every rule finding (``findings``, the engine's
    FINDINGS_SCHEMA) and every invalid record (``invalid``: _idx, _file, _line, reason), held."""

    def __init__(self, table: pl.DataFrame, findings: pl.DataFrame, invalid: pl.DataFrame):
        self._table, self._findings, self._invalid = table, findings, invalid

    @property
    def table(self) -> pl.DataFrame:
        return self._table

    @property
    def findings(self) -> pl.DataFrame:
        return self._findings

    @property
    def invalid(self) -> pl.DataFrame:
        return self._invalid

    def parts(self) -> Iterator[RecordFrames]:
        """These frames a range of records at a time, in input order, each range's records
        with their findings and invalid items: what a view written record by record reads.
        Held frames are one range."""
        yield self

    @functools.cached_property
    def statuses(self) -> pl.DataFrame:
        """_idx and status (passed, rejected or invalid) of every record, in input order."""
        rejected = self.findings.filter(pl.col("severity") == "error").select("_idx").unique()
        return pl.concat(
            [
                self.table.select("_idx").with_columns(
                    status=pl.when(pl.col("_idx").is_in(rejected["_idx"].implode()))
                    .then(pl.lit("rejected"))
                    .otherwise(pl.lit("passed"))
                ),
                self.invalid.select("_idx", status=pl.lit("invalid")),
            ]
        ).sort("_idx")

    @property
    def total(self) -> int:
        """Records read, valid or not."""
        return self.statuses.height

    def count(self, status: str) -> int:
        return int((self.statuses["status"] == status).sum())

    def deselected(self, selection: set[str]) -> int:
        """Records rejected by the selection rules (codes ``selection``) alone: they failed no
        check, they were not chosen."""
        if not selection:
            return 0
        errors = self.findings.filter(pl.col("severity") == "error")
        only = errors.group_by("_idx").agg(pl.col("code").is_in(list(selection)).all().alias("only"))
        return int(only["only"].sum())

    @property
    def findings_count(self) -> int:
        """Rule findings, invalid records not counted."""
        return self.findings.height

    def sample(self, per_rule: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The first ``per_rule`` findings of each code in record order, with the ``IDS`` of
        their record, and the first ``per_rule`` invalid records: what a report lists."""
        located = self.findings.join(self.table.select(IDS), on="_idx", how="left")
        return first_of_each_code(located, per_rule), self.invalid.sort("_idx").head(per_rule)


def first_of_each_code(findings: pl.DataFrame, per_rule: int) -> pl.DataFrame:
    """The first ``per_rule`` findings of each code, in the order a report lists them (record,
    then code)."""
    ordered = findings.sort("_idx", "code", maintain_order=True)
    return ordered.filter(pl.int_range(pl.len()).over("code") < per_rule)
