"""Answers picked from their question's options, and the questions that list options at all."""

import polars as pl

from dqe import lists_options, picked_choice

QUESTIONS = [
    "Which is right?\n- He is terrible .\n- He is careless .",
    "选项：A.思考饮食B.检查结果",
    "What is 3 + 4?",
    "Choose (A) red or (B) blue.",
    "Name one colour. A rainbow has seven.",
]
ANSWERS = ["He is careless .", "B. 检查结果", "7", "B", "A"]


def judged() -> pl.DataFrame:
    return pl.DataFrame({"question": QUESTIONS, "answer": ANSWERS}).select(
        lists=lists_options(pl.col("question")), picked=picked_choice(pl.col("question"), pl.col("answer"))
    )


def test_questions_with_two_options_or_more_list_options():
    assert judged()["lists"].to_list() == [True, True, False, True, False]


def test_an_answer_is_picked_only_from_a_question_that_lists_options():
    out = judged()
    assert out["picked"].to_list() == [True, True, False, True, False]
    assert not (out["picked"] & ~out["lists"]).any()


def test_an_options_line_lists_its_options_between_commas():
    """PromptCBLUE's layout: a line names the options, then lists them between commas, no labels."""
    questions = [
        "反复低烧是什么原因\n这个搜索是什么意图？\n类型选项：医疗费用，后果表述，病情诊断，病因分析\n答：",
        "Is the review positive?\nOptions: yes, no",
        "反复低烧是什么原因？选项很多，请详细说明。",
    ]
    out = pl.DataFrame({"question": questions, "answer": ["病情诊断", "no", "病因"]}).select(
        lists=lists_options(pl.col("question")), picked=picked_choice(pl.col("question"), pl.col("answer"))
    )
    assert out["lists"].to_list() == [True, True, False]
    assert out["picked"].to_list() == [True, True, False]
