"""``dqe filter``'s outputs: every input record in exactly one of passed and rejected.

Records are written as they were read (every field kept, in the input's own record format).
A rejected record carries its reasons under ``_dqe``; an invalid one that could not even be
parsed is kept as its raw text (``raw``), or as its bytes (``raw_base64``) when they are not
valid text. A record's own ``_dqe`` field is never overwritten: when the data has one, dqe's
annotation goes under the first ``_dqe_N`` no record uses, for the whole run. Both files are
written, with the gate manifest, all or none.

The one exception to "as they were read" is a rule that redacts (``Rule.redact``): its
rewrites apply to every string value of every record written, and each rewritten record says
so under ``_dqe.redactions``; the totals go into the report (``dataset.redactions``).
"""

from __future__ import annotations

import base64
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from dqe.engine.batch import ActiveRule
from dqe.engine.engine import RunProgress, RunResult
from dqe.errors import PluginError
from dqe.io.inputs import ANNOTATION
from dqe.io.reader import Reader, record_id
from dqe.io.writers import ObjectWriter, PendingFile
from dqe.report.model import RecordResults, all_findings, nest_labels, record_labels
from dqe.report.passed_ids import PassedIds

STATUS_CODES = {"passed": 0, "rejected": 1, "invalid": 2}
_CHUNK = 2_000  # records redacted together: one call into each redacting rule per chunk


class Redactions(BaseModel):
    """What redacting rules rewrote in the outputs."""

    records: int = 0
    values: int = 0  # spans replaced
    rules: dict[str, int] = Field(default_factory=dict)  # spans replaced, by rule code


class OutputCounts(BaseModel):
    passed: int
    rejected: int
    passed_path: str
    rejected_path: str
    annotation: str = ANNOTATION  # the field holding dqe's reasons and redactions
    redactions: Redactions = Field(default_factory=Redactions)


def _reasons(part: RecordResults, names: dict[str, str]) -> dict[int, list[dict[str, Any]]]:
    """Reasons of every record of ``part`` that has findings, by record position."""
    by_record: dict[int, list[dict[str, Any]]] = {}
    for record, code, severity, score, message, turn, evidence in (
        all_findings(part).select("record", "code", "severity", "score", "message", "turn", "evidence").iter_rows()
    ):
        reason = {
            "code": code,
            "name": names.get(code, code),
            "severity": severity,
            "score": round(score, 4),
            "message": message,
        }
        if turn is not None:
            reason["turn"] = turn
        if evidence is not None:
            reason["evidence"] = evidence
        by_record.setdefault(record, []).append(reason)
    return by_record


class _Verdicts:
    """Each record's status, reasons, labels and id, a part of the run's frames at a time
    (``RecordFrames.parts``): asked in record order, so that the run's frames are never
    gathered (an engine may have left them elsewhere, ``--engine ray``)."""

    def __init__(self, result: RunResult, annotate: bool):
        names = {a.code: a.rule.name for a in result.rules}
        names["DQ000"] = "invalid-record"
        self.names = names
        self.annotate = annotate
        self.whole = RecordResults.of(result)
        self.parts = result.frames.parts()
        self.start = self.end = 0  # the records of the part held: start <= idx < end
        self.codes: list[int] = []
        self.reasons: dict[int, list[dict[str, Any]]] = {}
        self.labels: dict[int, dict[str, Any]] = {}
        self.ids: dict[int, str] = {}

    def at(self, idx: int) -> int:
        """The status code of record ``idx`` (``STATUS_CODES``), its part held from here on."""
        while idx >= self.end:
            frames = next(self.parts, None)
            if frames is None:
                raise RuntimeError(f"the run's verdicts end at record {self.end}, before record {idx}")
            self._hold(replace(self.whole, frames=frames))
        return self.codes[idx - self.start]

    def _hold(self, part: RecordResults) -> None:
        statuses = part.statuses
        self.start, self.end = self.end, self.end + statuses.height
        if statuses.height and statuses["_idx"][0] != self.start:
            raise RuntimeError(f"the run's records are not in order: record {statuses['_idx'][0]} after {self.start}")
        self.codes = statuses["status"].replace_strict(STATUS_CODES, return_dtype=pl.Int8).to_list()
        self.reasons = _reasons(part, self.names)
        self.labels = _labels(part) if self.annotate else {}
        self.ids = dict(zip(part.table["_idx"].to_list(), part.table["_id"].to_list(), strict=True))


