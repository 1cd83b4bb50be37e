"""A Markdown summary to paste in a pull request, a CI job summary or a dataset card.

Everything that comes from the data (paths, messages) is escaped, so that a record holding
Markdown or HTML shows as text and cannot break the tables.
"""

from __future__ import annotations

import html
import re

from dqe.report.model import Report
from dqe.report.render.common import (
    dataset_facts,
    interval_text,
    number,
    percent,
    relative_path,
    relative_source,
    threshold_text,
)

_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
_STATE = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "skipped": "➖ skipped"}
_SHOWN_PER_RULE = 5


def md(text: object) -> str:
    """Text as literal Markdown inside a line (a table cell, after a label): HTML escaped, the
    punctuation that means something mid-line backslashed, newlines folded."""
    flat = " ".join(str(text).split())
    return _PUNCTUATION.sub(r"\\\1", html.escape(flat, quote=False))


def _clip(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_markdown(report: Report) -> str:
    s = report.summary
    verdict = "✅ the gate passes" if s.gate == "pass" else "❌ the gate fails"
    rate = s.passed / s.records if s.records else None
    out = [
        f"## dqe check: {verdict}",
        "",
        f"**{s.records:,} records**: {s.passed:,} passed, {s.rejected:,} rejected, {s.invalid:,} invalid "
        f"(pass rate {percent(rate)}) in {len(report.files)} file{'s' if len(report.files) != 1 else ''}: "
        + ", ".join(md(relative_path(f.path)) for f in report.files[:5])
        + (f" and {len(report.files) - 5} more" if len(report.files) > 5 else ""),
        "",
        "### Gate",
        "",
        "| metric | value | measured on | thresholds | state |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for m in report.gate.metrics:
        state = _STATE[m.state] + (f": {md(m.reason)}" if m.reason else "")
        out.append(
            f"| {md(m.name)} | {number(m.value)} | {md(interval_text(m)) or '-'} | {md(threshold_text(m)) or '-'} | {state} |"
        )
    out += [
        "",
        "### Rules",
        "",
        "| code | name | severity | failed | of | what fails |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for r in report.rules:
        failed = f"**{number(r.failed)}**" if r.failed else "0"
        if r.errors:
            failed += f" (+{number(r.errors)} errors)"
        if r.skipped:
            failed = f"skipped: {md(r.skipped)}"
        out.append(
            f"| {r.code} | {md(r.name)} | {r.severity} | {failed} | {'-' if r.skipped else number(r.evaluated)} | {md(r.summary)} |"
        )
    facts = dataset_facts(report.dataset)
    if facts:
        out += ["", "### Data set", ""]
        out += [f"- **{name}**: {md(line)}" for name, line in facts]
    if report.errors:
        out += ["", "### Rule errors (the check is incomplete)", ""]
        out += [
            f"- {e.code} (plugin {md(e.plugin)}) {md(relative_source(e.source) if e.source else 'data set')}: {md(_clip(e.message))}"
            for e in report.errors[:10]
        ]
    by_code: dict[str, list[str]] = {}
    for f in report.findings:
        shown = by_code.setdefault(f.code, [])
        if len(shown) < _SHOWN_PER_RULE:
            shown.append(f"| {md(relative_source(f.source))} | {f.severity} | {md(_clip(f.explained))} |")
    if by_code:
        out += ["", "### Failing records (a sample)", ""]
        names = {r.code: r for r in report.rules}
        for code, rows in by_code.items():
            rule = names.get(code)
            title = f"{code} {html.escape(rule.name)}: {number(rule.failed)} records" if rule else html.escape(code)
            out += [
                "<details>",
                f"<summary>{title}</summary>",
                "",
                "| source | severity | message |",
                "| --- | --- | --- |",
                *rows,
                "",
                "</details>",
                "",
            ]
    out += [
        "",
        f"<sub>dqe {report.version} · config {md(report.config.path or 'defaults')} · sha256 {report.config.sha256[:12]}</sub>",
    ]
    return "\n".join(out).rstrip() + "\n"
