"""Shingle sets, one-permutation MinHash signatures, LSH bands and exact Jaccard, computed for whole
batches, equal what plain Python computes one text at a time."""

from __future__ import annotations

import random
import re

import numpy as np
import polars as pl
from datasketch import MinHashLSH

import dqe.features.minhash
from dqe.features.minhash import (
    ANSWER,
    EMPTY,
    LINE_BREAK,
    NO_PARTNER,
    NUMBERS_MASKED_FROM,
    TOKEN_PATTERN,
    Bands,
    BucketIndex,
    Buckets,
    Sets,
    agreement,
    fmix32,
    jaccard,
    prefix_set_sizes,
    shingle_hashes,
    shingle_sets,
    signatures,
)
from dqe.features.text import TURN_SEPARATOR

CJK_CHAR = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def naive_shingles(text: str, word_size: int, char_size: int) -> list[tuple[str, ...]]:
    """The shingles of one text, spelled out in plain Python (every number is "0" in a long text)."""
    text = text.replace(TURN_SEPARATOR, " ")
    if len(text.encode("utf-8")) >= NUMBERS_MASKED_FROM:
        text = re.sub(r"\d+", "0", text)
    tokens = pl.Series([text]).str.extract_all(TOKEN_PATTERN)[0].to_list()
    cjk = sum(1 for t in tokens if CJK_CHAR.fullmatch(t))
    size = char_size if 2 * cjk > len(tokens) else word_size
    if not tokens:
        return []
    if len(tokens) < size:
        return [tuple(tokens)]
    return [tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


def naive_jaccard(a: str, b: str) -> float:
    x, y = set(naive_shingles(a, 2, 2)), set(naive_shingles(b, 2, 2))
    return len(x & y) / len(x | y)


TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    f"question, with punctuation!{TURN_SEPARATOR}answer",
    "识别并解释给定列表中的两个科学理论：细胞理论和日心说。",
    "日本語のテキストです",
    "one",
    "",
    "a b",
    "mixed 中文 and english words 混合在一起的句子",
]


def test_shingles_are_word_pairs_or_character_pairs():
    hashes, counts, size, _ = shingle_hashes(pl.Series(TEXTS), 2, 2)
    expected = [len(naive_shingles(t, 2, 2)) for t in TEXTS]
    assert counts.tolist() == expected
    assert expected[0] == 8  # 9 words
    assert naive_shingles(TEXTS[1], 2, 2) == [
        ("question,", "with"),
        ("with", "punctuation!"),
        ("punctuation!", "answer"),
    ]
    assert expected[2] == len(TEXTS[2]) - 1  # pairs of characters, punctuation included
    assert expected[4:7] == [1, 0, 1]
    assert hashes.size == sum(expected) and hashes.dtype == np.uint32


def test_same_shingles_give_the_same_hash_and_others_do_not():
    hashes, counts, _, _ = shingle_hashes(pl.Series(["a b c a b", "x a b y"]), 2, 2)
    first, second = hashes[: counts[0]], hashes[counts[0] :]
    assert first[0] == first[3]  # "a b" twice in the first text
    assert first[0] == second[1]  # and once in the second
    assert len(set(first.tolist())) == 3


def test_in_a_long_text_every_number_is_the_same_token():
    tail = " and the rest of a long answer that goes on about units" * 4
    assert len(tail) > NUMBERS_MASKED_FROM
    hashes, counts, _, _ = shingle_hashes(
        pl.Series([f"convert 5 km to 5000 m{tail}", f"convert 12 km to 12000 m{tail}"]), 2, 2
    )
    assert hashes[: counts[0]].tolist() == hashes[counts[0] :].tolist()


def test_in_a_short_text_numbers_are_what_it_asks():
    hashes, counts, _, _ = shingle_hashes(pl.Series(["convert 5 km to 5000 m", "convert 12 km to 12000 m"]), 2, 2)
    first, second = set(hashes[: counts[0]].tolist()), set(hashes[counts[0] :].tolist())
    assert len(first & second) == 1  # "km to"
    masked, _, _, _ = shingle_hashes(pl.Series(["convert 5 km", "convert 12 km"]), 2, 2, mask=np.array([True, True]))
    assert masked[:2].tolist() == masked[2:].tolist()  # as a line of a long record is cut


