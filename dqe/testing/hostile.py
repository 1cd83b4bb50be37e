"""Plugins that misbehave on purpose, to prove that a run fails closed.

A ``Hostile`` plugin misbehaves in one place (``where``: a hook at load, a rule's options,
constructor, ``check``, ``collect``, ``evaluate``, ``summarize`` or ``redact``, a feature, a
classifier, a renderer, a record format) in one way (``how``): it raises (``Exception``,
``SystemExit(0)``, ``SystemExit(1)``, ``GeneratorExit``, ``KeyboardInterrupt``), returns
what the contract does not allow (NaN and infinite scores, wrong heights, wrong types and
dtypes, columns named like dqe's own), prints to stdout, changes its batch in place, or is slow.

``Hostile.expected`` says what a run must then do: ``"error"`` (a plugin or rule error naming
the plugin and the rule: exit code 2, never 0, never a traceback), ``"interrupt"`` (Ctrl-C stops
the run) or ``"harmless"`` (the report is the same as without the plugin's misbehaviour). dqe's
own tests run every case in ``CASES`` through the local engine with and without worker
processes; an engine of your own can run the same cases::

    from dqe.testing.hostile import CASES, Hostile

    for where, how in CASES:
        plugin = Hostile(where, how)   # plugin.records, plugin.config, plugin.command, plugin.expected
"""

from __future__ import annotations

import os
import time
from typing import Any

import polars as pl
from pydantic import model_validator

from dqe.engine.classifier import Classifier
from dqe.engine.feature import Feature
from dqe.engine.rule import DatasetResult, DatasetRule, RecordRule, RuleOptions
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Normalized, RecordFormat
from dqe.report.renderer import Renderer

NAME = "hostile"  # the plugin's name, and the name of the feature, classifier, renderer and format it adds
PRINTED = "printed by a hostile plugin"  # what ``how="print"`` writes to stdout
RECORD_RULE = "HST001"
DATASET_RULE = "HST002"

RAISES = ("Exception", "SystemExit(0)", "SystemExit(1)", "GeneratorExit", "KeyboardInterrupt")
HARMLESS = ("print", "mutate", "slow")
WRONG = {  # results the contract refuses, by place
    "check": ("nan", "inf", "wrong-height", "not-a-frame", "no-passed", "null-passed", "wrong-dtype"),
    "collect": ("wrong-height", "not-a-frame", "internal-column"),
    "evaluate": ("nan", "not-a-result", "unknown-record", "no-idx"),
    "summarize": ("not-a-dict",),
    "feature": ("wrong-height", "not-a-frame", "internal-column"),
    "classify": ("wrong-height", "not-a-series", "wrong-dtype"),
    "render": ("not-text",),
    "redact": ("wrong-height", "wrong-dtype"),
}
PLACES = (
    "load",
    "options",
    "init",
    "check",
    "collect",
    "evaluate",
    "summarize",
    "redact",
    "feature",
    "classify",
    "render",
    "detect",
    "normalize",
)
# where harmless misbehaviour can happen: code that gets a batch, or runs while a report is due
_HARMLESS_AT = {
    "print": ("load", "check", "collect", "feature", "render", "redact"),
    "mutate": ("check", "collect", "feature", "summarize"),
    "slow": ("check",),
}

CASES: tuple[tuple[str, str], ...] = (
    *((where, how) for where in PLACES for how in RAISES),
    *((where, how) for where, hows in WRONG.items() for how in hows),
    *((where, how) for how, places in _HARMLESS_AT.items() for where in places),
)


