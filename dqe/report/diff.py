"""``dqe diff before.json after.json``: what changed between two JSON reports of data that
evolves: the summary, gate metrics, failures per rule, data-set metrics, and the records that
newly fail or no longer fail.

Records are matched by their content hash (``id``), so a record moved to another line is the
same record, and an edited record is a new one. Findings in a JSON report are sampled per rule
unless the check ran with ``--all-findings``; the diff says when its record lists are partial.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.text import Text

from dqe.errors import InputError
from dqe.report.model import Report
from dqe.report.render.common import flatten_numbers, number
from dqe.report.render.text import titled_table


class Change(BaseModel):
    name: str
    before: float | str | None
    after: float | str | None


class RuleChange(BaseModel):
    code: str
    name: str
    failed_before: int | None  # None: the rule did not run
    failed_after: int | None


class RecordChange(BaseModel):
    id: str | None
    source: str  # where the record is in the report it fails in
    codes: list[str]


class ReportDiff(BaseModel):
    before: str
    after: str
    summary: list[Change]
    gate: list[Change]  # metric values; the verdict is in summary
    rules: list[RuleChange]  # rules whose failures changed, or that ran in only one report
    dataset: list[Change]  # data-set numbers that changed, by dotted key
    newly_failing: list[RecordChange]
    fixed: list[RecordChange]  # failing before, not failing after (or gone)
    complete: bool  # both reports hold every finding, so the record lists are complete


def load_report(path: Path) -> Report:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return Report.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: not a dqe JSON report (dqe check --format json): {where}: {first['msg']}") from None


def _failing(report: Report) -> dict[str, RecordChange]:
    out: dict[str, RecordChange] = {}
    for f in report.findings:
        key = f.id or f.source  # an invalid record has no id: match it by place
        change = out.setdefault(key, RecordChange(id=f.id, source=f.source, codes=[]))
        if f.code not in change.codes:
            change.codes.append(f.code)
    return out


def diff_reports(old: Report, new: Report, *, before: str = "before", after: str = "after") -> ReportDiff:
    summary = [
        Change(name=key, before=getattr(old.summary, key), after=getattr(new.summary, key))
        for key in ("records", "passed", "rejected", "invalid", "errors", "gate")
    ]
    old_gate = {m.name: m for m in old.gate.metrics}
    new_gate = {m.name: m for m in new.gate.metrics}
    gate = [
        Change(
            name=name,
            before=old_gate[name].value if name in old_gate else None,
            after=new_gate[name].value if name in new_gate else None,
        )
        for name in dict.fromkeys([*old_gate, *new_gate])
    ]
    old_rules = {r.code: r for r in old.rules}
    new_rules = {r.code: r for r in new.rules}
    rules = []
    for code in sorted(set(old_rules) | set(new_rules)):
        a, b = old_rules.get(code), new_rules.get(code)
        failed_before = a.failed if a else None
        failed_after = b.failed if b else None
        if failed_before != failed_after:
            rules.append(
                RuleChange(code=code, name=(b or a).name, failed_before=failed_before, failed_after=failed_after)
            )  # type: ignore[union-attr]
    old_numbers = flatten_numbers(old.dataset)
    new_numbers = flatten_numbers(new.dataset)
    dataset = [
        Change(name=key, before=old_numbers.get(key), after=new_numbers.get(key))
        for key in sorted(set(old_numbers) | set(new_numbers))
        if old_numbers.get(key) != new_numbers.get(key)
    ]
    old_failing = _failing(old)
    new_failing = _failing(new)
    return ReportDiff(
        before=before,
        after=after,
        summary=summary,
        gate=gate,
        rules=rules,
        dataset=dataset,
        newly_failing=[c for key, c in new_failing.items() if key not in old_failing],
        fixed=[c for key, c in old_failing.items() if key not in new_failing],
        complete=old.findings_complete and new.findings_complete,
    )


def _value(value: float | str | None) -> str:
    return number(value) if isinstance(value, int | float) or value is None else value


def _delta(before: float | str | None, after: float | str | None) -> Text:
    if isinstance(before, int | float) and isinstance(after, int | float):
        d = after - before
        if d == 0:
            return Text("")
        sign = "+" if d > 0 else "-"
        return Text(f"{sign}{number(abs(d))}", style="dim")
    return Text("changed" if before != after else "", style="dim")


def render_diff(result: ReportDiff, *, limit: int = 20, color: bool = False, width: int = 120) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=color, color_system="standard" if color else None, highlight=False
    )
    console.print(Text.assemble(("dqe diff ", "bold"), result.before, " -> ", result.after))

    def table(title: str, rows: list[tuple[str, Any, Any]]) -> None:
        t = titled_table(title, {"": "left", "before": "right", "after": "right", "change": "right"})
        for name, before, after in rows:
            t.add_row(name, _value(before), _value(after), _delta(before, after))
        console.print()
        console.print(t)

    table("Summary", [(c.name, c.before, c.after) for c in result.summary])
    if result.gate:
        table("Gate metrics", [(c.name, c.before, c.after) for c in result.gate])
    if result.rules:
        table("Failures per rule", [(f"{r.code} {r.name}", r.failed_before, r.failed_after) for r in result.rules])
    else:
        console.print()
        console.print(Text("Failures per rule: unchanged", style="bold"))
    if result.dataset:
        table("Data-set metrics that changed", [(c.name, c.before, c.after) for c in result.dataset])
    for title, records, style in (
        ("Newly failing records", result.newly_failing, "red"),
        ("No longer failing", result.fixed, "green"),
    ):
        console.print()
        console.print(Text(f"{title}: {len(records):,}", style="bold"))
        for change in records if limit == 0 else records[:limit]:
            console.print(
                Text.assemble(
                    "  ",
                    (change.source, "cyan"),
                    "  ",
                    (" ".join(change.codes), style),
                    (f"  id {change.id}" if change.id else "", "dim"),
                )
            )
        if limit and len(records) > limit:
            console.print(Text(f"  ... and {len(records) - limit:,} more (--limit 0 for all)", style="dim"))
    if not result.complete:
        console.print()
        console.print(
            Text(
                "Findings in these reports are sampled per rule, so the record lists are partial: "
                "run dqe check --all-findings --format json for a complete diff.",
                style="yellow",
            )
        )
    return out.getvalue()