def test_the_shingle_size_can_be_set_per_text():
    _, counts, size, _ = shingle_hashes(pl.Series(["a b c d", "a b c d"]), 2, 2, size=np.array([2, 3]))
    assert counts.tolist() == [3, 2] and size.tolist() == [2, 3]


def test_sets_are_the_sorted_distinct_shingle_hashes_mixed():
    sets, size = shingle_sets(pl.Series(TEXTS), 2, 2)
    hashes, counts, _, _ = shingle_hashes(pl.Series(TEXTS), 2, 2)
    start = 0
    for i, count in enumerate(counts):
        expected = sorted(set((fmix32(hashes[start : start + count]) & ~ANSWER).tolist()))  # no answer given
        assert sets.values[sets.offsets[i] : sets.offsets[i + 1]].tolist() == expected, TEXTS[i]
        start += count
    assert sets.sizes.tolist() == [len(set(naive_shingles(t, 2, 2))) for t in TEXTS]
    assert size.tolist() == [2] * len(TEXTS)


def test_sets_go_through_a_list_column_and_back():
    sets, _ = shingle_sets(pl.Series(["a b c", "", "d e"]), 2, 2)
    column = sets.column()
    assert column.dtype == pl.List(pl.UInt32) and column.list.len().to_list() == [2, 0, 1]
    again = Sets.from_column(column)
    assert again.values.tolist() == sets.values.tolist() and again.offsets.tolist() == sets.offsets.tolist()


def test_keeping_drops_the_unmarked_elements_of_each_set():
    sets = Sets.of(np.array([1, 2, 3, 4, 5], dtype=np.uint32), np.array([3, 0, 2]))
    kept = sets.keeping(np.array([True, False, True, False, True]))
    assert kept.values.tolist() == [1, 3, 5] and kept.sizes.tolist() == [2, 0, 1]


def naive_signature(values: list[int], bins: int) -> list[int]:
    """One-permutation MinHash of one set, densified by rotation, in plain Python."""
    smallest: dict[int, int] = {}
    for v in values:
        b = (v * bins) >> 32
        smallest[b] = min(smallest.get(b, v), v)
    if not smallest:
        return [int(EMPTY)] * bins
    out = []
    for b in range(bins):
        distance = next(d for d in range(bins) if (b + d) % bins in smallest)
        out.append((smallest[(b + distance) % bins] + distance * 0x9E3779B9) % 2**32)
    return out


def test_signatures_take_the_smallest_hash_of_each_bin_and_borrow_for_empty_bins():
    sets, _ = shingle_sets(pl.Series(TEXTS), 2, 2)
    rows = np.arange(len(TEXTS))
    got = signatures(sets, rows, 16)
    for i in rows:
        values = sets.values[sets.offsets[i] : sets.offsets[i + 1]].tolist()
        assert got[i].tolist() == naive_signature(values, 16), TEXTS[i]
    assert (got[5] == EMPTY).all()  # the empty text


def test_the_share_of_equal_signature_values_estimates_the_jaccard_similarity():
    words = [a + b for a in "abcdefghijklmnopqrst" for b in "abcdefghijklmnopqrst"]  # 400 words
    edited = words.copy()
    for i in range(0, 400, 10):
        edited[i] = "changed"
    sets, _ = shingle_sets(pl.Series([" ".join(words), " ".join(edited)]), 2, 2)
    exact = jaccard(sets, np.array([0]), sets, np.array([1]))[0][0]
    both = signatures(sets, np.array([0, 1]), 256)
    assert abs(agreement(both, np.array([0]), np.array([1]))[0] - exact) < 0.1


def test_exact_jaccard_of_pairs_equals_the_set_computation(monkeypatch):
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choices(vocabulary, k=rng.randint(0, 60))) for _ in range(30)]
    sets, _ = shingle_sets(pl.Series(texts), 2, 2)
    left = np.array([rng.randrange(30) for _ in range(200)])
    right = np.array([rng.randrange(30) for _ in range(200)])
    monkeypatch.setattr(dqe.features.minhash, "_PAIRS", 100)  # many passes of a few pairs each
    similarity, shared = jaccard(sets, left, sets, right)
    for a, b, s, k in zip(left.tolist(), right.tolist(), similarity.tolist(), shared.tolist(), strict=True):
        x, y = set(naive_shingles(texts[a], 2, 2)), set(naive_shingles(texts[b], 2, 2))
        assert k == len(x & y)
        assert s == (len(x & y) / len(x | y) if x | y else 0.0)


