"""Fixtures for the trainer: real records filtered through ``dqe filter`` (so that a gate
manifest exists), and a tiny Llama with a BPE tokenizer trained on the same data, built locally.

Tests that need torch are marked ``train`` and skip cleanly when the extra is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
RASBT = "rasbt_instruction_data.json"


def real(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Run each test from an empty folder so that no dqe.toml of the machine leaks in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DQE_DISABLE_PLUGINS", raising=False)


@pytest.fixture(scope="session")
def rasbt() -> list[dict]:
    return json.loads(real(RASBT).read_text("utf-8"))


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def filtered(tmp_path):
    """Write records to a file, run ``dqe.filter`` on it; returns the passed file."""
    import dqe

    def run(records: list[dict], name: str = "data", **overrides) -> Path:
        source = write_jsonl(tmp_path / f"{name}.jsonl", records)
        ok = tmp_path / f"{name}.ok.jsonl"
        # the structural rules only, so that which records pass does not move with the content rules
        overrides.setdefault("select", ["DQ001", "DQ101"])
        dqe.filter(source, ok, tmp_path / f"{name}.rejected.jsonl", **overrides)
        return ok

    return run


@pytest.fixture(scope="session")
def torch_extra():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("peft")
    torch.set_num_threads(1)  # the test machine is shared: more threads only wait on each other
    return torch


@pytest.fixture(scope="session")
def tokenizer(torch_extra, rasbt):
    from dqe.train.scratch import build_tokenizer

    texts = [f"{r['instruction']}\n{r['input']}\n{r['output']}" for r in rasbt]
    return build_tokenizer(texts, vocab_size=600)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tokenizer) -> Path:
    """A 2-layer Llama (hidden 64) and its tokenizer, saved like a downloaded model."""
    from dqe.train.scratch import build_model

    return build_model(tmp_path_factory.mktemp("tiny-llama"), "tiny", tokenizer, seed=0)


@pytest.fixture
def config_for(tiny_model):
    """A small, fast training config (CPU) with overrides."""
    from dqe.engine.train_config import load_train_config

    def make(data: Path, out: Path, **overrides):
        base = {
            "model": str(tiny_model),
            "data": data,
            "out": out,
            "template": "alpaca",
            "batch.seq_len": 256,
            "batch.micro_batch_size": 2,
            "batch.grad_accum": 2,
            "max_steps": 6,
            "optim.lr": 1e-2,
            "optim.warmup_steps": 1,
            "log.every": 1,
            "log.tensorboard": False,
            "eval.every": 3,
            "split.val": 0.1,
            "split.test": 0.1,
        }
        return load_train_config(None, {**base, **overrides})

    return make
