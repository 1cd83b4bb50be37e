"""``--format jsonl``: one JSON object per input record, for tools and for people asking why.

Each line is a record's ``id``, ``source`` (file:line), ``verdict`` (passed, rejected or
invalid), every ``findings`` entry (code, severity, score, message, turn, evidence) and its
``labels`` (category, domain, languages, chain of thought, tokens: what the run's features
computed), so that a user can see why a data-set metric moved. Invalid records have no labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import polars as pl

from dqe.report.model import all_findings, nest_labels, record_labels, record_rows

if TYPE_CHECKING:
    from dqe.report.model import RecordResults, Report

_FINDING = ("code", "severity", "score", "message", "turn", "evidence")


def render_jsonl(report: Report) -> str:
    return "".join(lines(part) for part in report.record_parts())


def stream_jsonl(report: Report, write: Callable[[str], None]) -> None:
    """The lines of a range of records at a time, in input order: the report's records are
    never held together (they are where the engine left them, ``--engine ray``)."""
    for part in report.record_parts():
        write(lines(part))


def lines(result: RecordResults) -> str:
    """The lines of the records of ``result``, in record order."""
    records = record_rows(result).select("record", "id", "source", verdict="status")
    findings = all_findings(result).group_by("record", maintain_order=True).agg(findings=pl.struct(*_FINDING))
    labels = nest_labels(record_labels(result))
    empty = pl.lit([], dtype=pl.List(pl.Struct(findings.schema["findings"].inner.fields)))  # type: ignore[union-attr]
    rows = (
        records.join(findings, on="record", how="left")
        .join(labels, on="record", how="left")
        .sort("record")
        .select("id", "source", "verdict", pl.col("findings").fill_null(empty), "labels")
    )
    return rows.write_ndjson()
