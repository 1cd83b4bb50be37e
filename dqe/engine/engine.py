"""The engine: features and record rules batch by batch, then dataset rules, then the gate.

Per batch it keeps only compact per-record columns (ids, token counts, what dataset rules
collect) and the findings, so memory follows the number of records, not their text. A rule
that raises never counts as a pass: the records it failed on are rejected with the error, and
the run reports the error (exit code 2).
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel

from dqe.engine.batch import ActiveRule, BatchProcessor, BatchResult
from dqe.engine.config import LoadedConfig
from dqe.engine.context import Context
from dqe.engine.feature import Feature
from dqe.engine.frames import RecordFrames
from dqe.engine.gate import ENGINE_METRICS, GateResult, evaluate_gate, resolve_metrics
from dqe.engine.plugins import Registry
from dqe.engine.quotas import merit
from dqe.engine.rule import DatasetResult, DatasetRule, RecordRule
from dqe.engine.selection import select_rules
from dqe.engine.workers import choose_workers, run_batches
from dqe.errors import ConfigError, PluginError
from dqe.guard import blame, describe
from dqe.io.inputs import Inputs, resolve_inputs
from dqe.io.reader import Batch, FileInfo, Reader

BASE_COLUMNS = ("_idx", "_file", "_line", "_id", "_format")
FINDINGS_SCHEMA = {
    "_idx": pl.UInt64,
    "code": pl.String,
    "severity": pl.String,
    "score": pl.Float64,
    "message": pl.String,
    "turn": pl.Int32,  # the 1-based turn at fault, null when no one turn is
    "evidence": pl.String,  # what matched and the scores that decided
    "error": pl.Boolean,
}


@dataclass(frozen=True)
class RunProgress:
    """Where a run is, for a progress bar: its phase, the records read so far, and how much of a
    known total is done (bytes of the inputs while reading, records while writing; None where
    no total is known: inputs in memory, the data-set rules)."""

    phase: Literal["reading", "dataset rules", "writing"]
    records: int
    done: int | None = None
    total: int | None = None


class RuleErrorInfo(BaseModel):
    code: str
    plugin: str
    source: str | None  # file:line of the record, None for a whole-data-set failure
    message: str


@dataclass
class DatasetStage:
    """What the data-set half of a run gives: the data-set rules' findings (FINDINGS_SCHEMA),
    the report's ``dataset`` section, and the table a ``RunResult`` keeps; or, where the
    per-record frames stay where the data-set half ran (``dqe.ray``), ``frames``, in their place."""

    findings: pl.DataFrame
    dataset: dict[str, Any]
    table: pl.DataFrame
    frames: RecordFrames | None = None


@dataclass
class RunResult:
    files: list[FileInfo]
    rules: list[ActiveRule]
    frames: RecordFrames  # every record's row (BASE_COLUMNS, kept columns, quality), finding, invalid record
    errors: list[RuleErrorInfo]
    dataset: dict[str, Any]
    gate: GateResult
    timings: dict[str, float]
    config: LoadedConfig
    inputs: Inputs | None = None  # what was read (streams spooled): outputs and hashes read it again
    reopen: Callable[[], Reader] | None = None  # a fresh reader of the same inputs, to read text again
    labels: dict[str, str] = field(default_factory=dict)  # label name -> column of ``table`` (Feature.labels)
    warnings: list[RuleErrorInfo] = field(default_factory=list)  # rules that raised on a batch, not on its records

    @property
    def table(self) -> pl.DataFrame:
        """One row per readable record: BASE_COLUMNS, kept columns, quality."""
        return self.frames.table

    @property
    def findings(self) -> pl.DataFrame:
        """Every finding (FINDINGS_SCHEMA), rule errors included."""
        return self.frames.findings

    @property
    def invalid(self) -> pl.DataFrame:
        """_idx, _file, _line, reason of every record that could not be read."""
        return self.frames.invalid

    @property
    def statuses(self) -> pl.DataFrame:
        """_idx, status: passed | rejected | invalid."""
        return self.frames.statuses

    def count(self, status: str) -> int:
        return self.frames.count(status)

    def source(self, file: int, line: int) -> str:
        return f"{self.files[file].path}:{line}"


def _merge(dataset: dict[str, Any], section: dict[str, Any]) -> None:
    """Merge a summary into the dataset section, one level deep (rules share sections)."""
    for key, value in section.items():
        if isinstance(value, dict) and isinstance(dataset.get(key), dict):
            dataset[key].update(value)
        else:
            dataset[key] = value


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
        with blame(f"feature '{name}' (plugin '{registry.plugin_of('feature', name)}') __init__"):
            ordered.append(cls(context))

    for active in rules:
        if active.skipped:
            continue
        for name in active.rule.needs:
            visit(name, f"rule {active.code} (plugin '{active.plugin}')")
    if context.config.scores is not None:  # read whatever the rules: the report shows them, selection ranks by them
        visit("model-scores", "'scores'")
    return ordered


class Engine:
    """Set up once per run: rules, features and gate thresholds are validated here, before
    any data is read, so that a config or plugin problem costs nothing."""

    def __init__(self, loaded: LoadedConfig, registry: Registry):
        registry.raise_errors()
        self.loaded = loaded
        self.registry = registry
        self.context = Context(loaded, registry)
        self.rules = []
        for sel in select_rules(loaded.config, registry):
            plugin = registry.plugin_of("rule", sel.cls.code)
            with blame(f"rule {sel.cls.code} (plugin '{plugin}') __init__", _without(sel.cls.code, plugin)):
                rule = sel.cls(sel.options, self.context)
            # a rule with nothing to check in this run (DQ103 without --model) says why in ``skipped``
            self.rules.append(ActiveRule(rule, sel.severity, plugin, skipped=getattr(rule, "skipped", None)))
        if loaded.config.rank_by == "ifd" and loaded.config.scores is None:
            raise ConfigError(
                "'rank-by' = ifd ranks records by the scores of dqe score: give them with --scores FILE (or 'scores' in config)"
            )
        self.features = _order_features(self.rules, registry, self.context)
        declared = [*ENGINE_METRICS, *(m for a in self.rules for m in a.rule.gate_metrics)]
        unselected = [m for cls in registry.rules.values() for m in cls.gate_metrics]
        self.gate_metrics = resolve_metrics(declared, loaded.config.gate, unselected)

    def _feature_label(self, feature: Feature) -> str:
        return f"feature '{feature.name}' (plugin '{self.registry.plugin_of('feature', feature.name)}')"

    def reader(self, inputs: Any) -> Reader:
        return self.readers(inputs)()

    def readers(self, inputs: Any) -> Callable[[], Reader]:
        """A maker of readers of ``inputs`` as this run reads them: what a report keeps to read
        record text again, holding the inputs and the formats, not the engine."""
        config = self.loaded.config
        return functools.partial(
            Reader,
            inputs,
            self.registry.formats,
            input_format=config.input_format,
            columns=config.columns,
            tags=config.tags,
            batch_size=config.batch_size,
            owners=self.registry.owner,
        )

    def workers(self, inputs: Inputs) -> int:
        """Worker processes for these inputs: the config's ``workers``, or, when it is 0, as
        many as the machine has cores for inputs big enough to repay starting them."""
        return choose_workers(self.loaded.config.workers, inputs, self.registry.portable)

    def processor(self) -> BatchProcessor:
        """The per-batch half of the engine: features, record rules, collection."""
        keep = [
            *BASE_COLUMNS,
            *(c for f in self.features for c in f.keep),
            *(c for a in self.rules for c in a.rule.keep),
        ]
        return BatchProcessor(
            self.features,
            [a for a in self.rules if isinstance(a.rule, RecordRule) and not a.skipped],
            [a for a in self.rules if isinstance(a.rule, DatasetRule) and not a.skipped],
            list(dict.fromkeys(keep)),
            self.registry.owner,
        )

    def record_columns(self) -> list[str]:
        """The per-record columns a report, the outputs and the manifest read: where each record
        is and its id, the features' labels and token counts, its quality score. What a run's
        result keeps of every record where its data-set half runs elsewhere (``dqe.ray``)."""
        labels = [c for f in self.features for c in f.labels.values()]
        tokens = [c for f in self.features if f.name == "tokens" for c in f.keep]
        return list(dict.fromkeys([*BASE_COLUMNS, *labels, *tokens, "quality"]))

    def batches(self, reader: Reader, inputs: Inputs, timings: dict[str, float]) -> Iterator[tuple[Batch, BatchResult]]:
        """Each batch of ``reader`` with its features, record rules and collected columns, in
        input order: here or in worker processes (``dqe.ray`` runs them on a Ray cluster)."""
        workers = self.workers(inputs)
        timings["workers"] = workers
        auto = self.loaded.config.workers == 0
        return run_batches(
            type(self), reader, self.processor, workers, self.loaded, self.registry.disabled, timings, auto
        )

    def run(self, inputs: Any, progress: Callable[[RunProgress], None] | None = None) -> RunResult:
        """Check ``inputs`` (paths, records, a frame, or ``Inputs`` resolved before); ``progress``
        hears where the run is after each batch and when the data-set rules start."""
        inputs = resolve_inputs(inputs, self.loaded.config.exclude)
        reader = self.reader(inputs)
        self.context.files = reader.files
        timings: dict[str, float] = defaultdict(float)
        dataset_rules = [a for a in self.rules if isinstance(a.rule, DatasetRule) and not a.skipped]
        by_code = {a.code: a for a in self.rules}
        tables: list[pl.DataFrame] = []
        findings: list[pl.DataFrame] = []
        invalid_rows: list[tuple[int, int, int, str]] = []
        errors: list[RuleErrorInfo] = []
        warnings: list[RuleErrorInfo] = []
        done = 0

        for batch, result in self.batches(reader, inputs, timings):
            invalid_rows.extend((r.idx, r.file, r.line, r.reason) for r in batch.invalid)
            tables.append(result.kept)
            findings.extend(result.findings)
            for code, (evaluated, failed, raised) in result.counts.items():
                by_code[code].evaluated += evaluated
                by_code[code].failed += failed
                by_code[code].errors += raised
            for r in result.raised:
                (warnings if r.warning else errors).append(
                    RuleErrorInfo(
                        code=r.code,
                        plugin=r.plugin,
                        source=None if r.file is None else f"{reader.files[r.file].path}:{r.line}",
                        message=r.message,
                    )
                )
            for phase, seconds in result.timings.items():
                timings[phase] += seconds
            done += batch.frame.height + len(batch.invalid)
            if progress:
                progress(RunProgress("reading", done, reader.bytes_read(), reader.bytes_total))

        table = pl.concat(tables, how="vertical") if tables else pl.DataFrame()
        all_findings = pl.concat(findings) if findings else pl.DataFrame(schema=FINDINGS_SCHEMA)
        invalid = pl.DataFrame(
            invalid_rows,
            schema={"_idx": pl.UInt64, "_file": pl.UInt32, "_line": pl.UInt32, "reason": pl.String},
            orient="row",
        )

        if progress:
            progress(RunProgress("dataset rules", done))
        clock = time.perf_counter()
        rejected = all_findings.filter(pl.col("severity") == "error")["_idx"]
        stage = self.dataset_stage(table, rejected, errors)
        frames = stage.frames or RecordFrames(stage.table, pl.concat([all_findings, stage.findings]), invalid)
        dataset = stage.dataset
        timings["dataset"] += time.perf_counter() - clock

        result = RunResult(
            files=reader.files,
            rules=self.rules,
            frames=frames,
            errors=errors,
            dataset=dataset,
            gate=GateResult(verdict="pass", metrics=[]),
            timings=dict(timings),
            config=self.loaded,
            inputs=inputs,
            reopen=self.readers(inputs),
            labels={name: column for f in self.features for name, column in f.labels.items()},
            warnings=warnings,
        )
        records = frames.total
        passed = frames.count("passed")
        deselected = frames.deselected({a.code for a in dataset_rules if a.rule.selection})  # type: ignore[attr-defined]
        dataset["records"] = {
            "total": records,
            "passed": passed,
            "rejected": frames.count("rejected"),
            "invalid": frames.count("invalid"),
            "deselected": deselected,
            # records left out only by selection (--balance, --max-records) passed every check
            "pass_rate": round((passed + deselected) / records, 6) if records else None,
            "generated": reader.generated,  # written by dqe augment (their _dqe.generated says how)
        }
        result.gate = evaluate_gate(self.gate_metrics, dataset)
        return result

    def dataset_stage(
        self,
        table: pl.DataFrame,
        rejected: pl.Series,
        errors: list[RuleErrorInfo],
        given: dict[str, DatasetResult] | None = None,
    ) -> DatasetStage:
        """The data-set half of a run on the kept columns of every record (``table``), the
        records the record rules rejected given by ``_idx``: summaries, then data-set rules in
        order of stage and code, each seeing what the ones before it rejected, then every rule's
        summary. Rule errors are added to ``errors``; each rule's counts to its ``ActiveRule``.
        ``given`` holds what rules evaluated elsewhere found (``dqe.ray``'s group-by for DQ401),
        by code: used in their place, checked as what ``evaluate`` returns."""
        record_rules = [a for a in self.rules if isinstance(a.rule, RecordRule) and not a.skipped]
        dataset_rules = [a for a in self.rules if isinstance(a.rule, DatasetRule) and not a.skipped]
        table = table.with_columns(
            rejected=pl.col("_idx").is_in(rejected.implode()),
            merit=merit(self.loaded.config.rank_by),
        )
        dataset: dict[str, Any] = {}
        found = [pl.DataFrame(schema=FINDINGS_SCHEMA)]
        if table.height:
            _merge(dataset, {"formats": dict(table.group_by("_format").len().sort("_format").iter_rows())})
        for feature in self.features:
            _merge(dataset, _summary(feature.summarize, table, self._feature_label(feature)))
        for active in sorted(dataset_rules, key=lambda a: (a.rule.stage, a.code)):  # type: ignore[attr-defined]
            findings_part, metrics = self._evaluate(active, table, errors, (given or {}).get(active.code))
            if findings_part is not None:
                found.append(findings_part)
                newly = findings_part.filter(pl.col("severity") == "error")["_idx"].implode()
                table = table.with_columns(rejected=pl.col("rejected") | pl.col("_idx").is_in(newly))
            _merge(dataset, metrics)
        for active in [*record_rules, *dataset_rules]:
            _merge(dataset, _summary(active.rule.summarize, table, f"rule {active.code} (plugin '{active.plugin}')"))
        return DatasetStage(pl.concat(found), dataset, table.drop("rejected", "merit"))

    @staticmethod
    def _evaluate(
        active: ActiveRule, table: pl.DataFrame, errors: list[RuleErrorInfo], given: DatasetResult | None = None
    ) -> tuple[pl.DataFrame | None, dict]:
        rule = active.rule
        prefix = f"{active.code}:"
        view = table.select(
            [c for c in table.columns if ":" not in c]
            + [pl.col(c).alias(c[len(prefix) :]) for c in table.columns if c.startswith(prefix)]
        )
        active.evaluated = table.height
        try:
            result = rule.evaluate(view) if given is None else given
            failed = _failed_rows(result, table)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            errors.append(RuleErrorInfo(code=active.code, plugin=active.plugin, source=None, message=describe(exc)))
            active.errors = table.height
            rejected = view.select(
                "_idx",
                code=pl.lit(active.code),
                severity=pl.lit("error"),
                score=pl.lit(0.0),
                message=pl.lit(f"rule raised {describe(exc)}"),
                turn=pl.lit(None, dtype=pl.Int32),
                evidence=pl.lit(None, dtype=pl.String),
                error=pl.lit(True),
            )
            return rejected, {}
        if result.skipped:
            active.evaluated, active.skipped = 0, result.skipped
        if failed is None:
            return None, result.metrics
        active.failed = failed.height
        return failed.with_columns(code=pl.lit(active.code), severity=pl.lit(active.severity)).select(
            *FINDINGS_SCHEMA
        ), result.metrics


def _without(code: str, plugin: str) -> str:
    return f"to check without it: --ignore {code} or --disable-plugin {plugin}"


def _summary(summarize: Callable[[pl.DataFrame], Any], table: pl.DataFrame, what: str) -> dict:
    """What a feature's or rule's ``summarize`` returned, checked to be a dict."""
    with blame(f"{what} summarize()"):
        section = summarize(table.clone())  # a copy: changing it in place changes nothing here
    if not isinstance(section, dict):
        raise PluginError(f"{what}: summarize() returned {type(section).__name__}, expected a dict")
    return section


def _failed_rows(result: Any, table: pl.DataFrame) -> pl.DataFrame | None:
    """A dataset rule's failing records checked against the contract: ``_idx`` of records of
    this run, a finite ``score`` and a ``message``; None when nothing failed."""
    if not isinstance(result, DatasetResult) or not isinstance(result.metrics, dict):
        raise TypeError(
            f"evaluate() returned {type(result).__name__}, expected a dqe.DatasetResult with a metrics dict"
        )
    failed = result.failed
    if failed is None:
        return None
    if not isinstance(failed, pl.DataFrame) or not {"_idx", "message"} <= set(failed.columns):
        raise TypeError("evaluate() must return failed as a frame with '_idx' and 'message' columns, or None")
    if failed.height == 0:
        return None
    rows = failed.select(
        pl.col("_idx").cast(pl.UInt64),
        score=pl.col("score").cast(pl.Float64).fill_null(0.0) if "score" in failed.columns else pl.lit(0.0),
        message=pl.col("message").cast(pl.String),
        turn=pl.col("turn").cast(pl.Int32) if "turn" in failed.columns else pl.lit(None, dtype=pl.Int32),
        evidence=pl.col("evidence").cast(pl.String) if "evidence" in failed.columns else pl.lit(None, dtype=pl.String),
        error=pl.lit(False),
    )
    if not rows["_idx"].is_in(table["_idx"].implode()).fill_null(False).all():
        raise TypeError("evaluate() returned an '_idx' that is no record of this run")
    if not rows["score"].is_finite().all():
        raise TypeError("evaluate() returned a score that is not a finite number")
    return rows
