"""The engine: features and record rules batch by batch, then dataset rules, then the gate.

Per batch it keeps only compact per-record columns (ids, token counts, what dataset rules
collect) and the findings, so memory follows the number of records, not their text. A rule
that raises never counts as a pass: the records it failed on are rejected with the error, and
the run reports the error (exit code 2).
"""

from __future__ import annotations

import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel

from dqe.config import LoadedConfig
from dqe.context import Context
from dqe.feature import Feature
from dqe.gate import ENGINE_METRICS, GateResult, evaluate_gate, resolve_metrics
from dqe.plugins import PluginError, Registry
from dqe.reader import FileInfo, Reader
from dqe.rule import DatasetRule, RecordRule, Rule, Severity
from dqe.selection import select_rules

BASE_COLUMNS = ("_idx", "_file", "_line", "_id", "_format")
FINDINGS_SCHEMA = {
    "_idx": pl.UInt64,
    "code": pl.String,
    "severity": pl.String,
    "score": pl.Float64,
    "message": pl.String,
    "error": pl.Boolean,
}
_MAX_RULE_ERRORS = 20  # records a rule may fail on before the engine stops calling it


class RuleErrorInfo(BaseModel):
    code: str
    plugin: str
    source: str | None  # file:line of the record, None for a whole-data-set failure
    message: str


@dataclass
class ActiveRule:
    rule: Rule
    severity: Severity
    plugin: str
    evaluated: int = 0
    failed: int = 0
    errors: int = 0
    broken: str | None = None  # set once the rule failed on too many records to go on

    @property
    def code(self) -> str:
        return self.rule.code


@dataclass
class RunResult:
    files: list[FileInfo]
    rules: list[ActiveRule]
    table: pl.DataFrame  # one row per readable record: BASE_COLUMNS, kept columns, quality
    findings: pl.DataFrame  # every finding (FINDINGS_SCHEMA), rule errors included
    invalid: pl.DataFrame  # _idx, _file, _line, reason
    errors: list[RuleErrorInfo]
    dataset: dict[str, Any]
    gate: GateResult
    timings: dict[str, float]
    config: LoadedConfig
    statuses: pl.DataFrame = field(init=False)  # _idx, status: passed | rejected | invalid
    reopen: Callable[[], Reader] | None = None  # a fresh reader of the same inputs, to read text again

    def __post_init__(self) -> None:
        rejected = self.findings.filter(pl.col("severity") == "error").select("_idx").unique()
        self.statuses = pl.concat(
            [
                self.table.select("_idx").with_columns(
                    status=pl.when(pl.col("_idx").is_in(rejected["_idx"].implode()))
                    .then(pl.lit("rejected"))
                    .otherwise(pl.lit("passed"))
                ),
                self.invalid.select("_idx", status=pl.lit("invalid")),
            ]
        ).sort("_idx")

    def count(self, status: str) -> int:
        return int((self.statuses["status"] == status).sum())

    def source(self, file: int, line: int) -> str:
        return f"{self.files[file].path}:{line}"


def _validated(out: Any, height: int, code: str) -> pl.DataFrame:
    if not isinstance(out, pl.DataFrame):
        raise TypeError(f"check() returned {type(out).__name__}, expected a polars DataFrame")
    if out.height != height:
        hint = " (a select of literals alone gives one row: add the column with with_columns)" if out.height == 1 else ""
        raise TypeError(f"check() returned {out.height} rows for a batch of {height}{hint}")
    if "passed" not in out.columns or out.schema["passed"] != pl.Boolean:
        raise TypeError("check() must return a boolean 'passed' column")
    if out["passed"].null_count():
        raise TypeError("check() returned null in 'passed'")
    passed = out["passed"]
    score = (
        out["score"].cast(pl.Float64).fill_null(passed.cast(pl.Float64)).clip(0.0, 1.0)
        if "score" in out.columns
        else passed.cast(pl.Float64)
    )
    message = out["message"].cast(pl.String) if "message" in out.columns else pl.repeat(None, height, dtype=pl.String, eager=True)
    message = pl.select(pl.when(passed).then(None).otherwise(message.fill_null(f"failed {code}"))).to_series()
    return pl.DataFrame({"passed": passed, "score": score, "message": message, "error": pl.repeat(False, height, eager=True)})


