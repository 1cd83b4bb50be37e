"""The labelled judgement set keeps dqe's figures from falling (benchmarks/bench_judgments.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("bench_judgments", ROOT / "benchmarks" / "bench_judgments.py")
bench = importlib.util.module_from_spec(SPEC)
sys.modules["bench_judgments"] = bench
SPEC.loader.exec_module(bench)

FLOORS = ROOT / "benchmarks" / "judgments" / "floors.toml"


def _flat(table: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


@pytest.mark.skipif(not bench.DATA.is_dir(), reason="real data (../shared/data) not found")
def test_figures_stay_at_or_above_their_floors():
    figures = bench.floor_figures(bench.evaluate())
    floors = _flat(tomllib.loads(FLOORS.read_text()))
    missing = sorted(set(floors) - set(figures))
    assert not missing, f"figures with a floor that the benchmark no longer gives: {missing}"
    fallen = {k: (figures[k], floor) for k, floor in floors.items() if figures[k] < floor}
    assert not fallen, f"figures below their floors (figure, floor): {fallen}"


def _write(folder: Path, name: str, *lines: dict) -> Path:
    path = folder / name
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")
    return path


GOOD = {
    "id": "hand-0001",
    "record": {"instruction": "What is 2+2?", "output": "4"},
    "format": "alpaca",
    "category": "math",
    "subject": "stem",
    "domain": "general",
    "cot": "no",
}


def test_a_bad_label_names_its_file_and_line(tmp_path):
    path = _write(tmp_path, "handwritten-x.jsonl", GOOD, {**GOOD, "id": "hand-0002", "category": "poetry"})
    with pytest.raises(bench.JudgmentError, match=rf"{path}:2: 'category': Input should be 'programming'"):
        bench.load_judgments(tmp_path)


def test_a_failing_record_without_a_note_or_a_reused_id_is_refused(tmp_path):
    path = _write(tmp_path, "handwritten-x.jsonl", {**GOOD, "fails": {"DQ201": 2}})
    with pytest.raises(bench.JudgmentError, match=rf"{path}:1: .*needs a 'note'"):
        bench.load_judgments(tmp_path)
    path = _write(tmp_path, "handwritten-x.jsonl", GOOD, GOOD)
    with pytest.raises(bench.JudgmentError, match=rf"{path}:2: id 'hand-0001' is already used at {path}:1"):
        bench.load_judgments(tmp_path)


def test_a_ref_past_the_end_of_its_file_names_the_judgement(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "tiny.json").write_text(json.dumps([{"instruction": "Hi", "output": "Hello!"}]))
    labels = tmp_path / "labels"
    labels.mkdir()
    ref = {**GOOD, "ref": {"file": "tiny.json", "index": 1}, "pick": "random"}
    del ref["record"], ref["format"]
    path = _write(labels, "drawn-tiny.jsonl", ref)
    with pytest.raises(bench.JudgmentError, match=rf"{path}:1: 'ref.index' 1 is past the 1 records of tiny.json"):
        bench.materialize(bench.load_judgments(labels), tmp_path, data)


@pytest.mark.parametrize(
    ("code", "message", "turns"),
    [
        ("DQ002", "ends on a user turn (turn 3 gets no answer)", {3}),
        ("DQ203", "assistant turn 2: AI disclaimer", {2}),
        ("DQ203", 'answer: apology instead of an answer: "Sorry"', {4}),
        ("DQ201", "question needs reasoning (math), the answer shows none (CoT score 0.0 < 0.3)", {4}),
        ("DQ302", "question zh, answer en", {4}),
        ("DQ102", "question has 1 token, fewer than 2", {3}),
        ("DQ204", "template placeholder in instruction: {{name}}", {1, 3}),
    ],
)
def test_a_finding_names_turns_as_dqe_numbers_them(code, message, turns):
    assert bench.named_turns(code, message, ["user", "assistant", "user", "assistant"]) == turns
