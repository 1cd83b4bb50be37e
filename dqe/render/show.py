"""``dqe check --show CODE``: the failing records of one rule, each with every reason it
failed and an excerpt of its question and answer, to review or fix them by hand."""

from __future__ import annotations

import io

import polars as pl
from rich.console import Console
from rich.text import Text

from dqe.config import ConfigError
from dqe.render.common import statuses
from dqe.report import Report

_EXCERPT = 300


def _excerpt(text: str, width: int = _EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render_show(report: Report, rule: str, *, limit: int = 20, color: bool = False, width: int = 120) -> str:
    row = next((r for r in report.rules if rule in (r.code, r.name)), None)
    if row is None:
        ran = ", ".join(r.code for r in report.rules)
        raise ConfigError(f"--show {rule}: no such rule in this check (rules run: {ran}; add one with --select)")
    findings = report.findings_frame
    failing = findings.filter(pl.col("code") == row.code).sort("record")
    shown = failing if limit == 0 else failing.head(limit)
    records = shown["record"].to_list()
    reasons = (
        findings.filter(pl.col("record").is_in(records))
        .group_by("record", maintain_order=True)
        .agg("code", "severity", "message")
    )
    reasons_of = {r["record"]: r for r in reasons.iter_rows(named=True)}
    status_of = dict(statuses(findings.filter(pl.col("record").is_in(records))).iter_rows())
    texts = report.record_texts(records, max_chars=_EXCERPT * 4)

    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=color, color_system="standard" if color else None, highlight=False
    )
    console.print(
        Text.assemble(
            (f"{row.code} {row.name}", "bold"),
            f": {failing.height:,} of {row.evaluated:,} records fail ({row.summary})",
            (f"; showing the first {len(records):,} (--limit)" if len(records) < failing.height else "", "dim"),
        )
    )
    for record, source, record_id in shown.select("record", "source", "id").iter_rows():
        console.print()
        status = status_of.get(record, "")
        console.print(
            Text.assemble(
                (source, "cyan"),
                "  ",
                (status, "red" if status != "passed" else "green"),
                (f"  id {record_id}" if record_id else "", "dim"),
            )
        )
        mine = reasons_of.get(record)
        if mine:
            for code, severity, message in zip(mine["code"], mine["severity"], mine["message"], strict=True):
                style = "bold" if code == row.code else ""
                console.print(Text.assemble("  ", (f"{code} {severity}", style), "  ", _excerpt(message or "", 200)))
        text = texts.get(record)
        if text is None:
            continue
        if text.raw is not None:
            console.print(Text.assemble("  ", ("raw", "dim"), "       ", _excerpt(text.raw)))
            continue
        user = next((t.content for t in reversed(text.turns) if t.role == "user"), None)
        answer = next((t.content for t in reversed(text.turns) if t.role == "assistant"), None)
        earlier = max(len(text.turns) - 2, 0)
        if text.system:
            console.print(Text.assemble("  ", ("system", "dim"), "    ", _excerpt(text.system, 150)))
        if earlier:
            console.print(Text(f"  ({earlier} earlier turn{'s' if earlier != 1 else ''})", style="dim"))
        for label, part in (("question  ", user), ("answer    ", answer)):
            shown_text = "(none)" if part is None else _excerpt(part) or "(empty)"
            console.print(Text.assemble("  ", (label, "dim"), shown_text))
    return out.getvalue()
