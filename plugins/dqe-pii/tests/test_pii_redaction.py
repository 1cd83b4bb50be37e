"""Redaction in `dqe filter` output: typed placeholders, reported on the record and in the report."""

import json

import dqe
from dqe.io.reader import record_id
from dqe.report.manifest import load_manifest
from dqe_pii import plugin
from dqe_pii.rules import RULES

KEEP_AND_REDACT = {"rules": {rule.code: {"severity": "warning", "redact": True} for rule in RULES}}

RECORDS = [
    {
        "instruction": "Email me at jane.doe@gmail.com or call +44 20 7946 0958.",
        "input": "",
        "output": "Done: card 4539 1488 0343 6467 was refunded. 身份证号11010519491231002X已登记。",
        "meta": {"notes": ["from 81.2.69.160", "key sk-proj-9fK2mQ7xL4vR8tW1zY6bN3cHdE5"], "n": 3},
    },
    {"instruction": "Say hello.", "input": "", "output": "Hello!"},
]


def _lines(path):
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_redacted_records_pass_with_placeholders_and_say_so(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), encoding="utf-8")
    result = dqe.filter(src, tmp_path / "ok.jsonl", tmp_path / "bad.jsonl", KEEP_AND_REDACT, plugins=[plugin])

    first, second = _lines(tmp_path / "ok.jsonl")
    assert first["instruction"] == "Email me at <EMAIL> or call <PHONE>."
    assert first["output"] == "Done: card <CARD_NUMBER> was refunded. 身份证号<CN_ID>已登记。"
    assert first["meta"] == {
        "notes": ["from <IP_ADDRESS>", "key <SECRET>"],
        "n": 3,
    }  # fields dqe does not read too
    assert first["_dqe"]["redactions"] == [
        {"code": "PII001", "name": "email-address", "count": 1},
        {"code": "PII002", "name": "phone-number", "count": 1},
        {"code": "PII003", "name": "card-number", "count": 1},
        {"code": "PII004", "name": "ip-address", "count": 1},
        {"code": "PII005", "name": "secret", "count": 1},
        {"code": "PII006", "name": "cn-resident-id", "count": 1},
    ]
    assert second == RECORDS[1]  # untouched records are written as they were read

    assert result.outputs.redactions.model_dump() == {
        "records": 1,
        "values": 6,
        "rules": {"PII001": 1, "PII002": 1, "PII003": 1, "PII004": 1, "PII005": 1, "PII006": 1},
    }
    assert result.report.dataset["redactions"]["values"] == 6
    # The gate manifest lists the records as written, so a trainer can verify them.
    manifest = load_manifest(result.manifest)
    assert sorted(manifest.passed_ids) == sorted({record_id(first), record_id(second)})


def test_rejected_records_are_redacted_too(tmp_path):
    config = {"rules": {"PII001": {"redact": True}}}  # an error: rejected, but redacted
    result = dqe.filter(
        RECORDS,
        tmp_path / "ok.jsonl",
        tmp_path / "bad.jsonl",
        config,
        plugins=[plugin],
        select=["PII001"],
    )
    [bad] = _lines(tmp_path / "bad.jsonl")
    assert bad["instruction"].startswith("Email me at <EMAIL> or call")
    assert bad["_dqe"]["redactions"] == [{"code": "PII001", "name": "email-address", "count": 1}]
    assert bad["_dqe"]["reasons"][0]["message"] == "1 e-mail address: jan*.***@*****.com; redacted in filter output"
    assert result.outputs.rejected == 1


def test_without_the_option_nothing_is_rewritten(tmp_path):
    result = dqe.filter(RECORDS, tmp_path / "ok.jsonl", tmp_path / "bad.jsonl", {}, plugins=[plugin], select=["PII"])
    [bad] = _lines(tmp_path / "bad.jsonl")
    assert bad["instruction"] == RECORDS[0]["instruction"]
    assert "redactions" not in bad["_dqe"]
    assert "redactions" not in result.report.dataset


def test_redaction_of_repeated_values_counts_each(tmp_path):
    records = [{"instruction": "a@corp.com, b@corp.com, a@corp.com", "input": "", "output": "ok"}]
    result = dqe.filter(records, tmp_path / "ok.jsonl", tmp_path / "bad.jsonl", KEEP_AND_REDACT, plugins=[plugin])
    [ok] = _lines(tmp_path / "ok.jsonl")
    assert ok["instruction"] == "<EMAIL>, <EMAIL>, <EMAIL>"
    assert ok["_dqe"]["redactions"] == [{"code": "PII001", "name": "email-address", "count": 3}]
    assert result.outputs.redactions.values == 3
