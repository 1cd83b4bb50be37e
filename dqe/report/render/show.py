"""``dqe check --show CODE``: the failing records of one rule, each with every reason it
failed and an excerpt of its question and answer, to review or fix them by hand."""

from __future__ import annotations

import io

import polars as pl
from rich.console import Console
from rich.text import Text

from dqe.errors import ConfigError
from dqe.records import Turn
from dqe.report.model import Report
from dqe.report.render.common import statuses
from dqe.report.terminal import visible

_EXCERPT = 300


def _excerpt(text: str, width: int = _EXCERPT) -> str:
    flat = " ".join(visible(text).split())
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
        .agg("code", "severity", "message", "turn", "evidence")
    )
    turn_of = dict(shown.select("record", "turn").iter_rows())
    reasons_of = {r["record"]: r for r in reasons.iter_rows(named=True)}
    status_of = dict(statuses(findings.filter(pl.col("record").is_in(records))).iter_rows())
    texts = report.record_texts(records, max_chars=_EXCERPT * 4)

    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=color, color_system="standard" if color else None, highlight=False
    )
    console.print(
        Text.assemble(
            (visible(f"{row.code} {row.name}"), "bold"),
            visible(f": {failing.height:,} of {row.evaluated:,} records fail ({row.summary})"),
            (f"; showing the first {len(records):,} (--limit)" if len(records) < failing.height else "", "dim"),
        )
    )
    for record, source, record_id in shown.select("record", "source", "id").iter_rows():
        console.print()
        status = status_of.get(record, "")
        console.print(
            Text.assemble(
                (visible(source), "cyan"),
                "  ",
                (status, "red" if status != "passed" else "green"),
                (f"  id {visible(record_id)}" if record_id else "", "dim"),
            )
        )
        mine = reasons_of.get(record)
        if mine:
            for code, severity, message, turn, evidence in zip(
                mine["code"], mine["severity"], mine["message"], mine["turn"], mine["evidence"], strict=True
            ):
                style = "bold" if code == row.code else ""
                at = f"  turn {turn}" if turn is not None else ""
                console.print(
                    Text.assemble(
                        "  ", (visible(f"{code} {severity}"), style), (at, "cyan"), "  ", _excerpt(message or "", 200)
                    )
                )
                if evidence:
                    console.print(Text.assemble("    ", ("evidence", "dim"), "  ", _excerpt(evidence, 200)))
        text = texts.get(record)
        if text is None:
            continue
        if text.raw is not None:
            console.print(Text.assemble("  ", ("raw", "dim"), "       ", _excerpt(text.raw)))
            continue
        if text.system:
            console.print(Text.assemble("  ", ("system", "dim"), "    ", _excerpt(text.system, 150)))
        note, parts = _exchange(text.turns, turn_of.get(record))
        if note:
            console.print(Text(f"  ({note})", style="dim"))
        for label, part in parts:
            shown_text = "(none)" if part is None else _excerpt(part) or "(empty)"
            console.print(Text.assemble("  ", (label, "dim"), shown_text))
    return out.getvalue()


def _exchange(turns: list[Turn], at: int | None) -> tuple[str | None, list[tuple[str, str | None]]]:
    """The exchange a finding is about, for the excerpt: the turn it names (1-based) and the
    user turn before it, or the last question and answer when it names none; with a note on
    the turns left out."""
    if at is None or not 1 <= at <= len(turns):
        user = next((t.content for t in reversed(turns) if t.role == "user"), None)
        answer = next((t.content for t in reversed(turns) if t.role == "assistant"), None)
        earlier = max(len(turns) - 2, 0)
        note = f"{earlier} earlier turn{'s' if earlier != 1 else ''}" if earlier else None
        return note, [("question  ", user), ("answer    ", answer)]
    asked = next((i for i in range(at - 1, 0, -1) if turns[i - 1].role == "user"), None)
    shown = [i for i in (asked, at) if i is not None]
    parts = [(f"turn {i:<3}{turns[i - 1].role:<10}", turns[i - 1].content) for i in shown]
    note = f"turns {', '.join(map(str, shown))} of {len(turns)}" if len(turns) > len(shown) else None
    return note, parts
