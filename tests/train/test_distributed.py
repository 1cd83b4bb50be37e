"""Training on several processes: each rank's share of a step, the world torchrun sets up, and
two processes on CPU (gloo) against one: the same losses, and an exact resume after Ctrl-C."""

from __future__ import annotations

import json
import os
import signal

import pytest

from dqe.errors import ConfigError
from dqe.train.distributed import World, check_world, world_from_env


def test_each_rank_takes_a_contiguous_share_and_together_they_take_all():
    steps = [[[0, 1]], [[2]], [[3, 4]], [[5]], [[6]]]
    shares = [World(rank=r, size=2).share(steps) for r in range(2)]
    assert shares == [[[[0, 1]], [[2]]], [[[3, 4]], [[5]], [[6]]]]
    assert [World(rank=r, size=3).share(steps[:2]) for r in range(3)] == [[], [[[0, 1]]], [[[2]]]]
    assert World().share(steps) == steps


def test_the_world_comes_from_torchruns_environment(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert world_from_env() == World(rank=0, size=1, local_rank=0) and world_from_env().main
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert world_from_env() == World(rank=3, size=4, local_rank=1) and not world_from_env().main
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="RANK=4 and WORLD_SIZE=4"):
        world_from_env()
    monkeypatch.setenv("WORLD_SIZE", "four")
    with pytest.raises(ConfigError, match="WORLD_SIZE='four' is not a whole number"):
        world_from_env()


def test_a_world_that_cannot_share_the_steps_or_the_gpus_is_refused():
    check_world(1, grad_accum=1, cuda=True, gpus=0)  # one process: nothing to share
    check_world(2, grad_accum=4, cuda=True, gpus=2)
    with pytest.raises(ConfigError, match="grad-accum = 1 micro-batches, fewer than the 2 processes"):
        check_world(2, grad_accum=1, cuda=False, gpus=0)
    with pytest.raises(ConfigError, match="one GPU a process, and torch sees 1; use --nproc 1"):
        check_world(2, grad_accum=2, cuda=True, gpus=1)


# -- two processes on CPU -----------------------------------------------------------------------


def ctrl_c_on_rank_1_after_step_4(state) -> None:
    """A Ctrl-C that only rank 1 sees (module level: the spawned processes unpickle it)."""
    import torch.distributed as dist

    if state.step == 4 and dist.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGINT)


def logged(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.train
@pytest.mark.slow
def test_two_processes_train_the_steps_of_one_and_resume_exactly(torch_extra, tmp_path, filtered, rasbt, config_for):
    from dqe.errors import TrainingInterrupted
    from dqe.train.batches import BatchPlan
    from dqe.train.run import train
    from dqe.train.trainer import Hooks

    ok = filtered(rasbt[:160])
    settings = {"max_steps": None, "epochs": 1, "eval.every": 6, "lora.dropout": 0.0}  # dropout draws differ by rank
    one = train(config_for(ok, tmp_path / "one", **settings), echo=False)

    # The epoch ends on a step of one micro-batch, so that rank 1 has none in it.
    ledger = [json.loads(line) for line in (one.run_dir / "ledger.jsonl").read_text().splitlines()]
    lengths = [r["kept"] for r in ledger if r["split"] == "train" and r["dropped"] is None]
    assert len(BatchPlan(lengths, seq_len=256, rows=2, packing=True, seed=0).epoch(0)) % 2 == 1

    two = tmp_path / "two"
    with pytest.raises(TrainingInterrupted) as stopped:  # rank 1 alone sees Ctrl-C: both stop after step 4
        train(config_for(ok, two, **settings), echo=False, nproc=2, hooks=Hooks(on_step=ctrl_c_on_rank_1_after_step_4))
    assert stopped.value.step == 4 and stopped.value.checkpoint == two / "checkpoints" / "step-000004"
    assert {p.name for p in stopped.value.checkpoint.iterdir()} >= {"rng.json", "rng-rank-1.json", "state.json"}
    assert json.loads((two / "run.json").read_text())["status"] == "interrupted"
    with pytest.raises(ConfigError, match="written by 2 training processes, and this run has 1; resume with --nproc 2"):
        train(config_for(ok, two, **settings), echo=False, resume=two)
    resumed = train(config_for(ok, two, **settings), echo=False, nproc=2, resume=two)

    expected, got = logged(one.run_dir), logged(two)
    assert [(r["step"], r["split"]) for r in got] == [(r["step"], r["split"]) for r in expected]
    assert [r["step"] for r in got if r["split"] == "train"] == list(range(1, 19))
    for a, b in zip(expected, got, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], abs=1e-6), (a, b)
        assert b["tokens"] == a["tokens"] and b["supervised_tokens"] == a["supervised_tokens"]
        if a["grad_norm"] is not None:
            assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4)
    m = resumed.manifest
    assert m["status"] == "completed" and m["processes"] == {"count": 2, "backend": "gloo"}
    assert m["losses"]["test"] == pytest.approx(one.manifest["losses"]["test"], abs=1e-6)
    assert m["training"]["steps"] == 18 and m["resumed_from"].endswith("step-000004")
    assert (two / "ledger.jsonl").read_bytes() == (one.run_dir / "ledger.jsonl").read_bytes()
    # each record's losses too, gathered from both ranks' shares of the loss passes
    rows = [json.loads(line) for line in (two / "ledger.jsonl").read_text().splitlines()]
    assert all(r["loss"] is not None and r["loss_first_epoch"] is not None for r in rows if r["split"] == "train")


@pytest.mark.train
@pytest.mark.slow
def test_more_processes_than_micro_batches_is_a_usage_error(torch_extra, tmp_path, filtered, rasbt, tiny_model):
    from click.testing import CliRunner

    from dqe.cli import main

    ok = filtered(rasbt[:3])
    args = ["train", "--model", tiny_model, "--data", ok, "--out", tmp_path / "run", "--seq-len", "256"]
    args += ["--micro-batch-size", "4", "--quiet"]
    few = CliRunner().invoke(main, [str(a) for a in [*args, "--grad-accum", "1", "--nproc", "2"]])
    assert few.exit_code == 2 and "grad-accum = 1 micro-batches, fewer than the 2 processes" in few.output
    result = CliRunner().invoke(main, [str(a) for a in [*args, "--grad-accum", "2", "--nproc", "2"]])
    assert result.exit_code == 2, result.output
    assert "--nproc 2: the training split fills only 1 micro-batches an epoch" in result.output