def _strings(value: Any, out: list[str]) -> None:
    """Every string value inside ``value`` (not keys), depth first."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def _rebuild(value: Any, texts: Iterator[str]) -> Any:
    """``value`` with its string values replaced, in ``_strings`` order."""
    if isinstance(value, str):
        return next(texts)
    if isinstance(value, dict):
        return {k: _rebuild(v, texts) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebuild(v, texts) for v in value]
    return value


class _Redactor:
    """Applies the redacting rules to a chunk of records at once."""

    def __init__(self, rules: list[ActiveRule]):
        # A rule that returns None for no text does not rewrite in this run (its options say so).
        empty = pl.Series("text", [], dtype=pl.String)
        self.rules = [a for a in rules if self._call(a, empty) is not None]
        self.names = {a.code: a.rule.name for a in self.rules}
        self.totals = Redactions()

    def apply(self, values: list[Any]) -> list[tuple[Any, list[dict[str, Any]]]]:
        """Each value rewritten, with its redactions ([] and the value itself when unchanged)."""
        if not self.rules:
            return [(value, []) for value in values]
        leaves: list[str] = []
        starts: list[int] = []
        for value in values:
            starts.append(len(leaves))
            _strings(value, leaves)
        starts.append(len(leaves))
        owner = np.repeat(np.arange(len(values)), np.diff(starts))
        texts = pl.Series("text", leaves, dtype=pl.String)
        counts: list[Counter[str]] = [Counter() for _ in values]
        for active in self.rules:
            out = self._call(active, texts)
            if out is None:
                continue
            count = out["count"]
            replaced = count.to_numpy()
            for leaf in np.flatnonzero(replaced):
                counts[owner[leaf]][active.code] += int(replaced[leaf])
            # Only a string the rule counted may change: an uncounted rewrite would be silent.
            texts = out["text"].zip_with(count > 0, texts)
        rewritten = texts.to_list()
        results: list[tuple[Any, list[dict[str, Any]]]] = []
        for i, (value, found) in enumerate(zip(values, counts, strict=True)):
            if not found:
                results.append((value, []))
                continue
            results.append(
                (
                    _rebuild(value, iter(rewritten[starts[i] : starts[i + 1]])),
                    [{"code": code, "name": self.names[code], "count": n} for code, n in sorted(found.items())],
                )
            )
            self.totals.records += 1
            for code, n in found.items():
                self.totals.values += n
                self.totals.rules[code] = self.totals.rules.get(code, 0) + n
        return results

    def _call(self, active: ActiveRule, texts: pl.Series) -> pl.DataFrame | None:
        try:
            out = active.rule.redact(texts)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: nothing may be written as if redacted
            raise PluginError(
                f"rule {active.code} (plugin '{active.plugin}') raised while redacting: {type(exc).__name__}: {exc}; "
                f"nothing was written. Switch redaction off in [rules.{active.code}] or --ignore {active.code}"
            ) from exc
        if out is None:
            return None
        if not isinstance(out, pl.DataFrame) or out.height != texts.len() or not {"text", "count"} <= set(out.columns):
            raise PluginError(
                f"rule {active.code} (plugin '{active.plugin}'): redact() must return a frame of {texts.len()} rows "
                "with 'text' and 'count' columns, or None"
            )
        try:
            return out.select(pl.col("text").cast(pl.String), pl.col("count").cast(pl.UInt32).fill_null(0))
        except pl.exceptions.PolarsError as exc:
            raise PluginError(
                f"rule {active.code} (plugin '{active.plugin}'): redact() returned a 'text' column that is not "
                f"strings or a 'count' column that is not counts: {exc}"
            ) from exc


def annotation_field(result: RunResult) -> str:
    """Where dqe's annotation goes: ``_dqe``, or, when a record has a ``_dqe`` field of its own,
    the first of ``_dqe_1``, ``_dqe_2``, ... that no record has (one more pass over the data)."""
    if result.inputs is None or not result.inputs.annotation_taken or result.reopen is None:
        return ANNOTATION
    taken = {
        key
        for _, item, layout in result.reopen().stream()
        if item.obj is not None and layout is not None
        for key in layout.object(item.obj)
        if isinstance(key, str) and key.startswith(ANNOTATION)
    }
    return next(key for n in itertools.count(1) if (key := f"{ANNOTATION}_{n}") not in taken)


def _kept(value: str | bytes) -> dict[str, str]:
    """An invalid record's text, or its bytes (base64) when they are not valid text."""
    if isinstance(value, bytes):
        return {"raw_base64": base64.b64encode(value).decode("ascii")}
    return {"raw": value}


