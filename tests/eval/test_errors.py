"""The error analysis: dqe's record rules run on generated answers, per model."""

from __future__ import annotations

from eval_support import BananaPlugin

from dqe.eval.errors import answered, check_answers
from dqe.eval.report import rule_shares
from dqe.records import Record, Turn

QUESTIONS = [
    Record(turns=[Turn(role="user", content="What is the capital of France? Answer in a sentence.")]),
    Record(turns=[Turn(role="user", content="法国的首都是哪座城市？请用一句话回答。")]),
]
RECORDS = [r.model_copy(update={"turns": [*r.turns, Turn(role="assistant", content="ref")]}) for r in QUESTIONS]


ANSWERS = {
    "base": ["", "The capital of France is Paris."],
    "tuned": ["Paris is the capital of France, not a banana.", "法国的首都是巴黎。"],
}


def test_each_models_answers_meet_the_rules_the_config_enables():
    analysis = check_answers(RECORDS, ANSWERS, plugins=[BananaPlugin()])
    codes = [r.code for r in analysis.rules]
    assert {"DQ001", "DQ302", "EVL901"} <= set(codes) and codes == sorted(codes)
    base, tuned = analysis.models["base"].flags, analysis.models["tuned"].flags
    assert [(f.code, f.message) for f in base[0]] == [("DQ001", "empty answer")]
    assert [(f.code, f.message) for f in base[1]] == [("DQ302", "question zh, answer en")]
    assert [[f.code for f in flags] for flags in tuned] == [["EVL901"], []]
    assert analysis.models["base"].dataset["languages"]["mismatch"] == 1

    shares = {r.code: r for r in rule_shares(analysis, answers=2)}
    assert (shares["DQ302"].base_share, shares["DQ302"].tuned_share, shares["DQ302"].diff) == (
        0.5,
        0.0,
        -0.5,
    )
    assert (shares["EVL901"].base, shares["EVL901"].tuned) == (0, 1)
    assert (shares["any"].base, shares["any"].tuned) == (2, 1)


def test_rules_chosen_by_code_and_data_set_rules_left_out():
    analysis = check_answers(RECORDS, ANSWERS, select=["DQ4", "EVL901"], plugins=[BananaPlugin()])
    assert [r.code for r in analysis.rules] == ["EVL901"]  # DQ411, DQ421, DQ431 judge a data set


def test_rule_options_of_the_config_apply():
    config = {"select": ["DQ101"], "rules": {"DQ101": {"max-tokens": 48}}}
    analysis = check_answers(RECORDS[:1], {"base": ["Paris."], "tuned": ["Paris " * 40]}, config)
    assert analysis.failed("base", "DQ101") == 0 and analysis.failed("tuned", "DQ101") == 1


def test_the_training_config_gate_of_data_set_rules_does_not_stop_the_check():
    config = {"select": ["DQ001"], "gate": {"duplicate-rate": {"fail": 0.1}}}  # as examples/dqe.toml
    analysis = check_answers(RECORDS, ANSWERS, config)
    assert analysis.failed("base", "DQ001") == 1


def test_an_answer_replaces_the_last_assistant_turn_and_what_follows():
    record = Record(
        system="Be brief.",
        turns=[
            Turn(role="user", content="Hi"),
            Turn(role="assistant", content="Hello!"),
            Turn(role="user", content="2 + 2?"),
            Turn(role="assistant", content="4"),
            Turn(role="user", content="thanks"),
        ],
    )
    got = answered(record, "Four.")
    assert got.system == "Be brief."
    assert [(t.role, t.content) for t in got.turns] == [
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "2 + 2?"),
        ("assistant", "Four."),
    ]


def test_no_answers_no_check():
    analysis = check_answers([], {"base": [], "tuned": []}, select=["DQ001"])
    assert [r.code for r in analysis.rules] == ["DQ001"] and analysis.models["tuned"].flags == []
