from dqe.testing import assert_findings, record, run_rule
from dqe_echo import AnswerEchoesQuestion


def test_an_answer_that_repeats_the_question_fails():
    run = run_rule(
        AnswerEchoesQuestion,
        [
            record("Name three primes below ten.", "Name three primes below ten. 2, 3 and 5."),
            record("Name three primes below ten.", "2, 3 and 5."),
            record(
                "请列出三个小于十的质数，并说明每个数为什么是质数。",
                "请列出三个小于十的质数，并说明每个数为什么是质数。2、3、5只有两个约数。",
            ),
            record("Hi!", "Hi! How can I help?"),  # too short to count
        ],
    )
    assert_findings(run, {0: "answer repeats the question", 2: "answer repeats the question"})


def test_min_chars_is_an_option():
    run = run_rule(AnswerEchoesQuestion, [record("Hi!", "Hi! How can I help?")], {"min-chars": 3})
    assert_findings(run, [0])
