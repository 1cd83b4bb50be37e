"""DQ102 length-bounds: the minimum depends on what the question asks; short valid answers pass."""

from __future__ import annotations

import pytest

import dqe
from dqe.config import ConfigError
from tests.conftest import REAL_FILES, failures, real


def qa(question, answer):
    return {"instruction": question, "output": answer}


@pytest.mark.parametrize(
    "record",
    [
        qa("Classify the sentiment of this review: I love it.", "Positive"),
        qa("Translate 'good afternoon' into Portuguese.", "Boa tarde"),
        qa("Is the earth round? Answer yes or no.", "Yes"),
        qa("Extract the year from: 'Founded in 1998 in Menlo Park.'", "1998"),
        qa("把这句话翻译成英文：谢谢。", "Thanks."),
        qa("判断这句话的情感：我很开心。", "积极"),
        qa("hi", "Hello!"),
        qa("Write a short story about a dragon.", "Once upon a time, a small dragon learned to fly over the sea."),
    ],
)
def test_short_valid_answers_pass(record):
    assert failures([record], "DQ102") == {}


def test_long_form_tasks_need_longer_answers():
    found = failures(
        [qa("Write a short story about a dragon.", "Once upon a time."), qa("请写一篇关于春天的文章。", "春天来了。")],
        "DQ102",
    )
    assert found[0] == "answer has 5 tokens, fewer than 10 (long-form task)"
    assert found[1].startswith("answer has") and found[1].endswith("fewer than 10 (long-form task)")


def test_a_short_answer_task_wins_over_a_long_form_one():
    # "describe ... in one word" is a short-answer task, though "describe" is long-form
    assert failures([qa("Describe the weather today in one word.", "Sunny")], "DQ102") == {}


def test_raised_minimums_spare_short_answer_tasks_and_chit_chat():
    records = [
        qa("Classify the sentiment: I love it.", "Positive"),  # short-answer task: 1 token allowed
        qa("Give me a fruit.", "Apple"),  # an ordinary question: held to the raised minimum
        qa("thanks", "You're welcome!"),  # chit-chat: a one-token question
        qa("Python", "Python is a programming language."),  # an ordinary one-token question
    ]
    found = failures(records, "DQ102", rules={"DQ102": {"min-answer-tokens": 3, "min-question-tokens": 2}})
    assert found == {1: "answer has 1 token, fewer than 3", 3: "question has 1 token, fewer than 2"}


def test_maximums_for_question_and_answer_separately():
    words = " ".join(["word"] * 300)
    records = [qa(words, "Fine."), qa("Tell me about it.", words)]
    found = failures(records, "DQ102", rules={"DQ102": {"max-question-tokens": 100, "max-answer-tokens": 200}})
    assert found == {0: "question has 300 tokens, more than 100", 1: "answer has 300 tokens, more than 200"}


def test_empty_answers_are_left_to_dq001():
    assert failures([qa("Write a poem.", "")], "DQ102") == {}


def test_options_are_checked():
    with pytest.raises(ConfigError, match="min-answer-tokens .* is larger than max-answer-tokens"):
        dqe.check([qa("a", "b")], select=["DQ102"], rules={"DQ102": {"min-answer-tokens": 50, "max-answer-tokens": 10}})


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_pass(name):
    # Read: every record of these files has an answer that fits its task; none should fail.
    assert failures(real(name), "DQ102") == {}
