"""The report of a run: the JSON contract other tools rely on, and per-record results.

``Report`` serializes to the ``--format json`` object (summary, gate, rules, dataset,
findings, ...). Findings are sampled per rule unless ``complete``; ``Report.records`` and
``Report.findings_frame`` hold every record and every finding as polars frames for notebooks.
A report is plain data, built once from the run (``build_report``): its per-record frames are
``RecordResults``, which hold frames and no handle on the engine, its rules or its config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, Field, PrivateAttr

from dqe import __version__
from dqe.engine.engine import RuleErrorInfo, RunResult
from dqe.engine.frames import IDS, RecordFrames
from dqe.engine.gate import GateResult
from dqe.io.reader import FileInfo
from dqe.io.reread import RecordText, read_texts

TextSource = Callable[[Iterable[int], int | None], dict[int, RecordText]]

INVALID_CODE = "DQ000"
INVALID_RULE = {
    "code": INVALID_CODE,
    "name": "invalid-record",
    "summary": "a record that cannot be read: malformed JSON, invalid UTF-8, wrong types, missing fields",
    "why": (
        "A record the reader cannot parse never reaches the rules, so nothing is known about it; "
        "it is kept in the rejected output with its raw text and fails the gate "
        "(gate metric invalid-records) unless you allow some."
    ),
    "example": 'A JSONL line \'{"instruction": "Hi", "output": \' fails: \'malformed JSON: unexpected end of data\'.',
}


@dataclass(frozen=True)
class RecordResults:
    """Every record's results as plain frames: what ``Report``'s per-record views are made of.
    They are the run's ``RecordFrames``: held in memory, or loaded when first asked for where the
    engine left them elsewhere (``--engine ray``)."""

    frames: RecordFrames
    paths: list[str]  # the input of each _file index
    labels: dict[str, str] = field(default_factory=dict)  # label name -> column of ``table``
    # the text of records, read again from the inputs (the engine keeps no text); None for none
    texts: TextSource | None = None

    @property
    def table(self) -> pl.DataFrame:
        """One row per readable record: _idx, _file, _line, _id, label and token columns."""
        return self.frames.table

    @property
    def statuses(self) -> pl.DataFrame:
        """_idx, status: passed | rejected | invalid."""
        return self.frames.statuses

    @property
    def invalid(self) -> pl.DataFrame:
        """_idx, _file, _line, reason."""
        return self.frames.invalid

    @property
    def findings(self) -> pl.DataFrame:
        """Every rule's findings (the engine's FINDINGS_SCHEMA)."""
        return self.frames.findings

    @classmethod
    def of(cls, result: RunResult) -> RecordResults:
        reopen = result.reopen
        return cls(
            frames=result.frames,
            paths=[f.path for f in result.files],
            labels=result.labels,
            texts=None if reopen is None else lambda records, chars: read_texts(reopen(), records, chars),
        )


class Summary(BaseModel):
    records: int
    passed: int
    rejected: int
    invalid: int
    errors: int  # rule errors: records a rule raised on
    gate: Literal["pass", "fail"]


class RuleRow(BaseModel):
    code: str
    name: str
    scope: str
    severity: str
    plugin: str
    evaluated: int
    failed: int
    errors: int = 0
    summary: str = ""  # the rule's one-line summary, so that a JSON report explains its codes
    skipped: str | None = None  # why the rule checked nothing in this run (e.g. no --against)


class Finding(BaseModel):
    record: int  # position of the record in the run (0-based)
    source: str  # file:line
    id: str | None  # content hash of the record
    code: str
    severity: str
    score: float
    message: str
    turn: int | None = None  # the 1-based turn at fault, when the rule names one
    evidence: str | None = None  # what matched and the scores that decided

    @property
    def explained(self) -> str:
        """The message with its turn and evidence, for reports that have one line per finding."""
        turn = f"turn {self.turn}: " if self.turn is not None else ""
        evidence = f" (evidence: {self.evidence})" if self.evidence else ""
        return f"{turn}{self.message}{evidence}"


class ConfigInfo(BaseModel):
    path: str | None
    sha256: str


class Report(BaseModel):
    tool: str = "dqe"
    version: str = __version__
    summary: Summary
    gate: GateResult
    files: list[FileInfo]
    rules: list[RuleRow]
    dataset: dict[str, Any]
    findings: list[Finding]
    findings_complete: bool
    errors: list[RuleErrorInfo]
    timings: dict[str, float]
    config: ConfigInfo
    # rules that raised on a batch but on none of its records alone: nothing rejected, a bug to fix
    warnings: list[RuleErrorInfo] = Field(default_factory=list)

    _records: RecordResults | None = PrivateAttr(default=None)

    @property
    def exit_code(self) -> int:
        """0 when the gate passes, 1 when it fails, 2 when a rule raised or a file of a folder could
        not be read (the check is incomplete)."""
        if self.errors or any(f.error for f in self.files):
            return 2
        return 0 if self.summary.gate == "pass" else 1

    @property
    def findings_frame(self) -> pl.DataFrame:
        """Every finding with its source, invalid records included (code DQ000)."""
        return all_findings(self._require())

    @property
    def records(self) -> pl.DataFrame:
        """One row per input record: source, id, status and the codes of its findings."""
        return record_rows(self._require())

    def record_parts(self) -> Iterator[RecordResults]:
        """The per-record results a range of records at a time, in input order (every record
        of a range with its findings): what a view written record by record reads, so that it
        never gathers the records of an engine that left them elsewhere (``--engine ray``)."""
        result = self._require()
        for frames in result.frames.parts():
            yield replace(result, frames=frames)

    @property
    def labels(self) -> pl.DataFrame:
        """One row per valid record: ``record`` and the labels the run's features computed
        (category, domain, languages, chain-of-thought need and score, tokens), a column per
        label named as ``Feature.labels`` names it (``cot.need``)."""
        return record_labels(self._require())

    @property
    def nested_labels(self) -> pl.DataFrame:
        """``record`` and one ``labels`` struct per valid record, dotted label names nested
        (``cot.need`` -> ``{"cot": {"need": ...}}``): the ``labels`` object of ``--format jsonl``
        and of ``dqe filter --annotate``."""
        return nest_labels(self.labels)

    @property
    def has_records(self) -> bool:
        """Whether per-record frames are here (False for a report loaded from JSON)."""
        return self._records is not None

    @property
    def tokens(self) -> pl.DataFrame:
        """Token counts of every valid record: record, status, tokens_question,
        tokens_answer, tokens_total (only ``record`` and ``status`` when no rule counted tokens)."""
        result = self._require()
        columns = [c for c in ("tokens_question", "tokens_answer", "tokens_total") if c in result.table.columns]
        return (
            result.table.select("_idx", *columns)
            .join(result.statuses, on="_idx", how="left")
            .select(pl.col("_idx").alias("record"), "status", *columns)
        )

    def record_texts(self, records: Iterable[int], max_chars: int | None = None) -> dict[int, RecordText]:
        """The text of these records (by ``record``), read again from the inputs, each part
        clipped to ``max_chars``: the engine keeps no text, so this reads the inputs up to
        the last record asked for."""
        texts = self._require().texts
        return {} if texts is None else texts(records, max_chars)

    def _require(self) -> RecordResults:
        if self._records is None:
            raise ValueError("this report was loaded from JSON: per-record frames are not available")
        return self._records


def record_rows(result: RecordResults) -> pl.DataFrame:
    """One row per record of ``result``: ``Report.records``."""
    located = pl.concat(
        [
            result.table.select(IDS),
            result.invalid.select("_idx", "_file", "_line", _id=pl.lit(None, pl.String)),
        ]
    )
    codes = (
        all_findings(result)
        .group_by("record")
        .agg(codes=pl.col("code").unique(maintain_order=True), reasons=pl.format("{}: {}", "code", "message"))
    )
    return (
        result.statuses.join(located, on="_idx", how="left")
        .join(codes.rename({"record": "_idx"}), on="_idx", how="left")
        .select(
            record="_idx",
            source=_source_expr(result.paths),
            id="_id",
            status="status",
            codes=pl.col("codes").fill_null(pl.lit([], pl.List(pl.String))),
            reasons=pl.col("reasons").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .sort("record")
    )


def record_labels(result: RecordResults) -> pl.DataFrame:
    """``record`` and a column per label the run's features computed (``Report.labels``)."""
    present = {name: column for name, column in result.labels.items() if column in result.table.columns}
    return result.table.select(
        pl.col("_idx").alias("record"), *(pl.col(column).alias(name) for name, column in present.items())
    ).sort("record")


