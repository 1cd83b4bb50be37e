"""benchmarks/judgments/validate.py: the labelled files keep to their schema, and a bad line is named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "judgments" / "validate.py"


def _validate(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, files)], capture_output=True, text=True)


def _line(**fields) -> str:
    row = {
        "id": "hw-test-001",
        "format": "alpaca",
        "record": {"instruction": "What is 6 x 7?", "input": "", "output": "42"},
        "fails": {},
        "category": "math",
        "subject": "stem",
        "domain": "general",
        "cot": "no",
        "duplicate_of": None,
        "note": "a test line",
    }
    return json.dumps({**row, **fields})


def test_the_labelled_files_keep_to_the_schema():
    done = _validate()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "records in" in done.stdout and "multi-turn" in done.stdout


def test_a_good_file_passes_and_is_counted(tmp_path):
    path = tmp_path / "good.jsonl"
    path.write_text(_line(fails={"DQ201": 2}) + "\n" + _line(id="hw-test-002", duplicate_of="hw-test-001") + "\n")
    done = _validate(path)
    assert done.returncode == 0, done.stdout
    assert "2 records in 1 files" in done.stdout and "DQ201 1" in done.stdout and "duplicates: 1" in done.stdout


def test_each_bad_line_is_named_with_its_file_line_and_field(tmp_path):
    lines = [
        _line(fails={"DQ201": 3}),  # the record has 2 turns
        _line(id="hw-test-002", category="riddle"),
        _line(id="hw-test-003", record={"instruction": "Hi"}),  # no output
        _line(id="hw-test-003"),  # id used twice
        _line(id="hw-test-004", fails={"DQ203": 1}),  # a user turn, which DQ203 does not judge
        _line(id="hw-test-005", duplicate_of="hw-nowhere"),
        _line(id="hw-test-006", fails={"DQ999": None}),
        "{not json",
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = _validate(path)
    assert done.returncode == 1
    out = done.stdout
    assert "bad.jsonl:1: 'fails.DQ201' names turn 3, the record has 2" in out
    assert "bad.jsonl:2: 'category' is 'riddle'" in out
    assert "bad.jsonl:3: record does not read as 'alpaca': missing field 'output'" in out
    assert "bad.jsonl:4: id 'hw-test-003' is used twice" in out
    assert "bad.jsonl:5: 'fails.DQ203' names turn 1, a user turn this rule does not judge" in out
    assert "duplicate_of 'hw-nowhere' names no record of the set" in out
    assert "bad.jsonl:7: 'fails' names 'DQ999', not a judged record rule" in out
    assert "bad.jsonl:8: not JSON" in out
