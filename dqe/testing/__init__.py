"""Helpers for testing rules, in dqe's own tests and in a plugin's: build records, run one
rule on them through the real engine, and assert what it found.

    from dqe.testing import record, run_rule, assert_findings

    def test_flags_shouting():
        run = run_rule(NoShouting, [record(answer="HELLO THERE"), record(answer="Hello there")])
        assert_findings(run, {0: "upper case"})

A rule runs exactly as in ``dqe check``: its options are validated, the features it ``needs``
are computed, and its results are checked like any other rule's. A rule class that no loaded
plugin registers is registered for the run, so a test needs no installed package.
``assert_rule_contract(NoShouting, records)`` checks what the engine would otherwise catch at
run time: result shape, finite scores, a batch left unchanged, nothing printed, and the same
verdict in a batch as alone. ``dqe.testing.hostile`` holds plugins that misbehave on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dqe.errors import PluginError
from dqe.hookspecs import hookimpl

if TYPE_CHECKING:
    import polars as pl

    from dqe.engine.plugins import Registry
    from dqe.engine.rule import Rule
    from dqe.report.model import Report

RecordLike = Mapping[str, Any] | str


def record(
    question: str = "Answer the question.",
    answer: str = "Here is the answer.",
    *,
    system: str | None = None,
    history: Sequence[tuple[str, str]] = (),
    **fields: Any,
) -> dict[str, Any]:
    """An Alpaca record; ``history`` holds earlier (question, answer) pairs, and any other
    keyword (``category="math"``, ``id=7``) becomes a field of the record."""
    out: dict[str, Any] = {"instruction": question, "input": "", "output": answer}
    if system is not None:
        out["system"] = system
    if history:
        out["history"] = [list(pair) for pair in history]
    return {**out, **fields}


def conversation(*turns: str, system: str | None = None, **fields: Any) -> dict[str, Any]:
    """An OpenAI ``messages`` record from alternating user and assistant turns."""
    messages = [{"role": "system", "content": system}] if system is not None else []
    messages += [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(turns)]
    return {"messages": messages, **fields}


def _records(items: Iterable[RecordLike]) -> list[dict[str, Any]]:
    """Records from dicts or strings (an answer to a fixed question). The records of one call
    are read like one file, so they share one record format: don't mix ``record`` and
    ``conversation`` in a call."""
    return [record(answer=item) if isinstance(item, str) else dict(item) for item in items]


class _OneRule:
    """A plugin that registers a single rule class, for a rule no installed plugin provides."""

    def __init__(self, rule: type[Rule]):
        self.rule = rule
        self.__name__ = f"dqe.testing:{rule.code}"

    @hookimpl
    def dqe_register_rules(self, register):
        register(self.rule)


def _registry(
    rule: type[Rule] | str, plugins: Sequence[object], disabled: Iterable[str]
) -> tuple[Registry, type[Rule]]:
    from dqe.engine.plugins import load_plugins

    registry = load_plugins(disabled=disabled, extra=plugins)
    registry.raise_errors()
    if isinstance(rule, str):
        found = registry.rule_by_name(rule.upper()) or registry.rule_by_name(rule)
        if found is None:
            raise PluginError(f"no rule '{rule}' is registered; pass the rule class, or its plugin in plugins=[...]")
        return registry, found
    taken = registry.rules.get(rule.code)
    if taken is rule:
        return registry, rule
    if taken is not None:
        owner = registry.plugin_of("rule", rule.code)
        raise PluginError(
            f"{rule.__name__}'s code {rule.code} is taken by {taken.__module__}.{taken.__name__} (plugin '{owner}'); "
            f"test the registered class, or disable that plugin with disabled=['{owner}']"
        )
    registry = load_plugins(disabled=disabled, extra=[*plugins, _OneRule(rule)])
    registry.raise_errors()
    return registry, rule


@dataclass
class RuleRun:
    """One rule's verdict on each record, in input order."""

    code: str
    passed: list[bool]
    scores: list[float]  # the rule's score (0..1, 1 best); 0 for a record that could not be read
    messages: list[str | None]  # why the rule failed the record; None where it passed
    turns: list[int | None]  # the 1-based turn a failing record's finding names, if any
    evidence: list[str | None]  # what matched and the scores that decided, for failing records
    errors: list[str]  # the rule raised (file:line: error); a record it raised on has passed False
    report: Report = field(repr=False)

    @property
    def failed(self) -> list[int]:
        return [i for i, ok in enumerate(self.passed) if not ok]


def run_rule(
    rule: type[Rule] | str,
    records: Iterable[RecordLike] | str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[object] = (),
    disabled: Iterable[str] = (),
    **config: Any,
) -> RuleRun:
    """Run one rule (a class, a code or a name) on ``records`` (or on a data file or folder)
    with ``options`` (config keys or field names), through the engine; other config keys go in
    ``config`` (``tokenizer="hf:./tok"``, ``extend_select=["DQ401"]`` for rules it runs beside).
    Only these rules run, every finding is kept, and no config file is read."""
    from dqe.api import resolve_config
    from dqe.engine.engine import Engine
    from dqe.report.model import INVALID_CODE, build_report

    items = records if isinstance(records, str | Path) else _records(records)
    registry, cls = _registry(rule, plugins, disabled)
    table = {"select": [cls.code], "rules": {cls.code: dict(options or {})}, **config}
    result = Engine(resolve_config(table), registry).run(items)
    report = build_report(result, complete=True)
    n = report.summary.records
    passed, scores = [True] * n, [0.0] * n
    # With one record rule selected, a record's quality is that rule's score.
    for idx, quality in result.table.select("_idx", "quality").iter_rows():
        scores[idx] = quality
    messages: list[str | None] = [None] * n
    turns: list[int | None] = [None] * n
    evidence: list[str | None] = [None] * n
    for f in report.findings:
        if f.code in (cls.code, INVALID_CODE):
            passed[f.record] = False
            messages[f.record] = f.message if f.code == cls.code else f"{INVALID_CODE} invalid record: {f.message}"
            turns[f.record], evidence[f.record] = f.turn, f.evidence
    errors = [f"{e.source or 'data set'}: {e.message}" for e in report.errors]
    return RuleRun(
        code=cls.code,
        passed=passed,
        scores=scores,
        messages=messages,
        turns=turns,
        evidence=evidence,
        errors=errors,
        report=report,
    )


