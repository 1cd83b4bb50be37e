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
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import polars as pl

from dqe import __version__
from dqe.engine.gate import MetricResult
from dqe.errors import RenderError
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

RECORDS_PER_RULE = 50  # failing records of each rule in the table
MAX_RECORDS = 1000  # in all
TEXT_CHARS = 2000  # of each part of a record's text
TOP = 12  # bars in a plot of many labels (languages, domains, clusters)
_KNOWN_SECTIONS = ("records", "formats", "tokens", "categories", "languages", "domains", "cot", "duplicates")


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
class Plot:
    key: str  # the data-set section, also the figure's id
    title: str
    uri: str  # data:image/svg+xml;base64,...
    alt: str
    facts: list[str] = field(default_factory=list)  # notes of its own; render_html adds the section's
    metrics: list[MetricResult] = field(default_factory=list)
    table: list[tuple[str, ...]] = field(default_factory=list)  # rows under the plot
    table_head: tuple[str, ...] = ()


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


def _mark(report: Report, key: str) -> float | None:
    """The fail threshold (else the warn one) of the gate metric at ``key``."""
    for m in report.gate.metrics:
        if m.key == key:
            return m.fail if m.fail is not None else m.warn
    return None


def _top(counts: dict[str, int], n: int = TOP) -> list[tuple[str, int]]:
    items = sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
    if len(items) <= n:
        return items
    return [*items[: n - 1], (f"{len(items) - n + 1} others", sum(v for _, v in items[n - 1 :]))]


def _facts(report: Report, section: str) -> list[str]:
    """The one-line summary of a data-set section, when there is one."""
    return [line for name, line in dataset_facts(report.dataset) if name == section]


def _token_plot(report: Report) -> Plot | None:
    from dqe.report.render.plots import token_histogram

    tokens = report.dataset.get("tokens")
    if not isinstance(tokens, dict) or not report.has_records:
        return None
    frame = report.tokens
    if "tokens_question" not in frame.columns or frame.height == 0:
        return None
    columns = {
        c: frame[c].to_numpy() for c in ("tokens_question", "tokens_answer", "tokens_total") if c in frame.columns
    }
    cap = tokens.get("max_tokens")
    uri = token_histogram(
        columns["tokens_question"], columns["tokens_answer"], columns.get("tokens_total"), cap, tokens.get("over_limit")
    )
    rows = []
    for key in ("question", "answer", "total"):
        t = tokens.get(key)
        if isinstance(t, dict):
            rows.append((key, *(number(t.get(k)) for k in ("mean", "p50", "p90", "p99", "max"))))
    return Plot(
        key="tokens",
        title="Token length per record",
        uri=uri,
        alt=f"Histogram of token counts per record for question, answer and formatted total; max-tokens {cap}",
        table=rows,
        table_head=("", "mean", "p50", "p90", "p99", "max"),
    )


def _category_plot(report: Report) -> Plot | None:
    from dqe.report.render.plots import AMBER, BLUE, GREY, share_bars

    section = report.dataset.get("categories")
    if not isinstance(section, dict) or not isinstance(section.get("counts"), dict):
        return None
    counts: dict[str, int] = {str(k): int(v) for k, v in section["counts"].items()}
    target: dict[str, float] = {str(k): float(v) for k, v in (section.get("target") or {}).items()}
    names = sorted(set(counts) | set(target), key=lambda c: (-counts.get(c, 0), c))
    total = sum(counts.values()) or 1
    shares = [counts.get(c, 0) / total for c in names]
    marks = [target.get(c) for c in names] if target else None
    colors = [
        GREY if counts.get(c, 0) == 0 else AMBER if target and c in target and shares[i] > 1.5 * target[c] else BLUE
        for i, c in enumerate(names)
    ]
    notes = ["missing" if counts.get(c, 0) == 0 else "" for c in names]
    uri = share_bars("", names, shares, marks=marks, colors=colors, notes=notes)
    return Plot(
        key="categories",
        title="Task categories against their target",
        uri=uri,
        alt="Share of records per task category, with the target share of each marked",
        facts=["Amber bars: above 1.5 times their target share; grey: missing."] if target else [],
    )


def _language_plot(report: Report) -> Plot | None:
    from dqe.report.render.plots import paired_bars

    section = report.dataset.get("languages")
    if not isinstance(section, dict):
        return None
    question = {str(k): int(v) for k, v in (section.get("question") or {}).items()}
    answer = {str(k): int(v) for k, v in (section.get("answer") or {}).items()}
    if not question and not answer:
        return None
    both = {k: question.get(k, 0) + answer.get(k, 0) for k in set(question) | set(answer)}
    top = [k for k, _ in _top(both, TOP)]
    named = set(top)
    labels, first, second = [], [], []
    for label in top:
        if label in both:
            labels.append(label)
            first.append(question.get(label, 0))
            second.append(answer.get(label, 0))
        else:  # the "N others" bucket
            labels.append(label)
            first.append(sum(v for k, v in question.items() if k not in named))
            second.append(sum(v for k, v in answer.items() if k not in named))
    uri = paired_bars("", labels, first, second, ("question", "answer"))
    return Plot(
        key="languages",
        title="Language of question and answer",
        uri=uri,
        alt="Records per detected language, question and answer side by side",
    )


