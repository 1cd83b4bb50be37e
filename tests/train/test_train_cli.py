"""``dqe train`` on the command line: exit 0 trained, 1 refused by the gate, 2 a usage error."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dqe.cli import main

pytestmark = [pytest.mark.train, pytest.mark.slow]

SMALL = ["--seq-len", "256", "--micro-batch-size", "2", "--grad-accum", "1", "--quiet"]


def dqe(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_train_then_resume_from_a_toml(torch_extra, tmp_path, filtered, rasbt, tiny_model):
    ok = filtered(rasbt[:60])
    result = dqe(
        "train",
        "--model",
        tiny_model,
        "--data",
        ok,
        "--template",
        "alpaca",
        "--out",
        "runs/exp1",
        "--max-steps",
        2,
        *SMALL,
    )
    assert result.exit_code == 0, result.output
    assert "trained 2 steps (max-steps)" in result.output
    assert f"adapter -> {tmp_path / 'runs' / 'exp1' / 'adapter'}" in result.output

    (tmp_path / "train.toml").write_text(
        f'model = "{tiny_model}"\ndata = "{ok.name}"\nout = "runs/exp2"\nmax-steps = 3\n'
        "[batch]\nseq-len = 256\nmicro-batch-size = 2\ngrad-accum = 1\n[log]\ntensorboard = false\n"
    )
    assert dqe("train", "--config", "train.toml", "--quiet").exit_code == 0
    again = dqe("train", "--config", "train.toml", "--quiet")
    assert again.exit_code == 2 and "already holds a run; continue it with --resume" in again.output
    resumed = dqe("train", "--config", "train.toml", "--resume", "runs/exp2", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((tmp_path / "runs" / "exp2" / "run.json").read_text())["resumed_from"].endswith("step-000003")
    changed = dqe("train", "--config", "train.toml", "--resume", "runs/exp2", "--lora-r", 4)
    assert changed.exit_code == 2 and "'lora.r' was 16, now 4" in changed.output


def test_refusal_exits_1_with_the_reasons_and_force_is_loud(torch_extra, tmp_path, filtered, rasbt, tiny_model):
    ok = filtered(rasbt[:60])
    with open(ok, "a") as f:
        f.write(json.dumps(rasbt[70]) + "\n")
    args = [
        "train",
        "--model",
        tiny_model,
        "--data",
        ok,
        "--out",
        "runs/x",
        "--max-steps",
        1,
        *SMALL,
    ]
    refused = dqe(*args)
    assert refused.exit_code == 1
    assert f"dqe: refusing to train on {ok}:" in refused.output
    assert "changed since it was filtered" in refused.output and "--force" in refused.output
    forced = dqe(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert "dqe train --force: the gate's refusals become warnings" in forced.output
    assert json.loads((tmp_path / "runs" / "x" / "run.json").read_text())["gate"]["forced"] is True


def test_a_bad_config_is_a_usage_error(torch_extra, tmp_path):
    (tmp_path / "train.toml").write_text('model = "m"\ndata = "d.jsonl"\nout = "o"\n[lora]\nrank = 8\n')
    result = dqe("train", "--config", "train.toml")
    assert result.exit_code == 2 and "unknown key 'lora.rank'" in result.output
    (tmp_path / "train.toml").write_text('model = "m"\ndata = "d.jsonl"\nout = "o"\n')
    merged = dqe("train", "--config", "train.toml", "--method", "p-tuning", "--merge")
    assert merged.exit_code == 2 and "train.toml: 'merge': p-tuning trains virtual tokens" in merged.output
    lora = dqe("train", "--config", "train.toml", "--method", "prompt-tuning", "--lora-r", 4)
    assert lora.exit_code == 2 and "'lora.r': an option of LoRA, and 'method' is 'prompt-tuning'" in lora.output


def test_an_input_the_run_would_overwrite_is_refused(torch_extra, tmp_path, filtered, rasbt, tiny_model):
    ok = filtered(rasbt[:20])
    run_dir = tmp_path / "runs" / "exp1"
    run_dir.mkdir(parents=True)
    data = run_dir / "test.jsonl"
    data.write_bytes(ok.read_bytes())
    (run_dir / "test.jsonl.manifest.json").write_bytes(ok.with_name(ok.name + ".manifest.json").read_bytes())
    result = dqe("train", "--model", tiny_model, "--data", data, "--template", "alpaca", "--out", run_dir, *SMALL)
    assert result.exit_code == 2 and f"the run's test.jsonl {run_dir / 'test.jsonl'} is an input" in result.output
    assert data.read_bytes() == ok.read_bytes()
    (tmp_path / "runs" / "exp2" / "adapter").mkdir(parents=True)
    inside = tmp_path / "runs" / "exp2" / "adapter" / "data.jsonl"
    inside.write_bytes(ok.read_bytes())
    result = dqe("train", "--model", tiny_model, "--data", inside, "--out", tmp_path / "runs" / "exp2", *SMALL)
    assert result.exit_code == 2 and "which the run writes: move it out first" in result.output
