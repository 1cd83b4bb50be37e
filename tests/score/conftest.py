"""Fixtures for dqe score: the trainer's tiny Llama and its tokenizer (tests/train/conftest.py).

Tests that need torch are marked ``train`` and skip cleanly when the extra is missing.
"""

from __future__ import annotations

from tests.train.conftest import rasbt, tiny_model, tokenizer, torch_extra

__all__ = ["rasbt", "tiny_model", "tokenizer", "torch_extra"]
