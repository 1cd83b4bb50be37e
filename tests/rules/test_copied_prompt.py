"""DQ208 copied-prompt: answers that hand back the question or the text it gave fail; corrections that
needed none, picks, labels and answers that change case or spacing pass."""

from __future__ import annotations

import pytest

from dqe.testing import conversation, record, run_rule
from tests.batched import Batched
from tests.support import REAL_FILES, failures, real

HANDED_BACK = [
    (
        "Please list the courses that someone interested in the first course might like.",
        "Bitcoin and Cryptocurrency Technologies",
        "Bitcoin and Cryptocurrency Technologies",
        "answer repeats the question's text word for word",
    ),
    (
        "Describe the content of the article in a brief manner.",
        "A study found that light during sleep raises the heart rate, which harms the heart.",
        "A study found that light during sleep raises the heart rate, which harms the heart.\n",
        "answer repeats the question's text word for word",
    ),
    (
        "Design a skill assessment questionnaire for R.",
        "",
        "Design a skill assessment questionnaire for R.\n\n",
        "answer repeats the question word for word",
    ),
    (
        "Solve this equation.\n\nx^3 - 4x^2 + 6x - 24 = 0",
        "",
        "x^3 - 4x^2 + 6x - 24 = 0",
        "answer repeats the question's text word for word",
    ),
    (
        "把下面这段话翻译成英文。",
        "今天天气很好。",
        "今天天气很好。",
        "answer repeats the question's text word for word",
    ),
]
HANDED_BACK_CHECKED = Batched(
    "DQ208", [record(question, answer, input=given) for question, given, answer, _ in HANDED_BACK]
)


@pytest.mark.parametrize(("question", "given", "answer", "message"), HANDED_BACK)
def test_an_answer_that_hands_back_the_question_or_its_text_fails(question, given, answer, message):
    run = HANDED_BACK_CHECKED.run(record(question, answer, input=given))
    assert run.messages == [message]
    assert run.turns == [2]
    assert "the question asks for no correction, sorting or pick" in run.evidence[0]


CHANGED = [
    # nothing needed correcting, sorting or picking: the text comes back as it was
    ("Correct the grammar of the sentence.", "She enjoys reading books.", "She enjoys reading books."),
    (
        "Organize the sentences chronologically.",
        "He was born. He grew up. He left.",
        "He was born. He grew up. He left.",
    ),
    ("Which sentence is correct?", "She goes home every day.", "She goes home every day."),
    ("改正下面句子中的错别字。", "我今天很高兴。", "我今天很高兴。"),
    # asked to give the text back
    ("Type the following sentence.", "The quick brown fox jumps.", "The quick brown fox jumps."),
    # a change of case or spacing is a change
    ("Capitalize each word in the sentence.", "i love watching the sunrise", "I Love Watching The Sunrise"),
    ("Fix the indentation.", "def f():\nreturn 1", "def f():\n    return 1"),
    # a short label may be the word the question gave
    ("Classify the sentiment.", "Positive", "Positive"),
    # the answer picks the last option, not the whole text given
    ("Pick the grammatical one.", "She go home.\nShe goes home.", "She goes home."),
    (
        "Summarize the article.",
        "Light during sleep raises the heart rate.",
        "Sleeping with a light on is bad for the heart.",
    ),
]
CHANGED_CHECKED = Batched("DQ208", [record(question, answer, input=given) for question, given, answer in CHANGED])


@pytest.mark.parametrize(("question", "given", "answer"), CHANGED)
def test_answers_that_change_pick_or_keep_what_needed_no_change_pass(question, given, answer):
    assert CHANGED_CHECKED.run(record(question, answer, input=given)).passed == [True]


def test_an_answer_that_is_the_opening_of_the_text_given_fails():
    """A generator that stops copying part way still copied: most of the review handed back as the
    reply to it, the dialogue less its last line as its summary (PandaLM, unseen). An answer that
    quotes a passage's first sentence, or goes on past the text it was given, says something new."""
    review = (
        "Another repeat visit and no disappointment from us. Great place for breakfast or brunch.\n"
        "We enjoyed the Succotash Omelet and the Pulled Pork Benedict. Portions are large and pricing is fair.\n"
        "Definitely a spot to seek out."
    )
    dialogue = (
        "Customer: Hi there, I'm looking for a new phone.\nAI: What type of phone?\nCustomer: One with a good camera."
    )
    cut = [
        record("React properly to reviews from your customers.", review.rsplit("\n", 1)[0], input=review),
        record("Give a brief summary of the intention of the dialogue.", dialogue.rsplit("\n", 1)[0], input=dialogue),
    ]
    run = run_rule("DQ208", cut)
    assert run.messages == ["answer repeats the opening of the question's text word for word"] * 2
    assert "of the question's text" in run.evidence[0]
    passage = " ".join(["The tower was built in 1889 for the fair."] * 4)
    kept = [
        record(
            "Answer from the passage: when was the tower built?",
            "The tower was built in 1889 for the fair.",
            input=passage,
        ),
        record(
            "Continue the story.",
            "Once upon a time there was a fox. It ran away.",
            input="Once upon a time there was a fox.",
        ),
        record(
            "What is the right answer?",
            "A. The mitochondria make energy",
            input="A. The mitochondria make energy\nB. The nucleus makes energy",
        ),
    ]
    assert run_rule("DQ208", kept).passed == [True, True, True]


def test_every_assistant_turn_is_judged_and_the_finding_names_it():
    run = run_rule("DQ208", [conversation("形容词", "形容词", "举个副词的例子。", "“快速地”是一个副词。")])
    assert run.messages == ["assistant turn 2 repeats the question word for word"]
    assert run.turns == [2]


def test_min_words_is_an_option():
    records = [record("Describe this scene.", "The sky is blue", input="The sky is blue")]
    assert run_rule("DQ208", records).passed == [False]
    assert run_rule("DQ208", records, {"min-words": 5}).passed == [True]


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_pass(name):
    """Read: no answer in ../shared/data hands back its question; the Alpaca demo's correction
    that needed none ("Edit the sentence.") and its sentences already in order pass."""
    assert failures(real(name), "DQ208") == {}
