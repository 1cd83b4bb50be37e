"""What one batch of records goes through: features, record rules, dataset-rule collection.

A ``BatchProcessor`` is the per-batch half of the engine, kept apart so that batches can run in
worker processes (``dqe.engine.workers``) as well as in the engine's own: it returns everything the
engine merges as a ``BatchResult`` and touches no state the engine owns. A rule that raises
never counts as a pass: the records it raised on fail with the error.

In a small batch on a machine that is not busy, features and rules run at once in threads,
each as soon as the features it needs are computed (a rule that needs none does not wait for
the language feature; the domain feature waits for the category feature alone): a small batch's
time is mostly a fixed cost per polars call (planning, compiling regexes) paid with the GIL
released, and polars has no rows to spread over its own threads. Each is given the batch with
the columns of the features it needs, as ``dqe.testing`` gives it, whatever else has finished.
A large batch runs them in turn: polars keeps the cores busy there, and threads on top only add
contention (30,000 records: 8% more CPU, 10% more memory); so does a machine whose cores are
all busy. Results are merged in the engine's order, so a run's output does not depend on which
finished first.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import polars as pl

from dqe.engine.rule import Rule, Severity
from dqe.errors import PluginError
from dqe.guard import blame, describe

if TYPE_CHECKING:
    from dqe.engine.feature import Feature

_MAX_RULE_ERRORS = 20  # records a rule may fail on before it is no longer called
THREADS: int | None = None  # threads for a small batch; None: up to 4 unless the cores are busy (1 in worker processes)
THREADED_BELOW = 2_000  # batches of fewer records may run their features and rules in threads


@dataclass
class ActiveRule:
    rule: Rule
    severity: Severity
    plugin: str
    evaluated: int = 0
    failed: int = 0
    errors: int = 0
    skipped: str | None = None  # a dataset rule with nothing to check in this run

    @property
    def code(self) -> str:
        return self.rule.code


class RaisedOn(NamedTuple):
    """A rule raised: on the record at file/line, or (both None) it gave up on the rest. A
    ``warning`` is a batch it raised on while every record of it, checked alone, gave a result:
    nothing is rejected, but the rule has a bug worth reporting."""

    code: str
    plugin: str
    file: int | None
    line: int | None
    message: str
    warning: bool = False


@dataclass
class BatchResult:
    kept: pl.DataFrame  # the kept columns of every record, quality, dataset rules' collected columns
    findings: list[pl.DataFrame]  # failures of record rules (FINDINGS_SCHEMA)
    counts: dict[str, list[int]]  # rule code -> [evaluated, failed, errors]
    raised: list[RaisedOn] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def validated(out: Any, height: int, code: str) -> pl.DataFrame:
    """A rule's result checked against the contract: one row per record, a boolean 'passed'."""
    if not isinstance(out, pl.DataFrame):
        raise TypeError(f"check() returned {type(out).__name__}, expected a polars DataFrame")
    if out.height != height:
        hint = (
            " (a select of literals alone gives one row: add the column with with_columns)" if out.height == 1 else ""
        )
        raise TypeError(f"check() returned {out.height} rows for a batch of {height}{hint}")
    if "passed" not in out.columns or out.schema["passed"] != pl.Boolean:
        raise TypeError("check() must return a boolean 'passed' column")
    if out["passed"].null_count():
        raise TypeError("check() returned null in 'passed'")
    passed = out["passed"]
    score = out["score"].cast(pl.Float64) if "score" in out.columns else passed.cast(pl.Float64)
    if not score.is_finite().fill_null(True).all():
        bad = score.filter(~score.is_finite())[0]
        raise TypeError(
            f"check() returned a score that is not a finite number ({'NaN' if bad != bad else bad}); scores are 0..1, 1 best"
        )
    given = pl.DataFrame(
        [
            passed,
            score.alias("score"),
            *([out["message"].cast(pl.String)] if "message" in out.columns else []),
            *_cast(out, "turn", pl.Int32),
            *_cast(out, "evidence", pl.String),
        ]
    )
    # one polars call for what is kept: a failing record's message, turn and evidence
    failing = ~pl.col("passed")
    return given.select(
        "passed",
        score=pl.col("score").fill_null(pl.col("passed").cast(pl.Float64)).clip(0.0, 1.0),
        message=pl.when(failing).then(_given("message", pl.String, given).fill_null(f"failed {code}")),
        turn=pl.when(failing).then(_given("turn", pl.Int32, given)),
        evidence=pl.when(failing).then(_given("evidence", pl.String, given)),
        error=pl.lit(False),
    )


