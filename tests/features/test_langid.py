"""dqe.features.langid: langdetect's answers from langdetect's profiles, a batch at a time."""

from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest
from langdetect.detector_factory import init_factory

from dqe.features.langid import LanguageIdentifier
from tests.support import langdetect_reference as reference
from tests.support import real


@pytest.fixture(scope="module")
def identifier():
    return LanguageIdentifier()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The weather is lovely today, let us go for a walk in the park.", "en"),
        ("Le chat dort sur le canapé depuis ce matin.", "fr"),
        ("Der Hund spielt im Garten mit einem roten Ball.", "de"),
        ("El perro juega en el jardín con una pelota roja.", "es"),
        ("Привет, как у тебя дела сегодня?", "ru"),
        ("今天天气很好，我们去公园散步吧。", "zh-cn"),
        ("今日はいい天気ですね。公園に行きましょう。", "ja"),
        ("오늘은 날씨가 정말 좋네요.", "ko"),
        ("สวัสดีครับ วันนี้อากาศดีมาก", "th"),
        ("Η γάτα κοιμάται στον καναπέ.", "el"),
    ],
)
def test_languages_and_scripts(identifier, text, language):
    assert identifier.detect([text]) == [language] == [reference(text)]


@pytest.mark.parametrize("text", ["", None, "12345", "3.14 + 2 = 5.14 !!!", "   ", "💡🚀"])
def test_nothing_to_detect_is_und(identifier, text):
    found = identifier.identify([text])
    assert found.language == ["und"] and found.ngrams[0] == 0


def test_the_script_alone_decides_single_language_scripts(identifier):
    found = identifier.identify(["今日は", "한국어", "ภาษาไทย", "Ελληνικά"])
    assert found.language == ["ja", "ko", "th", "el"]
    assert found.script == ["kana", "hangul", "thai", "greek"]
    assert np.isinf(found.margin).all() and (found.ngrams == 0).all()


def test_mostly_chinese_text_loses_its_latin_letters_as_in_langdetect(identifier):
    text = "请用Python写一个函数，计算两个数的和，并返回结果。"
    found = identifier.identify([text])
    assert found.language == [reference(text)] == ["zh-cn"]
    assert found.script == ["han"] and found.count("latin")[0] == 6 and found.count("han")[0] == 19


def test_a_text_is_decided_the_same_alone_and_in_any_batch(identifier):
    texts = ["Where is the nearest train station?", "我喜欢吃苹果。", "", "Bonjour à tous !"] * 3
    alone = [identifier.detect([t])[0] for t in texts]
    assert identifier.detect(texts) == alone
    assert identifier.detect(pl.Series(texts[::-1])) == alone[::-1]


def test_urls_emails_and_very_long_texts(identifier):
    text = "See https://example.com/path?q=1 or write to someone@example.org for details. " * 300
    assert len(text) > 10_000
    assert identifier.detect([text]) == ["en"]


def test_scores_are_langdetects_naive_bayes_over_all_its_ngrams(identifier):
    """With early stopping off, a text's scores are exactly the naive-Bayes sums over the
    n-grams langdetect itself extracts: same cleaning, normalization, capital-word skipping."""
    init_factory()
    factory = langid_factory()
    texts = [
        "The QUICK brown FOX jumps over the lazy dog. NASA and the U.S.A. agree.",
        "Mixed 中文 text with English words, and ça va? Ōsaka ș ț",
        "请用Python写一个函数，计算两个数的和。",
        "Visit https://example.com now, or mail me@example.com!",
        "a b  c   d",
    ]
    found = identifier.identify(texts, decisive=float("inf"))
    columns = [found.languages.index(lang) for lang in factory.langlist]
    for text, scores, count in zip(texts, found.scores, found.ngrams, strict=True):
        detector = factory.create()
        detector.append(text)
        detector.cleaning_text()
        grams = detector._extract_ngrams()
        assert count == len(grams), text
        expected = sum(np.log(np.array(factory.word_lang_prob_map[g]) + 5e-5) - np.log(5e-5) for g in grams)
        finite = np.isfinite(scores[columns])
        assert finite.any()
        np.testing.assert_allclose(scores[columns][finite], expected[finite], rtol=1e-4, atol=1e-3)


def langid_factory():
    from langdetect import detector_factory

    return detector_factory._factory


@pytest.mark.slow
def test_agrees_with_langdetect_on_real_texts(identifier):
    """A seeded sample of real texts (the full figure: benchmarks/bench_language.py)."""
    texts = []
    for name in (
        "llamafactory_alpaca_en_demo.json",
        "llamafactory_alpaca_zh_demo.json",
        "rasbt_instruction_data.json",
    ):
        for record in json.loads(real(name).read_text("utf-8")):
            texts += [f"{record['instruction']}\n{record['input']}".strip(), record["output"]]
    sample = random.Random(0).sample(texts, 300)
    agree = np.mean([a == b for a, b in zip(identifier.detect(sample), map(reference, sample), strict=True)])
    assert agree >= 0.98
