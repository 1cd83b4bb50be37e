"""The engine's guarantees: batches stay bounded, rule output is validated, errors fail closed."""

from __future__ import annotations

import polars as pl
import pytest

import dqe
from dqe.engine.config import load_config
from dqe.engine.engine import Engine
from dqe.engine.plugins import load_plugins
from dqe.errors import PluginError

GOOD = {"instruction": "Say hi.", "output": "Hi!"}


def plugin_with(rule):
    class Plugin:
        @dqe.hookimpl
        def dqe_register_rules(self, register):
            register(rule)

    return Plugin()


class WrongHeight(dqe.RecordRule):
    code = "TST010"
    name = "wrong-height"
    summary = "returns one row too many"

    def check(self, batch):
        return pl.DataFrame({"passed": [True] * (batch.height + 1)})


def test_a_rule_returning_the_wrong_shape_is_an_error_not_a_pass():
    report = dqe.check([GOOD, GOOD], plugins=[plugin_with(WrongHeight)])
    assert report.exit_code == 2
    assert report.summary.passed == 0
    assert report.errors[0].message.startswith("TypeError: check() returned 2 rows for a batch of 1")


class AlwaysRaises(dqe.RecordRule):
    code = "TST011"
    name = "always-raises"
    summary = "raises on every record"

    def check(self, batch):
        raise RuntimeError("broken plugin")


def test_a_rule_broken_everywhere_gives_up_after_a_few_records_and_rejects_the_rest():
    records = [GOOD] * 200
    report = dqe.check(records, plugins=[plugin_with(AlwaysRaises)], batch_size=50)
    assert report.summary.rejected == 200 and report.summary.errors == 200
    assert len(report.errors) <= 21
    assert "stopped after 20 failing records" in report.errors[-1].message


def test_batches_follow_the_batch_size(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(f'{{"instruction": "q{i}", "output": "a"}}' for i in range(2500)) + "\n")
    engine = Engine(load_config(None, {"batch-size": 1000}, discover=False), load_plugins())
    sizes = [b.frame.height for b in engine.reader([path])]
    assert sizes == [1000, 1000, 500]


def test_quality_is_the_mean_rule_score():
    engine = Engine(
        load_config(None, {"template": "plain", "rules": {"DQ101": {"max-tokens": 30}}}, discover=False), load_plugins()
    )
    result = engine.run([GOOD, {"instruction": "Say hi. " * 20, "output": "Hi!"}])
    quality = result.table["quality"].to_list()
    assert quality[0] == 1.0
    assert 0 < quality[1] < 1  # DQ001 passes (1.0), DQ101 scores limit/tokens


class WorksAloneOnly(dqe.RecordRule):
    """Raises on any batch of more than one record, as a rule with a batch-size bug does."""

    code = "TST012"
    name = "works-alone-only"
    summary = "raises on batches"

    def check(self, batch):
        if batch.height > 1:
            raise ValueError("cannot broadcast")
        return batch.select(passed=pl.lit(True))


def test_a_rule_that_raises_on_the_batch_but_on_no_record_alone_is_reported(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(f'{{"instruction": "q{i}", "output": "a"}}\n' for i in range(3)))
    report = dqe.check(path, plugins=[plugin_with(WorksAloneOnly)], select=["TST012"])
    assert report.summary.passed == 3 and not report.errors  # every record was checked alone, and passed
    (warning,) = report.warnings
    assert (warning.code, warning.plugin, warning.source) == ("TST012", "Plugin-0", f"{path}:1")
    assert warning.message.startswith("raised on the batch of 3 records from here, but on none of them alone")
    assert "ValueError: cannot broadcast (at test_engine.py:" in warning.message


class NotANumber(dqe.RecordRule):
    code = "TST013"
    name = "not-a-number"
    summary = "scores NaN"

    def check(self, batch):
        return batch.select(passed=pl.lit(True), score=pl.lit(float("nan")))