def nest_labels(flat: pl.DataFrame) -> pl.DataFrame:
    """A frame of ``record`` and label columns as ``record`` and one ``labels`` struct."""
    names = [c for c in flat.columns if c != "record"]
    if not names:
        return flat.select("record", labels=pl.lit(None, dtype=pl.Struct({})))
    return flat.select("record", labels=pl.struct(*_nested(names)))


def _nested(names: list[str], prefix: str = "") -> list[pl.Expr]:
    """Label columns as expressions, dotted names gathered into structs, any depth."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.split(".", 1)[0], []).append(name)
    out = []
    for top, members in groups.items():
        if members == [top]:
            out.append(pl.col(prefix + top).alias(top))
        else:
            inner = [m.split(".", 1)[1] for m in members]
            out.append(pl.struct(*_nested(inner, f"{prefix}{top}.")).alias(top))
    return out


def _source_expr(paths: list[str]) -> pl.Expr:
    """file:line of each row, from the _file index and _line columns."""
    path = pl.col("_file").replace_strict(list(range(len(paths))), paths, return_dtype=pl.String)
    return pl.format("{}:{}", path, "_line")


def all_findings(result: RecordResults) -> pl.DataFrame:
    located = result.findings.join(result.table.select(IDS), on="_idx", how="left")
    return _listed(located, result.invalid, result.paths)


def _listed(located: pl.DataFrame, invalid: pl.DataFrame, paths: list[str]) -> pl.DataFrame:
    """Rule findings with the ``IDS`` of their record (``located``) and invalid records (code
    DQ000) as a report lists them: by record, then code."""
    unread = invalid.select(
        "_idx",
        code=pl.lit(INVALID_CODE),
        severity=pl.lit("error"),
        score=pl.lit(0.0),
        message="reason",
        turn=pl.lit(None, dtype=pl.Int32),
        evidence=pl.lit(None, dtype=pl.String),
        error=pl.lit(False),
        _file="_file",
        _line="_line",
        _id=pl.lit(None, pl.String),
    )
    both = pl.concat([unread, located.select(unread.columns)])
    return both.select(
        record="_idx",
        source=_source_expr(paths),
        id="_id",
        code="code",
        severity="severity",
        score="score",
        message="message",
        turn="turn",
        evidence="evidence",
    ).sort("record", "code", maintain_order=True)  # a record's findings of a rule in the rule's order


def build_report(result: RunResult, *, complete: bool = False, per_rule: int | None = None) -> Report:
    per_rule = result.config.config.findings_per_rule if per_rule is None else per_rule
    records = RecordResults.of(result)
    frames = result.frames
    invalid = frames.count("invalid")
    if complete:
        sampled = all_findings(records)
    else:  # the first ``per_rule`` of each rule's, without gathering the others where they are elsewhere
        located, unread = frames.sample(per_rule)
        sampled = _listed(located, unread, records.paths)
    rows = [
        RuleRow(
            code=INVALID_CODE,
            name=str(INVALID_RULE["name"]),
            scope="record",
            severity="error",
            plugin="dqe",
            evaluated=frames.total,
            failed=invalid,
            summary=str(INVALID_RULE["summary"]),
        )
    ]
    rows += [
        RuleRow(
            code=a.code,
            name=a.rule.name,
            scope=a.rule.scope,
            severity=a.severity,
            plugin=a.plugin,
            evaluated=a.evaluated,
            failed=a.failed,
            errors=a.errors,
            summary=a.rule.summary,
            skipped=a.skipped,
        )
        for a in result.rules
    ]
    report = Report(
        summary=Summary(
            records=frames.total,
            passed=result.count("passed"),
            rejected=result.count("rejected"),
            invalid=invalid,
            errors=sum(a.errors for a in result.rules),
            gate=result.gate.verdict,
        ),
        gate=result.gate,
        files=result.files,
        rules=rows,
        dataset=result.dataset,
        findings=[Finding(**row) for row in sampled.iter_rows(named=True)],
        findings_complete=complete or sampled.height == frames.findings_count + invalid,
        errors=result.errors,
        warnings=result.warnings,
        timings={k: round(v, 4) for k, v in result.timings.items()},
        config=ConfigInfo(
            path=str(result.config.path) if result.config.path else None, sha256=result.config.config.digest()
        ),
    )
    report._records = records
    return report
