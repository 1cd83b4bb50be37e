"""The gate: data-set metrics held to warn and fail thresholds, and the verdict.

The engine measures three metrics itself (pass rate, invalid records, passing records); rules
declare more in ``gate_metrics`` (duplicate rate, category balance, ...). Thresholds come from
the declaration and can be changed in ``[tool.dqe.gate]``: ``pass-rate = {fail = 0.9}``.

Every metric is measured whatever the size of the data set, with a 95% interval where it is an
estimate: a share of ``n`` records gets a Wilson score interval, a rule may give its own. A
metric fails when its whole interval lies past the fail level (the data are surely past it),
and warns when only its value does (40 records at a share of 0.35 against a maximum of 0.3 may
be a sample that happens to lie over it); a count is exact and is held to its levels as it is.
The engine's own metrics are exact too: the pass rate is what these records did, not an
estimate of anything, so one bad record of three fails the gate as it always has.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

from dqe.engine.config import Threshold
from dqe.engine.rule import GateMetric
from dqe.errors import ConfigError, PluginError

ENGINE_METRICS = (
    GateMetric(
        name="pass-rate",
        key="records.pass_rate",
        description="share of records that pass every rule",
        direction="min",
        fail=0.8,
        warn=0.95,
        bounds=(0, 1),
    ),
    GateMetric(
        name="invalid-records",
        key="records.invalid",
        description="records that cannot be read (malformed JSON, wrong types, missing fields)",
        direction="max",
        fail=0,
        bounds=(0, None),
    ),
    GateMetric(
        name="passed-records",
        key="records.passed",
        description="records that pass every rule",
        direction="min",
        fail=1,
        bounds=(0, None),
    ),
)

State = Literal["pass", "warn", "fail", "skipped"]
Z95 = 1.959964  # the normal quantile of a two-sided 95% interval


class MetricResult(BaseModel):
    name: str
    key: str
    description: str
    direction: Literal["min", "max"]
    value: float | None
    fail: float | None
    warn: float | None
    state: State
    n: int | None = None  # the records the metric is measured on, where it is a measure over records
    ci_low: float | None = None  # its 95% interval, where it is an estimate
    ci_high: float | None = None
    reason: str | None = None  # why it warns, fails or was not measured, in words


class GateResult(BaseModel):
    verdict: Literal["pass", "fail"]
    metrics: list[MetricResult]


def resolve_metrics(
    declared: Iterable[GateMetric], configured: dict[str, Threshold], unselected: Iterable[GateMetric] = ()
) -> list[GateMetric]:
    """Declared metrics with the configured thresholds applied; unknown keys are errors.

    A threshold for a metric of a rule left out of this run (``--select DQ001`` with a config
    that sets ``duplicate-rate``) is kept, and shows as skipped: one config serves every run.
    """
    metrics = {m.name: m for m in declared}
    for metric in metrics.values():
        _check_levels(metric, {})
    others = {m.name: m for m in unselected if m.name not in metrics}
    for name, threshold in configured.items():
        if name not in metrics and name in others:
            metrics[name] = others[name]
        if name not in metrics:
            known = sorted({*metrics, *others})
            raise ConfigError(f"'gate.{name}': no such metric; known: {', '.join(known)}")
        given = threshold.model_dump(exclude_unset=True)
        metric = metrics[name].model_copy(update=given)
        if "warn" not in given and _wrong_order(metric):  # a stricter fail level: the default warn could never show
            metric = metric.model_copy(update={"warn": None})
        metrics[name] = _check_levels(metric, given)
    return list(metrics.values())


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    return f"{low:g} or more" if low is not None else f"{high:g} or less"


def _wrong_order(metric: GateMetric) -> bool:
    """Whether the warn level lies past the fail level, where it can never show."""
    if metric.fail is None or metric.warn is None:
        return False
    return metric.warn < metric.fail if metric.direction == "min" else metric.warn > metric.fail


def _check_levels(metric: GateMetric, given: dict[str, Any]) -> GateMetric:
    """``metric`` when its levels lie within its bounds and in order; else a ConfigError naming
    the key the config set, or a PluginError for a metric declared that way."""

    def refuse(level: str, problem: str) -> None:
        if level in given:
            raise ConfigError(f"'gate.{metric.name}.{level}': {problem}")
        raise PluginError(f"gate metric '{metric.name}': its default {level} level {problem}")

    low, high = metric.bounds
    for level in ("fail", "warn"):
        value = getattr(metric, level)
        if value is None or ((low is None or value >= low) and (high is None or value <= high)):
            continue
        # below the least value, a minimum is never crossed and a maximum always is
        never_crossed = (low is not None and value < low) == (metric.direction == "min")
        outcome = {"fail": ("fail", "pass"), "warn": ("warn", "pass without a warning")}[level]
        refuse(
            level,
            f"{value:g} is outside the values {metric.name} can take ({_bounds_text(low, high)}): "
            f"the gate could never {outcome[0] if never_crossed else outcome[1]}",
        )
    if _wrong_order(metric):
        side, kind, where = (
            ("below", "minimum", "at or above") if metric.direction == "min" else ("above", "maximum", "at or below")
        )
        if not given:
            fail = f"its fail level {metric.fail:g}"
        else:
            fail = f"the fail level {metric.fail:g}{'' if 'fail' in given else ' (the default)'}"
        refuse("warn", f"{metric.warn:g} is {side} {fail}: it could never show (a {kind} warns {where} where it fails)")
    return metric


def _breaks(value: float, limit: float | None, direction: str) -> bool:
    if limit is None:
        return False
    return value < limit if direction == "min" else value > limit


def lookup(dataset: dict[str, Any], key: str) -> Any:
    """The value at a dotted path of the dataset section, or None."""
    value: Any = dataset
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def wilson(share: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share of ``n`` trials (95% by default): unlike the
    normal approximation it stays within 0..1 and keeps its coverage for small ``n`` and for
    shares near 0 or 1."""
    if n <= 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _interval(m: GateMetric, dataset: dict[str, Any], value: float, n: int | None) -> tuple[float, float] | None:
    """The 95% interval of a metric: the rule's own, else Wilson's for a share of ``n``."""
    if m.interval_key:
        pair = lookup(dataset, m.interval_key)
        if isinstance(pair, list | tuple) and len(pair) == 2 and all(_number(v) is not None for v in pair):
            return float(pair[0]), float(pair[1])
    if n is not None and m.bounds == (0, 1):
        return wilson(value, n)
    return None