def test_a_score_that_is_not_a_finite_number_is_a_plugin_error_not_a_quality():
    report = dqe.check([GOOD, GOOD], plugins=[plugin_with(NotANumber)], select=["TST013"])
    assert report.exit_code == 2 and report.summary.passed == 0
    assert report.errors[0].message.startswith("TypeError: check() returned a score that is not a finite number (NaN)")
    filtered = dqe.check([GOOD, GOOD], plugins=[plugin_with(NotANumber)], select=["TST013", "DQ431"], max_records=1)
    assert filtered.exit_code == 2
    assert not any("cut-off nan" in f.message for f in filtered.findings)


class CollectsAnIndex(dqe.DatasetRule):
    code = "TST014"
    name = "collects-an-index"
    summary = "collects a column named like an internal one"

    def collect(self, batch):
        return batch.select("_idx")

    def evaluate(self, table):
        return dqe.DatasetResult()


def test_a_collected_column_named_like_an_internal_one_is_a_plugin_error():
    with pytest.raises(PluginError) as exc:
        dqe.check([GOOD], plugins=[plugin_with(CollectsAnIndex)], select=["TST014"])
    assert "rule TST014 (plugin 'Plugin-0'): collect() returned column '_idx', a name the engine's table uses" in str(
        exc.value
    )


class CollectsItsBatchSize(dqe.DatasetRule):
    code = "TST016"
    name = "collects-its-batch-size"
    summary = "collects the number of records of the batch each record came in"

    def collect(self, batch):
        return pl.DataFrame({"size": [batch.height] * batch.height}, schema={"size": pl.UInt32})

    def evaluate(self, table):
        return dqe.DatasetResult()


def test_data_set_rules_collect_from_each_batch_of_batch_size_records_however_batches_are_joined():
    """The engine joins the reader's batches into one call of features and record rules (fewer,
    larger polars calls), but what a data-set rule collects depends on the batch a record is in
    (DQ402 leaves out lines its batch repeats): each batch of ``batch-size`` is collected apart."""
    loaded = load_config(None, {"batch-size": 3, "workers": 1, "select": ["TST016"]}, discover=False)
    engine = Engine(loaded, load_plugins(extra=[plugin_with(CollectsItsBatchSize)]))
    result = engine.run([GOOD] * 8)
    assert result.table["TST016:size"].to_list() == [3, 3, 3, 3, 3, 3, 2, 2]


def test_a_small_batch_checked_in_threads_gives_what_one_thread_gives(monkeypatch):
    """Features and rules of a small batch run at once: findings, labels and quality come out
    in the engine's order whatever finished first."""
    from pathlib import Path

    from dqe.engine import batch

    examples = Path(__file__).parents[2] / "examples"

    def checked(threads: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        monkeypatch.setattr(batch, "THREADS", threads)
        engine = Engine(load_config(None, {}, discover=False), load_plugins())
        result = engine.run([examples / "demo.jsonl", examples / "chat.jsonl"])
        return result.table, result.findings

    table, findings = checked(1)
    assert findings.height > 0
    for _ in range(3):
        threaded_table, threaded_findings = checked(4)
        assert threaded_table.equals(table)
        assert threaded_findings.equals(findings)


class SeesTokens(dqe.RecordRule):
    code = "TST015"
    name = "sees-tokens"
    summary = "fails when its batch holds a feature column it did not ask for"
    needs = ("tokens",)

    def check(self, batch):
        others = [c for c in batch.columns if c.startswith(("category_", "language_", "cot_", "domain_"))]
        has_tokens = "tokens_total" in batch.columns
        return batch.select(passed=pl.lit(has_tokens and not others), message=pl.lit(", ".join(others)))


@pytest.mark.parametrize("threads", [1, 4])
def test_a_rule_is_given_the_columns_of_the_features_it_needs_whatever_else_has_finished(monkeypatch, threads):
    """In threads a rule starts as soon as its features are computed, so it is given those
    (and the record's own columns), as in one thread and as ``dqe.testing`` gives them."""
    from dqe.engine import batch

    monkeypatch.setattr(batch, "THREADS", threads)
    report = dqe.check([GOOD, GOOD], plugins=[plugin_with(SeesTokens)], select=["TST015", "DQ201", "DQ301"])
    assert report.exit_code != 2
    assert not [f for f in report.findings if f.code == "TST015"]
