"""Fixtures for dqe eval: the trainer's tiny Llama and tokenizer (tests/train/conftest.py), and
a finished run of ``dqe train`` on real records whose test split the tests evaluate.

Tests that need torch are marked ``train`` and skip cleanly when the extra is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.conftest import rasbt, tiny_model, tokenizer, torch_extra, write_jsonl

__all__ = ["embedding_model", "rasbt", "tiny_model", "tokenizer", "torch_extra", "trained_run"]


def train_a_run(root: Path, tiny_model: Path, records: list[dict], **overrides) -> Path:
    """``runs/exp1`` under ``root``: the tiny Llama tuned for 6 steps on ``records`` that passed
    ``dqe filter`` (a tenth held out for testing), as ``dqe train`` leaves it."""
    import dqe
    from dqe.engine.train_config import load_train_config
    from dqe.train.run import train

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # no dqe.toml of the machine: the gate reads the config from here
        mp.setenv("DQE_DISABLE_PLUGINS", "all")
        data = write_jsonl(root / "data.jsonl", records)
        dqe.filter(data, root / "ok.jsonl", root / "rejected.jsonl")
        config = load_train_config(
            None,
            {
                "model": str(tiny_model),
                "data": root / "ok.jsonl",
                "out": root / "runs" / "exp1",
                "template": "alpaca",
                "batch.seq_len": 256,
                "batch.micro_batch_size": 2,
                "batch.grad_accum": 2,
                "max_steps": 6,
                "optim.lr": 1e-2,
                "optim.warmup_steps": 1,
                "log.tensorboard": False,
                "eval.every": 3,
                "split.val": 0.1,
                "split.test": 0.1,
                **overrides,
            },
        )
        train(config, echo=False)
    return root / "runs" / "exp1"


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_model, rasbt) -> Path:
    """A LoRA run on 80 records that passed ``dqe filter`` (8 held out for testing)."""
    return train_a_run(tmp_path_factory.mktemp("eval-run"), tiny_model, rasbt[:80])


@pytest.fixture(scope="session")
def embedding_model(tmp_path_factory, tiny_model) -> Path:
    """The tiny Llama laid out as a sentence-transformers folder (mean pooling)."""
    import json
    import shutil

    folder = tmp_path_factory.mktemp("embedder")
    for item in tiny_model.iterdir():
        shutil.copy(item, folder / item.name)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 64, "pooling_mode_mean_tokens": True})
    )
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    return folder