def _domain_plot(report: Report) -> Plot | None:
    from dqe.report.render.plots import BLUE, GREY, RED, share_bars

    section = report.dataset.get("domains")
    if not isinstance(section, dict):
        return None
    counts = {str(k): int(v) for k, v in (section.get("counts") or {}).items()}
    records = report.dataset.get("records", {}).get("total") or sum(counts.values()) or 1
    top = _top(counts, TOP - 1)
    labels = [k for k, _ in top]
    shares = [v / records for _, v in top]
    marks: list[float | None] = [None] * len(labels)
    colors = [BLUE] * len(labels)
    vertical = section.get("vertical_share")
    if isinstance(vertical, int | float):
        limit = _mark(report, "domains.vertical_share")
        if limit is None and isinstance(section.get("max_vertical_share"), int | float):
            limit = float(section["max_vertical_share"])
        labels.append("all vertical domains")
        shares.append(float(vertical))
        marks.append(limit)
        colors.append(RED if limit is not None and vertical > limit else GREY)
    if not labels:
        return None
    uri = share_bars("", labels, shares, marks=marks, mark_label="maximum", colors=colors)
    return Plot(
        key="domains",
        title="Vertical domains: share of records",
        uri=uri,
        alt="Share of records per domain and of all vertical-domain records, with the maximum marked",
    )


def _cot_plot(report: Report) -> Plot | None:
    from dqe.report.render.plots import BLUE, share_bars

    section = report.dataset.get("cot")
    if not isinstance(section, dict):
        return None
    labels, shares, marks = [], [], []
    for key, label in (("share", "all records"), ("share_reasoning", "reasoning records")):
        if isinstance(section.get(key), int | float):
            labels.append(label)
            shares.append(float(section[key]))
            marks.append(_mark(report, f"cot.{key}"))
    if not labels:
        return None
    uri = share_bars("", labels, shares, marks=marks, mark_label="gate threshold", colors=[BLUE] * len(labels))
    return Plot(
        key="cot",
        title="Chain of thought: share of records with reasoning steps",
        uri=uri,
        alt="Share of records with chain of thought, overall and among reasoning records",
    )


def _duplicate_plot(report: Report) -> Plot | None:
    from dqe.report.render.plots import count_bars

    section = report.dataset.get("duplicates")
    if not isinstance(section, dict):
        return None
    largest = [c for c in section.get("largest") or [] if isinstance(c, dict)][:TOP]
    if not largest:
        return Plot(key="duplicates", title="Duplicates", uri="", alt="")
    labels = [f"#{i + 1} {str(c.get('id', ''))[:12]}" for i, c in enumerate(largest)]
    sizes = [int(c.get("size", 0)) for c in largest]
    rows = []
    for label, cluster in zip(labels, largest, strict=True):
        for example in (cluster.get("examples") or [])[:3]:
            if isinstance(example, dict):
                text = str(example.get("text", ""))
                rows.append((label, str(example.get("source", "")), text[:400] + ("…" if len(text) > 400 else "")))
    return Plot(
        key="duplicates",
        title="Largest duplicate clusters",
        uri=count_bars("", labels, sizes, xlabel="records in the cluster"),
        alt="Records in each of the largest duplicate clusters",
        table=rows,
        table_head=("cluster", "source", "example"),
    )


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


def _other_sections(report: Report) -> list[tuple[str, list[tuple[str, str]]]]:
    """Sections no plot knows (a plugin's metrics), as key/value rows."""
    out = []
    for name, value in report.dataset.items():
        if name in _KNOWN_SECTIONS or not isinstance(value, dict):
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


def render_html(report: Report) -> str:
    env = environment()
    # each section's plot, with the section's one-line summary and gate metrics beside it
    plots = [
        replace(p, facts=[*_facts(report, p.key), *p.facts], metrics=_metrics_for(report, p.key))
        for p in (
            _token_plot(report),
            _category_plot(report),
            _language_plot(report),
            _domain_plot(report),
            _cot_plot(report),
            _duplicate_plot(report),
        )
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
        other_sections=_other_sections(report),
        records=records,
        failing_total=failing_total,
        codes=_codes(records),
        names={r.code: r.name for r in report.rules},
        statuses=sorted({r.status for r in records if r.status}),
        text_chars=TEXT_CHARS,
    )
