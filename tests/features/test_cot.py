"""The cot feature: what kind of reasoning a question needs, and how much an answer shows."""

from __future__ import annotations

import polars as pl
import pytest

from dqe.config import load_config
from dqe.context import Context
from dqe.features.cot import ChainOfThought
from dqe.plugins import load_plugins


@pytest.fixture(scope="module")
def cot():
    return ChainOfThought(Context(load_config(discover=False), load_plugins()))


def columns(cot, question, answer):
    batch = pl.DataFrame(
        {
            "question": [question],
            "answer": [answer],
            "turns": [[{"role": "user", "content": question}, {"role": "assistant", "content": answer}]],
        }
    )
    return cot.compute(batch).row(0)


@pytest.mark.parametrize(
    ("question", "need"),
    [
        ("Natalia sold clips to 48 of her friends in April, and then half as many in May. How many in all?", "math"),
        ("How many moons does Mars have?", None),  # a fact: no quantity to work with
        ("What were the main causes of the war of 1914?", None),  # a year is no quantity
        ("Why do leaves change colour in autumn?", "why"),
        ("Here is a riddle: what gets wetter the more it dries?", "logic"),
        ("List three fruits, step by step.", "request"),
        ("小明有5个苹果，吃了2个，还剩几个？", "math"),
        ("写一首关于春天的诗。", None),
    ],
)
def test_need(cot, question, need):
    assert columns(cot, question, "x")[0] == need


@pytest.mark.parametrize(
    ("answer", "score"),
    [
        ("72", 0.0),
        ("<think>48 / 2 = 24 and 48 + 24 = 72</think> 72", 1.0),
        ("She sold 48/2 = 24 clips in May.", 0.35),
        ("It floats, because ice is less dense than water.", 0.3),
        ("First sentence. Second sentence. Third sentence.", 0.2),
        ("1. Add the numbers.\n2. Divide by two.", 0.4),  # two steps and one sentence before the last
    ],
)
def test_score(cot, answer, score):
    assert columns(cot, "q", answer)[1] == pytest.approx(score)