def _cast(out: pl.DataFrame, name: str, dtype: pl.DataType) -> list[pl.Series]:
    """An optional column of a rule's result (``turn``, ``evidence``) as ``dtype``, alone in a
    list; none where the rule gave none."""
    if name not in out.columns:
        return []
    try:
        return [out[name].cast(dtype)]
    except pl.exceptions.PolarsError:
        raise TypeError(f"check() returned a '{name}' column of {out.schema[name]}, expected {dtype}") from None


def _given(name: str, dtype: pl.DataType, given: pl.DataFrame) -> pl.Expr:
    """A column the rule gave, or nulls."""
    return pl.col(name) if name in given.columns else pl.lit(None, dtype=dtype)


def _errored(n: int, message: str) -> pl.DataFrame:
    """Results that reject ``n`` records because the rule raised on them."""
    return pl.DataFrame(
        {
            "passed": [False] * n,
            "score": [0.0] * n,
            "message": [f"rule raised {message}"] * n,
            "turn": [None] * n,
            "evidence": [None] * n,
            "error": [True] * n,
        },
        schema={
            "passed": pl.Boolean,
            "score": pl.Float64,
            "message": pl.String,
            "turn": pl.Int32,
            "evidence": pl.String,
            "error": pl.Boolean,
        },
    )


