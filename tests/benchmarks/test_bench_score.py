"""benchmarks/bench_score.py runs end to end on a CPU with the tiny Llama (GPU figures need a GPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_score.py"


def test_bench_score_runs_on_cpu_and_the_second_run_is_the_caches(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    if not (SCRIPT.parents[2] / "shared" / "data").is_dir():
        pytest.skip("real data not found")
    out = tmp_path / "bench.json"
    args = ["--preset", "tiny", "--device", "cpu", "--records", "40", "--threads", "1", "--json", str(out)]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    cold, cached = json.loads(out.read_text())
    assert cold["scored"] == cached["scored"] == 40 and cold["tokens_per_s"] > 0
    assert cached["cached"] == 40 and cached["tokens"] == 0
