"""The built-in sections of the HTML report: a plot for each data-set section dqe's own rules
measure (token lengths, categories against their target, languages, vertical domains, chain
of thought, duplicate clusters, and the model's scores when a score file is given). Registered through ``dqe_register_sections``, the hook a
plugin uses to add its own; plots are drawn from the report's aggregates (token lengths from
its per-record frame), so they cost the same on any size of data set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dqe.hookspecs import hookimpl
from dqe.report.section import Plot, ReportSection

if TYPE_CHECKING:
    from dqe.report.model import Report

TOP = 12  # bars in a plot of many labels (languages, domains, clusters)


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


def _token_plot(report: Report) -> Plot | None:
    from dqe.report.render.common import number
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
    from dqe.report.render.common import relative_source
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
                source = relative_source(str(example.get("source", "")))
                rows.append((label, source, text[:400] + ("…" if len(text) > 400 else "")))
    return Plot(
        key="duplicates",
        title="Largest duplicate clusters",
        uri=count_bars("", labels, sizes, xlabel="records in the cluster"),
        alt="Records in each of the largest duplicate clusters",
        table=rows,
        table_head=("cluster", "source", "example"),
    )


def _score_plot(report: Report) -> Plot | None:
    from dqe.report.render.common import number
    from dqe.report.render.plots import score_histograms

    section = report.dataset.get("scores")
    histograms = section.get("histograms") if isinstance(section, dict) else None
    if not isinstance(histograms, dict):
        return None
    ifd, ppl = (histograms.get(k) or {} for k in ("ifd", "ppl"))
    uri = score_histograms((ifd["edges"], ifd["counts"]), (ppl["edges"], ppl["counts"]))
    rows = [
        (key, *(number(section[key].get(k)) for k in ("mean", "p10", "p50", "p90")))
        for key in ("ifd", "ppl")
        if isinstance(section.get(key), dict)
    ]
    at_or_above = section.get("ifd", {}).get("at_or_above_1", 0)
    return Plot(
        key="scores",
        title="Model scores: IFD and perplexity",
        uri=uri,
        alt="Histograms of IFD, with 1 marked, and of the answer's perplexity with the question",
        table=rows,
        table_head=("", "mean", "p10", "p50", "p90"),
        facts=[
            f"{number(section.get('scored'))} of {number(section.get('records'))} records scored with "
            f"{section.get('model')} (template {section.get('template')}); {number(at_or_above)} at or above "
            "IFD 1 (the red line: the question does not help predict the answer); IFD above 2 is counted at 2."
        ],
    )


class _Drawn(ReportSection):
    """A built-in section: its key and the function that draws it."""

    def __init__(self, key: str, draw: Callable[[Report], Plot | None]):
        self.key = key
        self._draw = draw

    def plot(self, report: Report) -> Plot | None:
        return self._draw(report)


BUILTIN_SECTIONS = tuple(
    _Drawn(key, draw)
    for key, draw in (
        ("tokens", _token_plot),
        ("categories", _category_plot),
        ("languages", _language_plot),
        ("domains", _domain_plot),
        ("cot", _cot_plot),
        ("duplicates", _duplicate_plot),
        ("scores", _score_plot),
    )
)


@hookimpl
def dqe_register_sections(register):
    for section in BUILTIN_SECTIONS:
        register(section)
