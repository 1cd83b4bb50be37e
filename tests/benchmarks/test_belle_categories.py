"""benchmarks/belle_categories.py scores dqe's categories against a file in BELLE's eval-set
layout, and refuses a file whose classes it cannot map."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "belle_categories.py"


def _run(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True)


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    return path


def test_each_class_is_scored_and_the_share_counts_every_record(tmp_path):
    records = [
        {
            "question": "把这句话翻译成英文：今天天气很好。",
            "std_answer": "The weather is nice today.",
            "class": "rewrite",
        },
        {"question": "写一个Python函数，返回列表的和。", "std_answer": "", "class": "code"},
        {"question": "中国的首都是哪里？", "std_answer": "北京。", "class": "closed\xa0qa"},  # BELLE's own spelling
    ]
    done = _run(_write(tmp_path / "eval_set.json", records))
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"^strict: \d+\.\d% of 3; loose \(closed-qa as open qa\): \d+\.\d% of 3$", done.stdout, re.M)
    assert "with an answer: strict" in done.stdout and "% of 2," in done.stdout
    for name in ("rewrite", "code", "closed qa"):
        assert re.search(rf"^  {name} +\d+\.\d% of 1 ", done.stdout, re.M), name


def test_a_class_with_no_mapping_is_named(tmp_path):
    path = _write(tmp_path / "eval_set.json", [{"question": "你好", "std_answer": "", "class": "chit chat"}])
    done = _run(path)
    assert done.returncode != 0
    assert f"{path}: classes with no mapping: ['chit chat']" in done.stderr