def _merge(dataset: dict[str, Any], section: dict[str, Any]) -> None:
    """Merge a summary into the dataset section, one level deep (rules share sections)."""
    for key, value in section.items():
        if isinstance(value, dict) and isinstance(dataset.get(key), dict):
            dataset[key].update(value)
        else:
            dataset[key] = value


def _deselected(findings: pl.DataFrame, selection_codes: set[str]) -> int:
    """Records rejected by selection rules alone: they failed no check, they were not chosen."""
    if not selection_codes:
        return 0
    errors = findings.filter(pl.col("severity") == "error")
    only = errors.group_by("_idx").agg(pl.col("code").is_in(list(selection_codes)).all().alias("only"))
    return int(only["only"].sum())


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _order_features(rules: list[ActiveRule], registry: Registry, context: Context) -> list[Feature]:
    ordered: list[Feature] = []
    seen: set[str] = set()

    def visit(name: str, wanted_by: str) -> None:
        if name in seen:
            return
        cls = registry.features.get(name)
        if cls is None:
            raise PluginError(f"{wanted_by} needs feature '{name}', which no enabled plugin registers")
        seen.add(name)
        for dep in cls.needs:
            visit(dep, f"feature '{name}'")
        ordered.append(cls(context))

    for active in rules:
        for name in active.rule.needs:
            visit(name, f"rule {active.code} (plugin '{active.plugin}')")
    return ordered


