"""MinHash signatures computed for whole batches equal datasketch's, shingle by shingle."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
from datasketch import MinHash, MinHashLSH

from dqe.features.text import TURN_SEPARATOR
from dqe.minhash import (
    EMPTY,
    NONE,
    TOKEN_PATTERN,
    Bands,
    BucketIndex,
    MinHasher,
    bucket_partners,
    compact,
    is_empty,
    shingle_hashes,
    similarity,
)

CJK_CHAR = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def naive_shingles(text: str, word_size: int, char_size: int) -> list[tuple[str, ...]]:
    """The shingles of one text, spelled out in plain Python."""
    tokens = pl.Series([text.replace(TURN_SEPARATOR, " ")]).str.extract_all(TOKEN_PATTERN)[0].to_list()
    cjk = sum(1 for t in tokens if CJK_CHAR.fullmatch(t))
    size = char_size if 2 * cjk > len(tokens) else word_size
    if not tokens:
        return []
    if len(tokens) < size:
        return [tuple(tokens)]
    return [tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


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
    hashes, counts = shingle_hashes(pl.Series(TEXTS), 2, 2)
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
    hashes, counts = shingle_hashes(pl.Series(["a b c a b", "x a b y"]), 2, 2)
    first, second = hashes[: counts[0]], hashes[counts[0] :]
    assert first[0] == first[3]  # "a b" twice in the first text
    assert first[0] == second[1]  # and once in the second
    assert len(set(first.tolist())) == 3


def test_signatures_equal_datasketch_fed_one_shingle_at_a_time():
    hasher = MinHasher(num_perm=64, word_size=2, char_size=2, seed=7)
    signatures = hasher.signatures(pl.Series(TEXTS))
    hashes, counts = shingle_hashes(pl.Series(TEXTS), 2, 2)
    start = 0
    for i, count in enumerate(counts):
        reference = MinHash(num_perm=64, seed=7, scheme="affine32", hashfunc=int)
        for h in hashes[start : start + count]:
            reference.update(int(h))
        assert (reference.hashvalues == signatures[i]).all(), TEXTS[i]
        start += count
    assert (signatures[5] == EMPTY).all()  # the empty text


def test_estimated_similarity_is_close_to_the_jaccard_of_the_shingles():
    words = [f"w{i}" for i in range(200)]
    edited = words.copy()
    for i in range(0, 200, 20):
        edited[i] = "changed"
    texts = pl.Series([" ".join(words), " ".join(edited)])
    a, b = ({s for s in naive_shingles(t, 2, 2)} for t in texts)
    exact = len(a & b) / len(a | b)
    signatures = MinHasher(num_perm=256).signatures(texts)
    estimate = similarity(signatures, np.array([0]), signatures, np.array([1]))[0]
    assert abs(estimate - exact) < 0.08


def test_compact_signatures_keep_the_low_16_bits_and_the_empty_marker():
    signatures = MinHasher(num_perm=32).signatures(pl.Series(["some words here", ""]))
    small = compact(signatures)
    assert small.dtype == np.uint16 and (small == (signatures & 0xFFFF)).all()
    assert is_empty(small, np.array([0, 1])).tolist() == [False, True]


def test_bands_are_datasketch_parameters():
    bands = Bands(0.7, 128, weights=(0.05, 0.95))
    lsh = MinHashLSH(threshold=0.7, num_perm=128, weights=(0.05, 0.95))
    assert (bands.b, bands.r) == (lsh.b, lsh.r)
    assert Bands(0.7, 128, bands=16).ranges[:2] == [(0, 8), (8, 16)]


def partner_lists(partners):
    return [[u for u in row if u != NONE] for row in partners.tolist()]


def test_rows_sharing_any_band_are_partners_of_the_better_row():
    keys = np.array([[1, 9], [2, 9], [1, 7], [3, 4]], dtype=np.uint64)
    assert partner_lists(bucket_partners(keys)) == [[], [0], [0], []]


def test_each_row_keeps_only_its_best_partners():
    keys = np.zeros((10, 2), dtype=np.uint64)  # one bucket holding every row, in both bands
    assert partner_lists(bucket_partners(keys, partners=2)) == [[], [0], [0, 1]] + [[0, 1]] * 7


def test_partners_merge_across_bands_smallest_first():
    keys = np.array([[1, 5], [2, 5], [1, 6], [2, 6], [1, 6]], dtype=np.uint64)
    assert partner_lists(bucket_partners(keys, partners=2)) == [[], [0], [0], [1, 2], [0, 2]]


def test_bucket_index_finds_indexed_items_sharing_a_bucket():
    index = BucketIndex(np.array([[5, 1], [6, 2], [5, 3]], dtype=np.uint64), np.array([10, 11, 12]))
    query, items = index.candidates(np.array([[5, 0], [0, 2], [0, 0]], dtype=np.uint64))
    assert list(zip(query.tolist(), items.tolist(), strict=True)) == [(0, 10), (0, 12), (1, 11)]
