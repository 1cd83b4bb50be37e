"""The tokens feature: every turn counted once, the last question and answer and the total summed."""

from __future__ import annotations

from dqe.engine.tokenizers import load_tokenizer
from dqe.testing import batch, conversation, record


def test_every_turn_is_counted_in_order():
    chat = conversation("Hi there!", "Hello, how can I help?", "Name a colour.", "Blue.")
    frame = batch([chat], needs=["tokens"])
    expected = load_tokenizer("tiktoken:cl100k_base").count(
        ["Hi there!", "Hello, how can I help?", "Name a colour.", "Blue."]
    )
    assert frame["tokens_turns"].to_list() == [list(expected)]
    assert frame["tokens_question"].item() == expected[2] and frame["tokens_answer"].item() == expected[3]


def test_records_of_different_lengths_keep_their_own_counts():
    frame = batch([record("one two three", "four", history=[("x y", "z")]), record("hi", "hello")], needs=["tokens"])
    assert [len(counts) for counts in frame["tokens_turns"].to_list()] == [4, 2]
    assert frame["tokens_turns"].list.get(-1).to_list() == frame["tokens_answer"].to_list()
