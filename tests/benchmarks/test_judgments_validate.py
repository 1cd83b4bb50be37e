"""benchmarks/judgments/validate.py: every record of the labelled set reads, every turn at fault
exists and is one its rule judges, and a bad line is named with its file and line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "judgments" / "validate.py"


def _validate(*args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def _judgment(n: int, record: dict, **fields) -> dict:
    return {
        "id": f"hw-test-{n:03d}",
        "format": "alpaca",
        "record": record,
        "category": "math",
        "subject": "stem",
        "domain": "general",
        "cot": "no",
        "note": "a test line",
        **fields,
    }


def _write(folder: Path, *judgments: dict) -> Path:
    path = folder / "handwritten-test.jsonl"
    path.write_text("".join(json.dumps(j, ensure_ascii=False) + "\n" for j in judgments))
    return path


QA = {"instruction": "What is 6 x 7?", "input": "", "output": "42"}
CHAT = {
    "conversations": [
        {"from": "human", "value": "你好"},
        {"from": "gpt", "value": "你好！有什么可以帮你？"},
        {"from": "human", "value": "What's 6 x 7?"},
        {"from": "gpt", "value": "42"},
    ]
}


@pytest.mark.skipif(not (ROOT.parent / "shared" / "data").is_dir(), reason="real data (../shared/data) not found")
def test_the_labelled_set_reads_and_names_judged_turns():
    done = _validate()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "records in" in done.stdout and "written multi-turn records" in done.stdout


def test_a_good_set_is_described(tmp_path):
    _write(
        tmp_path,
        _judgment(1, QA, fails={"DQ201": 2}),
        _judgment(2, CHAT, format="sharegpt", category="multi-turn", fails={"DQ302": 4}),
        _judgment(3, QA, duplicate_of="hw-test-001"),
    )
    done = _validate(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "3 records in 1 files" in done.stdout
    assert "fails per rule: DQ201 1, DQ302 1" in done.stdout and "duplicates: 1" in done.stdout
    assert "holding Chinese: 1 of 3" in done.stdout and "(2-6 exchanges): 1" in done.stdout


def test_every_bad_record_or_turn_is_named_with_its_line(tmp_path):
    path = _write(
        tmp_path,
        _judgment(1, QA, fails={"DQ201": 3}),  # the record has 2 turns
        _judgment(2, CHAT, format="sharegpt", fails={"DQ203": 3}),  # a user turn: DQ203 judges answers
        _judgment(3, {"instruction": "Hi", "input": ""}),  # no output: unreadable
        _judgment(4, CHAT, format="sharegpt", fails={"DQ205": 1, "DQ002": None}),  # both may be
    )
    done = _validate(tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines == [
        f"{path}:1: 'fails.DQ201' names turn 3, the record has 2",
        f"{path}:2: 'fails.DQ203' names turn 3, a user turn this rule does not judge",
        f"{path}:3: the record does not read: alpaca: missing field 'output'",
    ]


def test_a_line_that_breaks_the_schema_stops_the_check(tmp_path):
    path = _write(tmp_path, _judgment(1, QA), _judgment(2, QA, category="riddle"))
    done = _validate(tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith(f"error: {path}:2: 'category'")
