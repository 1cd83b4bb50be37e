"""Checkpoints: adapter, optimizer, scheduler, RNG and data-order state, enough to continue a
run exactly where it stopped (the same losses as a run that never stopped).

A checkpoint is a folder ``checkpoints/step-NNNNNN`` written under a temporary name and renamed
into place, so a crash while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dqe.train.runfolder import checkpoints, read_json, write_json

ADAPTER_FILE = "adapter_model.safetensors"


def rng_snapshot() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(
    run_dir: Path,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    rng: dict[str, Any],
    state: dict[str, Any],
    keep: int,
) -> Path:
    final = run_dir / "checkpoints" / f"step-{state['step']:06d}"
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp / "adapter"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save(rng, tmp / "rng.pt")
    write_json(tmp / "state.json", state)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_adapter_weights(model: Any, adapter_dir: Path) -> None:
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = load_file(str(adapter_dir / ADAPTER_FILE), device=str(next(model.parameters()).device))
    set_peft_model_state_dict(model, weights)


def load_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restore adapter, optimizer and scheduler; returns (trainer state, RNG state)."""
    load_adapter_weights(model, path / "adapter")
    device = next(model.parameters()).device
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location=device, weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    rng = torch.load(path / "rng.pt", weights_only=False)  # written by this module: numpy and Python states
    return read_json(path / "state.json"), rng
