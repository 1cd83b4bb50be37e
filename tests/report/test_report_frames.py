"""The report's per-record accessors renderers use: token counts and record text."""

from __future__ import annotations

import pytest

import dqe

RECORDS = [
    {"instruction": "Say hi.", "output": "Hi."},
    {"system": "Be brief.", "instruction": "Name a colour.", "output": "Blue. " * 100},
    '{"instruction": "cut',
    {"conversations": [{"from": "human", "value": "x"}]},  # not alpaca: invalid in an alpaca file
]


def test_token_counts_per_record(write_jsonl):
    report = dqe.check(write_jsonl(RECORDS), select=["DQ001", "DQ101"])
    tokens = report.tokens
    assert tokens.columns == ["record", "status", "tokens_question", "tokens_answer", "tokens_total"]
    assert tokens["record"].to_list() == [0, 1]  # valid records only
    assert tokens["status"].to_list() == ["passed", "passed"]
    assert tokens["tokens_answer"][1] > tokens["tokens_answer"][0] > 0


def test_record_text_is_read_again_and_clipped(write_jsonl):
    report = dqe.check(write_jsonl(RECORDS))
    texts = report.record_texts([1, 2], max_chars=20)
    assert set(texts) == {1, 2}
    colour = texts[1]
    assert colour.source.endswith("data.jsonl:2")
    assert colour.system == "Be brief."
    assert [(t.role, t.content) for t in colour.turns] == [
        ("user", "Name a colour."),
        ("assistant", "Blue. Blue. Blue. Bl"),
    ]
    assert colour.omitted == 600 - 20
    assert texts[2].raw == '{"instruction": "cut' and texts[2].turns == []


def test_record_text_of_in_memory_records():
    report = dqe.check([{"instruction": "Hi", "output": "Hello"}, {"instruction": "Bye", "output": ""}])
    assert report.record_texts([1])[1].turns[0].content == "Bye"
    assert report.record_texts([]) == {}


def test_a_report_loaded_from_json_has_no_frames(write_jsonl):
    report = dqe.Report.model_validate_json(dqe.check(write_jsonl(RECORDS)).model_dump_json())
    assert not report.has_records
    with pytest.raises(ValueError, match="loaded from JSON"):
        report.record_texts([0])
