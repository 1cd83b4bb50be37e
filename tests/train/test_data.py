"""Records, splits and the test split written for dqe eval."""

from __future__ import annotations

import json
from collections import Counter

from dqe.engine.config import load_config
from dqe.engine.plugins import load_plugins
from dqe.train.data import assign_splits, mark_not_passed, read_examples, write_test_split


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def categorized(n_per: dict[str, int]) -> list[dict]:
    return [
        {
            "instruction": f"Question {cat} {i}?",
            "input": "",
            "output": f"Answer {i}.",
            "category": cat,
        }
        for cat, n in n_per.items()
        for i in range(n)
    ]


def read(tmp_path, records):
    path = write_jsonl(tmp_path / "d.jsonl", records)
    return read_examples(path, load_config(None, discover=False), load_plugins())


def test_splits_are_seeded_and_stratified_by_category(tmp_path):
    examples = read(tmp_path, categorized({"math": 300, "code": 100, "chat": 50}))
    info = assign_splits(examples, val=0.1, test=0.2, seed=3, stratify=True)
    assert info["stratified_by"] == "category"
    assert info["records"] == {"train": 315, "val": 45, "test": 90}
    assert info["categories"]["test"] == {"chat": 10, "code": 20, "math": 60}
    first = [e.split for e in examples]
    assign_splits(examples, val=0.1, test=0.2, seed=3, stratify=True)
    assert [e.split for e in examples] == first
    assign_splits(examples, val=0.1, test=0.2, seed=4, stratify=True)
    assert [e.split for e in examples] != first


def test_another_runs_test_records_can_be_the_test_split(tmp_path):
    examples = read(tmp_path, categorized({"math": 60, "code": 40}))
    theirs = {e.id for e in examples[::10]}  # 10 records another run tested on
    info = assign_splits(examples, val=0.1, test=0.3, seed=0, stratify=True, test_ids=theirs)
    assert {e.id for e in examples if e.split == "test"} == theirs
    assert info["records"] == {"train": 81, "val": 9, "test": 10}  # val: a share of the others


def test_copies_of_a_record_share_a_split(tmp_path):
    records = categorized({"a": 40})
    examples = read(tmp_path, records + records[:10])
    assign_splits(examples, val=0.2, test=0.2, seed=0, stratify=False)
    by_id: dict[str, set] = {}
    for e in examples:
        by_id.setdefault(e.id, set()).add(e.split)
    assert all(len(s) == 1 for s in by_id.values())


def test_records_not_passed_get_no_split_and_the_test_split_is_written(tmp_path, rasbt):
    examples = read(tmp_path, rasbt[:100])
    outside = mark_not_passed(examples, {e.id for e in examples[:90]})
    assert [e.index for e in outside] == list(range(90, 100))
    info = assign_splits(examples, val=0.1, test=0.1, seed=0, stratify=True)
    assert info["stratified_by"] is None and sum(info["records"].values()) == 90
    written = write_test_split(examples, tmp_path, info, tmp_path / "d.jsonl")
    lines = (tmp_path / "test.jsonl").read_text().splitlines()
    assert len(lines) == written["test"]["records"] == 9
    assert json.loads(lines[0]) in rasbt[:90]  # original records, every field kept
    described = json.loads((tmp_path / "split.json").read_text())
    assert described["test"]["records"] == 9 and len(described["test_ids"]) == 9
    assert Counter(e.split for e in examples)[None] == 10


def test_records_are_read_with_their_files_own_field_names(tmp_path):
    (example,) = read(tmp_path, [{"instruction": "Write hello world in C.", "input": "", "response": 'puts("hi");'}])
    assert example.problem is None
    assert [t.content for t in example.record.turns] == ["Write hello world in C.", 'puts("hi");']
