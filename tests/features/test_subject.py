"""The subject feature: what a question is about, from the subjects' lexicons and the lean of
its task category; none for a text task on a sentence."""

from __future__ import annotations

import pytest

from dqe.engine.config import load_config
from dqe.engine.engine import Engine
from dqe.engine.plugins import load_plugins
from dqe.errors import ConfigError


def subjects(records, **config):
    loaded = load_config(overrides={"select": ["DQ411"], **config}, discover=False)
    return Engine(loaded, load_plugins()).run(records).table.sort("_idx")["subject"].to_list()


def qa(question, answer="Here is the answer."):
    return {"instruction": question, "output": answer}


def test_subjects_from_what_the_question_is_about():
    records = [
        qa("Explain how photosynthesis works in plants."),
        qa("Who wrote the novel Pride and Prejudice?"),
        qa("How does inflation affect the economy?"),
        qa("Suggest a recipe for a quick weekend breakfast."),
        qa("解释万有引力定律。"),
    ]
    assert subjects(records) == ["stem", "humanities", "social", "everyday", "stem"]


def test_a_task_category_leans_to_its_subject():
    records = [
        qa("Write a Python function that reverses a list.", "def rev(xs): return xs[::-1]"),
        qa("Write a haiku about the moon.", "Pale moon on the lake"),
    ]
    assert subjects(records) == ["stem", "humanities"]


def test_a_text_task_on_a_sentence_has_no_topic_but_one_on_a_passage_takes_its_topic():
    sentence = qa(
        "Correct the grammar of this sentence.\nThe doctor have visited the patients.", "The doctor has visited."
    )
    passage = qa(
        "Summarize the following paragraph.\n"
        + "The economy grew by three percent as inflation fell and the central bank held interest rates. " * 3
    )
    assert subjects([sentence, passage]) == ["none", "social"]


def test_the_subjects_of_passing_records_are_counted_in_the_report():
    import dqe

    report = dqe.check([qa("Explain gravity.")] * 2 + [qa("Who painted the Mona Lisa?")], select=["DQ411"])
    assert report.dataset["subjects"]["counts"] == {"stem": 2, "humanities": 1}


def test_a_category_leaning_to_an_unknown_subject_is_a_config_error(tmp_path):
    pack = tmp_path / "subjects.toml"
    pack.write_text("[categories]\nmath = { science = 2.0 }\n")
    with pytest.raises(ConfigError, match=r"rule pack 'subjects': categories.math.science: no such subject"):
        subjects([qa("x")], **{"rule-packs": [str(pack)]})