class Hostile:
    """A plugin whose code misbehaves ``how`` at ``where`` (see the module's docstring)."""

    def __init__(self, where: str, how: str):
        if (where, how) not in CASES:
            raise ValueError(f"no hostile case ({where!r}, {how!r}); see dqe.testing.hostile.CASES")
        self.where = where
        self.how = how
        self.__name__ = NAME  # the plugin's name when it is registered from code

    def __repr__(self) -> str:
        return f"Hostile({self.where!r}, {self.how!r})"

    @property
    def expected(self) -> str:
        """``"error"``, ``"interrupt"`` or ``"harmless"``: what a run must do."""
        if self.how == "KeyboardInterrupt":
            return "interrupt"
        return "harmless" if self.how in HARMLESS else "error"

    @property
    def command(self) -> str:
        """``check``, or ``filter`` where only writing outputs runs the hostile code."""
        return "filter" if self.where == "redact" else "check"

    @property
    def report_format(self) -> str:
        return NAME if self.where == "render" else "json"

    @property
    def code(self) -> str:
        """The code of the rule it adds to the run."""
        return DATASET_RULE if self.where in ("collect", "evaluate") else RECORD_RULE

    @property
    def config(self) -> dict[str, Any]:
        """Config keys that make dqe call the hostile code, and nothing else of the plugin's."""
        config: dict[str, Any] = {"select": [self.code]}
        if self.where == "classify":
            config["classifiers"] = {"category": NAME}
        return config

    @property
    def records(self) -> list[dict[str, Any]]:
        """Records to run: three valid ones (the second fails no built-in rule either), in the
        plugin's own format where the format is what misbehaves."""
        if self.where in ("detect", "normalize"):
            return [{NAME: f"record {i}"} for i in range(3)]
        return [{"instruction": f"Say hi {i}.", "output": f"Hi {i}!"} for i in range(3)]

    def misbehave(self, batch: pl.DataFrame | None = None) -> None:
        """Raise, print, change ``batch`` in place or sleep, as ``how`` says; else nothing."""
        how = self.how
        if how == "Exception":
            raise RuntimeError(f"hostile plugin in {self.where}")
        if how.startswith("SystemExit"):
            raise SystemExit(int(how[len("SystemExit(") : -1]))
        if how == "GeneratorExit":
            raise GeneratorExit
        if how == "KeyboardInterrupt":
            raise KeyboardInterrupt
        if how == "print":
            print(PRINTED, "with print()")  # noqa: T201 - the point of the case
            os.write(1, f"{PRINTED} to file descriptor 1\n".encode())
        elif how == "mutate" and batch is not None:
            batch.drop_in_place("_idx")
            if "answer" in batch.columns:
                batch.replace_column(batch.get_column_index("answer"), pl.repeat("changed", batch.height, eager=True))
        elif how == "slow" and batch is not None and batch["_idx"][0] % 2 == 0:
            time.sleep(0.3)  # even batches finish after odd ones: results come back out of order

    def _at(self, where: str, batch: pl.DataFrame | None = None) -> bool:
        """Misbehave when ``where`` is the place; True when the result should be wrong too."""
        if where != self.where:
            return False
        self.misbehave(batch)
        return self.how in WRONG.get(where, ())

    @hookimpl
    def dqe_register_rules(self, register: Any) -> None:
        self._at("load")
        register(_record_rule(self))
        register(_dataset_rule(self))

    @hookimpl
    def dqe_register_features(self, register: Any) -> None:
        register(_feature(self))

    @hookimpl
    def dqe_register_classifiers(self, register: Any) -> None:
        register(_classifier(self))

    @hookimpl
    def dqe_register_renderers(self, register: Any) -> None:
        register(_renderer(self)())

    @hookimpl
    def dqe_register_formats(self, register: Any) -> None:
        register(_format(self)())


def _record_rule(plugin: Hostile) -> type[RecordRule]:
    class Options(RuleOptions):
        @model_validator(mode="after")
        def _hostile(self) -> Options:
            plugin._at("options")
            return self

    class HostileRecordRule(RecordRule):
        """Misbehaves as its plugin says; passes every record otherwise."""

        code = RECORD_RULE
        name = "hostile-record-rule"
        summary = "a record rule that misbehaves on purpose"
        needs = {"feature": (NAME,), "classify": ("category",)}.get(plugin.where, ())

        def __init__(self, options: RuleOptions, context: Any):
            super().__init__(options, context)
            plugin._at("init")

        def check(self, batch: pl.DataFrame) -> pl.DataFrame:
            if not plugin._at("check", batch):
                return pl.DataFrame({"passed": [True] * batch.height})
            n = batch.height
            return {
                "nan": pl.DataFrame({"passed": [True] * n, "score": [float("nan")] * n}),
                "inf": pl.DataFrame({"passed": [True] * n, "score": [float("inf")] * n}),
                "wrong-height": pl.DataFrame({"passed": [True] * (n + 1)}),
                "not-a-frame": [True] * n,
                "no-passed": pl.DataFrame({"ok": [True] * n}),
                "null-passed": pl.DataFrame({"passed": [None] * n}, schema={"passed": pl.Boolean}),
                "wrong-dtype": pl.DataFrame({"passed": ["true"] * n}),
            }[plugin.how]

        def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
            if plugin._at("summarize", table):
                return ["not", "a", "dict"]  # type: ignore[return-value]
            return {}

        def redact(self, texts: pl.Series) -> pl.DataFrame | None:
            if not plugin._at("redact") and plugin.where != "redact":
                return None
            if plugin.how == "wrong-height":
                return pl.DataFrame({"text": texts.extend_constant("", 1), "count": [0] * (texts.len() + 1)})
            if plugin.how == "wrong-dtype":
                return pl.DataFrame({"text": texts, "count": [-1] * texts.len()})
            return pl.DataFrame({"text": texts, "count": [0] * texts.len()})

    HostileRecordRule.Options = Options
    return HostileRecordRule


