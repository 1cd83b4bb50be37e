"""The terminal report: files, rules, a few failing records, data-set metrics, the gate."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from dqe.report.model import Report
from dqe.report.render.common import dataset_facts, interval_text
from dqe.report.render.common import number as _n
from dqe.report.terminal import visible

_STATE_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skipped": "dim"}
_SHOWN_PER_RULE = 3


def _clip(text: str, width: int = 110) -> str:
    text = " ".join(visible(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def titled_table(title: str, columns: dict[str, str]) -> Table:
    """A borderless table with a bold title: every terminal table of dqe looks alike.
    ``columns`` maps each header to its justification (left or right)."""
    table = Table(title=title, title_justify="left", title_style="bold", box=None, pad_edge=False)
    for col, justify in columns.items():
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    return table


def files_table(report: Report) -> Table:
    table = titled_table(
        "Files", {"file": "left", "format": "left", "records": "right", "invalid": "right", "": "left"}
    )
    for f in report.files:
        kind = visible(" · ".join(x for x in (f.container, f.format) if x) or "-")
        table.add_row(
            escape(visible(f.path)),
            escape(kind),
            _n(f.records),
            _n(f.invalid) if f.invalid else "",
            Text(f"cannot be read: {visible(f.error)}", style="bold red") if f.error else Text(visible(f.note or "")),
        )
    return table


def rules_table(report: Report) -> Table:
    left, right = "left", "right"
    table = titled_table(
        "Rules",
        {
            "code": left,
            "name": left,
            "scope": left,
            "severity": left,
            "evaluated": right,
            "failed": right,
            "plugin": left,
        },
    )
    for r in report.rules:
        failed = Text(_n(r.failed), style="red" if r.failed and r.severity == "error" else "yellow" if r.failed else "")
        if r.errors:
            failed.append(f" +{r.errors:,} errors", style="bold red")
        name = Text(visible(r.name))
        if r.skipped:
            failed = Text("-")
            name.append(f" (skipped: {visible(r.skipped)})", style="dim")
        table.add_row(
            r.code,
            name,
            r.scope,
            r.severity,
            "-" if r.skipped else _n(r.evaluated),
            failed,
            "" if r.plugin.startswith("dqe") else Text(visible(r.plugin)),
        )
    return table


def findings_block(report: Report) -> Group | None:
    shown: dict[str, int] = {}
    lines = []
    for f in report.findings:
        if shown.get(f.code, 0) >= _SHOWN_PER_RULE:
            continue
        shown[f.code] = shown.get(f.code, 0) + 1
        style = "red" if f.severity == "error" else "yellow"
        turn = f"turn {f.turn}  " if f.turn is not None else ""
        line = Text.assemble(
            (f"{f.code} ", style), (f"{visible(f.source)}  ", "cyan"), (turn, "cyan"), _clip(f.message)
        )
        lines.append(line)
    if not lines:
        return None
    total = sum(r.failed + r.errors for r in report.rules)
    title = Text(f"Failing records ({len(lines)} shown of {total:,} findings; --show CODE for more)", style="bold")
    return Group(title, *lines)


def dataset_block(report: Report) -> Group | None:
    lines = []
    tokens = report.dataset.get("tokens")
    if tokens and "total" in tokens:
        for key in ("total", "question", "answer"):
            t = tokens[key]
            lines.append(
                Text(
                    f"tokens {key:<9} mean {t['mean']:,}  p50 {t['p50']:,}  p90 {t['p90']:,}  p99 {t['p99']:,}  max {t['max']:,}"
                )
            )
        extra = f", {tokens['over_limit']:,} over {tokens['max_tokens']:,}" if "over_limit" in tokens else ""
        lines.append(Text(f"  ({tokens['tokenizer']}, {tokens['template']} template{extra})", style="dim"))
    formats = report.dataset.get("formats")
    if formats:
        lines.append(Text(visible("formats  " + "  ".join(f"{k} {v:,}" for k, v in formats.items()))))
    generated = report.dataset.get("records", {}).get("generated")
    if generated:
        lines.append(Text(f"generated  {generated:,} records written by dqe augment (their _dqe.generated)"))
    facts = dict(dataset_facts(report.dataset))  # the one-line summary the other formats show too
    for name, metrics in report.dataset.items():
        if name in ("tokens", "formats", "records") or not isinstance(metrics, dict):
            continue
        flat = [f"{k} {_fmt_value(v)}" for k, v in metrics.items() if isinstance(v, int | float | str)]
        line = facts.get(name) or "  ".join(flat)
        if line:
            lines.append(Text(visible(f"{name}  {line}")))
    if not lines:
        return None
    return Group(Text("Dataset", style="bold"), *lines)


def _fmt_value(v: Any) -> str:
    return _n(v) if isinstance(v, int | float) else str(v)


def gate_block(report: Report) -> Group:
    """Each metric with its value, what it was measured on and its 95% interval, its state
    against its levels, and why it warns, fails or was not measured."""
    table = Table(box=None, pad_edge=False, show_header=False)
    for _ in range(5):
        table.add_column()
    for m in report.gate.metrics:
        op = "<" if m.direction == "min" else ">"
        limits = ", ".join(f"{k} {op} {_n(v)}" for k, v in (("fail", m.fail), ("warn", m.warn)) if v is not None)
        table.add_row(
            Text(visible(m.name)),
            _n(m.value),
            Text(interval_text(m), style="dim"),
            Text(m.state.upper(), style=_STATE_STYLE[m.state]),
            f"({limits})" if limits else "",
        )
    reasons = [Text(visible(f"  {m.name}: {m.reason}"), style="dim") for m in report.gate.metrics if m.reason]
    verdict = report.gate.verdict
    title = Text.assemble(("Gate ", "bold"), (verdict.upper(), "bold green" if verdict == "pass" else "bold red"))
    return Group(title, table, *reasons)


def errors_block(report: Report) -> Group | None:
    if not report.errors:
        return None
    lines = [Text("Rule errors (the check is incomplete; these records are rejected)", style="bold red")]
    for e in report.errors[:10]:
        lines.append(Text(visible(f"{e.code} (plugin {e.plugin}) {e.source or 'data set'}: ") + _clip(e.message, 140)))
    if len(report.errors) > 10:
        lines.append(Text(f"... and {len(report.errors) - 10} more", style="dim"))
    for code, plugin in dict.fromkeys((e.code, e.plugin) for e in report.errors):
        lines.append(
            Text(
                visible(
                    f"fix: where the message does not say what to change, {code} has a bug: report it to the authors "
                    f"of plugin '{plugin}' with these records; to check without it: --ignore {code} or --disable-plugin {plugin}"
                ),
                style="yellow",
            )
        )
    return Group(*lines)


def warnings_block(report: Report) -> Group | None:
    if not report.warnings:
        return None
    lines = [
        Text(
            "Rule warnings (a rule raised on a batch but on none of its records alone; nothing was rejected)",
            style="bold yellow",
        )
    ]
    for w in report.warnings[:10]:
        lines.append(Text(visible(f"{w.code} (plugin {w.plugin}) {w.source or 'data set'}: ") + _clip(w.message, 160)))
    if len(report.warnings) > 10:
        lines.append(Text(f"... and {len(report.warnings) - 10} more", style="dim"))
    return Group(*lines)


def summary_line(report: Report) -> Text:
    s = report.summary
    unread = sum(1 for f in report.files if f.error)
    return Text.assemble(
        *(
            ((f"{unread:,} file{'s' if unread > 1 else ''} could not be read (above)", "bold red"), " · ")
            if unread
            else ()
        ),
        (f"{s.records:,} records", "bold"),
        " · ",
        (f"{s.passed:,} passed", "green"),
        " · ",
        (f"{s.rejected:,} rejected", "red" if s.rejected else ""),
        " · ",
        (f"{s.invalid:,} invalid", "red" if s.invalid else ""),
        " · gate ",
        (s.gate.upper(), "bold green" if s.gate == "pass" else "bold red"),
    )


def render_text(report: Report, *, color: bool = False, statistics: bool = False, width: int = 120) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=color, color_system="standard" if color else None)
    if statistics:
        table = Table(box=None, pad_edge=False, show_header=False)
        for _ in range(3):
            table.add_column()
        for r in sorted(report.rules, key=lambda r: -r.failed):
            if r.failed or r.errors:
                table.add_row(f"{r.failed:>8,}", r.code, Text(visible(r.name)))
        console.print(table)
        console.print(summary_line(report))
        return out.getvalue()
    blocks = [
        files_table(report),
        rules_table(report),
        findings_block(report),
        dataset_block(report),
        errors_block(report),
        warnings_block(report),
        gate_block(report),
        summary_line(report),
    ]
    for block in blocks:
        if block is not None:
            console.print(block)
            console.print()
    return out.getvalue().rstrip() + "\n"
