"""JDG001 in ``dqe eval``'s error analysis: configured, it grades each model's answers, and its
mean grade becomes a metric beside ROUGE (the judge is the tests' own server)."""

from dqe.eval.errors import check_answers
from dqe.eval.report import Generated, build_examples, build_metrics, rule_shares
from dqe.records import Record, Turn
from dqe_judge import plugin

QUESTION = Record(turns=[Turn(role="user", content="What is 17 * 3?"), Turn(role="assistant", content="51")])


def test_the_judge_grades_base_and_tuned_answers(chat_server, judge_options):
    config = {"extend-select": ["JDG001"], "rules": {"JDG001": judge_options}}
    answers = {"base": ["17 * 3 = 41. WRONG"], "tuned": ["17 * 3 = 51."]}
    analysis = check_answers([QUESTION], answers, config, plugins=[plugin])
    assert [f.code for f in analysis.models["base"].flags[0]] == ["JDG001"]
    assert analysis.models["tuned"].flags[0] == []
    shares = {r.code: (r.base, r.tuned) for r in rule_shares(analysis, 1)}
    assert shares["JDG001"] == (1, 0)

    generated = {m: [Generated(text=a[0], stopped="eos", tokens=5)] for m, a in answers.items()}
    row = {
        "id": "x",
        "source": "test.jsonl:1",
        "question": "What is 17 * 3?",
        "prompt": "",
        "reference": "51",
    }
    examples = build_examples([row], generated, analysis)
    checks = {m: analysis.models[m].dataset for m in answers}
    judge = next(m for m in build_metrics(examples, {"base": 1.0, "tuned": 0.5}, 8, checks) if m.name == "judge")
    assert (judge.base, judge.tuned) == (3.0, 4.333) and judge.improved
    assert len(chat_server.requests) == 2
