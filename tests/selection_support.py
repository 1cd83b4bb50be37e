"""A test plugin that makes selection predictable: quality read from the answer, a fake dedup.

``TST901`` scores each record by a leading ``q=0.8`` in its answer (1.0 without one), so that
a test decides which records are "best". ``TST900`` is a stage-0 dataset rule, like
deduplication, that rejects every record whose question contains ``DUP``: selection rules must
count only what it left.
"""

from __future__ import annotations

import polars as pl

from dqe import DatasetResult, DatasetRule, RecordRule, hookimpl


class Graded(RecordRule):
    code = "TST901"
    name = "graded"
    summary = "quality taken from a leading q=0.8 in the answer"

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        grade = pl.col("answer").str.extract(r"^q=([0-9.]+)").cast(pl.Float64).fill_null(1.0)
        return batch.select(passed=pl.lit(True), score=grade, message=pl.lit(None, pl.String))


class FakeDedup(DatasetRule):
    code = "TST900"
    name = "fake-dedup"
    summary = "rejects questions containing DUP, at stage 0 like deduplication"
    keep = ("question",)
    stage = 0

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        dups = table.filter(pl.col("question").str.contains("DUP"))
        return DatasetResult(failed=dups.select("_idx", message=pl.lit("duplicate")))


class SelectionSupport:
    @hookimpl
    def dqe_register_rules(self, register):
        register(Graded)
        register(FakeDedup)


PLUGIN = SelectionSupport()
SELECT = ["DQ411", "DQ421", "DQ431", "TST"]


def record(category: str, quality: float = 1.0, question: str = "Do it.", domain: str | None = None) -> dict:
    """An Alpaca record of a known category (and domain) whose quality the test sets."""
    obj = {"instruction": question, "output": f"q={quality} done", "category": category}
    if domain is not None:
        obj["domain"] = domain
    return obj
