"""DQ104 no-supervised-tokens: the trainer's encoding leaves nothing to learn (dqe check --model)."""

from __future__ import annotations

from dqe.testing import assert_findings, run_rule


def test_a_conversation_without_an_answer_has_no_supervised_token(english_model):
    records = [
        {"messages": [{"role": "user", "content": "Translate the sentence into French."}]},
        {
            "messages": [
                {"role": "user", "content": "Translate the sentence into French."},
                {"role": "assistant", "content": "Le renard brun."},
            ]
        },
    ]
    run = run_rule("DQ104", records, model=str(english_model), template="chatml")
    assert_findings(run, {0: "no supervised token: the record has no assistant turn to learn"})
    assert run.evidence[0].endswith(
        "0 with a label; " + str(english_model) + ", template chatml, learn-all-turns false"
    )


def test_without_a_model_the_rule_is_skipped():
    run = run_rule("DQ104", [{"messages": [{"role": "user", "content": "Hi"}]}])
    (row,) = [r for r in run.report.rules if r.code == "DQ104"]
    assert row.skipped and row.evaluated == 0


def test_a_record_that_answers_only_with_tool_calls_says_learn_all_turns_would_learn_them(english_model):
    calls = {
        "messages": [
            {"role": "user", "content": "What is the weather in Paris?"},
            {"role": "assistant", "tool_calls": [{"function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
        ]
    }
    run = run_rule("DQ104", [calls], model=str(english_model), template="chatml")
    assert_findings(run, {0: "the record answers only with tool calls, learned with learn-all-turns"})
