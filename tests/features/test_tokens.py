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


def test_an_alpaca_input_is_counted_in_the_templates_input_section():
    from dqe.engine.plugins import load_plugins

    alpaca = load_plugins().templates["alpaca"]
    tokenizer = load_tokenizer("tiktoken:cl100k_base")
    with_input = batch(
        [record("Correct the spelling.", "The cat sat.", input="Teh cat sat.")], needs=["tokens"], template="alpaca"
    )
    without = batch([record("Correct the spelling.", "The cat sat.")], needs=["tokens"], template="alpaca")
    # what the trainer renders: the instruction, '### Input:' and the input, under the longer preamble
    rendered = alpaca.user_content("Correct the spelling.", "Teh cat sat.")
    section = tokenizer.count([rendered])[0] - tokenizer.count(["Correct the spelling."])[0]
    preambles = tokenizer.count([alpaca.default_system_with_input, alpaca.default_system])
    expected = without["tokens_total"].item() + section + preambles[0] - preambles[1]
    assert with_input["tokens_total"].item() == expected
    # the turn's own count stays its content's (instruction, newline, input), as rules read it
    assert with_input["tokens_question"].item() == tokenizer.count(["Correct the spelling.\nTeh cat sat."])[0]