class BatchProcessor:
    """``owners`` names the plugin of each feature (``"feature:tokens"`` -> plugin), for errors.

    Every feature, rule and classifier gets its own shallow copy of the batch (columns are
    shared, not copied), so that one that changes its frame in place changes nothing the next
    one or the engine reads.
    """

    def __init__(
        self,
        features: list[Feature],
        record_rules: list[ActiveRule],
        dataset_rules: list[ActiveRule],
        keep: list[str],
        owners: dict[str, str],
    ):
        self.features = features
        self.record_rules = record_rules
        self.dataset_rules = dataset_rules
        self.keep = keep
        self.owners = owners
        self._raised: dict[str, int] = defaultdict(int)  # records each rule raised on so far
        self._broken: dict[str, str] = {}  # rules given up on, with the error
        self._order = [feature.name for feature in features]
        # the features each feature waits on: those it needs that come before it in the
        # engine's order (the order puts what a feature needs first)
        self._deps = {f.name: set(f.needs) & set(self._order[:i]) for i, f in enumerate(features)}

    def __call__(self, frame: pl.DataFrame, windows: Sequence[int] = ()) -> BatchResult:
        """Features and record rules over ``frame``; ``windows``, the sizes of the reader's batches
        that ``frame`` joins (in order; one batch when empty), are what data-set rules collect
        from apart: what they collect depends on the batch a record is in (DQ402 keeps the lines a
        batch repeats out of its shingles). A polars call costs about the same fixed time on
        10,000 rows as on 20,000 (its regexes compiled again, their automata built from empty),
        so joining batches saves a part of every call and changes no result."""
        timings: dict[str, float] = defaultdict(float)
        threads = _threads() if frame.height < THREADED_BELOW else 1
        with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
            added, checks, collections = self._tasks(frame, windows, pool, threads, timings)
            frame = self._with_features(frame, added)
            clock = time.perf_counter()
            result = BatchResult(kept=frame, findings=[], counts={}, timings=timings)
            scores = np.zeros(frame.height)
            for active, (out, raised) in zip(self.record_rules, checks, strict=True):
                result.raised.extend(raised)
                scores += out["score"].to_numpy()
                errors = int(out["error"].sum())
                result.counts[active.code] = [frame.height, int((~out["passed"]).sum()) - errors, errors]
                failed = (
                    out.lazy()
                    .with_columns(_idx=frame["_idx"])
                    .filter(~pl.col("passed"))
                    .select(
                        "_idx",
                        code=pl.lit(active.code),
                        severity=pl.lit(active.severity),
                        score="score",
                        message="message",
                        turn="turn",
                        evidence="evidence",
                        error="error",
                    )
                    .collect()
                )
                if failed.height:
                    result.findings.append(failed)
            timings["rules"] += time.perf_counter() - clock

            clock = time.perf_counter()
            kept = frame.select(self.keep).with_columns(quality=pl.Series(scores / max(len(self.record_rules), 1)))
            taken = {*kept.columns, "rejected"}  # the engine adds 'rejected' before dataset rules evaluate
            for active, collected in zip(self.dataset_rules, collections, strict=True):
                if collected is None:
                    continue
                what = f"rule {active.code} (plugin '{active.plugin}')"
                clash = sorted(set(collected.columns) & taken)
                if clash:
                    raise PluginError(
                        f"{what}: collect() returned column '{clash[0]}', a name the engine's table uses "
                        f"({', '.join(sorted(taken))}); give the collected columns names of their own"
                    )
                kept = kept.hstack([s.alias(f"{active.code}:{s.name}") for s in collected.get_columns()])
            result.kept = kept
            timings["collect"] += time.perf_counter() - clock
        return result

    def _tasks(
        self, frame: pl.DataFrame, windows: Sequence[int], pool: Any, threads: int, timings: dict[str, float]
    ) -> tuple[dict[str, pl.DataFrame], list[tuple[pl.DataFrame, list[RaisedOn]]], list[pl.DataFrame | None]]:
        """Every feature's columns, every record rule's results and every dataset rule's
        collected columns. Each call is given the batch with the columns of the features it
        needs (and of those they need), so it can start as soon as they are computed: in
        threads, at most ``threads`` calls at once, features first (others wait on them), then
        rules in the engine's order. A call that raises stops new calls; the error raised is
        the first in the engine's order, so a run fails the same way whichever finished first."""
        calls = [
            *((self._computed, feature, self._deps[feature.name], "feature:") for feature in self.features),
            *((self._checked, active, self._rule_deps(active), "rules") for active in self.record_rules),
            *(
                (partial(self._collected, windows=windows), active, self._rule_deps(active), "collect")
                for active in self.dataset_rules
            ),
        ]
        added: dict[str, pl.DataFrame] = {}
        results: list[Any] = [None] * len(calls)
        failed: dict[int, BaseException] = {}
        running: dict[Any, int] = {}
        todo = list(range(len(calls)))

        def given(i: int) -> pl.DataFrame:
            needed = _closure(calls[i][2], self._deps)
            columns = [c for name in self._order if name in needed for c in added[name].get_columns()]
            return frame.hstack(columns) if columns else frame

        def finished(i: int, out: Any, seconds: float) -> None:
            what, phase = calls[i][1], calls[i][3]
            if phase == "feature:":
                self._clash(what, frame, out, added)
                added[what.name] = out
                phase += what.name
            results[i] = out
            timings[phase] += seconds

        while running or todo and not failed:
            ready = [i for i in todo if calls[i][2] <= added.keys()] if not failed else []
            for i in ready[: threads - len(running)]:
                todo.remove(i)
                if threads == 1:
                    try:
                        finished(i, *_timed(calls[i][0], calls[i][1], given(i)))
                    except Exception as exc:
                        failed[i] = exc
                    break
                running[pool.submit(_timed, calls[i][0], calls[i][1], given(i))] = i
            if threads == 1 or not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                try:
                    finished(i, *future.result())
                except Exception as exc:
                    failed[i] = exc
        if failed:
            raise failed[min(failed)]
        n, m = len(self.features), len(self.record_rules)
        return added, results[n : n + m], results[n + m :]

    def _rule_deps(self, active: ActiveRule) -> set[str]:
        return {name for name in active.rule.needs if name in self._deps}

    def _clash(self, feature: Feature, frame: pl.DataFrame, out: pl.DataFrame, added: dict[str, pl.DataFrame]) -> None:
        """A feature's columns must be new: not the batch's, nor another feature's."""
        taken = set(frame.columns).union(*(set(a.columns) for a in added.values()))
        clash = sorted(set(out.columns) & taken)
        if clash:
            raise PluginError(f"{self._what(feature)} returned columns the batch has already: {', '.join(clash)}")

    def _with_features(self, frame: pl.DataFrame, added: dict[str, pl.DataFrame]) -> pl.DataFrame:
        """``frame`` with every feature's columns, in the engine's order."""
        return frame.hstack([c for feature in self.features for c in added[feature.name].get_columns()])

    def _what(self, feature: Feature) -> str:
        return f"feature '{feature.name}' (plugin '{self.owners.get(f'feature:{feature.name}', '?')}')"

    def _computed(self, feature: Feature, frame: pl.DataFrame) -> pl.DataFrame:
        what = self._what(feature)
        with blame(f"{what} compute()"):
            added = feature.compute(frame.clone())
        if not isinstance(added, pl.DataFrame) or added.height != frame.height:
            got = f"{added.height} rows" if isinstance(added, pl.DataFrame) else type(added).__name__
            raise PluginError(f"{what} returned {got} for {frame.height} records")
        return added

    def _checked(self, active: ActiveRule, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[RaisedOn]]:
        raised: list[RaisedOn] = []
        return self._check(active, frame, raised), raised

    def _collected(self, active: ActiveRule, frame: pl.DataFrame, windows: Sequence[int]) -> pl.DataFrame | None:
        what = f"rule {active.code} (plugin '{active.plugin}')"
        parts: list[pl.DataFrame | None] = []
        start = 0
        for height in windows or [frame.height]:
            window = frame.slice(start, height)
            start += height
            with blame(f"{what} collect()", f"to check without it: --ignore {active.code}"):
                collected = active.rule.collect(window.clone())  # type: ignore[attr-defined]
            if collected is not None and (not isinstance(collected, pl.DataFrame) or collected.height != height):
                got = f"{collected.height} rows" if isinstance(collected, pl.DataFrame) else type(collected).__name__
                raise PluginError(f"{what}: collect() returned {got} for {height} records")
            parts.append(collected)
        if all(part is None for part in parts):
            return None
        if any(part is None for part in parts):
            raise PluginError(f"{what}: collect() returned None for one batch and columns for another")
        return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")

    def _check(self, active: ActiveRule, frame: pl.DataFrame, raised: list[RaisedOn]) -> pl.DataFrame:
        """The rule's results for a batch (passed, score, message, error).

        Anything the rule raises but KeyboardInterrupt (``SystemExit`` too) counts as a failure
        to check: the records it raised on are rejected with the error, never passed.
        """
        code = active.code
        if code in self._broken:
            return _errored(frame.height, self._broken[code])
        try:
            return validated(active.rule.check(frame.clone()), frame.height, code)  # type: ignore[attr-defined]
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            batch_error = describe(exc)
        # Find the records it raises on, one at a time; give up on a rule that raises on many.
        parts = []
        before = len(raised)
        for row in range(frame.height):
            one = frame.slice(row, 1)
            try:
                parts.append(validated(active.rule.check(one), 1, code))  # type: ignore[attr-defined]
                continue
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                message = describe(exc)
            parts.append(_errored(1, message))
            raised.append(RaisedOn(code, active.plugin, one["_file"][0], one["_line"][0], message))
            self._raised[code] += 1
            if self._raised[code] >= _MAX_RULE_ERRORS:
                self._broken[code] = batch_error
                note = (
                    f"stopped after {self._raised[code]} failing records; every later record is rejected: {batch_error}"
                )
                raised.append(RaisedOn(code, active.plugin, None, None, note))
                parts.append(_errored(frame.height - row - 1, batch_error))
                break
        if len(raised) == before:  # every record alone gave a result: the batch error would go unseen
            note = (
                f"raised on the batch of {frame.height:,} records from here, but on none of them alone "
                f"(each was checked alone instead): {batch_error}"
            )
            raised.append(RaisedOn(code, active.plugin, frame["_file"][0], frame["_line"][0], note, warning=True))
        return pl.concat(parts)


def _threads() -> int:
    """Threads for a small batch: ``THREADS`` when set, else up to 4 while the load average is
    under two jobs a core (as ``make -l`` starts jobs by the load), else 1."""
    if THREADS is not None:
        return THREADS
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this system
        load = 0.0
    return min(4, cores) if load < 2 * cores else 1


def _timed(fn: Callable[[Any, pl.DataFrame], Any], what: Any, frame: pl.DataFrame) -> tuple[Any, float]:
    """``fn(what, frame)`` and the seconds it took."""
    clock = time.perf_counter()
    return fn(what, frame), time.perf_counter() - clock


def _closure(names: set[str], deps: dict[str, set[str]]) -> set[str]:
    """``names`` and every feature they need, directly or through others."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(deps[name])
    return seen