def test_bands_are_datasketch_parameters():
    bands = Bands(0.5, 128, weights=(0.05, 0.95))
    lsh = MinHashLSH(threshold=0.5, num_perm=128, weights=(0.05, 0.95))
    assert (bands.b, bands.r) == (lsh.b, lsh.r)
    assert Bands(0.7, 128, bands=16).rows[:2] == [[i * 16 for i in range(8)], [1 + i * 16 for i in range(8)]]


def test_sets_sharing_a_band_have_the_same_key_in_it():
    sets, _ = shingle_sets(pl.Series(["a b c d e f g h", "a b c d e f g h", "z y x w v u"]), 2, 2)
    keys, compact = Bands(0.5, 64).sketch(sets, np.array([0, 1, 2]))
    assert (keys[0] == keys[1]).all() and not (keys[0] == keys[2]).any()
    assert compact.dtype == np.uint8 and agreement(compact, np.array([0]), np.array([1])).tolist() == [1.0]
    assert agreement(compact, np.array([0]), np.array([2]))[0] < 0.1  # 8 bits: 1 in 256 agree by chance


def partner_lists(partners):
    return [[u for u in row if u != NO_PARTNER] for row in partners.tolist()]


def everyone(items, mates):
    return np.ones(items.size, dtype=bool)


def mates(owner, mate, items):
    return [mate[owner == i].tolist() for i in range(items)]


def first_partners(keys, width=16, keep=everyone):
    n = keys.shape[0]
    owner, mate, _, _ = Buckets(keys).partners(np.arange(n), np.full(n, -1), keep, width)
    return mates(owner, mate, n)


def test_rows_sharing_any_band_are_partners_of_the_better_row():
    keys = np.array([[1, 9], [2, 9], [1, 7], [3, 4]], dtype=np.uint64)
    assert first_partners(keys) == [[], [0], [0], []]


def test_partners_are_read_a_few_at_a_time_best_first():
    keys = np.zeros((10, 2), dtype=np.uint64)  # one bucket holding every row, in both bands
    buckets = Buckets(keys)
    owner, mate, complete, more = buckets.partners(np.arange(10), np.full(10, -1), everyone, 2)
    assert mates(owner, mate, 10) == [[], [0], [0, 1]] + [[0, 1]] * 7
    assert (
        complete.tolist()[:4] == [NO_PARTNER, NO_PARTNER, NO_PARTNER, 1] and more.tolist() == [False] * 3 + [True] * 7
    )
    owner, mate, complete, more = buckets.partners(np.array([9, 9]), np.array([1, 7]), everyone, 2)
    assert mates(owner, mate, 2) == [[2, 3], [8]] and more.tolist() == [True, False]


def test_a_crowded_bucket_does_not_hide_what_other_bands_give():
    keys = np.zeros((10, 2), dtype=np.uint64)
    keys[[4, 9], 1] = 7  # row 9 shares band 1 with row 4 alone
    owner, mate, complete, more = Buckets(keys).partners(np.array([9]), np.array([-1]), everyone, 2)
    assert mate.tolist() == [0, 1, 4] and complete.tolist() == [1] and more.tolist() == [True]


def test_partners_a_filter_drops_are_not_candidates():
    keys = np.zeros((10, 1), dtype=np.uint64)
    odd = lambda items, mates: mates % 2 == 1  # noqa: E731
    owner, mate, complete, more = Buckets(keys).partners(np.array([9]), np.array([-1]), odd, 2)
    # two bucket-mates looked at (0 and 1): one kept, and the rest is still to read
    assert mate.tolist() == [1] and complete.tolist() == [1] and more.tolist() == [True]


def test_partners_merge_across_bands():
    keys = np.array([[1, 5], [2, 5], [1, 6], [2, 6], [1, 6]], dtype=np.uint64)
    assert first_partners(keys, width=2) == [[], [0], [0], [1, 2], [0, 2, 3]]


def test_bucket_index_finds_indexed_items_sharing_a_bucket():
    index = BucketIndex(np.array([[5, 1], [6, 2], [5, 3]], dtype=np.uint64), np.array([10, 11, 12]))
    query, items = index.candidates(np.array([[5, 0], [0, 2], [0, 0]], dtype=np.uint64))
    assert list(zip(query.tolist(), items.tolist(), strict=True)) == [(0, 10), (0, 12), (1, 11)]


