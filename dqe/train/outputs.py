"""What a run leaves behind besides checkpoints: the merged model and the run manifest.

The run manifest (``run.json``) says what was trained, on what and how: the base model, the
template, every hyper-parameter, library versions, the gate manifest's hashes (and whether
``--force`` overrode the gate), the ledger's totals and the losses.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

from dqe import __version__
from dqe.engine.train_config import TrainConfig

LIBRARIES = (
    "torch",
    "transformers",
    "peft",
    "tokenizers",
    "safetensors",
    "accelerate",
    "bitsandbytes",
    "flash-attn",
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "dqe": __version__}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    if torch.version.cuda:
        out["cuda"] = torch.version.cuda
    return out


def device_info(device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    info: dict[str, Any] = {"type": device.type, "dtype": str(dtype).removeprefix("torch.")}
    if device.type == "cuda":
        info["name"] = torch.cuda.get_device_name(device)
    else:
        info["name"] = platform.processor() or platform.machine()
        info["threads"] = torch.get_num_threads()
    return info


def merge_adapter(
    config: TrainConfig,
    adapter: Path,
    out: Path,
    tokenizer: Any,
    device: torch.device,
    dtype: torch.dtype,
) -> Path:
    """The base model with the adapter merged in, as safetensors (a fresh, unquantized base)."""
    from peft import PeftModel

    from dqe.train.model import load_base_model, quiet_peft

    base = load_base_model(config, device, dtype, quantize=False)
    with quiet_peft():
        merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    return out


def base_model_info(config: TrainConfig, model: Any, counts: tuple[int, int]) -> dict[str, Any]:
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    c = lm.config
    return {
        "model": config.model,
        "model_type": getattr(c, "model_type", None),
        "architectures": getattr(c, "architectures", None),
        "hidden_size": getattr(c, "hidden_size", None),
        "layers": getattr(c, "num_hidden_layers", None),
        "vocab_size": getattr(c, "vocab_size", None),
        "parameters": counts[0],
        "trainable_parameters": counts[1],
    }
