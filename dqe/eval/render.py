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

from dqe.engine.ledger import FitLists
from dqe.eval.compare import ComparedMetric, ComparedRule, Comparison
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


def metric_value(metric: Metric | ComparedMetric, value: float | None) -> str:
    if value is None:
        return "-"
    return percent(value) if _is_share(metric) else number(value)


def metric_diff(metric: Metric | ComparedMetric) -> str:
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


def _console(out: io.StringIO, color: bool, width: int) -> Console:
    return Console(
        file=out, width=width, force_terminal=color, color_system="standard" if color else None, highlight=False
    )


def render_eval_text(report: EvalReport, *, color: bool = False, width: int = 120) -> str:
    out = io.StringIO()
    console = _console(out, color, width)
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
    if report.fit is not None:
        console.print()
        print_fit(console, report.fit)
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


FIT_SHOWN = 10  # records of each list on the terminal (all of them are in the JSON report)


def print_fit(console: Console, fit: FitLists) -> None:
    """The training records the run fitted worst for their length, and those it got worse on."""
    lists = (
        ("Training records fitted worst for their length", fit.worst_for_length, "z"),
        ("Training records the run got worse on", fit.got_worse, "rise"),
    )
    for title, misfits, key in lists:
        if not misfits:
            continue
        table = titled_table(
            title,
            {"#": "right", "source": "left", "id": "left", "answer tokens": "right", "loss": "right", key: "right"},
        )
        for m in misfits[:FIT_SHOWN]:
            value = f"{m.z:.1f}" if key == "z" else signed(m.loss - (m.loss_first_epoch or 0.0))
            table.add_row(str(m.rank), escape(m.source), m.id, f"{m.supervised:,}", f"{m.loss:.3f}", value)
        console.print(table)
    fitted = f"{fit.records:,} training records with a loss in {escape(fit.ledger)}"
    counts = f"{len(fit.worst_for_length)} fitted worst (z >= {fit.min_z:g} in their length bucket), {len(fit.got_worse)} got worse"
    console.print(f"{fitted}: {counts}" + (f"; {fit.note}" if fit.note else ""), style="dim")


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


# -- two runs side by side (dqe eval RUN_A --against RUN_B) ------------------------------------


def _compared_rule_trend(row: ComparedRule) -> str:
    """Green where RUN_A's answers are flagged less often."""
    return "" if abs(row.diff) < 1e-12 else "better" if row.diff < 0 else "worse"


def render_comparison_text(c: Comparison, *, color: bool = False, width: int = 120) -> str:
    out = io.StringIO()
    console = _console(out, color, width)
    console.print(Text(f"dqe eval {c.a.dir} --against {c.b.dir}", style="bold"))
    console.print(f"A {escape(c.a.dir)} · B {escape(c.b.dir)} · {c.test_records:,} shared test records", style="dim")
    console.print()
    style = {"better": "green", "worse": "red", "": ""}
    metrics = titled_table("Tuned models", {"metric": "left", "A": "right", "B": "right", "A - B": "right", "": "left"})
    for m in c.metrics:
        trend = _trend(m.a_better)
        label = {"better": "A better", "worse": "B better", "": ""}[trend]
        metrics.add_row(
            m.name, metric_value(m, m.a), metric_value(m, m.b), Text(metric_diff(m), style=style[trend]), label
        )
    console.print(metrics)
    console.print()
    rules = titled_table(
        "Answers flagged by dqe's rules", {"rule": "left", "name": "left", "A": "right", "B": "right", "A - B": "right"}
    )
    for r in c.rules:
        trend = _compared_rule_trend(r)
        rules.add_row(
            r.code,
            r.name,
            f"{r.a:,} ({percent(r.a_share)})",
            f"{r.b:,} ({percent(r.b_share)})",
            Text(share_diff(r.diff), style=style[trend]),
        )
    console.print(rules)
    console.print(
        f"answers closer to the reference (ROUGE-L): A {c.closer.a:,}, B {c.closer.b:,}, tie {c.closer.same:,}"
    )
    console.print()
    for name, path in c.outputs.items():
        console.print(f"{name:<12} {escape(path)}")
    return out.getvalue()


def render_comparison_html(c: Comparison) -> str:
    """One self-contained page: both runs' metrics and rule shares, with the differences."""
    from dqe.report.render.html import environment, page_assets

    env = environment()
    env.filters["share_diff"] = share_diff
    return env.get_template("compare.html.j2").render(
        **page_assets(),
        c=c,
        metric_value=metric_value,
        metric_diff=metric_diff,
        trend=_trend,
        rule_trend=_compared_rule_trend,
    )
