"""The language feature: what a reader of the report wants called Chinese, English or 'und'."""

from __future__ import annotations

import pytest

import dqe
from dqe.config import ConfigError, load_config
from dqe.engine import Engine
from dqe.plugins import load_plugins


def languages(*records, **config):
    """(question, answer, mismatch, translation) per record, as the feature computes them."""
    loaded = load_config(None, {"select": ["DQ302"], **config}, discover=False)
    table = Engine(loaded, load_plugins()).run(list(records)).table
    return list(
        table.select("language_question", "language_answer", "language_mismatch", "language_translation").iter_rows()
    )


def qa(question, answer, **extra):
    return {"instruction": question, "output": answer, **extra}


def test_chinese_is_zh_whatever_langdetect_says_about_short_han_text():
    # langdetect calls the first Korean and the second zh-tw; Han without hangul is Chinese.
    rows = languages(qa("地球到月球的平均距离是多少？", "請問這個多少錢？"))
    assert rows == [("zh", "zh", False, False)]


def test_english_french_japanese_and_undetermined():
    rows = languages(
        qa(
            "Where is the nearest train station, please?",
            "Le chat dort sur le canapé depuis ce matin.",
        ),
        qa("今日はいい天気ですね。", "OK"),
        qa("Paris", "42"),
    )
    assert [r[:2] for r in rows] == [("en", "fr"), ("ja", "und"), ("und", "und")]


def test_code_is_not_a_language():
    answer = "```python\ndef add(a, b):\n    return a + b\n```"
    assert languages(qa("用Python写一个加法函数。", answer))[0][:2] == ("zh", "und")


def test_chinese_with_english_terms_is_chinese_and_english_quoting_chinese_is_english():
    rows = languages(
        qa(
            "列出五个欧洲国家。",
            "1. 法国 (France)\n2. 英国 (United Kingdom)\n3. 德国 (Germany)\n4. 意大利 (Italy)",
        ),
        qa(
            "What does the greeting 你好 mean, and when do people use it?",
            "It means hello, at any time of day.",
        ),
    )
    assert [r[:2] for r in rows] == [("zh", "zh"), ("en", "en")]


def test_the_records_own_language_field_fills_an_undetermined_question():
    rows = languages(
        qa("Hi", "Hello! How can I help you today with your questions?", language="English"),
        qa("Hi", "Hello! How can I help you today with your questions?", language="zh_CN"),
        qa(
            "Where is the nearest train station, please?",
            "It is two blocks north of here.",
            language="fr",
        ),
    )
    assert [r[0] for r in rows] == [
        "en",
        "zh",
        "en",
    ]  # the text, when it tells, wins over the field


def test_mismatch_and_translation_flags():
    rows = languages(
        qa("法国的首都是哪里？", "The capital of France is Paris, a city on the Seine."),
        qa("把这句话翻译成英文：我爱你。", "I love you, and I will always be there for you."),
        qa(
            "Translate 'Where is the library?' into Italian.",
            "Dove si trova la biblioteca della città?",
        ),
    )
    assert rows == [("zh", "en", True, False), ("zh", "en", True, True), ("en", "it", True, True)]


def test_languages_section_counts_questions_answers_and_mismatches():
    report = dqe.check(
        [
            qa("法国的首都是哪里？", "The capital of France is Paris, a city on the Seine."),
            qa("法国的首都是哪里？", "法国的首都是巴黎。"),
            qa("把这句话翻译成英文：我爱你。", "I love you, and I will always be there for you."),
            qa("Hi", "Yes"),
        ],
        select=["DQ302"],
    )
    assert report.dataset["languages"] == {
        "question": {"zh": 3, "und": 1},
        "answer": {"en": 2, "zh": 1, "und": 1},
        "mismatch": 1,
    }


def test_a_user_pack_extends_the_translation_markers(tmp_path):
    pack = tmp_path / "language.toml"
    pack.write_text("[translation]\npatterns = ['^render as']\n", encoding="utf-8")
    record = qa(
        "Render as German: good morning to all of you",
        "Guten Morgen an euch alle, wie geht es euch?",
    )
    assert languages(record)[0][3] is False
    assert languages(record, **{"rule-packs": [str(pack)]})[0][3] is True


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[detection]\nmin_lead = -1\n", "detection.min_lead"),
        ("[translation]\npatterns = ['(unclosed']\n", "is not a valid regular expression"),
        ("[names]\nklingon = 'tlh'\n", "unknown language codes: tlh"),
        ("[detection]\nmin_leed = 3\n", "detection.min_leed"),
    ],
)
def test_a_bad_pack_is_a_config_error_naming_the_key(tmp_path, toml, message):
    pack = tmp_path / "language.toml"
    pack.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match="rule pack 'language'") as error:
        languages(qa("a", "b"), **{"rule-packs": [str(pack)]})
    assert message in str(error.value)
