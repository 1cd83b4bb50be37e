"""dqe.engine.turns: every exchange of a conversation, so that rules judge each turn and not only the last."""

from __future__ import annotations

import polars as pl

from dqe.engine.rule import worst_exchange
from dqe.engine.turns import collapse_spaces, exchanges, turn_name, turn_texts, unclosed_trace, without_trace
from dqe.testing import batch, conversation, record


def test_a_question_and_its_answer_are_one_exchange_at_turn_two():
    rows = exchanges(batch([record("What is 2 + 2?", "4")])).to_dicts()
    assert rows == [
        {
            "_r": 0,
            "turn": 2,
            "final": True,
            "question": "What is 2 + 2?",
            "question_turn": 1,
            "answer": "4",
            "tool": False,
        }
    ]


def test_every_assistant_turn_is_paired_with_the_user_turn_it_answers():
    chat = conversation("Hi!", "Hello, how can I help?", "What is the capital of France?", "Paris.")
    rows = exchanges(batch([chat])).select("turn", "question", "answer", "final").rows()
    assert rows == [
        (2, "Hi!", "Hello, how can I help?", False),
        (4, "What is the capital of France?", "Paris.", True),
    ]


def test_alpaca_history_counts_its_turns_first():
    rows = exchanges(batch([record("And in French?", "Bonjour.", history=[("Say hello.", "Hello.")])]))
    assert rows.select("turn", "question_turn", "answer").rows() == [(2, 1, "Hello."), (4, 3, "Bonjour.")]


def test_an_answer_after_a_tool_call_is_marked_as_the_tools_work():
    sharegpt = {
        "conversations": [
            {"from": "human", "value": "What is 17 * 23?"},
            {"from": "function_call", "value": '{"name": "calc", "arguments": {"expr": "17*23"}}'},
            {"from": "observation", "value": "391"},
            {"from": "gpt", "value": "It is 391."},
            {"from": "human", "value": "Thanks!"},
            {"from": "gpt", "value": "You're welcome."},
        ]
    }
    rows = exchanges(batch([sharegpt])).select("turn", "question", "tool").rows()
    assert rows == [(4, "What is 17 * 23?", True), (6, "Thanks!", False)]


def test_worst_exchange_names_the_first_failing_turn_and_counts_the_others():
    frame = batch([record("a", "b"), record("c", "d")])
    judged = pl.DataFrame(
        {
            "_r": [0, 0, 0, 1],
            "turn": [2, 4, 6, 2],
            "passed": [True, False, False, True],
            "score": [1.0, 0.2, 0.4, 0.9],
            "message": [None, "loops", "loops again", None],
            "evidence": [None, "91% of 5-grams repeat", None, None],
        },
        schema_overrides={"_r": pl.UInt32, "turn": pl.Int32},
    )
    out = worst_exchange(frame, judged)
    assert out.to_dicts() == [
        {
            "passed": False,
            "score": 0.2,
            "message": "loops (also turns 6)",
            "turn": 4,
            "evidence": "91% of 5-grams repeat",
        },
        {"passed": True, "score": 0.9, "message": None, "turn": None, "evidence": None},
    ]


def test_a_tool_result_without_its_call_also_marks_the_answer_as_the_tools_work():
    """Some data keeps the tool's result but not the call (the call sat in a content part the
    reader does not keep): the result alone shows that a tool did the work."""
    messages = [
        {"role": "user", "content": "What is the area of a circle of radius 2?"},
        {"role": "assistant", "content": ""},
        {"role": "tool", "content": '{"area": 12.566}'},
        {"role": "assistant", "content": "About 12.57."},
    ]
    rows = exchanges(batch([{"messages": messages}])).select("turn", "tool").rows()
    assert rows == [(2, False), (4, True)]


def test_turn_texts_lists_user_and_assistant_turns_and_optionally_the_system_prompt():
    frame = batch([record("And in French?", "Bonjour.", system="Be brief.", history=[("Say hello.", "Hello.")])])
    rows = turn_texts(frame, system=True).select("turn", "role", "text", "question", name=turn_name()).rows()
    assert rows == [
        (None, "system", "Be brief.", "", "system prompt"),
        (1, "user", "Say hello.", "Say hello.", "user turn 1"),
        (2, "assistant", "Hello.", "Say hello.", "assistant turn 2"),
        (3, "user", "And in French?", "And in French?", "instruction"),
        (4, "assistant", "Bonjour.", "And in French?", "answer"),
    ]
    assert turn_texts(frame).get_column("role").to_list() == ["user", "assistant", "user", "assistant"]


def test_every_run_of_whitespace_becomes_one_space_as_with_a_plain_regex():
    texts = pl.Series(["a  b", "a\tb", "a \n\u3000b", "a b", "\xa0a\u2028", "", None])
    assert collapse_spaces(texts).to_list() == ["a b", "a b", "a b", "a b", " a ", "", None]
    assert collapse_spaces(texts).equals(texts.str.replace_all(r"\s+", " "))


def test_a_reasoning_trace_in_each_of_its_shapes_is_not_the_reply():
    texts = pl.Series(
        [
            "<think>\n8 * 5 = 40\n</think>\n\nThe area is 40 cm².",  # closed
            "<think>\nOkay, 12 pens is 4 groups of 3, so 4 groups cost",  # cut inside its reasoning
            "Each number doubles, so 32.\n</think>\n\n32",  # the prompt held the opening tag (R1's template)
            "There is no HTML <think> tag; browsers ignore it.",  # a tag named in prose is no trace
        ]
    )
    assert without_trace(texts).str.strip_chars().to_list() == [
        "The area is 40 cm².",
        "",
        "32",
        "There is no HTML <think> tag; browsers ignore it.",
    ]
    assert unclosed_trace(texts).to_list() == [False, True, False, False]
