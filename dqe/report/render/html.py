"""The HTML report: one self-contained page to decide whether a data set is fit to train on.

It shows the gate verdict and each gate metric against its thresholds, failures per rule,
plots of the data-set sections the rules measured (token lengths, categories against their
target, languages, vertical domains, chain of thought, duplicate clusters), and a searchable
table of failing records with every reason and the record's text.

Safe and offline by construction: the template autoescapes (record text holds ``<script>``,
HTML and Markdown and must show as text); plots are SVG data URIs in ``<img>``; and a
Content-Security-Policy lets the page load nothing from anywhere and run only its own script,
by hash, so even a missed escape could not run code. Bounded for big data sets: plots come
from aggregates, and the table holds a sample of failing records, whose text is read again
from the inputs (the engine keeps none).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import polars as pl

from dqe import __version__
from dqe.engine.gate import MetricResult
from dqe.errors import PluginError, RenderError
from dqe.guard import blame
from dqe.io.reread import RecordText
from dqe.report.model import Report
from dqe.report.render.common import (
    dataset_facts,
    flatten_numbers,
    interval_text,
    number,
    percent,
    relative_source,
    statuses,
    threshold_text,
)
from dqe.report.section import Plot, ReportSection

RECORDS_PER_RULE = 50  # failing records of each rule in the table
MAX_RECORDS = 1000  # in all
TEXT_CHARS = 2000  # of each part of a record's text
_TABLE_FREE = ("records", "formats")  # data-set sections the page's header already shows


def require_dependencies() -> None:
    """Raise RenderError unless the [html] extra (matplotlib, jinja2) is installed."""
    missing = []
    for module in ("matplotlib", "jinja2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise RenderError(f"the HTML report needs {' and '.join(missing)}: pip install 'dqe[html]'")


@dataclass
class Reason:
    code: str
    name: str
    severity: str
    score: float
    message: str
    turn: int | None = None
    evidence: str | None = None


@dataclass
class FailingRecord:
    record: int
    source: str
    id: str | None
    status: str
    reasons: list[Reason]
    text: RecordText | None


def _asset(name: str) -> str:
    return resources.files("dqe.report.render").joinpath("templates", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _metrics_for(report: Report, section: str) -> list[MetricResult]:
    return [m for m in report.gate.metrics if m.key.split(".", 1)[0] == section]


def _facts(report: Report, section: str) -> list[str]:
    """The one-line summary of a data-set section, when there is one."""
    return [line for name, line in dataset_facts(report.dataset) if name == section]


def _section_plot(section: ReportSection, report: Report) -> Plot | None:
    """A section's plot; a section is plugin code: what it raises, or returns that is not a
    Plot, is a PluginError naming it."""
    label = f"report section '{section.key}'"
    with blame(f"{label} plot()"):
        plot = section.plot(report)
    if plot is not None and not isinstance(plot, Plot):
        raise PluginError(f"{label}: plot() returned {type(plot).__name__}, expected a dqe.Plot or None")
    return plot


def _rule_plot(report: Report) -> Plot | None:
    from dqe.report.render.plots import AMBER, GREY, RED, count_bars

    failing = sorted((r for r in report.rules if r.failed or r.errors), key=lambda r: -(r.failed + r.errors))
    if not failing:
        return None
    colors = [RED if r.severity == "error" else AMBER if r.severity == "warning" else GREY for r in failing]
    uri = count_bars(
        "Failing records per rule",
        [f"{r.code} {r.name}" for r in failing],
        [r.failed + r.errors for r in failing],
        colors=colors,
        width=4.6,
    )
    return Plot(key="rules", title="Failures per rule", uri=uri, alt="Failing records per rule")


def _other_sections(report: Report, plotted: set[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Data-set sections that no registered section plots (a plugin's metrics), as key/value rows."""
    out = []
    for name, value in report.dataset.items():
        if name in plotted or name in _TABLE_FREE or not isinstance(value, dict):
            continue
        rows = [(key, number(v) if isinstance(v, int | float) else str(v)) for key, v in flatten_numbers(value).items()]
        if rows:
            out.append((name, rows))
    return out


