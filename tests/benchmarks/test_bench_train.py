"""benchmarks/bench_train.py runs end to end on a CPU with a tiny Llama (GPU figures need a GPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def test_bench_train_runs_on_cpu(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("peft")
    if not (SCRIPT.parents[2] / "shared" / "data").is_dir():
        pytest.skip("real data not found")
    out = tmp_path / "bench.json"
    args = ["--preset", "tiny", "--device", "cpu", "--steps", "1", "--records", "100", "--no-trl"]
    args += ["--memory-preset", "tiny", "--memory-seq-len", "256", "--json", str(out), "--method", "lora", "p-tuning"]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert [r["runner"] for r in results] == ["dqe", "dqe", "dqe"] and results[2]["check"] == "memory"
    assert [(r["method"], r["packing"]) for r in results[:2]] == [("lora", True), ("p-tuning", False)]
    assert results[1]["trainable_params"] > 0 and results[1]["cpu_seconds_per_step"] > 0
    first = results[0]
    assert first["tokens_per_s"] > 0 and first["mfu"] is None  # no peak FLOP/s known for a CPU
    assert first["flops_per_token"] == 4 * first["params"] + 6 * first["lora_params"] + 12 * 2 * 64 * 256
    assert "tokens/s" in done.stdout
