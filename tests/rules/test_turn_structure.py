"""DQ002 turn-structure: what DQ001 cannot see turn by turn, and nothing DQ001 already reports."""

from __future__ import annotations

import pytest

from tests.support import REAL_FILES, failures, real


def conv(*turns):
    return {"conversations": [{"from": role, "value": value} for role, value in turns]}


QUESTION = "What is the weather like in Paris today?"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            conv(("human", QUESTION), ("gpt", "It is sunny."), ("human", QUESTION), ("gpt", "Still sunny.")),
            "turn 3 (user) repeats turn 1 word for word",
        ),
        (
            conv(
                ("human", "Hi"),
                ("gpt", "A long answer, repeated by mistake."),
                ("human", "Ok"),
                ("gpt", "A long answer,  REPEATED by mistake."),
            ),
            "turn 4 (assistant) repeats turn 2 word for word",
        ),
        (
            conv(("human", "hi"), ("gpt", "hello"), ("human", "And tomorrow?")),
            "ends on a user turn (turn 3 gets no answer)",
        ),
        (
            conv(
                ("human", "Weather?"),
                ("function_call", '{"name": "w"}'),
                ("observation", "{}"),
                ("gpt", "ok"),
                ("human", "x"),
                ("function_call", '{"name": "w"}'),
                ("observation", "{}"),
            ),
            "ends on a tool result (turn 7) that no answer reads",
        ),
        (
            conv(
                ("human", "Weather?"),
                ("function_call", '{"name": "w"}'),
                ("function_call", '{"name": "x"}'),
                ("observation", "{}"),
                ("gpt", "ok"),
            ),
            "2 tool calls at turn 2 get only 1 result(s)",
        ),
        (
            conv(("human", "Weather?"), ("gpt", "Let me check."), ("human", "ok"), ("function_call", '{"name": "w"}')),
            "ends on a tool call (turn 4) with no result",
        ),
        (
            conv(("human", "Weather?"), ("function_call", ""), ("observation", ""), ("gpt", "ok")),
            "turn 2 (tool_call) is empty; turn 3 (tool) is empty",
        ),
        (
            conv(("human", "Weather?"), ("function_call", '{"name": "weather"}'), ("observation", " "), ("gpt", "ok")),
            "turn 3 (tool) is empty",
        ),
    ],
)
def test_defects_fail(record, message):
    assert failures([record], "DQ002") == {0: message}


@pytest.mark.parametrize(
    "record",
    [
        {"instruction": "Hi", "output": "Hello"},
        conv(
            ("human", "continue"),
            ("gpt", "Part one of the story."),
            ("human", "continue"),
            ("gpt", "Part two of the story."),
        ),
        conv(
            ("human", "Weather?"),
            ("function_call", '{"name": "w"}'),
            ("observation", '{"t": 20}'),
            ("gpt", "20 degrees."),
        ),
        # the same calculation asked for again: a tool call made twice gives the same result twice
        conv(
            ("human", "What is the break-even point at 20000 fixed costs, price 120 and unit cost 80?"),
            ("function_call", 'Calculate("20000 / (120 - 80)")'),
            ("observation", "Calculate(\"20000 / (120 - 80)\") => '500.0'"),
            ("gpt", "You break even at 500 units."),
            ("human", "Is there another way to work it out?"),
            ("function_call", 'Calculate("20000 / (120 - 80)")'),
            ("observation", "Calculate(\"20000 / (120 - 80)\") => '500.0'"),
            ("gpt", "Divide the fixed costs by the margin per unit, 40: again 500 units."),
        ),
        # a short action taken again, its line break not counted (ALFWorld's trajectories, unseen)
        conv(
            ("human", "Your task is to: heat some egg and put it in diningtable."),
            ("gpt", "go to diningtable 1\n"),
            ("human", "On the diningtable 1, you see an egg 1."),
            ("gpt", "take egg 1 from diningtable 1\n"),
            ("human", "You pick up the egg 1."),
            ("gpt", "go to diningtable 1\n"),
        ),
        # a call that gives the answer ends the episode: no result follows ToolBench's Finish (unseen)
        conv(
            ("human", "Weather?"),
            ("function_call", '{"name": "w"}'),
            ("observation", '{"t": 20}'),
            ("function_call", '{"name": "Finish", "arguments": "{\\"final_answer\\": \\"20 degrees.\\"}"}'),
        ),
        # a think call's result is empty by design (tau-bench's trajectories, unseen)
        conv(
            ("human", "Book the cheapest flight to Seattle."),
            ("function_call", '{"name": "think", "arguments": "{\\"thought\\": \\"HAT083 is cheaper.\\"}"}'),
            ("observation", ""),
            ("gpt", "HAT083 at $100 is the cheapest."),
        ),
        # DQ001's: a call answered without a result, an empty answer
        conv(("human", "Weather?"), ("function_call", '{"name": "w"}'), ("gpt", "Sunny.")),
        conv(("human", "Weather?"), ("gpt", "")),
    ],
)
def test_sound_conversations_and_dq001_cases_pass(record):
    assert failures([record], "DQ002") == {}


