"""DQ108 training-misfit: the records a dqe train run fitted worst for their length, and those it
got worse on, found in the data checked (--ledger RUN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from pydantic import Field

from dqe import DatasetResult, DatasetRule, RuleOptions, fit_lists, hookimpl, loaded_dir, read_ledger

EXAMPLES = 5  # records named per list in the data-set section


class TrainingMisfitOptions(RuleOptions):
    top: int = Field(20, ge=1, description="records listed, at most, per list")
    min_z: float = Field(
        2.0, gt=0, description="robust z-score of a record's loss among records of its length to count as a misfit"
    )


class TrainingMisfit(DatasetRule):
    """Reads the ledger of a `dqe train` run (`--ledger RUN`, config key `ledger`), where the run
    wrote each training record's loss at the end and after the first epoch, and lists two kinds
    of records as info findings: those the tuned model fits worst for their length (the robust
    z-score of their loss per answer token among training records of about the same answer
    length, at least `min-z`), and those it got worse on (a final loss above the first epoch's).
    Records are joined to the data by content id (a hash of the record's object), so a record at
    another line or in another file is still found (one converted to another format is not); the
    section says how many records of the data the run does not hold, and names listed records that
    are not in the data. Info only: a record a model
    fits badly is a place to look, not a verdict. Skipped without `--ledger`."""

    code = "DQ108"
    name = "training-misfit"
    summary = "(with --ledger RUN) the records a training run fitted worst for their length, or got worse on"
    why = (
        "A wrong answer is one the data's other records argue against, and a model trained on them "
        "fits it badly: its loss stays high for a record of its length, or rises as training goes on. "
        "The run has measured that for every record; these are the first records to read."
    )
    example = (
        "'the run fits this record worst for its length (3 of 20): loss 4.12 per answer token, z 5.1 "
        "among records of 40-61 answer tokens (median 1.87)'."
    )
    severity = "info"
    Options = TrainingMisfitOptions

    def __init__(self, options: TrainingMisfitOptions, context):
        super().__init__(options, context)
        ledger = context.config.ledger
        if ledger is None:
            self.skipped = "no --ledger"
            return
        # read now, so that a missing or broken ledger stops the run before any data is read
        self.run = loaded_dir(context.loaded) / Path(ledger)
        self.rows = read_ledger(self.run)

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        o = self.options
        lists = fit_lists(self.rows, str(self.run / "ledger.jsonl"), top=o.top, min_z=o.min_z)
        found: dict[str, list[str]] = {}
        evidence: dict[str, str] = {}
        scores: dict[str, float] = {}
        n = len(lists.worst_for_length)
        for m in lists.worst_for_length:
            found.setdefault(m.id, []).append(
                f"the run fits this record worst for its length ({m.rank} of {n}): loss {m.loss:.3f} per answer "
                f"token, z {m.z:.1f} among records of {m.bucket} (median {m.bucket_median:.3f})"
            )
            scores[m.id] = round(1.0 / (1.0 + m.z), 4)
        for m in lists.got_worse:
            found.setdefault(m.id, []).append(
                f"the run got worse on this record ({m.rank} of {len(lists.got_worse)}): loss {m.loss_first_epoch:.3f} "
                f"after the first epoch, {m.loss:.3f} at the end"
            )
            scores.setdefault(m.id, round(min(1.0, m.loss_first_epoch / m.loss), 4))
        for m in [*lists.worst_for_length, *lists.got_worse]:
            evidence[m.id] = f"ledger {lists.ledger}: record {m.id} trained from {m.source}"
        ids = list(found)
        hit = table.filter(pl.col("_id").is_in(ids))
        failed = pl.DataFrame(
            {
                "_idx": hit["_idx"],
                "score": [scores[i] for i in hit["_id"]],
                "message": ["; ".join(found[i]) for i in hit["_id"]],
                "evidence": [evidence[i] for i in hit["_id"]],
            },
            schema={"_idx": pl.UInt64, "score": pl.Float64, "message": pl.String, "evidence": pl.String},
        )
        in_run = {r.id for r in self.rows if r.dropped is None and r.split is not None}
        outside = table.filter(~pl.col("_id").is_in(list(in_run)))
        present = set(hit["_id"].to_list())
        section: dict[str, Any] = {
            "run": str(self.run),
            "run_records": lists.records,
            "records": table.height,
            "in_run": table.height - outside.height,
            "not_in_run": outside.height,
            "not_in_run_examples": self.context.sources(
                outside["_file"].head(EXAMPLES).to_list(), outside["_line"].head(EXAMPLES).to_list()
            ),
            "worst_for_length": n,
            "got_worse": len(lists.got_worse),
            "listed_not_in_data": list(
                dict.fromkeys(m.source for m in [*lists.worst_for_length, *lists.got_worse] if m.id not in present)
            ),
            "note": lists.note,
        }
        return DatasetResult(failed=failed, metrics={"ledger": section})


@hookimpl
def dqe_register_rules(register):
    register(TrainingMisfit)
