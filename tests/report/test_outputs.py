"""``dqe filter``'s rejected output: each record carries every rule it failed, to review."""

from __future__ import annotations

import json

import pytest

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
        "turn": 1,
        "evidence": "turns: user (empty) > assistant",
    }
    assert reasons["DQ101"]["severity"] == "warning"
    assert reasons["DQ101"]["message"].startswith("5029 tokens > 4096")
    assert 0 < reasons["DQ101"]["score"] < 1
    invalid = bad[1]["_dqe"]
    assert invalid["status"] == "invalid" and invalid["raw"] == '{"instruction": "cut'
    assert invalid["reasons"][0]["code"] == "DQ000"


def read_back(path):
    from dqe.io.files import read_items, sniff

    return [item.obj for item in read_items(path, sniff(path))]


MIXED = [
    {"instruction": "Name a colour.", "output": "Red is a colour.", "meta": 1},
    {"instruction": "Name a fruit.", "output": "An apple is a fruit.", "meta": "one", "tags": {}},
    {"instruction": "Name a tree.", "output": "", "meta": [1, "a"], "n": 2**70},
    {"instruction": "Name a bird.", "output": "", "meta": {"a": None}, "n": 1.5},
]


def test_parquet_outputs_take_any_record_and_all_three_files_are_written(write_jsonl, tmp_path):
    src = write_jsonl([*MIXED, "{broken"])
    ok, bad = tmp_path / "ok.parquet", tmp_path / "bad.parquet"
    result = dqe.filter(src, ok, bad, select=["DQ001"])
    assert (result.outputs.passed, result.outputs.rejected) == (2, 3)
    assert read_back(ok) == MIXED[:2]
    rejected = read_back(bad)
    assert [{k: v for k, v in r.items() if k != "_dqe"} for r in rejected[:2]] == MIXED[2:]
    assert rejected[2]["_dqe"]["raw"] == "{broken"
    assert result.manifest.exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_values_dqe_did_not_change_are_written_back_exactly(tmp_path, suffix):
    records = [
        {"instruction": "Say hi.", "output": "Hi.", "big": 2**70, "neg": -(2**63) - 1, "u64": 2**64 - 1},
        {"instruction": "Say bye.", "output": "", "tiny": 5e-324, "huge": 1.7976931348623157e308, "f": 1.0},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    ok, bad = tmp_path / f"ok{suffix}", tmp_path / f"bad{suffix}"
    dqe.filter(src, ok, bad, select=["DQ001"])
    assert read_back(ok) == records[:1]
    assert [type(v) for v in read_back(ok)[0].values()] == [str, str, int, int, int]
    (rejected,) = read_back(bad)
    assert {k: v for k, v in rejected.items() if k != "_dqe"} == records[1]
    if suffix == ".jsonl":
        assert ok.read_text() == json.dumps(records[0], separators=(",", ":")) + "\n"


def test_a_records_own_dqe_field_is_never_overwritten(write_jsonl, tmp_path):
    src = write_jsonl(
        [
            {"instruction": "Say hi.", "output": "", "_dqe": "theirs"},
            {"_dqe": 5},
            {"instruction": "Say hi.", "output": "Hi.", "_dqe_1": "also theirs"},
        ]
    )
    ok, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    result = dqe.filter(src, ok, bad, select=["DQ001"])
    assert result.outputs.annotation == "_dqe_2"
    assert json.loads(result.manifest.read_text())["annotation"] == "_dqe_2"
    empty, invalid = (json.loads(line) for line in bad.read_text().splitlines())
    assert empty["_dqe"] == "theirs" and empty["_dqe_2"]["reasons"][0]["message"] == "empty answer"
    assert invalid["_dqe"] == 5 and invalid["_dqe_2"]["status"] == "invalid"
    assert json.loads(ok.read_text()) == {"instruction": "Say hi.", "output": "Hi.", "_dqe_1": "also theirs"}


def test_invalid_bytes_can_be_recovered_from_the_rejected_output(tmp_path):
    import base64

    bad_line = b'{"instruction": "caf\xe9", "output": "x"}'
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"instruction": "Say hi.", "output": "Hi."}\n' + bad_line + b"\n")
    ok, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    dqe.filter(src, ok, bad, select=["DQ001"])
    (meta,) = (json.loads(line)["_dqe"] for line in bad.read_text().splitlines())
    assert meta["reasons"][0]["message"] == "invalid UTF-8" and "raw" not in meta
    assert base64.b64decode(meta["raw_base64"]) == bad_line


def test_annotate_adds_each_records_labels_and_the_manifest_knows_the_records_as_written(write_jsonl, tmp_path):
    from dqe.io.reader import record_id
    from dqe.report.manifest import manifest_path

    data = write_jsonl(
        [
            {"instruction": "Translate 'thank you' into French.", "output": "Merci.", "id": 1},
            {"instruction": "Name a primary colour.", "output": "", "id": 2},
        ]
    )
    passed, rejected = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    dqe.filter(data, passed, rejected, annotate=True, select=["DQ001", "DQ101", "DQ302"])
    ok = [json.loads(line) for line in passed.read_text().splitlines()]
    bad = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert ok[0]["id"] == 1 and ok[0]["output"] == "Merci."  # the record as it was, plus the annotation
    assert ok[0]["_dqe"]["labels"]["tokens"] > 0
    assert "languages" in ok[0]["_dqe"]["labels"]  # the labels of the features the selected rules need
    assert bad[0]["_dqe"]["reasons"][0]["code"] == "DQ001" and "labels" in bad[0]["_dqe"]
    # the trainer checks every record it reads against the manifest's passed ids: as written
    manifest = json.loads(manifest_path(passed).read_text())
    assert manifest["passed_ids"] == [record_id(record) for record in ok]


def test_without_annotate_passed_records_are_written_as_they_came(write_jsonl, tmp_path):
    record = {"instruction": "Translate 'thank you' into French.", "output": "Merci.", "id": 1}
    passed, rejected = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    dqe.filter(write_jsonl([record]), passed, rejected, select=["DQ001"])
    assert [json.loads(line) for line in passed.read_text().splitlines()] == [record]
