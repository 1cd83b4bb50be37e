"""benchmarks/bench_ddp.py runs end to end on a CPU: one process, two, and two resumed after a Ctrl-C."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.train, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_ddp.py"


def test_bench_ddp_compares_one_and_two_processes(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("peft")
    if not (SCRIPT.parents[2] / "shared" / "data").is_dir():
        pytest.skip("real data not found")
    args = ["--records", "80", "--steps", "4", "--interrupt-at", "2", "--keep", str(tmp_path / "runs")]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Ctrl-C seen by rank 1 alone after step 2" in done.stdout
    rows = re.findall(r"^ +(\d+) (train|val) .* (same|\S+)$", done.stdout, flags=re.M)
    assert [(int(step), split) for step, split, _ in rows if split == "train"] == [(s, "train") for s in (1, 2, 3, 4)]
    differences = re.search(r"train loss (\S+), validation loss (\S+);", done.stdout)
    assert differences and float(differences[1]) < 1e-6 and float(differences[2]) < 1e-6
    resumed = re.search(r"resumed at step 2 - uninterrupted\| over every logged loss: (\S+)", done.stdout)
    assert resumed and float(resumed[1]) == 0.0  # bit for bit
