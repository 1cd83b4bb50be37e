"""Boilerplate taken out of shingle sets, and numbers masked in any script, as near-duplicate
checks compare records."""

from __future__ import annotations

import numpy as np
import polars as pl

from dqe.features.minhash import ANSWER, Sets, masked
from dqe.features.similarity import without


def sets_of(*members: list[int]) -> Sets:
    return Sets.of(np.concatenate([np.array(m, dtype=np.uint32) for m in members]), np.array([len(m) for m in members]))


def test_each_record_loses_the_shingles_of_its_own_lines_only():
    sets = sets_of([2, 4, 6, 8], [2, 4, 6, 8], [2, 4, 6, 8], [4, 10])
    # pieces taken out: lines stored once, values[0:2] = {2, 4} and values[2:3] = {8}
    values = np.array([2, 4, 8], dtype=np.uint32)
    rows = np.array([0, 0, 1, 3])
    starts, lengths = np.array([0, 2, 0, 0]), np.array([2, 1, 2, 2])
    keep = without(sets, rows, starts, lengths, values)
    kept = sets.keeping(keep)
    # records 0 and 1 hold the same lines and lose the same shingles; record 2 holds none;
    # record 3 loses 4, which its line has, and keeps 10
    assert [kept.values[a:b].tolist() for a, b in zip(kept.offsets[:-1], kept.offsets[1:], strict=True)] == [
        [6],
        [6, 8],
        [2, 4, 6, 8],
        [10],
    ]


def test_a_shingle_of_a_line_goes_wherever_it_was_found_answer_included():
    sets = sets_of([4 | int(ANSWER), 6])
    keep = without(sets, np.array([0]), np.array([0]), np.array([1]), np.array([4], dtype=np.uint32))
    assert keep.tolist() == [False, True]


def test_nothing_to_take_out_keeps_everything():
    sets = sets_of([1, 3], [5])
    none = np.zeros(0, dtype=np.int64)
    assert without(sets, none, none, none, np.zeros(0, dtype=np.uint32)).all()


def test_numbers_are_masked_in_any_script_and_only_where_asked():
    texts = pl.Series(["from 12 to 345", "ab ١٢٣ ٤ cd", "x１２y 7", "keep 42"])
    out = masked(texts, np.array([True, True, True, False]))
    assert out.to_list() == ["from 0 to 0", "ab 0 0 cd", "x0y 0", "keep 42"]
