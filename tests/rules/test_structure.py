"""DQ001 structure: hand-written cases, each failing for one reason, and the real files."""

from __future__ import annotations

import pytest

import dqe
from tests.support import REAL_FILES, real


def messages(*turns):
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


def dq001(record):
    report = dqe.check([record], select=["DQ001"])
    return [f.message for f in report.findings if f.code == "DQ001"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"instruction": "Hi", "output": "Hello"}, None),
        ({"instruction": "", "output": "Hello"}, "empty instruction"),
        ({"instruction": "Hi", "output": " \n"}, "empty answer"),
        # invisible characters are no answer either: a zero-width space, a byte-order mark
        ({"instruction": "Hi", "output": "\u200b"}, "empty answer"),
        ({"instruction": "Hi", "output": "\ufeff \u200d"}, "empty answer"),
        ({"instruction": "Hi", "output": "x", "history": [["", "a"]]}, "turn 1 (user) is empty"),
        (messages(("assistant", "I start"), ("user", "odd")), "the first turn is assistant, not user"),
        (messages(("user", "a"), ("user", "b"), ("assistant", "c")), "turn 2: user after user"),
        (messages(("user", "a")), "no answer (no assistant turn)"),
        (messages(("user", "a"), ("tool", "result"), ("assistant", "c")), "turn 2: tool after user"),
        (messages(("user", "weather?"), ("assistant", "sunny")), None),
    ],
)
def test_cases(record, message):
    assert dq001(record) == ([message] if message else [])


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_pass(name):
    report = dqe.check(real(name), select=["DQ001"])
    assert report.summary.rejected == 0


def test_the_turn_at_fault_is_named_and_the_turns_shown():
    from dqe.testing import run_rule

    records = [
        messages(("user", "a"), ("user", "b"), ("assistant", " ")),
        messages(("user", "Hi"), ("assistant", "Hello"), ("user", "How are you?"), ("assistant", "")),
        messages(("user", "a")),
    ]
    run = run_rule("DQ001", records)
    assert run.messages == ["turn 2: user after user; empty answer", "empty answer", "no answer (no assistant turn)"]
    assert run.turns == [2, 4, None]  # a missing answer has no turn
    assert run.evidence == [
        "turns: user > user > assistant (empty)",
        "turns: user > assistant > user > assistant (empty)",
        "turns: user",
    ]


def test_a_reply_that_is_a_tool_call_is_an_answer():
    # LLaMA-Factory's v1 messages write reasoning and tool calls as content parts; the open end is DQ002's
    call = {"type": "tool_call", "value": '{"name": "area", "arguments": {"r": 2}}'}
    record = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "value": "Area of a circle of radius 2?"}]},
            {"role": "assistant", "content": [{"type": "reasoning", "value": "Use the tool."}, call]},
        ]
    }
    assert dq001(record) == []


def test_each_record_is_judged_the_same_in_a_batch_as_alone():
    from dqe.testing import assert_rule_contract

    assert_rule_contract("DQ001", [messages(("user", "a"), ("user", "b"), ("assistant", " ")), messages(("user", "a"))])


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("<think>\n8 * 5 = 40\n</think>\n\nThe area is 40 cm².", None),
        # a generation cut inside its reasoning: the user never gets an answer
        ("<think>\nOkay, 12 pens is 4 groups of 3, so 4 groups cost", "answer cut inside its reasoning"),
        ("<think>\nBoth weigh one kilogram.\n</think>", "empty answer: a reasoning trace and no reply after it"),
        ("<think>\n\n</think>\n\n", "empty answer: a reasoning trace and no reply after it"),
        ("There is no HTML <think> tag; browsers ignore it.", None),
    ],
)
def test_an_answer_that_never_leaves_its_reasoning_has_no_reply(answer, message):
    found = dq001({"instruction": "How much do 12 pens cost at 3 for $2?", "output": answer})
    assert [m[: len(message)] for m in found] == ([message] if message else [])


def test_a_cut_trace_is_shown_where_it_ends():
    report = dqe.check(
        [{"instruction": "12 pens at 3 for $2?", "output": "<think>\nso 4 groups cost"}], select=["DQ001"]
    )
    assert (
        report.findings[0].evidence == 'turns: user > assistant (trace never closed); the trace ends "so 4 groups cost"'
    )


def test_reasoning_before_a_tool_call_is_the_calls_reasoning_not_an_empty_answer():
    call = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    record = {
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "",
                "reasoning_content": "I should call the weather tool.",
                "tool_calls": call,
            },
            {"role": "tool", "content": "18 °C, cloudy"},
            {"role": "assistant", "content": "It is 18 °C and cloudy."},
        ]
    }
    assert dq001(record) == []


def test_a_word_before_a_tool_call_is_allowed():
    # OpenAI's assistant message may carry content and tool_calls at once
    call = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]
    record = {
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": "Let me check the forecast.", "tool_calls": call},
            {"role": "tool", "content": "-3 °C, snow"},
            {"role": "assistant", "content": "It is -3 °C with snow."},
        ]
    }
    assert dq001(record) == []