class Engine:
    """Set up once per run: rules, features and gate thresholds are validated here, before
    any data is read, so that a config or plugin problem costs nothing."""

    def __init__(self, loaded: LoadedConfig, registry: Registry):
        registry.raise_errors()
        self.loaded = loaded
        self.registry = registry
        self.context = Context(loaded, registry)
        self.rules = [
            ActiveRule(sel.cls(sel.options, self.context), sel.severity, registry.plugin_of("rule", sel.cls.code))
            for sel in select_rules(loaded.config, registry)
        ]
        self.context.rules = {a.code: a.rule for a in self.rules}
        self.features = _order_features(self.rules, registry, self.context)
        declared = [*ENGINE_METRICS, *(m for a in self.rules for m in a.rule.gate_metrics)]
        self.gate_metrics = resolve_metrics(declared, loaded.config.gate)

    def reader(self, inputs: Any) -> Reader:
        config = self.loaded.config
        return Reader(
            inputs,
            self.registry.formats,
            input_format=config.input_format,
            columns=config.columns,
            tags=config.tags,
            batch_size=config.batch_size,
        )

    def run(self, inputs: Any, progress: Callable[[int], None] | None = None) -> RunResult:
        reader = self.reader(inputs)
        self.context.files = reader.files
        timings: dict[str, float] = defaultdict(float)
        record_rules = [a for a in self.rules if isinstance(a.rule, RecordRule)]
        dataset_rules = [a for a in self.rules if isinstance(a.rule, DatasetRule)]
        keep = list(dict.fromkeys([*BASE_COLUMNS, *(c for f in self.features for c in f.keep), *(c for a in self.rules for c in a.rule.keep)]))
        tables: list[pl.DataFrame] = []
        findings: list[pl.DataFrame] = []
        invalid_rows: list[tuple[int, int, int, str]] = []
        errors: list[RuleErrorInfo] = []
        done = 0

        clock = time.perf_counter()
        for batch in reader:
            timings["read"] += time.perf_counter() - clock
            invalid_rows.extend((r.idx, r.file, r.line, r.reason) for r in batch.invalid)
            frame = batch.frame
            for feature in self.features:
                clock = time.perf_counter()
                added = feature.compute(frame)
                if added.height != frame.height:
                    raise PluginError(f"feature '{feature.name}' returned {added.height} rows for {frame.height} records")
                frame = frame.hstack(added.get_columns())
                timings[f"feature:{feature.name}"] += time.perf_counter() - clock

            clock = time.perf_counter()
            scores = np.zeros(frame.height)
            for active in record_rules:
                result = self._check(active, frame, reader, errors)
                scores += result["score"].to_numpy()
                failed = result.with_columns(_idx=frame["_idx"]).filter(~pl.col("passed"))
                if failed.height:
                    findings.append(
                        failed.select(
                            "_idx",
                            code=pl.lit(active.code),
                            severity=pl.lit(active.severity),
                            score="score",
                            message="message",
                            error="error",
                        )
                    )
            timings["rules"] += time.perf_counter() - clock

            clock = time.perf_counter()
            kept = frame.select(keep).with_columns(quality=pl.Series(scores / max(len(record_rules), 1)))
            for active in dataset_rules:
                collected = active.rule.collect(frame)
                if collected is not None:
                    if collected.height != frame.height:
                        raise PluginError(f"rule {active.code} collect() returned {collected.height} rows for {frame.height}")
                    kept = kept.hstack([s.alias(f"{active.code}:{s.name}") for s in collected.get_columns()])
            tables.append(kept)
            timings["collect"] += time.perf_counter() - clock
            done += frame.height + len(batch.invalid)
            if progress:
                progress(done)
            clock = time.perf_counter()

        table = pl.concat(tables, how="vertical") if tables else pl.DataFrame()
        all_findings = pl.concat(findings) if findings else pl.DataFrame(schema=FINDINGS_SCHEMA)
        invalid = pl.DataFrame(invalid_rows, schema={"_idx": pl.UInt64, "_file": pl.UInt32, "_line": pl.UInt32, "reason": pl.String}, orient="row")

        clock = time.perf_counter()
        table = table.with_columns(rejected=pl.col("_idx").is_in(all_findings.filter(pl.col("severity") == "error")["_idx"].implode()))
        dataset: dict[str, Any] = {}
        if table.height:
            _merge(dataset, {"formats": dict(table.group_by("_format").len().sort("_format").iter_rows())})
        for feature in self.features:
            _merge(dataset, feature.summarize(table))
        for active in sorted(dataset_rules, key=lambda a: (a.rule.stage, a.code)):  # type: ignore[attr-defined]
            findings_part, metrics = self._evaluate(active, table, errors)
            if findings_part is not None:
                all_findings = pl.concat([all_findings, findings_part])
                newly = findings_part.filter(pl.col("severity") == "error")["_idx"].implode()
                table = table.with_columns(rejected=pl.col("rejected") | pl.col("_idx").is_in(newly))
            _merge(dataset, metrics)
        for active in [*record_rules, *dataset_rules]:
            _merge(dataset, active.rule.summarize(table))
        timings["dataset"] += time.perf_counter() - clock

        result = RunResult(
            files=reader.files,
            rules=self.rules,
            table=table.drop("rejected"),
            findings=all_findings,
            invalid=invalid,
            errors=errors,
            dataset=dataset,
            gate=GateResult(verdict="pass", metrics=[]),
            timings=dict(timings),
            config=self.loaded,
            reopen=lambda: self.reader(inputs),
        )
        records = result.statuses.height
        passed = result.count("passed")
        deselected = _deselected(all_findings, {a.code for a in dataset_rules if a.rule.selection})  # type: ignore[attr-defined]
        dataset["records"] = {
            "total": records,
            "passed": passed,
            "rejected": result.count("rejected"),
            "invalid": result.count("invalid"),
            "deselected": deselected,
            # records left out only by selection (--balance, --max-records) passed every check
            "pass_rate": round((passed + deselected) / records, 6) if records else None,
        }
        result.gate = evaluate_gate(self.gate_metrics, dataset)
        return result

    def _check(self, active: ActiveRule, frame: pl.DataFrame, reader: Reader, errors: list[RuleErrorInfo]) -> pl.DataFrame:
        """The rule's results for a batch (passed, score, message, error)."""
        active.evaluated += frame.height
        out = self._check_batch(active, frame, reader, errors)
        active.failed += int((~out["passed"] & ~out["error"]).sum())
        return out

    def _check_batch(self, active: ActiveRule, frame: pl.DataFrame, reader: Reader, errors: list[RuleErrorInfo]) -> pl.DataFrame:
        if active.broken:
            return self._errored(active, frame, active.broken, reader, errors, each=False)
        try:
            return _validated(active.rule.check(frame), frame.height, active.code)
        except Exception as exc:
            batch_error = _describe(exc)
        # Find the records it fails on, one at a time; give up on a rule that fails on many.
        parts = []
        for row in range(frame.height):
            one = frame.slice(row, 1)
            try:
                parts.append(_validated(active.rule.check(one), 1, active.code))
            except Exception as exc:
                parts.append(self._errored(active, one, _describe(exc), reader, errors))
                if active.errors >= _MAX_RULE_ERRORS:
                    active.broken = batch_error
                    errors.append(
                        RuleErrorInfo(
                            code=active.code,
                            plugin=active.plugin,
                            source=None,
                            message=f"stopped after {active.errors} failing records; every later record is rejected: {batch_error}",
                        )
                    )
                    parts.append(self._errored(active, frame.slice(row + 1), batch_error, reader, errors, each=False))
                    break
        return pl.concat(parts)

    @staticmethod
    def _errored(
        active: ActiveRule, frame: pl.DataFrame, message: str, reader: Reader, errors: list[RuleErrorInfo], each: bool = True
    ) -> pl.DataFrame:
        """Results that reject ``frame``'s records because the rule raised on them."""
        active.errors += frame.height
        if each:
            for file, line in zip(frame["_file"], frame["_line"], strict=True):
                errors.append(
                    RuleErrorInfo(code=active.code, plugin=active.plugin, source=f"{reader.files[file].path}:{line}", message=message)
                )
        n = frame.height
        return pl.DataFrame(
            {"passed": [False] * n, "score": [0.0] * n, "message": [f"rule raised {message}"] * n, "error": [True] * n},
            schema={"passed": pl.Boolean, "score": pl.Float64, "message": pl.String, "error": pl.Boolean},
        )

    @staticmethod
    def _evaluate(active: ActiveRule, table: pl.DataFrame, errors: list[RuleErrorInfo]) -> tuple[pl.DataFrame | None, dict]:
        rule = active.rule
        prefix = f"{active.code}:"
        view = table.select(
            [c for c in table.columns if ":" not in c]
            + [pl.col(c).alias(c[len(prefix) :]) for c in table.columns if c.startswith(prefix)]
        )
        active.evaluated = table.height
        try:
            result = rule.evaluate(view)
        except Exception as exc:
            errors.append(RuleErrorInfo(code=active.code, plugin=active.plugin, source=None, message=_describe(exc)))
            active.errors = table.height
            rejected = view.select(
                "_idx",
                code=pl.lit(active.code),
                severity=pl.lit("error"),
                score=pl.lit(0.0),
                message=pl.lit(f"rule raised {_describe(exc)}"),
                error=pl.lit(True),
            )
            return rejected, {}
        failed = result.failed
        if failed is None or failed.height == 0:
            return None, result.metrics
        active.failed = failed.height
        return (
            failed.select(
                pl.col("_idx").cast(pl.UInt64),
                code=pl.lit(active.code),
                severity=pl.lit(active.severity),
                score=pl.col("score").cast(pl.Float64) if "score" in failed.columns else pl.lit(0.0),
                message=pl.col("message").cast(pl.String),
                error=pl.lit(False),
            ),
            result.metrics,
        )