def select_failing(findings: pl.DataFrame, per_rule: int = RECORDS_PER_RULE, limit: int = MAX_RECORDS) -> list[int]:
    """Records for the table: the first ``per_rule`` failing records of each rule (fewer when
    many rules fail, so that every rule shows), at most ``limit`` in all."""
    if findings.height == 0:
        return []
    codes = findings["code"].n_unique()
    each = max(1, min(per_rule, limit // codes))
    picked = (
        findings.select("record", "code")
        .unique(maintain_order=True)
        .filter(pl.int_range(pl.len()).over("code") < each)["record"]
        .unique()
        .sort()
    )
    return picked.head(limit).to_list()


def failing_records(report: Report) -> tuple[list[FailingRecord], int]:
    """The sampled failing records with every reason and their text, and how many fail in all."""
    names = {r.code: r.name for r in report.rules}
    if report.has_records:
        findings = report.findings_frame
    else:  # loaded from JSON: the findings it holds, and no text
        findings = pl.DataFrame(
            [f.model_dump() for f in report.findings],
            schema={
                "record": pl.Int64,
                "source": pl.String,
                "id": pl.String,
                "code": pl.String,
                "severity": pl.String,
                "score": pl.Float64,
                "message": pl.String,
                "turn": pl.Int32,
                "evidence": pl.String,
            },
        )
    total = findings["record"].n_unique() if findings.height else 0
    chosen = select_failing(findings)
    texts = report.record_texts(chosen, max_chars=TEXT_CHARS) if report.has_records else {}
    status_of = dict(statuses(findings.filter(pl.col("record").is_in(chosen))).iter_rows())
    rows: dict[int, FailingRecord] = {}
    for f in findings.filter(pl.col("record").is_in(chosen)).sort("record", "code").iter_rows(named=True):
        record = f["record"]
        if record not in rows:
            rows[record] = FailingRecord(record, f["source"], f["id"], status_of.get(record, ""), [], texts.get(record))
        rows[record].reasons.append(
            Reason(
                f["code"],
                names.get(f["code"], ""),
                f["severity"],
                f["score"],
                f["message"] or "",
                f["turn"],
                f["evidence"],
            )
        )
    return list(rows.values()), total


def _codes(records: Iterable[FailingRecord]) -> list[str]:
    return sorted({r.code for rec in records for r in rec.reasons})


def environment() -> Any:
    """The jinja2 environment of dqe's HTML pages: autoescaped, strict, with dqe's filters."""
    require_dependencies()
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("dqe.report.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["percent"] = percent
    env.filters["thresholds"] = threshold_text
    env.filters["interval"] = interval_text
    env.filters["short_source"] = relative_source
    return env


def page_assets() -> dict[str, str]:
    """What layout.html.j2 needs besides its blocks: the style, the script, and a
    Content-Security-Policy that allows those two (by hash) and nothing from anywhere."""
    script = _asset("report.js")
    style = _asset("report.css")
    csp = f"default-src 'none'; img-src data:; style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; base-uri 'none'; form-action 'none'"
    return {"style": style, "script": script, "csp": csp, "version": __version__}


def render_html(report: Report, sections: Sequence[ReportSection] | None = None) -> str:
    """The page; ``sections`` are the registered report sections (the built-in ones when None)."""
    env = environment()
    if sections is None:
        from dqe.report.render.sections import BUILTIN_SECTIONS

        sections = list(BUILTIN_SECTIONS)
    # each section's plot, with the section's one-line summary and gate metrics beside it
    plots = [
        replace(p, facts=[*_facts(report, p.key), *p.facts], metrics=_metrics_for(report, p.key))
        for p in (_section_plot(section, report) for section in sections)
        if p
    ]
    records, failing_total = failing_records(report)
    s = report.summary
    return env.get_template("report.html.j2").render(
        **page_assets(),
        report=report,
        summary=s,
        pass_rate=s.passed / s.records if s.records else None,
        plots=plots,
        rule_plot=_rule_plot(report),
        # the rules that found something (or were skipped) first; the rest folded away
        shown=[r for r in report.rules if r.failed or r.errors or r.skipped],
        quiet=[r for r in report.rules if not (r.failed or r.errors or r.skipped)],
        other_sections=_other_sections(report, {s.key for s in sections}),
        records=records,
        failing_total=failing_total,
        codes=_codes(records),
        names={r.code: r.name for r in report.rules},
        statuses=sorted({r.status for r in records if r.status}),
        text_chars=TEXT_CHARS,
    )
