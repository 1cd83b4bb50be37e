"""DQ403 contamination: training records found in the --against evaluation set fail."""

from __future__ import annotations

import json

from click.testing import CliRunner

import dqe
from dqe.cli import main
from dqe.testing import assert_findings, run_rule
from tests.support import real

QUESTIONS = [
    (
        "What is the boiling point of water at sea level?",
        "Water boils at 100 degrees Celsius (212 degrees Fahrenheit) at sea level, where the air pressure is one atmosphere.",
    ),
    (
        "Name the largest planet in the solar system.",
        "Jupiter is the largest planet in the solar system, more than twice as massive as all the other planets combined.",
    ),
    (
        "Who wrote the novel Pride and Prejudice?",
        "Jane Austen wrote Pride and Prejudice, which was first published in 1813 and follows Elizabeth Bennet.",
    ),
    (
        "Translate 'good morning' into Spanish.",
        "'Good morning' in Spanish is 'buenos días', used as a greeting until about noon.",
    ),
]


def alpaca(question: str, answer: str) -> dict:
    return {"instruction": question, "input": "", "output": answer}


def test_copies_and_near_copies_of_evaluation_records_fail(write_jsonl):
    evaluation = write_jsonl([alpaca(q, a) for q, a in QUESTIONS[:2]], "eval.jsonl")
    reworded = QUESTIONS[1][1].replace("massive", "heavy")
    train = [
        alpaca(QUESTIONS[0][0].upper(), QUESTIONS[0][1]),  # the same text, shouting
        alpaca(QUESTIONS[1][0], reworded),
        alpaca(*QUESTIONS[2]),
        alpaca(*QUESTIONS[3]),
    ]
    run = run_rule("DQ403", train, against=[str(evaluation)])
    assert_findings(run, {0: f"same text as {evaluation}:1 (against set)", 1: f"near-duplicate of {evaluation}:2"})
    assert run.messages[1].startswith(f"near-duplicate of {evaluation}:2 (against set, similarity 0.")
    report = run.report
    section = report.dataset["contamination"]
    assert (
        section["records"],
        section["exact"],
        section["near"],
        section["rate"],
        section["against_records"],
    ) == (2, 1, 1, 0.5, 2)
    (file,) = section["against"]
    assert file["path"] == str(evaluation) and len(file["sha256"]) == 64 and file["records"] == 2
    gate = {m.name: m for m in report.gate.metrics}
    assert gate["contaminated-records"].state == "warn"


def test_without_an_evaluation_set_the_rule_does_nothing():
    run = run_rule("DQ403", [alpaca(*QUESTIONS[0])])
    assert_findings(run, [])
    report = run.report
    assert "contamination" not in report.dataset
    assert {m.name: m.state for m in report.gate.metrics}["contaminated-records"] == "skipped"
    (row,) = [r for r in report.rules if r.code == "DQ403"]
    assert (row.skipped, row.evaluated) == ("no --against", 0)


def test_the_evaluation_set_is_read_in_its_own_format(write_jsonl):
    sharegpt = [
        {"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]} for q, a in QUESTIONS[2:]
    ]
    evaluation = write_jsonl(sharegpt, "eval.jsonl")
    run = run_rule("DQ403", [alpaca(*q) for q in QUESTIONS], against=[str(evaluation)])
    assert_findings(run, [2, 3])


def test_config_paths_are_relative_to_the_config_file(write_jsonl, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "held_out.jsonl").write_text(json.dumps(alpaca(*QUESTIONS[0])) + "\n")
    (folder / "dqe.toml").write_text('against = ["held_out.jsonl"]\n[gate]\npass-rate = { fail = 0.5 }\n')
    train = write_jsonl([alpaca(*q) for q in QUESTIONS])
    result = CliRunner().invoke(
        main,
        [
            "check",
            str(train),
            "--select",
            "DQ403",
            "--config",
            str(folder / "dqe.toml"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    (finding,) = json.loads(result.output)["findings"]
    assert finding["source"].endswith("data.jsonl:1") and "held_out.jsonl:1" in finding["message"]


def test_a_missing_evaluation_file_is_a_usage_error(write_jsonl):
    train = write_jsonl([alpaca(*QUESTIONS[0])])
    result = CliRunner().invoke(main, ["check", str(train), "--against", "missing.jsonl"])
    assert result.exit_code == 2
    assert "missing.jsonl: no such file" in result.output


def test_filter_rejects_leaked_records(write_jsonl, tmp_path):
    evaluation = write_jsonl([alpaca(*QUESTIONS[3])], "eval.jsonl")
    train = write_jsonl([alpaca(*q) for q in QUESTIONS])
    out = ["--passed", str(tmp_path / "ok.jsonl"), "--rejected", str(tmp_path / "bad.jsonl")]
    result = CliRunner().invoke(main, ["filter", str(train), *out, "--against", str(evaluation), "--select", "DQ403"])
    assert "1 rejected" in result.output
    (leaked,) = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert leaked["instruction"] == QUESTIONS[3][0] and "DQ403" in json.dumps(leaked["_dqe"])


def test_gsm8k_does_not_leak_into_the_english_demo_set():
    report = dqe.check(
        real("llamafactory_alpaca_en_demo.json"),
        select=["DQ403"],
        against=[str(real("gsm8k_train_alpaca.json"))],
    )  # a file, as a user gives it
    assert report.dataset["contamination"]["against_records"] == 7473
    assert report.dataset["contamination"]["records"] == 0


def test_a_preamble_the_evaluation_set_shares_is_left_out(write_jsonl):
    from tests.rules.test_duplicates import QUESTIONS as TOOL_QUESTIONS
    from tests.rules.test_duplicates import preambled

    evaluation = write_jsonl([preambled(q, a) for q, a in TOOL_QUESTIONS], "eval.jsonl")
    question, answer = TOOL_QUESTIONS[4]
    train = [
        preambled("Book a table for two at an Italian place tonight.", "search('Italian restaurant', '')"),
        preambled(question.replace("Portuguese", "Brazilian Portuguese"), answer),
    ]
    run = run_rule("DQ403", train, against=[str(evaluation)])
    assert_findings(run, {1: f"near-duplicate of {evaluation}:5 (against set, similarity 0."})
    # Counted in full, the preamble alone would make the unrelated question a leak.
    whole = run_rule("DQ403", train, {"boilerplate-min-records": 1000}, against=[str(evaluation)])
    assert_findings(whole, [0, 1])


def test_an_evaluation_set_of_questions_alone_is_compared_question_by_question(write_jsonl):
    """MT-Bench holds questions without answers, two per record: a training record that asks
    one of them, whatever its answer, is a leak; a long answer must not hide it."""
    blog = "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences and must-see attractions."
    doctor = "Imagine yourself as a doctor tasked with devising innovative remedies for various ailments and maladies, for people of every age."
    mt_bench = [
        {"question_id": 81, "turns": [blog, "Rewrite your previous response. Start every sentence with the letter A."]},
        {"question_id": 82, "turns": ["Draft a professional email asking for feedback.", doctor]},
    ]
    evaluation = write_jsonl(mt_bench, "question.jsonl")
    train = [
        alpaca(blog, "Aloha! A long answer of its own. " * 40),
        alpaca("Please: " + doctor.replace("every age", "all ages"), "Something."),
        alpaca("Name a primary colour.", "Red."),
    ]
    run = run_rule("DQ403", train, against=[str(evaluation)])
    assert_findings(
        run, {0: f"same question as {evaluation}:1 (against set)", 1: f"near-duplicate of the question {evaluation}:2"}
    )
    assert run.report.dataset["contamination"]["against_records"] == 2
