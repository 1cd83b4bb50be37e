"""dqe.features.langreplay: langdetect's seeded answer for texts the exact scores leave close."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import dqe.features.langid as langid
from dqe.features.langid import LanguageIdentifier
from dqe.features.langreplay import Probabilities, SeededReplay
from tests.support import langdetect_reference, real

CLOSE = [
    "You too!",  # FastChat, 167 times: English by 0.3 nats, Somali to langdetect
    "Interrogative.",  # never converges: every trial runs to the iteration limit
    "Convert 2000 millimeters to meters.",
    "A synonym for 'intelligent' is 'smart'.",
    "玫瑰花香甜美。",
    "Goodbye",
]


@pytest.fixture(scope="module")
def identifier():
    return LanguageIdentifier()


def test_a_close_call_gets_langdetects_answer_not_the_exact_scores(identifier):
    exact = identifier.identify(["You too!"], replay=False)
    assert exact.language == ["en"] and exact.margin[0] < langid.REPLAY
    assert identifier.detect(["You too!"]) == ["so"] == [langdetect_reference("You too!")]


def test_every_close_text_answers_as_langdetect(identifier):
    assert identifier.detect(CLOSE) == [langdetect_reference(text) for text in CLOSE]


def test_replayed_answers_are_langdetects_on_real_texts(identifier, monkeypatch):
    """Every text replayed, clear or close: the replay is langdetect itself, not an estimate."""
    monkeypatch.setattr(langid, "REPLAY", float("inf"))
    texts = []
    for name in ("llamafactory_alpaca_en_demo.json", "llamafactory_alpaca_zh_demo.json", "gsm8k_train_alpaca.json"):
        for record in json.loads(real(name).read_text("utf-8"))[:400]:
            texts += [f"{record['instruction']}\n{record['input']}".strip(), record["output"]]
    sample = random.Random(1).sample(texts, 150)
    assert identifier.detect(sample) == [langdetect_reference(text) for text in sample]


def test_a_text_is_replayed_the_same_alone_and_in_any_batch(identifier):
    alone = [identifier.detect([text])[0] for text in CLOSE]
    assert identifier.detect(CLOSE + ["The weather is lovely today."]) == [*alone, "en"]
    assert identifier.detect(CLOSE[::-1]) == alone[::-1]


def test_the_stream_is_random_Random_0_word_by_word():
    replay = SeededReplay(Probabilities(np.zeros(1, dtype=np.int64), np.zeros(0), np.zeros(0)), 3)
    expected = random.Random(0)
    assert replay.ensure(40_000)[:40_000].tolist() == [expected.getrandbits(32) for _ in range(40_000)]


def test_an_ngram_only_one_language_has_wins_and_one_all_share_is_unknown():
    languages = 12
    probabilities = Probabilities(  # row 0: language 3 alone; row 1: every language alike
        start=np.array([0, 1, 1 + languages]),
        column=np.array([3, *range(languages)]),
        prob=np.array([0.02, *[0.01] * languages]),
    )
    replay = SeededReplay(probabilities, languages)
    answers = replay.detect(np.array([0, 0, 1, 1]), np.array([0, 2, 4]))
    # The second text's probabilities stay at 1/12 each through all seven trials (each runs
    # to the iteration limit): none above langdetect's 0.1, so "unknown".
    assert answers.tolist() == [3, -1]
