"""DQ201 chain-of-thought: the seed's Xiao Ming example, GSM8K with and without its reasoning,
hand-written cases in English and Chinese, the data-set metric and the gate."""

from __future__ import annotations

import json

import pytest

import dqe
from dqe.config import ConfigError
from tests.conftest import REAL_FILES, failures, real

XIAO_MING = (
    "What's the name of the third child of Xiao Ming's mother, who has three children, "
    "the first named Yi Mao and the second Er Mao?"
)
XIAO_MING_ZH = "小明的妈妈有三个孩子，老大叫一毛，老二叫二毛，老三叫什么？"


def qa(question, answer):
    return {"instruction": question, "output": answer}


def test_the_seed_example_fails_bare_and_passes_with_its_reasoning():
    bare = qa(XIAO_MING, "Xiao Ming.")
    reasoned = qa(XIAO_MING, "The question starts from Xiao Ming's mother, so her third child is Xiao Ming himself.")
    assert failures([bare, reasoned], "DQ201") == {
        0: "question needs reasoning (logic), the answer shows none (CoT score 0.0 < 0.3)"
    }


def test_the_seed_example_in_chinese():
    bare = qa(XIAO_MING_ZH, "小明。")
    reasoned = qa(XIAO_MING_ZH, "题目说的是小明的妈妈，所以她的第三个孩子就是小明自己。")
    assert list(failures([bare, reasoned], "DQ201")) == [0]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a word problem answered with its working: equations with intermediate results
        (
            "A pen costs $3 and a book costs 4 times as much. How much do both cost?",
            "The book costs 3 * 4 = 12 dollars. Together 12 + 3 = 15 dollars.",
        ),
        # the operation stated in words
        ("What is 2 + 2?", "2 + 2 is 4."),
        # numbered steps
        (
            "Solve step by step: how many minutes are in 3 hours?",
            "1. An hour has 60 minutes.\n2. Three hours have 3 x 60 = 180 minutes.",
        ),
        # a "why" answered with a reason
        (
            "Why is the sky blue?",
            "Because air scatters short blue wavelengths more than red ones, so the sky looks blue.",
        ),
        # a <think> block
        ("How many legs do 3 spiders have?", "<think>A spider has 8 legs, three have 24.</think>24"),
        # Chinese connectives and equations
        ("小红有5个苹果，又买了3个，一共有几个苹果？", "因为原来有5个，又买了3个，所以一共有 5 + 3 = 8 个苹果。"),
        # questions that need no reasoning may be answered in a word
        ("What is the capital of France?", "Paris."),
        ("Classify the sentiment of this sentence: I love it.", "Positive"),
        ("把这句话翻译成英文：你好。", "Hello."),
    ],
)
def test_reasoned_answers_and_questions_without_need_pass(question, answer):
    assert failures([qa(question, answer)], "DQ201") == {}


@pytest.mark.parametrize(
    ("question", "answer", "need"),
    [
        ("A pen costs $3 and a book costs 4 times as much. How much do both cost?", "$15", "math"),
        ("Calculate the area of a circle with a radius of 4 meters.", "The area is about 50.27 square meters.", "math"),
        ("What is 17 * 23?", "391.", "math"),
        ("Why does ice float on water?", "Density.", "why"),
        ("Solve this riddle: what has keys but can't open locks?", "A piano.", "logic"),
        ("Explain your reasoning: is 91 a prime number?", "No.", "request"),
        ("小红有5个苹果，又买了3个，一共有几个苹果？", "8个。", "math"),
        ("为什么冬天比夏天冷？", "太阳。", "why"),
    ],
)
def test_questions_that_need_reasoning_fail_bare_answers(question, answer, need):
    (message,) = failures([qa(question, answer)], "DQ201").values()
    assert message.startswith(f"question needs reasoning ({need})")


def test_a_tool_call_counts_as_the_work_shown():
    record = {
        "conversations": [
            {"from": "human", "value": "What is 15% of $80? Calculate it please."},
            {"from": "function_call", "value": '{"name": "percent", "arguments": {"p": 15, "of": 80}}'},
            {"from": "observation", "value": '{"result": 12}'},
            {"from": "gpt", "value": "It is $12."},
        ]
    }
    assert failures([record], "DQ201") == {}


