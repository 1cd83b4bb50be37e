"""A ``dqe train`` run's ledger (``RUN/ledger.jsonl``): a row per record of the training data,
and what the run learned about each one.

``dqe train`` writes it; ``dqe eval RUN`` and ``dqe check DATA --ledger RUN`` read it here,
without torch. The two lists it gives are the first places to look for wrong answers:

- the records the tuned model fits worst for their length. Per-token loss falls with answer
  length (the first tokens of an answer are the hardest to predict, and a long answer averages
  over many easy ones), so ranking by raw loss would list short answers, and by summed loss long
  ones. Each record is compared with the training records of about its length instead: records
  are sorted by supervised tokens into buckets of equal size, and a record's score is its robust
  z-score in its bucket, ``(loss - median) / (1.4826 * MAD)``. Median and MAD rather than mean
  and standard deviation because the wrong records looked for would inflate those.
- the records it got worse on: a loss at the end above the loss after the first epoch, by how
  much it rose (forgetting, or an answer that disagrees with the records like it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from dqe.errors import InputError
from dqe.io.files import json_objects

LEDGER_FILE = "ledger.jsonl"
_BUCKET = 50  # records per length bucket, at least (fewer records: one bucket)
_BUCKETS = 10  # length buckets, at most
_MAD_TO_SD = 1.4826  # the MAD of a normal distribution times this is its standard deviation


@dataclass
class LedgerRow:
    id: str
    source: str
    split: str | None
    category: str | None
    tokens: int | None  # the formatted record, before truncation
    kept: int | None  # tokens trained on (after truncation)
    supervised: int | None  # tokens with a label (after truncation)
    truncated: bool
    dropped: str | None  # why the record is not trained on; None when it is
    loss: float | None = None  # training records: mean loss per supervised token, with the run's adapter
    loss_first_epoch: float | None = None  # the same after the first epoch (None: training ended before)


class Misfit(BaseModel):
    """A training record the run fitted badly, as a list shows it."""

    id: str
    source: str  # file:line in the training data
    supervised: int  # answer tokens the loss averages over
    loss: float  # mean loss per answer token with the run's adapter
    loss_first_epoch: float | None
    bucket: str  # the length bucket it is compared in: "40-61 answer tokens"
    bucket_median: float  # the median loss of its bucket
    z: float  # robust z-score of its loss in its bucket
    rank: int  # 1-based, in its list


class FitLists(BaseModel):
    """The two lists, and what they were drawn from."""

    ledger: str  # the ledger file
    records: int  # training records with a loss
    with_first_epoch: int  # of them, those with a loss after the first epoch
    min_z: float
    worst_for_length: list[Misfit] = Field(default_factory=list)
    got_worse: list[Misfit] = Field(default_factory=list)
    note: str | None = None  # why a list is empty when it cannot be drawn


def read_ledger(run_dir: Path) -> list[LedgerRow]:
    """The ledger of the run in ``run_dir``; a clear error naming the file (and line) when it is
    missing or not a ledger."""
    path = run_dir / LEDGER_FILE
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder")
    if not path.is_file():
        raise InputError(f"{run_dir}: not a dqe train run (no {LEDGER_FILE})")
    names = {f.name for f in fields(LedgerRow)}
    required = {f.name for f in fields(LedgerRow) if f.name not in ("loss", "loss_first_epoch")}
    rows = []
    for line, obj in json_objects(path):
        if not required <= obj.keys():
            raise InputError(f"{path}:{line}: not a ledger row (missing {', '.join(sorted(required - obj.keys()))})")
        rows.append(LedgerRow(**{k: v for k, v in obj.items() if k in names}))
    return rows


def _buckets(lengths: np.ndarray) -> np.ndarray:
    """Each record's length bucket: equal-sized by supervised tokens, records of one length
    always in one bucket."""
    n = min(_BUCKETS, max(1, lengths.size // _BUCKET))
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, n + 1)[1:-1], method="lower"))
    return np.searchsorted(edges, lengths, side="right")


def length_scores(losses: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record: its robust z-score among records of about its length, its bucket, and the
    bucket's median loss."""
    bucket = _buckets(lengths)
    z = np.zeros(losses.size)
    median = np.zeros(losses.size)
    for b in np.unique(bucket):
        at = bucket == b
        m = float(np.median(losses[at]))
        spread = _MAD_TO_SD * float(np.median(np.abs(losses[at] - m)))
        if spread <= 0:  # most records alike: fall back on the standard deviation, else nothing stands out
            spread = float(np.std(losses[at])) or 1.0
        z[at] = (losses[at] - m) / spread
        median[at] = m
    return z, bucket, median


def fit_lists(rows: list[LedgerRow], ledger: str, *, top: int = 20, min_z: float = 2.0) -> FitLists:
    """The records fitted worst for their length (z of at least ``min_z``) and those the run got
    worse on, each list the ``top`` first."""
    trained = [r for r in rows if r.loss is not None and r.supervised]
    out = FitLists(
        ledger=ledger,
        records=len(trained),
        with_first_epoch=sum(r.loss_first_epoch is not None for r in trained),
        min_z=min_z,
    )
    if not trained:
        out.note = (
            "the ledger holds no record losses (a run of dqe train before they were written, or no training record)"
        )
        return out
    losses = np.array([r.loss for r in trained], dtype=np.float64)
    lengths = np.array([r.supervised for r in trained], dtype=np.int64)
    z, bucket, median = length_scores(losses, lengths)
    spans = {b: (int(lengths[bucket == b].min()), int(lengths[bucket == b].max())) for b in np.unique(bucket)}

    def misfit(i: int, rank: int) -> Misfit:
        r = trained[i]
        low, high = spans[bucket[i]]
        return Misfit(
            id=r.id,
            source=r.source,
            supervised=int(lengths[i]),
            loss=float(losses[i]),
            loss_first_epoch=r.loss_first_epoch,
            bucket=f"{low}-{high} answer tokens" if low != high else f"{low} answer tokens",
            bucket_median=float(median[i]),
            z=float(z[i]),
            rank=rank,
        )

    worst = [int(i) for i in np.argsort(-z, kind="stable") if z[i] >= min_z][:top]
    out.worst_for_length = [misfit(i, k) for k, i in enumerate(worst, 1)]
    rise = np.array([r.loss - r.loss_first_epoch if r.loss_first_epoch is not None else np.nan for r in trained])
    worse = [int(i) for i in np.argsort(-np.nan_to_num(rise, nan=-np.inf), kind="stable") if rise[i] > 0][:top]
    out.got_worse = [misfit(i, k) for k, i in enumerate(worse, 1)]
    if not out.with_first_epoch:
        out.note = "no loss after the first epoch: the run ended within it"
    return out
