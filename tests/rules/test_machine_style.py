"""DQ210 machine-style: answers in a chat model's stock phrases are marked (info), with the phrases."""

from __future__ import annotations

import dqe
from dqe.testing import conversation, record, run_rule
from tests.support import failures, real

CHATTY = (
    "Certainly! Here's an overview of photosynthesis. Plants turn light into sugar. "
    "It's important to note that water is needed too. I hope this helps!"
)


def test_stock_phrases_are_named():
    run = run_rule("DQ210", [record("Explain photosynthesis.", CHATTY)])
    assert run.passed == [False]
    assert run.messages == [
        "answers read as machine-written: 3 stock phrases (certainly! here; it's important to note; i hope this helps)"
    ]
    assert run.evidence[0].startswith("3 distinct stock phrases of the machine-style pack (min 2)")


def test_the_finding_is_info_and_rejects_nothing():
    report = dqe.check([record("Explain photosynthesis.", CHATTY)], select=["DQ210"])
    assert [f.severity for f in report.findings] == ["info"]
    assert report.summary.rejected == 0


def test_one_phrase_proves_nothing():
    answer = "In conclusion, the treaty ended the war, though the peace it made was short."
    assert failures([record("How did the war end?", answer)], "DQ210") == {}


def test_a_phrase_said_twice_counts_once():
    answer = "In conclusion, yes. In conclusion, the answer is yes."
    assert failures([record("Is it?", answer)], "DQ210") == {}


def test_chinese_phrases_and_the_first_next_finally_frame():
    answer = "首先，准备好材料。其次，按照步骤操作。最后，检查结果。总之，这个方法简单有效。"
    (message,) = failures([record("怎么做？", answer)], "DQ210").values()
    assert message == "answers read as machine-written: 2 stock phrases (总之; 首先……其次……最后)"


def test_a_list_of_bold_titles_is_one_phrase():
    answer = "1. **Sleep**: rest well.\n2. **Food**: eat well.\n3. **Sport**: move daily.\nI hope this helps!"
    (message,) = failures([record("Tips for health?", answer)], "DQ210").values()
    assert message == "answers read as machine-written: 2 stock phrases (i hope this helps; list of **bold titles**:)"


def test_phrases_in_code_and_in_the_question_are_not_counted():
    answer = "```python\n# I hope this helps\nprint('In conclusion')\n```"
    question = "Certainly! Here's my question: I hope this helps you to delve into it."
    assert failures([record(question, answer)], "DQ210") == {}


def test_every_assistant_turn_counts_and_the_fullest_is_named():
    record_ = conversation("Hi", "Great question! Let me know if you need more.", "Thanks", "Delve into it.")
    run = run_rule("DQ210", [record_], {"min-phrases": 3})
    assert run.passed == [False] and run.turns == [2]


def test_synthetic_share_is_a_gate_metric_with_no_level_by_default():
    records = [record("Explain.", CHATTY), record("Add 2 and 2.", "4")]
    report = dqe.check(records, select=["DQ210"])
    assert report.dataset["machine_style"] == {
        "records": 2,
        "with_phrases": 1,
        "machine_written": 1,
        "synthetic_share": 0.5,
        "min_phrases": 2,
    }
    assert report.summary.gate == "pass"
    assert dqe.check(records, select=["DQ210"], gate={"synthetic-share": {"warn": 0.3}}).summary.gate == "pass"


def test_a_user_pack_adds_phrases(tmp_path):
    (tmp_path / "machine-style.toml").write_text(
        '[phrases.en]\nboundaries = true\npatterns = ["as a large language model"]\n', encoding="utf-8"
    )
    answer = "As a large language model, I think so. In conclusion, yes."
    assert failures([record("Do you?", answer)], "DQ210") == {}
    assert failures([record("Do you?", answer)], "DQ210", rule_packs=[str(tmp_path)]) != {}


def test_gsm8k_written_by_people_reads_as_people():
    report = dqe.check(real("gsm8k_train_alpaca.json"), select=["DQ210"])
    assert report.dataset["machine_style"]["synthetic_share"] < 0.01


def test_a_reasoning_trace_is_not_the_answers_voice():
    # a trace is a model's scratch by design: the reply is what talks to the user
    traced = "<think>\nCertainly! Here's the plan. It's important to note the units. I hope this helps.\n</think>\n\nPlants turn light into sugar."
    assert run_rule("DQ210", [record("Explain photosynthesis.", traced)]).passed == [True]
