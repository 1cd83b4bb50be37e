"""ROUGE on examples computed by hand, and the bit-parallel LCS against the textbook table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dqe.eval.rouge import lcs_length, rouge, rouge_n, tokenize


def test_english_by_words():
    # reference: the cat sat on the mat (6 words); answer: the cat on the mat (5 words)
    # unigrams: the x2, cat, on, mat shared: 5 -> P 5/5, R 5/6, F1 10/11
    # bigrams: "the cat", "on the", "the mat" shared of 4 and 5 -> P 3/4, R 3/5, F1 2/3
    # LCS: the whole answer, 5 -> as unigrams
    r = rouge("The cat on the mat.", "the cat sat on the mat")
    assert r.rouge1 == pytest.approx(10 / 11)
    assert r.rouge2 == pytest.approx(2 / 3)
    assert r.rougeL == pytest.approx(10 / 11)


def test_chinese_by_characters():
    # 我爱上海 against 我爱北京: 我, 爱 shared -> 2/4 both ways; bigram 我爱 -> 1/3; LCS 我爱 -> 2
    r = rouge("我爱上海", "我爱北京")
    assert (r.rouge1, r.rouge2, r.rougeL) == (
        pytest.approx(0.5),
        pytest.approx(1 / 3),
        pytest.approx(0.5),
    )


def test_order_matters_only_for_bigrams_and_lcs():
    # same words reversed: unigrams all shared; no bigram; LCS of a b c d / d c b a is 1
    r = rouge("d c b a", "a b c d")
    assert r.rouge1 == 1.0 and r.rouge2 == 0.0 and r.rougeL == pytest.approx(0.25)


def test_repeated_words_are_clipped():
    # "the the the" against "the cat": one "the" counts -> P 1/3, R 1/2, F1 0.4
    assert rouge_n(tokenize("the the the"), tokenize("the cat"), 1) == pytest.approx(0.4)


def test_tokens_are_words_and_cjk_characters():
    assert tokenize("我爱Python 3.11和カタカナ, snake_case!") == [
        "我", "爱", "python", "3", "11", "和", "カ", "タ", "カ", "ナ", "snake", "case",
    ]  # fmt: skip
    assert tokenize("Ça va? Très BIEN") == ["ça", "va", "très", "bien"]


def test_empty_and_identical():
    assert rouge("", "a reference") == (0.0, 0.0, 0.0)
    assert rouge("an answer", "") == (0.0, 0.0, 0.0)
    assert rouge("Same words here", "same words here!") == (1.0, 1.0, 1.0)


def _lcs_table(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        new = [0]
        for j, y in enumerate(b):
            new.append(row[j] + 1 if x == y else max(row[j + 1], new[j]))
        row = new
    return row[-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("abcd"), max_size=25), st.lists(st.sampled_from("abcde"), max_size=80))
def test_lcs_matches_the_dynamic_programming_table(a, b):
    assert lcs_length(a, b) == _lcs_table(a, b)
