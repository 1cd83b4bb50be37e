"""DQ302 language-mismatch: an answer in another language than its question, unasked."""

from __future__ import annotations

import pytest

import dqe
from dqe.docs import rule_doc
from tests.conftest import REAL_FILES, real


def qa(question, answer):
    return {"instruction": question, "output": answer}


def dq302(records, **options):
    report = dqe.check(records, select=["DQ302"], rules={"DQ302": options}, complete=True)
    return [f.message for f in report.findings if f.code == "DQ302"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (qa("法国的首都是哪里？", "The capital of France is Paris."), "question zh, answer en"),
        (qa("What is the capital of France?", "法国的首都是巴黎。"), "question en, answer zh"),
        (
            qa("What is the capital of France?", "La capitale de la France est Paris."),
            "question en, answer fr",
        ),
        (
            qa("フランスの首都はどこですか？", "The capital of France is Paris, on the Seine."),
            "question ja, answer en",
        ),
        (qa("法国的首都是哪里？", "法国的首都是巴黎，位于塞纳河畔。"), None),
        (qa("What is the capital of France?", "The capital of France is Paris."), None),
        # short answers whose language cannot be told pass
        (qa("法国的首都是哪里？", "Paris"), None),
        (qa("计算 2 + 3。", "5"), None),
        (qa("用Python写一个加法函数。", "```python\ndef add(a, b):\n    return a + b\n```"), None),
        # a Chinese answer that names things in English is a Chinese answer
        (qa("列出三个欧洲国家。", "1. 法国 (France)\n2. 德国 (Germany)\n3. 意大利 (Italy)"), None),
        # English arithmetic that langdetect calls Dutch still answers an English question
        (
            qa(
                "Ann had 3 dozen cookies and ate 2 dozen. How many cookies are left?",
                "Ann had 3 dozen oatmeal cookies - 2 dozen = 1 dozen oatmeal cookies left.",
            ),
            None,
        ),
    ],
)
def test_cases(record, message):
    assert dq302([record]) == ([message] if message else [])


@pytest.mark.parametrize(
    "record",
    [
        qa("把这句话翻译成英文：我爱你。", "I love you, and I always will."),
        qa(
            "Translate 'Where is the library?' into Italian.",
            "Dove si trova la biblioteca della città?",
        ),
        qa(
            "How would you greet a class in Spanish first thing in the morning?",
            "Buenos días a todos, ¿cómo están ustedes hoy?",
        ),
        qa("用英语回答：你最喜欢的季节是什么？", "My favourite season is autumn, for its colours."),
        qa(
            "生成一个正确使用“opulent”一词的例句。",
            "The wedding was held in an opulent ballroom with gold walls.",
        ),
    ],
)
def test_a_question_asking_for_another_language_may_get_one(record):
    assert dq302([record]) == []
    assert len(dq302([record], **{"allow-translation": False})) == 1


def test_rule_doc():
    doc = rule_doc("DQ302")
    assert doc.startswith("DQ302 language-mismatch  (record rule, severity error, on by default")
    assert "allow-translation (bool, default True)" in doc
    assert "法国的首都是哪里？" in doc and "fails: 'question zh," in doc


# Failures on the real files, read one by one: the Chinese demo set's are Chinese questions
# answered in English (true mismatches), GSM8K's English arithmetic whose few words
# langdetect's profiles take for Indonesian, German, Welsh or Somali (false alarms), GPTeacher's
# code answered with bare code outside a fence ("sum_lambda = lambda x, y: x + y" taken for
# Somali, "def count_unique_elements(lst): ..." for French): 4 false alarms.
EXPECTED = {"llamafactory_alpaca_zh_demo.json": 12, "gsm8k_train_alpaca.json": 3, "gpteacher_codegen_instruct.json": 4}


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files(name):
    report = dqe.check(real(name), select=["DQ302"])
    (rule,) = [r for r in report.rules if r.code == "DQ302"]
    assert rule.failed == EXPECTED.get(name, 0)
    assert report.dataset["languages"]["mismatch"] == rule.failed


def test_the_chinese_demo_set_is_chinese():
    languages = dqe.check(real("llamafactory_alpaca_zh_demo.json"), select=["DQ302"]).dataset["languages"]
    assert languages["question"] == {"zh": 1000}
    assert languages["answer"]["zh"] >= 960 and languages["answer"]["en"] <= 25
