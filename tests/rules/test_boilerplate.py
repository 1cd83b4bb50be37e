"""DQ203 boilerplate: disclaimers, refusals, apologies and requests for input, English and
Chinese; the manners of a helpful answer pass."""

from __future__ import annotations

import pytest

import dqe
from dqe.config import ConfigError
from tests.conftest import REAL_FILES, failures, real


def qa(answer, question="Do the task."):
    return {"instruction": question, "output": answer}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            "As an AI language model, I do not have personal opinions on politics.",
            'answer: AI disclaimer: "As an AI language model, I"',
        ),
        (
            "I'm sorry, I am an AI language model and I do not possess the ability to draw.",
            'answer: AI disclaimer: "I am an AI language model and I do not"',
        ),
        ("作为一个人工智能助手，我无法看到图片。", 'answer: AI disclaimer: "作为一个人工智能助手，我"'),
        ("I cannot help with that request.", 'answer: refusal: "I cannot help"'),
        (
            "Unfortunately, I don't have access to the article you mention.",
            'answer: refusal: "Unfortunately, I don\'t have"',
        ),
        ("我无法回答这个问题。", 'answer: refusal: "我无法"'),
        ("Sorry, I don't know.", 'answer: apology instead of an answer: "Sorry, I don\'t"'),
        ("很抱歉，您没有提供文本。", 'answer: apology instead of an answer: "很抱歉，您没"'),
        (
            "Could you please provide the text you would like me to summarize?",
            'answer: asks for the input instead of answering: "Could you please provide the text"',
        ),
        ("请提供需要总结的文章。", 'answer: asks for the input instead of answering: "请提供需要总结的文章"'),
    ],
)
def test_boilerplate_fails(answer, message):
    assert failures([qa(answer)], "DQ203") == {0: message}


@pytest.mark.parametrize(
    "answer",
    [
        # an apology that opens a long, helpful answer is manners
        "I'm sorry to hear you are unwell. " + "Rest, drink water and see a doctor if the fever lasts. " * 8,
        # quoted speech and dialogue
        'Friend 1: "Linda! I can\'t believe it, it has been years!"\nFriend 2: "I know!"',
        "'I am sorry' in German is 'Es tut mir leid'.",
        # an excuse asked for is no refusal
        "I'm sorry, but I'm unable to come into work today due to unforeseen medical issues. "
        "I woke up with a severe migraine and I am unable to get out of bed without feeling dizzy. "
        "I will try my best to recover quickly and come back to work as soon as possible. "
        "In the meantime, I can answer e-mails from home.",
        # a profession, and an identity answer
        "As an AI engineer, I built recommendation systems for five years.",
        "As a language model, I go by the name Vicuna and was trained by LMSYS.",
        "作为一名医生，他有责任为病人提供专业建议。",
        # a letter that asks its reader for something
        "Dear team, could you please send me the minutes of the meeting? Best, Ana",
    ],
)
def test_ordinary_answers_pass(answer):
    assert failures([qa(answer)], "DQ203") == {}


def test_earlier_turns_are_checked_and_named():
    record = {
        "conversations": [
            {"from": "human", "value": "Draw a cat."},
            {"from": "gpt", "value": "As an AI, I cannot draw."},
            {"from": "human", "value": "Describe one then."},
            {"from": "gpt", "value": "A small cat with green eyes sleeps in the sun."},
        ]
    }
    assert failures([record], "DQ203") == {0: 'assistant turn 2: AI disclaimer: "As an AI, I"'}


def test_tool_records_may_decline_what_their_tools_cannot_do():
    record = {
        "conversations": [
            {"from": "human", "value": "Book me a flight to London."},
            {"from": "gpt", "value": "I'm sorry, but I'm unable to book flights. I can convert currencies."},
        ],
        "tools": '[{"name": "convert_currency"}]',
    }
    assert failures([record], "DQ203") == {}
    del record["tools"]
    assert list(failures([record], "DQ203")) == [0]


def test_categories_can_be_skipped_and_unknown_ones_are_errors():
    record = qa("As an AI, I think cats are great.")
    assert failures([record], "DQ203", rules={"DQ203": {"skip-categories": ["disclaimer"]}}) == {}
    with pytest.raises(ConfigError, match="'rules.DQ203.skip-categories': no category nonsense"):
        dqe.check([record], select=["DQ203"], rules={"DQ203": {"skip-categories": ["nonsense"]}})


# Failures per real file, read and judged. Nearly all are right: AI disclaimers and refusals in
# the Alpaca demos, and answers that ask for an input the instruction never gave (the Chinese
# demo has 66 of those and refusals). Glaive's 16 are "as an AI, I don't have the capability":
# refusals are expected in tool data and spared, the disclaimer is flagged. Debatable: the 4 in
# identity.json apologise to correct a premise ("抱歉，OpenAI 与我没有关系").
EXPECTED = {
    "rasbt_instruction_data.json": 0,
    "llamafactory_alpaca_en_demo.json": 32,
    "llamafactory_alpaca_zh_demo.json": 66,
    "llamafactory_identity.json": 4,
    "llamafactory_glaive_toolcall_en_demo.json": 16,
    "llamafactory_v1_sft_demo.jsonl": 14,
    "fastchat_dummy_conversation.json": 0,
    "gsm8k_train_alpaca.json": 0,
    "gpteacher_codegen_instruct.json": 0,
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    assert len(failures(real(name), "DQ203")) == EXPECTED[name]