def assert_findings(run: RuleRun, expected: Mapping[int, str | None] | Iterable[int]) -> None:
    """Exactly the records in ``expected`` fail (by position). With a mapping, each failing
    record's message must contain its text (None: any message). The rule must not raise."""
    wanted = dict(expected) if isinstance(expected, Mapping) else dict.fromkeys(expected)
    problems = [f"rule {run.code} raised: {e}" for e in run.errors]
    for i, (ok, message) in enumerate(zip(run.passed, run.messages, strict=True)):
        if i in wanted and ok:
            problems.append(f"record {i}: expected a finding{_containing(wanted[i])}, but it passed")
        elif i in wanted and wanted[i] is not None and wanted[i] not in (message or ""):
            problems.append(f"record {i}: expected a message containing {wanted[i]!r}, got {message!r}")
        elif i not in wanted and not ok:
            problems.append(f"record {i}: expected no finding, got {message!r}")
    missing = sorted(i for i in wanted if i >= len(run.passed))
    if missing:
        problems.append(f"records {missing} were expected to fail, but only {len(run.passed)} records ran")
    if problems:
        raise AssertionError(f"{run.code}:\n  " + "\n  ".join(problems))


def assert_rule_contract(
    rule: type[Rule] | str,
    records: Iterable[RecordLike],
    options: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[object] = (),
    **config: Any,
) -> None:
    """What the engine holds a record rule's ``check`` to, checked on ``records`` without the
    engine's safety nets: one row per record with a boolean ``passed`` and finite scores; the
    batch left as it was; nothing printed to stdout (where ``--format json`` goes); and each
    record judged the same in a batch as alone (the engine checks records one at a time when a
    batch raises, and splits data into batches wherever it likes)."""
    import contextlib
    import io

    from dqe.api import resolve_config
    from dqe.engine.batch import validated
    from dqe.engine.engine import Engine
    from dqe.engine.rule import RecordRule

    registry, cls = _registry(rule, plugins, ())
    if not issubclass(cls, RecordRule):
        raise TypeError(f"{cls.code} is a dataset rule; assert_rule_contract checks record rules")
    engine = Engine(
        resolve_config({"select": [cls.code], "rules": {cls.code: dict(options or {})}, **config}), registry
    )
    instance = engine.rules[0].rule
    frame = batch(records, needs=cls.needs, plugins=plugins, **config)
    before = frame.clone()
    printed = io.StringIO()
    problems = []
    with contextlib.redirect_stdout(printed):
        out = instance.check(frame)  # type: ignore[attr-defined]
    try:
        whole = validated(out, before.height, cls.code)
    except TypeError as exc:
        whole = None
        problems.append(str(exc))
    if frame.columns != before.columns or not frame.equals(before):
        problems.append("check() changed its batch in place (work on a copy: batch.clone(), or expressions)")
    if printed.getvalue():
        problems.append(f"check() printed to stdout: {printed.getvalue()[:80]!r} (use logging, or nothing)")
    for row in range(before.height if whole is not None else 0):
        with contextlib.redirect_stdout(io.StringIO()):
            alone = validated(instance.check(before.slice(row, 1)), 1, cls.code)  # type: ignore[attr-defined]
        if alone.row(0) != whole.row(row):
            problems.append(
                f"record {row}: in the batch {whole.row(row)[:3]}, alone {alone.row(0)[:3]} (passed, score, message)"
            )
    if problems:
        raise AssertionError(f"{cls.code} breaks the rule contract:\n  " + "\n  ".join(problems))


def _containing(text: str | None) -> str:
    return f" containing {text!r}" if text else ""


def batch(
    records: Iterable[RecordLike],
    *,
    needs: Sequence[str] = (),
    plugins: Sequence[object] = (),
    **config: Any,
) -> pl.DataFrame:
    """The frame a rule's ``check`` receives for ``records``: the columns of
    ``dqe.records.batch_schema()`` plus those of the features in ``needs``."""
    import polars as pl

    from dqe.api import resolve_config
    from dqe.engine.context import Context
    from dqe.engine.plugins import load_plugins
    from dqe.io.reader import Reader

    registry = load_plugins(extra=plugins)
    registry.raise_errors()
    loaded = resolve_config(dict(config))
    context = Context(loaded, registry)
    frames = []
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name not in registry.features:
            raise PluginError(f"no feature '{name}' is registered (features: {', '.join(sorted(registry.features))})")
        for dep in registry.features[name].needs:
            visit(dep)
        ordered.append(name)

    for name in needs:
        visit(name)
    features = [registry.features[name](context) for name in ordered]
    reader = Reader(_records(records), registry.formats, columns=loaded.config.columns, tags=loaded.config.tags)
    for part in reader:
        if part.invalid:
            raise ValueError(
                f"invalid test record(s): {'; '.join(f'record {r.idx}: {r.reason}' for r in part.invalid)}"
            )
        frame = part.frame
        for feature in features:
            frame = frame.hstack(feature.compute(frame).get_columns())
        frames.append(frame)
    return pl.concat(frames)
