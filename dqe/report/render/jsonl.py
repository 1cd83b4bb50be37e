"""``--format jsonl``: one JSON object per input record, for tools and for people asking why.

Each line is a record's ``id``, ``source`` (file:line), ``verdict`` (passed, rejected or
invalid), every ``findings`` entry (code, severity, score, message, turn, evidence) and its
``labels`` (category, domain, languages, chain of thought, tokens: what the run's features
computed), so that a user can see why a data-set metric moved. Invalid records have no labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from dqe.report.model import Report

_FINDING = ("code", "severity", "score", "message", "turn", "evidence")


def render_jsonl(report: Report) -> str:
    records = report.records.select("record", "id", "source", verdict="status")
    findings = report.findings_frame.group_by("record", maintain_order=True).agg(findings=pl.struct(*_FINDING))
    labels = report.nested_labels
    empty = pl.lit([], dtype=pl.List(pl.Struct(findings.schema["findings"].inner.fields)))  # type: ignore[union-attr]
    lines = (
        records.join(findings, on="record", how="left")
        .join(labels, on="record", how="left")
        .sort("record")
        .select("id", "source", "verdict", pl.col("findings").fill_null(empty), "labels")
    )
    return lines.write_ndjson()