def _dataset_rule(plugin: Hostile) -> type[DatasetRule]:
    class HostileDatasetRule(DatasetRule):
        """Misbehaves as its plugin says; fails nothing otherwise."""

        code = DATASET_RULE
        name = "hostile-dataset-rule"
        summary = "a dataset rule that misbehaves on purpose"

        def collect(self, batch: pl.DataFrame) -> pl.DataFrame | None:
            if not plugin._at("collect", batch):
                return pl.DataFrame({"length": [1] * batch.height})
            return {
                "wrong-height": pl.DataFrame({"length": [1] * (batch.height + 1)}),
                "not-a-frame": {"length": [1] * batch.height},
                "internal-column": pl.DataFrame({"_idx": [0] * batch.height}),
            }[plugin.how]

        def evaluate(self, table: pl.DataFrame) -> DatasetResult:
            if not plugin._at("evaluate", table):
                return DatasetResult()
            first = table.head(1)
            return {
                "nan": DatasetResult(failed=first.select("_idx", score=pl.lit(float("nan")), message=pl.lit("nan"))),
                "not-a-result": {"failed": None},
                "unknown-record": DatasetResult(failed=pl.DataFrame({"_idx": [10**9], "message": ["no such record"]})),
                "no-idx": DatasetResult(failed=pl.DataFrame({"message": ["which record?"]})),
            }[plugin.how]

    return HostileDatasetRule


def _feature(plugin: Hostile) -> type[Feature]:
    class HostileFeature(Feature):
        name = NAME
        summary = "a feature that misbehaves on purpose"
        columns = ("hostile_length",)

        def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
            if not plugin._at("feature", batch):
                return pl.DataFrame({"hostile_length": [1] * batch.height})
            return {
                "wrong-height": pl.DataFrame({"hostile_length": [1] * (batch.height + 1)}),
                "not-a-frame": [1] * batch.height,
                "internal-column": pl.DataFrame({"_idx": [0] * batch.height}),
            }[plugin.how]

    return HostileFeature


def _classifier(plugin: Hostile) -> type[Classifier]:
    class HostileClassifier(Classifier):
        name = NAME
        target = "category"
        summary = "a category classifier that misbehaves on purpose"

        def classify(self, batch: pl.DataFrame) -> pl.Series:
            if not plugin._at("classify", batch):
                return pl.Series([None] * batch.height, dtype=pl.String)
            return {
                "wrong-height": pl.Series(["math"] * (batch.height + 1)),
                "not-a-series": ["math"] * batch.height,
                "wrong-dtype": pl.Series([["math"]] * batch.height),
            }[plugin.how]

    return HostileClassifier


def _renderer(plugin: Hostile) -> type[Renderer]:
    class HostileRenderer(Renderer):
        name = NAME
        summary = "a report format that misbehaves on purpose"

        def render(self, report: Any, **options: Any) -> str:
            if plugin._at("render"):
                return b"not text"  # type: ignore[return-value]
            return f"{report.summary.records} records\n"

    return HostileRenderer


def _format(plugin: Hostile) -> type[RecordFormat]:
    class HostileFormat(RecordFormat):
        name = NAME
        summary = "a record format that misbehaves on purpose: a record is {'hostile': text}"

        def detect(self, obj: dict[str, Any], columns: Any, tags: Any) -> bool:
            plugin._at("detect")
            return NAME in obj

        def normalize(self, obj: dict[str, Any], columns: Any, tags: Any) -> Normalized:
            plugin._at("normalize")
            return Normalized(None, ["user", "assistant"], [str(obj[NAME]), "an answer"], None, None, None, None)

        def denormalize(self, record: Any, columns: Any, tags: Any) -> dict[str, Any]:
            return {NAME: record.turns[0].content}

        def owned_keys(self, columns: Any, tags: Any) -> set[str]:
            return {NAME}

    return HostileFormat