def _labels(part: RecordResults) -> dict[int, dict[str, Any]]:
    """Each valid record's labels (category, domain, languages, ...), by record position."""
    nested = nest_labels(record_labels(part))
    return dict(zip(nested["record"].to_list(), nested["labels"].to_list(), strict=True))


def write_outputs(
    result: RunResult,
    reader: Reader,
    passed: PendingFile,
    rejected: PendingFile,
    passed_ids: PassedIds,
    *,
    annotate: bool = False,
    progress: Callable[[RunProgress], None] | None = None,
) -> OutputCounts:
    """Every record of ``reader`` (the run's inputs, read again) into ``passed`` or ``rejected``,
    files of an ``OutputSet`` that the caller commits with the manifest, and the id of each
    passed record as written (redacted or annotated: its new id) into ``passed_ids``. With
    ``annotate``, every record's labels go under the annotation field too (passed records
    included). The run's verdicts are read a part at a time, as the records stream."""
    total = result.frames.total
    verdicts = _Verdicts(result, annotate)
    redactor = _Redactor(result.rules)
    key = annotation_field(result)
    ok = ObjectWriter(passed)
    bad = ObjectWriter(rejected)
    paths = [info.path for info in reader.files]

    def write(chunk: list[tuple[int, int, int, Any, bool]]) -> None:
        """Write a chunk of (position, file, line, object or raw text, is raw) records."""
        values = [value for _, _, _, value, _ in chunk]
        rewritten = redactor.apply(values) if redactor.rules else ((value, None) for value in values)
        for (idx, file, line, _, raw), (value, redactions) in zip(chunk, rewritten, strict=True):
            status = verdicts.at(idx)
            labels = verdicts.labels
            if status == 0:
                if redactions or idx in labels:
                    note: dict[str, Any] = {}
                    if redactions:
                        note["redactions"] = redactions
                    if idx in labels:
                        note["labels"] = labels[idx]
                    value = {**value, key: note}
                    passed_ids.add(record_id(value))
                else:
                    passed_ids.add(verdicts.ids[idx])
                ok.write(value)
                continue
            meta: dict[str, Any] = {
                "source": f"{paths[file]}:{line}",
                "status": "invalid" if status == 2 else "rejected",
            }
            meta["reasons"] = verdicts.reasons.get(idx, [])  # every failed rule, warnings too, to review and fix
            if redactions:
                meta["redactions"] = redactions
            if idx in labels:
                meta["labels"] = labels[idx]
            bad.write({key: {**meta, **_kept(value)}} if raw else {**value, key: meta})

    chunk: list[tuple[int, int, int, Any, bool]] = []
    for idx, (file, item, layout) in enumerate(reader.stream()):
        if idx >= total:
            raise RuntimeError(f"an input grew while filtering: more than the {total} records checked")
        raw = item.obj is None
        value = item.raw if raw else item.obj if layout is None else layout.object(item.obj)
        chunk.append((idx, file, item.line, value, raw))
        if len(chunk) >= _CHUNK:
            write(chunk)
            chunk = []
            if progress:
                progress(RunProgress("writing", idx + 1, idx + 1, total))
    write(chunk)
    if ok.count + bad.count != total:
        raise RuntimeError(f"an input shrank while filtering: {ok.count + bad.count} records, {total} checked")
    ok.close()
    bad.close()
    redactor.totals.rules = dict(sorted(redactor.totals.rules.items()))
    return OutputCounts(
        passed=ok.count,
        rejected=bad.count,
        passed_path=str(passed.path),
        rejected_path=str(rejected.path),
        annotation=key,
        redactions=redactor.totals,
    )
