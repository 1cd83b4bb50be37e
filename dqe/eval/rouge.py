"""ROUGE-1, ROUGE-2 and ROUGE-L (F1) of an answer against its reference.

Tokens are lowercased words for spaced scripts and single characters for Chinese and Japanese
(Han, kana), so a Chinese answer is compared character by character, as Chinese ROUGE is
usually computed; punctuation is dropped and nothing is stemmed. An empty answer or reference
scores 0. ROUGE-L's longest common subsequence is computed with bit vectors (Python integers,
one bit per reference token), which is exact and fast for answers of thousands of tokens.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

# Han (with extension A and compatibility ideographs), hiragana, katakana, half-width katakana.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_TOKEN = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")

NAMES = ("rouge1", "rouge2", "rougeL")


class Rouge(NamedTuple):
    rouge1: float
    rouge2: float
    rougeL: float  # noqa: N815 - the name every ROUGE report uses


def tokenize(text: str) -> list[str]:
    """Lowercased words, and each Chinese or Japanese character on its own."""
    return _TOKEN.findall(text.lower())


def _f1(overlap: int, candidate: int, reference: int) -> float:
    if overlap == 0 or candidate == 0 or reference == 0:
        return 0.0
    precision, recall = overlap / candidate, overlap / reference
    return 2 * precision * recall / (precision + recall)


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def rouge_n(candidate: list[str], reference: list[str], n: int) -> float:
    """F1 of the clipped n-gram overlap."""
    cand, ref = _ngrams(candidate, n), _ngrams(reference, n)
    overlap = sum((cand & ref).values())
    return _f1(overlap, sum(cand.values()), sum(ref.values()))


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (Allison-Dix / Hyyro bit-parallel algorithm).

    Bit j of ``row`` is 0 where the LCS of the prefix of ``a`` seen so far and ``b[: j + 1]``
    grows at j; after every token of ``a`` the zero bits count the LCS.
    """
    if not a or not b:
        return 0
    positions: dict[str, int] = {}
    for j, token in enumerate(b):
        positions[token] = positions.get(token, 0) | (1 << j)
    full = (1 << len(b)) - 1
    row = full
    for token in a:
        match = positions.get(token)
        if match is None:
            continue
        low = row & match
        row = ((row + low) | (row & ~match)) & full
    return len(b) - row.bit_count()


def rouge_l(candidate: list[str], reference: list[str]) -> float:
    return _f1(lcs_length(candidate, reference), len(candidate), len(reference))


def rouge(candidate: str, reference: str) -> Rouge:
    """ROUGE-1, -2 and -L F1 of ``candidate`` against ``reference``."""
    c, r = tokenize(candidate), tokenize(reference)
    return Rouge(rouge_n(c, r, 1), rouge_n(c, r, 2), rouge_l(c, r))
