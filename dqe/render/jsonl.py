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
    from dqe.report import Report

_FINDING = ("code", "severity", "score", "message", "turn", "evidence")


def _nested(names: list[str]) -> list[pl.Expr]:
    """Label columns as expressions, dotted names (``cot.need``) gathered into structs."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.split(".", 1)[0], []).append(name)
    out = []
    for top, members in groups.items():
        if members == [top]:
            out.append(pl.col(top))
        else:
            inner = [m.split(".", 1)[1] for m in members]
            out.append(pl.struct(*_nested_alias(members, inner)).alias(top))
    return out


def _nested_alias(members: list[str], inner: list[str]) -> list[pl.Expr]:
    return [pl.col(m).alias(i) for m, i in zip(members, inner, strict=True)]


def render_jsonl(report: Report) -> str:
    records = report.records.select("record", "id", "source", verdict="status")
    findings = report.findings_frame.group_by("record", maintain_order=True).agg(findings=pl.struct(*_FINDING))
    labels = report.labels
    names = [c for c in labels.columns if c != "record"]
    if names:
        labels = labels.select("record", labels=pl.struct(*_nested(names)))
    else:
        labels = labels.select("record", labels=pl.lit(None, dtype=pl.Struct({})))
    empty = pl.lit([], dtype=pl.List(pl.Struct(findings.schema["findings"].inner.fields)))  # type: ignore[union-attr]
    lines = (
        records.join(findings, on="record", how="left")
        .join(labels, on="record", how="left")
        .sort("record")
        .select("id", "source", "verdict", pl.col("findings").fill_null(empty), "labels")
    )
    return lines.write_ndjson()