def _judge(m: GateMetric, value: float, interval: tuple[float, float] | None) -> tuple[State, str | None]:
    """The state of a measured metric and, past a level, the reason in words."""
    op = "below" if m.direction == "min" else "above"
    if _breaks(value, m.fail, m.direction):
        if interval is None:
            return "fail", f"{value:.4g} is {op} the fail level {m.fail:g}"
        near = interval[1] if m.direction == "min" else interval[0]  # the end nearest the level
        if _breaks(near, m.fail, m.direction):
            return "fail", f"its whole 95% interval lies {op} the fail level {m.fail:g}"
        return "warn", f"{value:.4g} is {op} the fail level {m.fail:g}, but its 95% interval reaches back to it"
    if _breaks(value, m.warn, m.direction):
        return "warn", f"{value:.4g} is {op} the warn level {m.warn:g}"
    return "pass", None


def evaluate_gate(metrics: list[GateMetric], dataset: dict[str, Any]) -> GateResult:
    results = []
    for m in metrics:
        value = _number(lookup(dataset, m.key))
        counted = _number(lookup(dataset, m.n_key)) if m.n_key else None
        n = int(counted) if counted is not None else None
        low = high = None
        if value is None:
            state: State = "skipped"
            note = lookup(dataset, m.note_key) if m.note_key else None
            if isinstance(note, str) and note:
                reason = f"not measured: {note}"
            elif n == 0:
                reason = "not measured: no records to measure it on (n = 0)"
            else:
                reason = f"not measured: no rule in this run reported {m.key}"
        else:
            interval = _interval(m, dataset, value, n)
            if interval is not None:
                low, high = round(interval[0], 4), round(interval[1], 4)
            state, reason = _judge(m, value, interval)
        results.append(
            MetricResult(**m.model_dump(), value=value, state=state, n=n, ci_low=low, ci_high=high, reason=reason)
        )
    verdict = "fail" if any(r.state == "fail" for r in results) else "pass"
    return GateResult(verdict=verdict, metrics=results)
