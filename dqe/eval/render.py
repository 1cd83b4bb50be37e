"""The evaluation report (``dqe eval``) for a terminal and as an HTML page.

The page is built like the check report's: the same layout template, stylesheet, script and
Content-Security-Policy (``layout.html.j2``, ``report.css``, ``report.js``), an autoescaping
template (``eval.html.j2``), and plots as SVG data URIs; the examples table is searched and
filtered by the check report's script (by rule a model's answer failed, and by which answer is
closer to the reference).
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from dqe.eval.report import MODELS, EvalReport, Metric, RuleShare
from dqe.report.render.common import dataset_facts, number, percent
from dqe.report.render.text import titled_table

EXAMPLES_SHOWN = 200  # examples in the HTML table (all of them are in generations.jsonl)
TEXT_CHARS = 2000  # of each text in the table


def signed(value: float | None, digits: int = 3) -> str:
    """+0.125, -3.2, - for nothing."""
    if value is None:
        return "-"
    text = f"{value:+,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def share_diff(value: float) -> str:
    """A difference of shares in percentage points: +12.5 pp."""
    return f"{value * 100:+.1f} pp"


def _is_share(metric: Metric) -> bool:
    """Metrics that are shares of answers or questions, shown in percent."""
    return metric.name == "unfinished" or metric.name.startswith("choices_")


def metric_value(metric: Metric, value: float | None) -> str:
    if value is None:
        return "-"
    return percent(value) if _is_share(metric) else number(value)


def metric_diff(metric: Metric) -> str:
    if metric.diff is None:
        return "-"
    return share_diff(metric.diff) if _is_share(metric) else signed(metric.diff)


def accuracy(value: float | None) -> str:
    return "-" if value is None else percent(value)


def accuracy_diff(scores: dict[str, dict[str, float | None]], norm: str) -> tuple[str, str]:
    """tuned - base of one accuracy, in percentage points, and its trend."""
    base, tuned = scores["base"][norm], scores["tuned"][norm]
    if base is None or tuned is None:
        return "-", ""
    return share_diff(tuned - base), "" if abs(tuned - base) < 1e-12 else "better" if tuned > base else "worse"


def _trend(improved: bool | None) -> str:
    return "" if improved is None else "better" if improved else "worse"


def _rule_trend(row: RuleShare) -> str:
    return "" if row.tuned == row.base else "better" if row.tuned < row.base else "worse"


# -- terminal --------------------------------------------------------------------------------


def render_eval_text(report: EvalReport, *, color: bool = False, width: int = 120) -> str:
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    r, t = report.run, report.test
    console.print(Text(f"dqe eval {r.dir}", style="bold"))
    adapter = f"{escape(r.adapter)} ({escape(r.adapter_is)})" if r.adapter_is else escape(r.adapter)
    console.print(f"base {escape(r.base_model)} · adapter {adapter} · template {r.template}", style="dim")
    s = report.settings
    decoding = "greedy" if s.temperature == 0 else f"temperature {s.temperature:g}, top-p {s.top_p:g}, seed {s.seed}"
    console.print(
        f"{t.evaluated:,} of {t.records:,} test records answered "
        f"({decoding}, max {s.max_new_tokens:,} new tokens); "
        f"loss over {t.loss_records:,} records, {t.loss_tokens:,} answer tokens",
        style="dim",
    )
    console.print()
    style = {"better": "green", "worse": "red", "": ""}
    metrics = titled_table(
        "Metrics", {"metric": "left", "base": "right", "tuned": "right", "tuned - base": "right", "": "left"}
    )
    for m in report.metrics:
        trend = _trend(m.improved)
        metrics.add_row(
            m.name,
            metric_value(m, m.base),
            metric_value(m, m.tuned),
            Text(metric_diff(m), style=style[trend]),
            Text(trend, style=style[trend]),
        )
    console.print(metrics)
    console.print()
    if report.choices is not None:
        _choices_text(console, report, style)
    rules = titled_table(
        "Answers flagged by dqe's rules",
        {"rule": "left", "name": "left", "base": "right", "tuned": "right", "tuned - base": "right"},
    )
    for row in report.rules:
        trend = _rule_trend(row)
        rules.add_row(
            row.code,
            row.name,
            f"{row.base:,} ({percent(row.base_share)})",
            f"{row.tuned:,} ({percent(row.tuned_share)})",
            Text(share_diff(row.diff), style=style[trend]),
        )
    console.print(rules)
    for line in report.rule_errors[:10]:
        console.print(Text(f"rule error: {line}", style="red"))
    if t.skipped:
        console.print(
            Text(
                f"{len(t.skipped):,} test records left out of the loss or the answers (see the JSON report)",
                style="yellow",
            )
        )
    console.print()
    for name, path in report.outputs.items():
        console.print(f"{name:<12} {escape(path)}")
    return out.getvalue()


def choice_rows(report: EvalReport) -> list[tuple[str, int, dict[str, dict[str, float | None]]]]:
    """(subject, questions, accuracies) per subject, then for all questions."""
    c = report.choices
    if c is None:
        return []
    return [(s.subject, s.questions, s.accuracy) for s in c.subjects] + [("all", c.evaluated, c.accuracy)]


def _choices_text(console: Console, report: EvalReport, style: dict[str, str]) -> None:
    """Multiple-choice accuracy per subject (all questions when the file names none)."""
    c = report.choices
    assert c is not None
    console.print(
        f"multiple choice: {c.evaluated:,} of {c.questions:,} questions of {escape(c.file)} scored "
        "(acc: highest log-likelihood; acc_norm: per byte of the choice)",
        style="dim",
    )
    table = titled_table(
        "Multiple-choice accuracy",
        {"subject": "left", "questions": "right"}
        | {f"{m} {n}": "right" for n in ("acc", "acc_norm") for m in MODELS}
        | {"tuned - base acc": "right", "tuned - base acc_norm": "right"},
    )
    for subject, questions, scores in choice_rows(report):
        diffs = [accuracy_diff(scores, n) for n in ("acc", "acc_norm")]
        table.add_row(
            escape(subject),
            f"{questions:,}",
            *(accuracy(scores[m][n]) for n in ("acc", "acc_norm") for m in MODELS),
            *(Text(text, style=style[trend]) for text, trend in diffs),
        )
    console.print(table)
    if c.skipped:
        console.print(Text(f"{len(c.skipped):,} questions left out (see the JSON report)", style="yellow"))
    console.print()


# -- HTML ------------------------------------------------------------------------------------


def _rule_plot(report: EvalReport) -> str | None:
    from dqe.report.render.plots import paired_bars

    rows = [r for r in report.rules if r.base or r.tuned]
    if not rows:
        return None
    labels = [f"{r.code} {r.name}" if r.code != "any" else "any rule" for r in rows]
    return paired_bars("", labels, [r.base for r in rows], [r.tuned for r in rows], ("base", "tuned"))


def _clip(text: str) -> tuple[str, int]:
    return (text, 0) if len(text) <= TEXT_CHARS else (text[:TEXT_CHARS], len(text) - TEXT_CHARS)


def render_eval_html(report: EvalReport) -> str:
    """One self-contained page: metrics, rule shares, and the examples side by side."""
    from dqe.report.render.html import environment, page_assets

    env = environment()
    env.filters["signed"] = signed
    env.filters["share_diff"] = share_diff
    env.filters["clip"] = _clip
    shown = report.examples[:EXAMPLES_SHOWN]
    codes = sorted({f"{model}:{f.code}" for e in shown for model in MODELS for f in getattr(e, model).flags})
    return env.get_template("eval.html.j2").render(
        **page_assets(),
        report=report,
        models=MODELS,
        metric_value=metric_value,
        metric_diff=metric_diff,
        accuracy=accuracy,
        accuracy_diff=accuracy_diff,
        choice_rows=choice_rows(report),
        trend=_trend,
        rule_trend=_rule_trend,
        rule_plot=_rule_plot(report),
        facts={m: dataset_facts(report.checks.get(m, {})) for m in MODELS},
        examples=shown,
        codes=codes,
        names={r.code: r.name for r in report.rules},
        verdicts=sorted({e.verdict for e in shown}),
        stops={
            m: {s: sum(getattr(e, m).stopped == s for e in report.examples) for s in ("eos", "end-of-turn", "length")}
            for m in MODELS
        },
    )
