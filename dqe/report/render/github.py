"""GitHub Actions workflow commands: ``::error file=data.jsonl,line=17,title=...::message``.

Printed in a workflow step, each failing record becomes an annotation on its file and line,
and each gate metric that fails or warns an annotation of its own. Findings are the report's
sample per rule (``--all-findings`` for every one; GitHub shows only the first few per step).
"""

from __future__ import annotations

from dqe.report.model import Report
from dqe.report.render.common import gate_sentence, relative_path, split_source

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{level}{' ' + props if props else ''}::{escape_data(message)}"


def render_github(report: Report) -> str:
    names = {r.code: r.name for r in report.rules}
    lines = []
    for f in report.findings:
        path, line = split_source(f.source)
        lines.append(
            command(
                _LEVEL.get(f.severity, "warning"),
                f.explained,
                file=relative_path(path),
                line=line,
                title=f"dqe {f.code} {names.get(f.code, '')}".rstrip(),
            )
        )
    # a rule that raised, and a rule's warning (a batch error it survived), at the record they name
    notes = [("error", e, f"raised: {e.message}") for e in report.errors]
    notes += [("warning", w, w.message) for w in report.warnings]
    for level, note, said in notes:
        path, line = split_source(note.source) if note.source else (None, None)
        lines.append(
            command(
                level,
                f"rule {note.code} (plugin {note.plugin}) {said}",
                file=relative_path(path) if path else None,
                line=line,
                title=f"dqe rule {level} {note.code}",
            )
        )
    for m in report.gate.metrics:
        if m.state in ("fail", "warn"):
            lines.append(
                command("error" if m.state == "fail" else "warning", gate_sentence(m), title=f"dqe gate: {m.name}")
            )
    s = report.summary
    total = sum(r.failed for r in report.rules)
    sampled = (
        ""
        if report.findings_complete
        else f"; {len(report.findings):,} of {total:,} findings annotated (--all-findings for every one)"
    )
    summary = (
        f"{s.records:,} records: {s.passed:,} passed, {s.rejected:,} rejected, {s.invalid:,} invalid; "
        f"gate {s.gate}{sampled}"
    )
    lines.append(command("error" if s.gate == "fail" else "notice", summary, title=f"dqe gate {s.gate.upper()}"))
    return "\n".join(lines) + "\n"
