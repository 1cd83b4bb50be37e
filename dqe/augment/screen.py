"""Screening a round's records: every enabled rule, and the duplicate check against the data and
the records already accepted, in one ordinary check of all of them together.

A candidate is rejected when a rule rejects it (what ``dqe filter`` would put in the rejected
output), when it is unreadable or not in the data's format, when the category classifier files
it under another category (it would not fill the gap), or when it is a duplicate of any record
read with it, whichever of the two the duplicate rules chose to keep: a generated record
better than the data record it copies is still a copy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import polars as pl

from dqe.engine.engine import Engine, RunResult
from dqe.features.category import UNCERTAIN_CATEGORY
from dqe.report.model import INVALID_CODE, INVALID_RULE

DUPLICATE_CODES = ("DQ401", "DQ402")  # their message names the record kept: "exact duplicate of FILE:LINE"


class Reason(NamedTuple):
    key: str  # a rule's code, or "format" / "off-category"
    label: str  # "DQ203 boilerplate"
    summary: str  # what it rejects, for the model's prompt
    message: str  # what it said of this record


class Verdict(NamedTuple):
    line: int  # of the candidates file, 1-based: the record's place in the round
    reasons: list[Reason]  # none: accepted


def screen(
    engine: Engine, data: list[str], accepted: Path | None, candidates: Path, category: str, fmt: str
) -> list[Verdict]:
    """The verdict on every record of ``candidates`` (JSONL), checked with ``data`` and
    ``accepted`` (the records kept so far) by ``engine`` (its config without selection)."""
    sources = [*data, *([str(accepted)] if accepted is not None else []), str(candidates)]
    result = engine.run(sources)
    mine = len(result.files) - 1
    label = result.files[mine].path
    reasons: dict[int, list[Reason]] = {}
    rules = {a.code: a.rule for a in result.rules}
    lines = pl.concat(
        [result.table.select("_idx", "_file", "_line"), result.invalid.select("_idx", "_file", "_line")]
    ).filter(pl.col("_file") == mine)
    line_of = dict(zip(lines["_idx"].to_list(), lines["_line"].to_list(), strict=True))
    summary = str(INVALID_RULE["summary"])
    for idx, reason in result.invalid.filter(pl.col("_file") == mine).select("_idx", "reason").iter_rows():
        reasons.setdefault(line_of[idx], []).append(
            Reason(INVALID_CODE, f"{INVALID_CODE} invalid-record", summary, reason)
        )
    got = result.files[mine].format
    if got is not None and got != fmt:
        for line in line_of.values():
            reasons.setdefault(line, []).append(
                Reason("format", "format", f"a record not in the data's format ({fmt})", f"written as {got}, not {fmt}")
            )
    errors = result.findings.filter(pl.col("severity") == "error").select("_idx", "code", "message")
    for idx, code, message in errors.iter_rows():
        if idx in line_of:
            rule = rules.get(code)
            reasons.setdefault(line_of[idx], []).append(
                Reason(code, f"{code} {rule.name if rule else ''}".strip(), rule.summary if rule else code, message)
            )
    for line, reason in _kept_over_data(result, errors, label, line_of):
        reasons.setdefault(line, []).append(reason)
    for line, reason in _off_category(result, line_of, category):
        reasons.setdefault(line, []).append(reason)
    return [Verdict(line, reasons.get(line, [])) for line in sorted(line_of.values())]


def _kept_over_data(
    result: RunResult, errors: pl.DataFrame, label: str, line_of: dict[int, int]
) -> list[tuple[int, Reason]]:
    """Candidates that a data or accepted record duplicates, where the duplicate rule kept the
    candidate and rejected the other record: the finding on that record names the candidate."""
    named = re.compile(re.escape(label) + r":(\d+)\b")
    sources = dict(
        zip(result.table["_idx"].to_list(), zip(result.table["_file"], result.table["_line"], strict=True), strict=True)
    )
    found = []
    for idx, code, message in errors.filter(pl.col("code").is_in(DUPLICATE_CODES)).iter_rows():
        match = named.search(message) if idx not in line_of else None
        if match:
            rule = next(a.rule for a in result.rules if a.code == code)
            file, line = sources[idx]
            said = f"{message.split(' of ', 1)[0]} of {result.source(file, line)}"
            found.append((int(match.group(1)), Reason(code, f"{code} {rule.name}", rule.summary, said)))
    return found


def _off_category(result: RunResult, line_of: dict[int, int], category: str) -> list[tuple[int, Reason]]:
    """Candidates the category classifier sure of itself files under another category."""
    column = result.labels.get("category")
    if column is None or column not in result.table.columns:
        return []
    rows = result.table.filter(pl.col("_idx").is_in(list(line_of))).select("_idx", column)
    return [
        (
            line_of[idx],
            Reason(
                "off-category",
                "off-category",
                f'a record of another task category than "{category}"',
                f"classified as {label}, not {category}",
            ),
        )
        for idx, label in rows.iter_rows()
        if label not in (None, category, UNCERTAIN_CATEGORY)
    ]
