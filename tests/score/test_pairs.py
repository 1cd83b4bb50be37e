"""The two sequences of a record: the trainer's encoding, and the same answer tokens alone."""

from __future__ import annotations

import numpy as np

from dqe.engine.encoding import IGNORE, Encoded
from dqe.score.pairs import answer_pair


def encoded(ids: list[int], learned: list[bool]) -> Encoded:
    ids_ = np.asarray(ids, dtype=np.int32)
    return Encoded(ids_, np.where(learned, ids_, IGNORE).astype(np.int32))


def test_the_answer_alone_follows_the_leading_tokens_and_predicts_the_same_tokens():
    # BOS 1, question 10 11, answer 20 21 22
    pair = answer_pair(encoded([1, 10, 11, 20, 21, 22], [False] * 3 + [True] * 3), [1], 2048, "truncate")
    assert pair.given.ids.tolist() == [1, 10, 11, 20, 21, 22]
    assert pair.alone.ids.tolist() == [1, 20, 21, 22]
    assert pair.alone.labels.tolist() == [IGNORE, 20, 21, 22]
    assert pair.tokens == 3 == pair.alone.supervised


def test_without_a_leading_token_the_first_answer_token_is_left_out_of_both_passes():
    pair = answer_pair(encoded([10, 11, 20, 21, 22], [False] * 2 + [True] * 3), [], 2048, "truncate")
    assert pair.given.labels.tolist() == [IGNORE, IGNORE, IGNORE, 21, 22]
    assert pair.alone.labels.tolist() == [IGNORE, 21, 22]


def test_only_the_answer_tokens_seq_len_keeps_are_scored():
    pair = answer_pair(encoded([1, 10, 20, 21, 22, 23], [False] * 2 + [True] * 4), [1], 4, "truncate")
    assert pair.given.ids.tolist() == [1, 10, 20, 21]
    assert pair.alone.ids.tolist() == [1, 20, 21]


def test_every_learned_turn_counts_in_both_passes():
    # learn-all-turns: two answers (20 21, 30) with a question between them
    record = encoded([1, 10, 20, 21, 12, 30], [False, False, True, True, False, True])
    pair = answer_pair(record, [1], 2048, "truncate")
    assert pair.alone.ids.tolist() == [1, 20, 21, 30]
    assert pair.tokens == 3


def test_a_record_that_cannot_be_scored_says_why():
    too_long = encoded([1, 10, 20, 21], [False, False, True, True])
    assert answer_pair(too_long, [1], 3, "drop") == "the trainer drops it: longer than seq-len 3 (overlong = drop)"
    cut_away = encoded([1, 10, 11, 20], [False, False, False, True])
    assert answer_pair(cut_away, [1], 3, "truncate") == "seq-len 3 cuts the whole answer away"
    assert answer_pair("chat template: roles must alternate", [1], 8, "truncate") == (
        "the template cannot render it: chat template: roles must alternate"
    )
    one_token = encoded([10, 20], [False, True])
    assert answer_pair(one_token, [], 8, "truncate").startswith("a one-token answer")
