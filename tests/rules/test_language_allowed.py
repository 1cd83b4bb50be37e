"""DQ301 language-allowed: off until languages are listed, then each text must be in one."""

from __future__ import annotations

import pytest

import dqe
from dqe import ConfigError
from dqe.report.ruledocs import rule_doc
from dqe.testing import assert_findings, conversation, run_rule
from tests.support import REAL_FILES, real

FRENCH = {
    "instruction": "Quelle est la capitale de la France, et pourquoi est-elle si célèbre ?",
    "output": "La capitale de la France est Paris, une ville connue pour ses musées et ses monuments.",
}
ENGLISH = {
    "instruction": "What is the capital of France?",
    "output": "The capital of France is Paris.",
}
CHINESE = {"instruction": "法国的首都是哪里？", "output": "法国的首都是巴黎。"}
SHORT = {"instruction": "Capital of France?", "output": "Paris"}
TRANSLATION = {
    "instruction": "Translate into Italian: where is the library? I would like to borrow a book for my sister.",
    "output": "Dove si trova la biblioteca? Vorrei prendere in prestito un libro per mia sorella.",
}


def dq301(records, **options):
    report = dqe.check(records, select=["DQ301"], rules={"DQ301": options}, complete=True)
    return [f.message for f in report.findings if f.code == "DQ301"]


def test_with_no_languages_listed_every_record_passes():
    assert dq301([FRENCH, ENGLISH, CHINESE]) == []


def test_a_record_outside_the_allowed_languages_fails_naming_them():
    messages = dq301([FRENCH, ENGLISH, CHINESE], **{"allowed-languages": ["en", "zh-CN"]})
    assert messages == ["question fr; allowed: en, zh (also turns 2)"]


def test_fields_limits_the_check_to_the_answer():
    mixed = {
        "instruction": "Quelle est la capitale de la France, et pourquoi est-elle si célèbre ?",
        "output": "The capital of France is Paris.",
    }
    assert dq301([mixed], **{"allowed-languages": ["en"]}) == ["question fr; allowed: en"]
    assert dq301([mixed], **{"allowed-languages": ["en"], "fields": ["answer"]}) == []


def test_undetermined_texts_pass_unless_asked_otherwise():
    assert dq301([SHORT], **{"allowed-languages": ["en"]}) == []
    strict = dq301([SHORT], **{"allowed-languages": ["en"], "allow-undetermined": False})
    assert strict == ["question und; allowed: en (also turns 2)"]


def test_a_translation_may_be_answered_in_any_language_unless_asked_otherwise():
    assert dq301([TRANSLATION], **{"allowed-languages": ["en"]}) == []
    strict = dq301([TRANSLATION], **{"allowed-languages": ["en"], "allow-translation": False})
    assert strict == ["answer it; allowed: en"]


def test_every_turn_is_checked_and_the_finding_names_the_first_outside():
    run = run_rule(
        "DQ301",
        [
            conversation(
                "Can you recommend a good book about the history of Rome?",
                "Try SPQR by Mary Beard: it covers a thousand years of Roman history in a lively way.",
                "Merci beaucoup ! Est-ce qu'il existe aussi une traduction française de ce livre ?",
                "Yes, it was translated into French and published in 2016.",
            )
        ],
        {"allowed-languages": ["en"]},
    )
    assert_findings(run, {0: "question fr; allowed: en"})
    assert run.turns == [3]
    assert run.evidence[0].startswith("question fr: plausible ") and run.evidence[0].endswith("; none allowed")


def test_english_arithmetic_that_langdetect_calls_dutch_is_english_enough():
    record = {
        "instruction": "Ann had 3 dozen cookies and ate 2 dozen. How many cookies are left?",
        "output": "Ann had 3 dozen oatmeal cookies - 2 dozen = 1 dozen oatmeal cookies left.\n"
        "1 dozen = 12 cookies, so Ann has 12 oatmeal cookies left.",
    }
    assert dq301([record], **{"allowed-languages": ["en"]}) == []


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"allowed-languages": ["english"]}, "rules.DQ301.allowed-languages"),
        ({"fields": ["system"]}, "rules.DQ301.fields.0"),
        ({"allowed": ["en"]}, "rules.DQ301.allowed"),
    ],
)
def test_bad_options_are_config_errors_naming_the_key(options, key):
    with pytest.raises(ConfigError, match=key):
        dqe.check([ENGLISH], select=["DQ301"], rules={"DQ301": options})


def test_unknown_codes_are_listed_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown language code\(s\) xx; known: af, ar, bg"):
        dqe.check([ENGLISH], select=["DQ301"], rules={"DQ301": {"allowed-languages": ["en", "xx"]}})


def test_rule_doc():
    doc = rule_doc("DQ301")
    assert doc.startswith("DQ301 language-allowed  (record rule, severity error, on by default")
    assert "allowed-languages (list, default [])" in doc and "Why it matters:" in doc


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_are_english_or_chinese(name):
    """The real files are English and Chinese, and no turn of them is taken for another
    language: not GSM8K's arithmetic, not GPTeacher's bare code outside a fence (main's rule
    took 13 of those for French, Romanian or Somali)."""
    report = dqe.check(real(name), select=["DQ301"], rules={"DQ301": {"allowed-languages": ["en", "zh"]}})
    assert report.rules[-1].code == "DQ301"
    assert report.rules[-1].failed == 0
