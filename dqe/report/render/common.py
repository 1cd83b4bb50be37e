"""What several renderers say the same way: numbers, sources, gate metrics, data-set facts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dqe.engine.gate import MetricResult
from dqe.report.model import INVALID_CODE

if TYPE_CHECKING:
    import polars as pl


def number(value: float | int | None) -> str:
    """1,234 for counts, 0.123 for fractions, - for nothing."""
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3f}".rstrip("0")
    return f"{int(value):,}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def statuses(findings: pl.DataFrame) -> pl.DataFrame:
    """record, status of each record with findings, from its findings alone (as the engine
    decides: invalid for DQ000, rejected for any error, else passed with warnings), so that
    a renderer need not build the frame of every record."""
    import polars as pl

    return findings.group_by("record").agg(
        status=pl.when((pl.col("code") == INVALID_CODE).any())
        .then(pl.lit("invalid"))
        .when((pl.col("severity") == "error").any())
        .then(pl.lit("rejected"))
        .otherwise(pl.lit("passed"))
    )


def split_source(source: str) -> tuple[str, int | None]:
    """("data.jsonl", 17) from "data.jsonl:17"; the line is None when there is none."""
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return source, None


def relative_path(path: str) -> str:
    """An absolute path under the current folder as a relative POSIX path (how CI systems name
    files in a checkout); any other path as it was given."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path
    return path


def relative_source(source: str) -> str:
    """file:line with the file as ``relative_path`` gives it."""
    path, line = split_source(source)
    return relative_path(path) + (f":{line}" if line is not None else "")


def threshold_text(metric: MetricResult) -> str:
    """ "fail < 0.8, warn < 0.95" (or > for a maximum), empty when no threshold is set."""
    op = "<" if metric.direction == "min" else ">"
    return ", ".join(
        f"{kind} {op} {number(limit)}"
        for kind, limit in (("fail", metric.fail), ("warn", metric.warn))
        if limit is not None
    )


def interval_text(metric: MetricResult) -> str:
    """ "n = 40, 95% CI 0.446-0.737": what a metric was measured on and how sure it is; empty
    for a count, which is exact."""
    parts = []
    if metric.n is not None:
        parts.append(f"n = {metric.n:,}")
    if metric.ci_low is not None and metric.ci_high is not None:
        parts.append(f"95% CI {number(metric.ci_low)}-{number(metric.ci_high)}")
    return ", ".join(parts)


def gate_sentence(metric: MetricResult) -> str:
    """One sentence on a metric against its thresholds, for annotations and test cases: its
    value, interval and state, and why it warns, fails or was not measured."""
    if metric.value is None:
        return f"{metric.name}: {metric.reason or f'not measured (no rule reported {metric.key})'}"
    limits = threshold_text(metric)
    measured = ", ".join(p for p in (f"{metric.name} = {number(metric.value)}", interval_text(metric)) if p)
    why = f"; {metric.reason}" if metric.reason else ""
    return f"{measured} ({metric.state}; {limits or 'no threshold'}{why}): {metric.description}"


def flatten_numbers(value: Any, prefix: str = "") -> dict[str, float | str]:
    """Numeric and short string leaves of a nested dict, by dotted key ("tokens.total.p50")."""
    out: dict[str, float | str] = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            out.update(flatten_numbers(inner, f"{prefix}{key}."))
    elif isinstance(value, bool):
        out[prefix.rstrip(".")] = str(value).lower()
    elif isinstance(value, int | float) or isinstance(value, str) and len(value) <= 80:
        out[prefix.rstrip(".")] = value
    return out


def _top(counts: dict[str, Any], n: int = 6) -> str:
    items = sorted(((k, v) for k, v in counts.items() if isinstance(v, int | float)), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k} {number(v)}" for k, v in items[:n])
    return shown + (f", +{len(items) - n} more" if len(items) > n else "")


def dataset_facts(dataset: dict[str, Any]) -> list[tuple[str, str]]:
    """(section, one line) for each data-set section a renderer knows, in a fixed order."""
    facts: list[tuple[str, str]] = []
    tokens = dataset.get("tokens")
    if isinstance(tokens, dict) and isinstance(tokens.get("total"), dict):
        t = tokens["total"]
        line = f"total p50 {number(t.get('p50'))}, p90 {number(t.get('p90'))}, p99 {number(t.get('p99'))}, max {number(t.get('max'))}"
        if "over_limit" in tokens:
            line += f"; {number(tokens['over_limit'])} over {number(tokens.get('max_tokens'))}"
        line += f" ({tokens.get('tokenizer', '?')}, {tokens.get('template', '?')} template)"
        facts.append(("tokens", line))
    languages = dataset.get("languages")
    if isinstance(languages, dict):
        parts = [
            f"{side}: {_top(languages[side])}"
            for side in ("question", "answer")
            if isinstance(languages.get(side), dict)
        ]
        if "mismatch" in languages:
            parts.append(f"question/answer mismatch {number(languages['mismatch'])}")
        facts.append(("languages", "; ".join(parts)))
    categories = dataset.get("categories")
    if isinstance(categories, dict):
        parts = []
        if isinstance(categories.get("counts"), dict):
            parts.append(f"{len(categories['counts'])} categories")
        for key in ("entropy", "imbalance"):
            if key in categories:
                parts.append(f"{key} {number(categories[key])}")
        if categories.get("uncertain"):
            parts.append(f"{number(categories['uncertain'])} uncertain")
        if categories.get("missing"):
            parts.append("missing: " + ", ".join(map(str, categories["missing"])))
        facts.append(("categories", "; ".join(parts)))
    subjects = dataset.get("subjects")
    if isinstance(subjects, dict) and isinstance(subjects.get("counts"), dict):
        facts.append(("subjects", _top(subjects["counts"])))
    domains = dataset.get("domains")
    if isinstance(domains, dict):
        line = f"vertical share {percent(domains.get('vertical_share'))}"
        if domains.get("max_vertical_share") is not None:
            line += f" (max {percent(domains['max_vertical_share'])})"
        if isinstance(domains.get("counts"), dict):
            line += f"; {_top(domains['counts'])}"
        facts.append(("domains", line))
    cot = dataset.get("cot")
    if isinstance(cot, dict):
        facts.append(
            (
                "cot",
                f"chain of thought in {percent(cot.get('share'))} of records, "
                f"{percent(cot.get('share_reasoning'))} of {number(cot.get('reasoning_records'))} reasoning records",
            )
        )
    duplicates = dataset.get("duplicates")
    if isinstance(duplicates, dict):
        facts.append(
            (
                "duplicates",
                f"rate {percent(duplicates.get('rate'))}; {number(duplicates.get('exact'))} exact, "
                f"{number(duplicates.get('near'))} near, {number(duplicates.get('clusters'))} clusters",
            )
        )
    return facts