def test_a_shingle_that_starts_in_an_answer_is_tagged_as_the_answers():
    texts = pl.Series([f"hello there{TURN_SEPARATOR}general kenobi{TURN_SEPARATOR}bold one", "你好吗"])
    answers = pl.Series([[False, True, False], [False]], dtype=pl.List(pl.Boolean))
    sets, _ = shingle_sets(texts, 2, 2, answers=answers)
    # "hello there", "there general" | "general kenobi", "kenobi bold" | "bold one"; 你好, 好吗
    assert sets.sizes.tolist() == [5, 2]
    assert sets.answer_part().sizes.tolist() == [2, 0]
    untagged, _ = shingle_sets(texts, 2, 2)
    assert untagged.sizes.tolist() == [5, 2] and not (untagged.values & ANSWER).any()


def test_a_one_word_answer_is_a_shingle_of_its_own_too():
    answers = pl.Series([[False, True], [False, True]], dtype=pl.List(pl.Boolean))
    texts = pl.Series(
        [f"who refused? the four{TURN_SEPARATOR}Steve", f"who refused? the four{TURN_SEPARATOR}Gutterballs"]
    )
    sets, _ = shingle_sets(texts, 2, 2, answers=answers)
    # "who refused?", "refused? the", "the four", "four steve" and "steve"
    assert sets.sizes.tolist() == [5, 5]
    answer = sets.answer_part()
    assert answer.sizes.tolist() == [1, 1]
    assert jaccard(answer, np.array([0]), answer, np.array([1]))[0].tolist() == [0.0]


def test_prefix_set_sizes_are_those_of_shingling_each_prefix():
    # each text of a group is a prefix of the next: cut at a space, inside a number ("3." of
    # "3.5", whose shingle "is 3." is one already), in Chinese; numbers masked
    answers = [
        "so it is 3. so it is 3.5 litres. pour it.",
        "Yes. "
        + "the 12 jars hold 40 litres each, and the 3 crates hold 7 jars. " * 3
        + "so the 3 crates hold 21 jars.",
        "注意：本文只供参考。用法用量请遵医嘱。每日3次。",
        "Take 2 a day。用法用量请遵医嘱。",
    ]
    texts, group = [], []
    for g, answer in enumerate(answers):
        ends = sorted({m.end() for m in re.finditer(r"[.。] ?", answer)} | {1, len(answer)})
        for end in ends:
            texts.append(answer[:end].strip())
            group.append(g)
    texts, group = pl.Series(texts), np.array(group)
    size, mask = np.where(group >= 2, 1, 2), group == 1  # by the record, as its answer's openings are cut
    want = shingle_sets(texts, 2, 1, size=size, mask=mask)[0].sizes
    assert prefix_set_sizes(texts, group, 2, 1, size, mask).tolist() == want.tolist()


def test_texts_without_tokens_have_no_shingles():
    answers = pl.Series([[False, True], []], dtype=pl.List(pl.Boolean))
    sets, _ = shingle_sets(pl.Series([TURN_SEPARATOR, ""]), 2, 2, answers=answers)
    assert sets.sizes.tolist() == [0, 0]


def test_no_shingle_spans_a_line_break():
    answers = pl.Series([[False, True]], dtype=pl.List(pl.Boolean))
    texts = pl.Series([f"a b {LINE_BREAK} c {LINE_BREAK} d e{TURN_SEPARATOR}f g"])
    sets, _ = shingle_sets(texts, 2, 2, answers=answers)
    # "a b" | "c" | "d e", "e f", "f g": the turn separator is spanned, line breaks are not
    assert sets.sizes.tolist() == [5]
    assert sets.answer_part().sizes.tolist() == [1]


def test_a_shingle_in_the_question_and_the_answer_is_one_element_the_answers():
    answers = pl.Series([[False, True]], dtype=pl.List(pl.Boolean))
    sets, _ = shingle_sets(pl.Series([f"a b{TURN_SEPARATOR}a b"]), 2, 2, answers=answers)
    assert sets.sizes.tolist() == [2]  # "a b" and "b a"
    assert sets.answer_part().sizes.tolist() == [1]  # "a b", which starts the answer too
