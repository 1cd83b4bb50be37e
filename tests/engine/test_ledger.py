"""A run's ledger, read without torch, and the records it singles out from given losses."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from dqe.engine.ledger import LedgerRow, fit_lists, read_ledger
from dqe.errors import InputError


def row(n: int, supervised: int, loss: float | None, first: float | None = None, split: str = "train") -> LedgerRow:
    return LedgerRow(
        f"id{n}", f"data.jsonl:{n}", split, None, supervised + 20, supervised + 20, supervised, False, None, loss, first
    )


def typical(n: int, supervised: int, rng: np.random.Generator) -> float:
    """Loss as it falls with answer length: short answers are harder to predict per token."""
    return 1.0 + 8.0 / supervised + float(rng.normal(0, 0.05))


def test_a_record_is_judged_against_records_of_its_length():
    rng = np.random.default_rng(0)
    lengths = [4, 5, 6, 8, 10, 40, 60, 80, 100, 120] * 30
    rows = [row(n, s, typical(n, s, rng)) for n, s in enumerate(lengths, 1)]
    rows.append(row(900, 100, 1.8))  # ordinary for a 5-token answer, far too high for a 100-token one
    rows.append(row(901, 4, 3.0))  # the highest loss of all, and ordinary for its length

    lists = fit_lists(rows, "run/ledger.jsonl")

    listed = [m.source for m in lists.worst_for_length]
    assert listed[0] == "data.jsonl:900" and "data.jsonl:901" not in listed
    worst = lists.worst_for_length[0]
    assert worst.rank == 1 and worst.z > 10 and worst.bucket.endswith("answer tokens")
    assert worst.bucket_median == pytest.approx(1.08, abs=0.03)
    assert lists.records == len(rows) and lists.min_z == 2.0


def test_records_it_got_worse_on_come_by_how_much_their_loss_rose():
    rows = [
        row(1, 10, 2.0, first=2.5),
        row(2, 10, 2.6, first=2.1),  # rose by 0.5
        row(3, 10, 2.2, first=2.1),  # rose by 0.1
        row(4, 10, 2.0, first=None),  # no first-epoch loss: not judged
    ]
    lists = fit_lists(rows, "run/ledger.jsonl")
    assert [(m.source, m.rank) for m in lists.got_worse] == [("data.jsonl:2", 1), ("data.jsonl:3", 2)]
    assert lists.with_first_epoch == 3 and lists.note is None


def test_a_ledger_without_losses_says_so():
    lists = fit_lists([row(1, 10, None), row(2, 10, None, split="test")], "run/ledger.jsonl")
    assert lists.records == 0 and not lists.worst_for_length and "no record losses" in lists.note


def test_read_ledger_names_the_file_and_line_it_cannot_read(tmp_path):
    with pytest.raises(InputError, match="not a dqe train run"):
        read_ledger(tmp_path)
    ledger = tmp_path / "ledger.jsonl"
    older = {k: v for k, v in asdict(row(1, 10, None)).items() if k not in ("loss", "loss_first_epoch")}
    ledger.write_text(json.dumps(older) + "\n" + json.dumps(asdict(row(2, 5, 1.5))) + "\n")
    assert [r.loss for r in read_ledger(tmp_path)] == [None, 1.5]  # a ledger of an older dqe train reads
    ledger.write_text(json.dumps(older) + "\n{oops\n")
    with pytest.raises(InputError, match=r"ledger.jsonl:2: not valid JSON"):
        read_ledger(tmp_path)
    ledger.write_text('{"id": "x"}\n')
    with pytest.raises(InputError, match=r"ledger.jsonl:1: not a ledger row \(missing category"):
        read_ledger(tmp_path)
