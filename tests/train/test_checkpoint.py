"""Checkpoints hold state, never code: resuming a run folder runs nothing its files could hold.

A run folder can come from anywhere (a shared disk, a colleague, a download), and ``dqe train
--resume`` reads it. Every piece of state is JSON, safetensors, or a torch file read with
``weights_only=True``, so a pickle that would run a command is refused without running.
"""

from __future__ import annotations

import random

import numpy as np
import pytest


class RunsCode:
    """Unpickled, it creates ``marker``: stands in for a pickle that runs a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def saved(torch_extra, tmp_path):
    """A checkpoint of a tiny LoRA model, with the objects to load it into."""
    import torch
    from peft import LoraConfig, get_peft_model

    from dqe.train.checkpoint import rng_snapshot, save_checkpoint

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(x)

    def objects():
        torch.manual_seed(0)
        model = get_peft_model(Tiny(), LoraConfig(r=2, target_modules=["lin"]))
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (step + 1))
        return model, optimizer, scheduler

    model, optimizer, scheduler = objects()
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()
    scheduler.step()
    path = save_checkpoint(tmp_path, model, optimizer, scheduler, [rng_snapshot()], {"step": 1}, keep=2)
    return path, objects


def test_a_checkpoint_loads_its_state_back(saved):
    from dqe.train.checkpoint import load_checkpoint

    path, objects = saved
    model, optimizer, scheduler = objects()
    state, rng = load_checkpoint(path, model, optimizer, scheduler)
    assert state == {"step": 1} and scheduler.last_epoch == 1 and optimizer.state_dict()["state"]


@pytest.mark.parametrize("piece", ["scheduler.pt", "optimizer.pt", "rng.pt"])
def test_a_pickle_that_would_run_code_is_refused_without_running_it(saved, tmp_path, piece):
    import torch

    from dqe.errors import InputError
    from dqe.train.checkpoint import load_checkpoint

    path, objects = saved
    marker = tmp_path / "the-pickle-ran"
    torch.save({"state": RunsCode(marker)}, path / piece)
    if piece == "rng.pt":  # a run folder of an older dqe, or one made to look like it
        (path / "rng.json").unlink()
    with pytest.raises(InputError, match=f"{piece}: refused"):
        load_checkpoint(path, *objects())
    assert not marker.exists()


def test_random_states_survive_json_exactly(torch_extra):
    import torch

    from dqe.train.checkpoint import read_rng, restore_rng, rng_snapshot, write_rng

    def draws():
        return random.random(), float(np.random.standard_normal()), torch.rand(3).tolist()

    np.random.standard_normal()  # a cached Gaussian in numpy's state
    snapshot = rng_snapshot()
    expected = draws()
    path = pytest.importorskip("pathlib").Path("rng.json")
    write_rng(path, snapshot)
    restore_rng(read_rng(path))
    assert draws() == expected
