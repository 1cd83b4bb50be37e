"""Checkpoints: adapter, optimizer, scheduler, RNG and data-order state, enough to continue a
run exactly where it stopped (the same losses as a run that never stopped).

A checkpoint is a folder ``checkpoints/step-NNNNNN`` written under a temporary name and renamed
into place, so a crash while saving leaves the previous checkpoint intact.

A run folder can come from anywhere, so nothing in it may run code when it is read: the adapter
is safetensors, the trainer and RNG states JSON, and the optimizer and scheduler states torch
files read with ``weights_only=True`` (tensors and plain values, no pickled objects).
"""

from __future__ import annotations

import base64
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dqe.errors import InputError
from dqe.train.runfolder import checkpoints, read_json, write_json

ADAPTER_FILE = "adapter_model.safetensors"
TRAINABLE_FILE = "trainable.safetensors"  # P-tuning's encoder, which peft's adapter file leaves out
RNG_FILE = "rng.json"


def rng_file(rank: int) -> str:
    """Each training process draws its own dropout masks: rank 0's states in ``rng.json``, rank
    r's in ``rng-rank-r.json``."""
    return RNG_FILE if rank == 0 else f"rng-rank-{rank}.json"


def rng_snapshot() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _tensor_text(tensor: torch.Tensor) -> str:
    return base64.b64encode(tensor.numpy().tobytes()).decode()


def _text_tensor(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)


def write_rng(path: Path, state: dict[str, Any]) -> None:
    """The RNG states as JSON: Python's and numpy's numbers, torch's byte states in base64."""
    version, internal, gauss = state["python"]
    kind, keys, pos, has_gauss, cached = state["numpy"]
    data = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), pos, has_gauss, cached],
        "torch": _tensor_text(state["torch"]),
    }
    if "cuda" in state:
        data["cuda"] = [_tensor_text(t) for t in state["cuda"]]
    write_json(path, data)


def read_rng(path: Path) -> dict[str, Any]:
    """What ``write_rng`` wrote, in the shapes ``restore_rng`` takes."""
    try:
        data = read_json(path)
        version, internal, gauss = data["python"]
        kind, keys, pos, has_gauss, cached = data["numpy"]
        state: dict[str, Any] = {
            "python": (version, tuple(internal), gauss),
            "numpy": (kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached),
            "torch": _text_tensor(data["torch"]),
        }
        if "cuda" in data:
            state["cuda"] = [_text_tensor(t) for t in data["cuda"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not the random states of a dqe checkpoint ({exc})") from None
    return state


def _load_weights(path: Path, **kwargs: Any) -> Any:
    """A torch file read as tensors and plain values only: a pickled object (which could run
    code) is refused, not run."""
    try:
        return torch.load(path, weights_only=True, **kwargs)
    except pickle.UnpicklingError as exc:
        reason = str(exc).rsplit("WeightsUnpickler error: ", 1)[-1].split(".")[0]
        raise InputError(
            f"{path}: refused: it holds more than tensors and plain values ({reason}), and reading it could run "
            "code; dqe never writes such a file"
        ) from None


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


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return run_dir / "checkpoints" / f"step-{step:06d}"


def save_checkpoint(
    run_dir: Path,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    rngs: list[dict[str, Any]],
    state: dict[str, Any],
    keep: int,
) -> Path:
    """Write a checkpoint; ``rngs`` holds the random states of every training process, by rank."""
    final = checkpoint_path(run_dir, state["step"])
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_adapter(model, tmp / "adapter")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    for rank, rng in enumerate(rngs):
        write_rng(tmp / rng_file(rank), rng)
    write_json(tmp / "state.json", state)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _trains_an_encoder(model: Any) -> bool:
    """P-tuning: peft saves the virtual tokens its encoder makes, not the encoder that makes them,
    which is enough to use the adapter and not enough to continue training it."""
    config = getattr(model, "active_peft_config", None)
    return config is not None and config.peft_type == "P_TUNING"  # peft's PeftType is a str enum


def save_adapter(model: Any, folder: Path) -> None:
    """The adapter in peft's format; for P-tuning also every trained tensor, by name, so that a
    checkpoint or the best adapter continues exactly."""
    from safetensors.torch import save_file

    model.save_pretrained(str(folder))
    if _trains_an_encoder(model):
        trained = {n: p.detach().contiguous() for n, p in model.named_parameters() if p.requires_grad}
        save_file(trained, str(folder / TRAINABLE_FILE))


def load_adapter_weights(model: Any, adapter_dir: Path) -> None:
    """Put a saved adapter's weights (all trained tensors, where saved) back into ``model``."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    device = str(next(model.parameters()).device)
    if (adapter_dir / TRAINABLE_FILE).is_file():
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, tensor in load_file(str(adapter_dir / TRAINABLE_FILE), device=device).items():
                params[name].copy_(tensor)
        return
    set_peft_model_state_dict(model, load_file(str(adapter_dir / ADAPTER_FILE), device=device))


def load_checkpoint(
    path: Path, model: Any, optimizer: Any, scheduler: Any, rank: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restore adapter, optimizer and scheduler; returns (trainer state, ``rank``'s RNG state)."""
    load_adapter_weights(model, path / "adapter")
    device = next(model.parameters()).device
    optimizer.load_state_dict(_load_weights(path / "optimizer.pt", map_location=device))
    scheduler.load_state_dict(_load_weights(path / "scheduler.pt"))
    if not (path / RNG_FILE).is_file() and (path / "rng.pt").is_file():
        raise InputError(
            f"{path / 'rng.pt'}: refused: random states pickled as an older dqe did (or made to look so), and "
            "reading a pickle could run code; start the run again without --resume"
        )
    return read_json(path / "state.json"), read_rng(path / rng_file(rank))