def test_an_open_end_can_be_allowed():
    record = conv(("human", "hi"), ("gpt", "hello"), ("human", "And tomorrow?"))
    assert failures([record], "DQ002", rules={"DQ002": {"allow-open-end": True}}) == {}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_pass(name):
    # Read: the multi-turn files (FastChat, Glaive) end on answers and pair every call with a result.
    assert failures(real(name), "DQ002") == {}


def test_findings_name_the_turn_and_give_their_evidence():
    from dqe.testing import run_rule

    records = [
        conv(("human", QUESTION), ("gpt", "It is sunny."), ("human", QUESTION), ("gpt", "Still sunny.")),
        conv(("human", "hi"), ("gpt", "hello"), ("human", "And tomorrow?")),
        conv(
            ("human", "Weather?"),
            ("function_call", '{"name": "w"}'),
            ("function_call", '{"name": "x"}'),
            ("observation", "{}"),
            ("gpt", "ok"),
        ),
    ]
    run = run_rule("DQ002", records)
    assert run.turns == [3, 3, 2]
    assert run.evidence == [
        f'turn 3 = turn 1 with case and spaces folded (40 chars): "{QUESTION}"',
        'last turn 3 is user: "And tomorrow?"',
        "2 call(s) at turns 2-3, 1 result(s) at turn 4",
    ]


def openai(*messages):
    return {"messages": list(messages)}


def call(i, name, arguments):
    return {"id": str(i), "type": "function", "function": {"name": name, "arguments": arguments}}


def test_parallel_calls_in_one_turn_are_counted_one_by_one():
    ask = {"role": "user", "content": "Weather in Paris and Rome?"}
    both = {
        "role": "assistant",
        "content": None,
        "tool_calls": [call(1, "w", '{"city": "Paris"}'), call(2, "w", '{"city": "Rome"}')],
    }
    answer = {"role": "assistant", "content": "Paris 20C, Rome 25C."}
    two_results = openai(ask, both, {"role": "tool", "content": "20C"}, {"role": "tool", "content": "25C"}, answer)
    one_result = openai(ask, both, {"role": "tool", "content": "20C"}, answer)
    # one tool turn holding both results, each naming its call
    listed = '[{"tool_call_id": "1", "content": "20C"}, {"tool_call_id": "2", "content": "25C"}]'
    one_turn = openai(ask, both, {"role": "tool", "content": listed}, answer)
    # an argument named "arguments" is still one call; a list of hits is one result
    nested = conv(
        ("human", "Run the program with two data sets, then find restaurants."),
        ("function_call", '{"name": "run", "arguments": {"program": "p", "arguments": ["a", "b"]}}'),
        ("observation", '[{"name": "Luigi", "rating": 4}, {"name": "Chez Paul", "rating": 5}]'),
        ("gpt", "Done; Luigi and Chez Paul are near."),
    )
    found = failures([two_results, one_result, one_turn], "DQ002")
    assert found == {1: "2 tool calls at turn 2 get only 1 result(s)"}
    assert failures([nested], "DQ002") == {}


def test_each_record_is_judged_the_same_in_a_batch_as_alone():
    from dqe.testing import assert_rule_contract

    records = [
        conv(("human", QUESTION), ("gpt", "It is sunny."), ("human", QUESTION), ("gpt", "Still sunny.")),
        conv(("human", "Weather?"), ("function_call", '[{"name": "w", "arguments": {}}]'), ("observation", "{}")),
        conv(("human", "hi"), ("gpt", "hello")),
    ]
    assert_rule_contract("DQ002", records)


def test_the_same_reply_after_other_reasoning_repeats():
    # MOSS's inner thoughts differ ("I answered this before"), the answer is said again word for word
    reply = "AI is used in health care to find breast cancer early and to predict who will develop it."
    record = {
        "messages": [
            {"role": "user", "content": "Where is AI used in health care?"},
            {"role": "assistant", "content": reply, "reasoning_content": "I should search for uses of AI in medicine."},
            {"role": "user", "content": "Tell me again, please."},
            {"role": "assistant", "content": reply, "reasoning_content": "I answered this before: I repeat it."},
        ]
    }
    assert failures([record], "DQ002") == {0: "turn 4 (assistant) repeats turn 2 word for word"}
