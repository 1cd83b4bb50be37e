"""Error analysis with dqe's own record rules: the generated answers checked like training data.

Each test record is rebuilt with the model's answer in place of its last assistant turn and
checked with the record rules the config selects (or those named), so a rule added by a
plugin or merged later joins the analysis with no change here. The share of answers each rule
flags (too long, repetitive, in the wrong language, refusing, without reasoning...) is then
measured for the base and the tuned model rather than eyeballed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from dqe.engine.config import LoadedConfig
from dqe.records import Record, Turn


class Flag(BaseModel):
    """A rule that flagged an answer, and why."""

    code: str
    severity: str
    message: str


class RuleInfo(BaseModel):
    code: str
    name: str
    summary: str
    severity: str


class ModelCheck(BaseModel):
    """What the rules found in one model's answers."""

    flags: list[list[Flag]]  # per answer, in the order given
    dataset: dict[str, Any] = Field(default_factory=dict)  # the check's data-set sections
    errors: list[str] = Field(default_factory=list)  # rules that raised, with where and why


class ErrorAnalysis(BaseModel):
    rules: list[RuleInfo]  # the record rules that ran, in code order
    models: dict[str, ModelCheck]

    def failed(self, model: str, code: str) -> int:
        """Answers of ``model`` that ``code`` flagged."""
        return sum(any(f.code == code for f in flags) for flags in self.models[model].flags)

    def flagged(self, model: str) -> int:
        """Answers of ``model`` that any rule flagged."""
        return sum(bool(flags) for flags in self.models[model].flags)


def answered(record: Record, answer: str) -> Record:
    """``record`` with ``answer`` as its last assistant turn, and nothing after it."""
    last = max(i for i, t in enumerate(record.turns) if t.role == "assistant")
    return record.model_copy(update={"turns": [*record.turns[:last], Turn(role="assistant", content=answer)]})


def _record_rule_codes(loaded: LoadedConfig, registry: Any) -> list[str]:
    from dqe.engine.rule import RecordRule
    from dqe.engine.selection import select_rules

    return [s.cls.code for s in select_rules(loaded.config, registry) if issubclass(s.cls, RecordRule)]


class AnswerChecker:
    """The record rules to run on answers, set up before any answer exists, so that a bad
    selection, option or plugin stops ``dqe eval`` before it spends time generating.

    ``config`` is a dqe config as ``dqe.check`` takes it (its ``select``, ``ignore`` and rule
    options apply); ``select`` (codes, prefixes, names) replaces its selection. Data-set rules
    (duplicates, balance) are left out: they judge a training set, not answers.
    """

    def __init__(
        self,
        config: Any = None,
        *,
        select: list[str] | None = None,
        plugins: Iterable[object] = (),
        disable_plugins: Iterable[str] = (),
    ):
        from dqe.api import resolve_config
        from dqe.engine.engine import Engine
        from dqe.engine.plugins import load_plugins

        loaded = resolve_config(config, {"select": select})
        self.registry = load_plugins(disabled=[*disable_plugins, *loaded.config.disable_plugins], extra=plugins)
        self.registry.raise_errors()
        codes = _record_rule_codes(loaded, self.registry)
        self.loaded = resolve_config(loaded, {"select": codes, "extend_select": [], "ignore": []})
        engine = Engine(self.loaded, self.registry)  # validates every rule's options now
        self.rules = [
            RuleInfo(code=a.code, name=a.rule.name, summary=a.rule.summary, severity=a.severity) for a in engine.rules
        ]

    def check(self, records: Sequence[Record], answers: dict[str, Sequence[str]]) -> ErrorAnalysis:
        """Each model's ``answers`` (one per record) checked as the records' last answers."""
        from dqe.engine.engine import Engine
        from dqe.report.model import build_report

        models: dict[str, ModelCheck] = {}
        for model, texts in answers.items():
            if len(texts) != len(records):
                raise ValueError(f"{len(texts)} answers of '{model}' for {len(records)} records")
            if not records:  # nothing to check (the engine reads no empty input)
                models[model] = ModelCheck(flags=[])
                continue
            checked = [answered(r, a) for r, a in zip(records, texts, strict=True)]
            engine = Engine(self.loaded, self.registry)  # one per model: rules count per run
            report = build_report(engine.run(checked), complete=True)
            flags: list[list[Flag]] = [[] for _ in records]
            for row in report.findings_frame.iter_rows(named=True):
                flags[row["record"]].append(
                    Flag(code=row["code"], severity=row["severity"], message=row["message"] or "")
                )
            errors = [f"{e.code} ({e.plugin}) at answer {e.source or '(all)'}: {e.message}" for e in report.errors]
            dataset = {k: v for k, v in report.dataset.items() if k not in ("formats", "records")}
            models[model] = ModelCheck(flags=flags, dataset=dataset, errors=errors)
        return ErrorAnalysis(rules=self.rules, models=models)


def check_answers(
    records: Sequence[Record],
    answers: dict[str, Sequence[str]],
    config: Any = None,
    *,
    select: list[str] | None = None,
    plugins: Iterable[object] = (),
    disable_plugins: Iterable[str] = (),
) -> ErrorAnalysis:
    """Check each model's ``answers`` (one per record) with the selected record rules (see
    ``AnswerChecker``)."""
    checker = AnswerChecker(config, select=select, plugins=plugins, disable_plugins=disable_plugins)
    return checker.check(records, answers)
