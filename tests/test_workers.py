"""Batches in worker processes give exactly the report the engine gives on its own."""

from __future__ import annotations

import json

import polars as pl
import pytest

import dqe
from dqe.workers import AUTO_MIN_BYTES, choose_workers
from tests.conftest import real

pytestmark = pytest.mark.slow


def test_workers_give_the_same_report(tmp_path):
    records = json.loads(real("llamafactory_alpaca_zh_demo.json").read_text("utf-8"))
    records += json.loads(real("rasbt_instruction_data.json").read_text("utf-8"))
    records += [{"instruction": "Say hi.", "output": ""}, records[5]]  # a failure and a duplicate
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{broken\n", encoding="utf-8")

    alone = dqe.check(path, batch_size=300, workers=1, complete=True)
    pooled = dqe.check(path, batch_size=300, workers=2, complete=True)
    assert pooled.timings["workers"] == 2 and alone.timings["workers"] == 1
    assert pooled.summary == alone.summary
    assert [(r.code, r.evaluated, r.failed) for r in pooled.rules] == [(r.code, r.evaluated, r.failed) for r in alone.rules]
    assert pooled.findings_frame.equals(alone.findings_frame)
    assert pooled.records.equals(alone.records)
    assert pooled.dataset == alone.dataset


def test_auto_uses_workers_only_for_large_files(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text('{"instruction": "a", "output": "b"}\n')
    assert choose_workers(0, [small], portable=True) == 1
    assert choose_workers(0, [{"instruction": "a", "output": "b"}], portable=True) == 1
    assert choose_workers(3, [small], portable=True) == 3
    assert choose_workers(3, [small], portable=False) == 1  # plugins registered from code
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as f:
        f.truncate(AUTO_MIN_BYTES)
    expected = 1 if (__import__("os").cpu_count() or 1) < 2 else min(__import__("os").cpu_count(), 8)
    assert choose_workers(0, [big], portable=True) == expected


def test_in_memory_input_works_with_workers_too():
    report = dqe.check(pl.DataFrame([{"instruction": "a", "output": "b"}]), workers=2)
    assert report.summary.passed == 1
