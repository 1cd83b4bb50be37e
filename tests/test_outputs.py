"""``dqe filter``'s rejected output: each record carries every rule it failed, to review."""

from __future__ import annotations

import json

import dqe


def test_rejected_records_carry_every_failed_rule(write_jsonl, tmp_path):
    data = write_jsonl(
        [
            {"instruction": "Say hi.", "output": "Hi.", "id": 1},
            {"instruction": "", "output": "word " * 5000, "id": 2},  # empty instruction and too long
            '{"instruction": "cut',
        ]
    )
    passed, rejected = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    # DQ101 as a warning: the record is rejected by DQ001 alone, yet both reasons are kept.
    dqe.filter(data, passed, rejected, select=["DQ001", "DQ101"], rules={"DQ101": {"severity": "warning"}})
    bad = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert len(bad) == 2
    long_one = bad[0]
    assert long_one["id"] == 2 and long_one["output"].startswith("word word")  # the record as it was
    meta = long_one["_dqe"]
    assert meta["status"] == "rejected"
    assert meta["source"].endswith("data.jsonl:2")
    reasons = {r["code"]: r for r in meta["reasons"]}
    assert set(reasons) == {"DQ001", "DQ101"}
    assert reasons["DQ001"] == {
        "code": "DQ001",
        "name": "structure",
        "severity": "error",
        "score": 0.0,
        "message": "empty instruction",
    }
    assert reasons["DQ101"]["severity"] == "warning"
    assert reasons["DQ101"]["message"].startswith("5029 tokens > 4096")
    assert 0 < reasons["DQ101"]["score"] < 1
    invalid = bad[1]["_dqe"]
    assert invalid["status"] == "invalid" and invalid["raw"] == '{"instruction": "cut'
    assert invalid["reasons"][0]["code"] == "DQ000"