def test_needs_option_narrows_the_questions_checked():
    record = qa("Why does ice float on water?", "Density.")
    assert failures([record], "DQ201", rules={"DQ201": {"needs": ["math"]}}) == {}
    with pytest.raises(ConfigError, match="rules.DQ201.needs"):
        dqe.check([record], select=["DQ201"], rules={"DQ201": {"needs": ["astrology"]}})


def test_gsm8k_answers_score_as_chain_of_thought():
    report = dqe.check(real("gsm8k_train_alpaca.json"), select=["DQ201"])
    assert report.summary.rejected == 0
    cot = report.dataset["cot"]
    assert cot["share"] == 1.0 and cot["share_reasoning"] == 1.0
    assert cot["reasoning_records"] >= 0.99 * 7473  # nearly every GSM8K question is seen to need reasoning
    assert {m.name: m.state for m in report.gate.metrics}["cot-share-reasoning"] == "pass"


def test_gsm8k_answers_cut_to_the_final_number_fail():
    import re

    records = json.loads(real("gsm8k_train_alpaca.json").read_text())
    cut = [qa(r["instruction"], re.findall(r"-?\d[\d,]*(?:\.\d+)?", r["output"])[-1]) for r in records]
    report = dqe.check(cut, select=["DQ201"])
    assert report.summary.rejected >= 0.99 * len(cut)
    assert report.dataset["cot"]["share_reasoning"] == 0.0
    assert {m.name: m.state for m in report.gate.metrics}["cot-share-reasoning"] == "warn"


def test_dataset_section_counts_reasoning_records():
    records = [
        qa("Why is the sky blue?", "Because of Rayleigh scattering, so blue light dominates."),
        qa("Why does ice float?", "Density."),
        qa("Name a colour.", "Red."),
        qa("Name a fruit.", "An apple, because it is the first fruit that comes to mind."),
    ]
    cot = dqe.check(records, select=["DQ201"]).dataset["cot"]
    assert cot["reasoning_records"] == 2 and cot["cot_records"] == 2
    assert cot["share"] == 0.5 and cot["share_reasoning"] == 0.5
    assert cot["by_need"] == {"why": 2}


def test_no_reasoning_questions_leave_the_gate_metric_skipped():
    report = dqe.check([qa("Name a colour.", "Red.")], select=["DQ201"])
    assert report.dataset["cot"]["share_reasoning"] is None
    assert {m.name: m.state for m in report.gate.metrics}["cot-share-reasoning"] == "skipped"


# Failures per real file, read and judged: bare answers to calculations ("Calculate the volume
# of a sphere..." -> "The volume is approximately 113.10 cubic cm.") and a few "why" questions
# answered without a reason. GSM8K, tool calls and chit-chat pass. GPTeacher's code set, all 72
# read: 26 are right ("What is the output of this code?" answered with the output alone: "25",
# "[9, 4, 5]", "193"; a few of them trivial, "Sum: 3"); 45 are false alarms: 35 answers that are
# code (a SQL query, a refactor, a fixed function: code is its own reasoning) and 10 outputs
# given with their explanation ("9. It sums the elements at even indices"); 1 is debatable
# ("the provided code is already correct", no reason given).
EXPECTED = {
    "rasbt_instruction_data.json": 27,
    "llamafactory_alpaca_en_demo.json": 11,
    "llamafactory_alpaca_zh_demo.json": 3,
    "llamafactory_identity.json": 1,
    "llamafactory_glaive_toolcall_en_demo.json": 0,
    "llamafactory_v1_sft_demo.jsonl": 5,
    "fastchat_dummy_conversation.json": 0,
    "gsm8k_train_alpaca.json": 0,
    "gpteacher_codegen_instruct.json": 72,
}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    found = failures(real(name), "DQ201")
    assert len(found) == EXPECTED[name]
    assert all(m.startswith("question needs reasoning (") for m in found.values())
