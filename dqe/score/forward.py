"""Forward passes that sum each sequence's cross-entropy on its labelled tokens.

Sequences go through the model longest first, ``rows`` at a time, padded to the longest of
their batch: similar lengths share a batch, so little is padding, and the largest batch comes
first, so a batch too big for the device fails at once, not an hour in. Only labelled
positions are projected onto the vocabulary, a chunk of tokens at a time, as in training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from dqe.engine.encoding import IGNORE, Encoded
from dqe.train.batches import collate
from dqe.train.loss import autocast
from dqe.train.model import head_and_body

_CHUNK = 1024  # labelled tokens projected onto the vocabulary at once


def _token_losses(model: Any, head: tuple[Any, Any] | None, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of every labelled token (the order of ``labels[:, 1:] != -100``)."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    keep = batch["labels"][:, 1:] != IGNORE
    targets = batch["labels"][:, 1:][keep]
    if head is None:
        states, weight, bias = model(**inputs, use_cache=False).logits[:, :-1][keep], None, None
    else:
        body, lm_head = head
        states = body(**inputs, use_cache=False).last_hidden_state[:, :-1][keep]
        weight, bias = lm_head.weight, getattr(lm_head, "bias", None)
    losses = []
    for start in range(0, targets.numel(), _CHUNK):
        logits = states[start : start + _CHUNK]
        if weight is not None:
            logits = logits @ weight.t()
            if bias is not None:
                logits = logits + bias
        losses.append(
            torch.nn.functional.cross_entropy(logits.float(), targets[start : start + _CHUNK], reduction="none")
        )
    return torch.cat(losses) if losses else torch.zeros(0, device=targets.device)


@torch.no_grad()
def summed_losses(
    model: Any,
    items: Sequence[Encoded],
    *,
    rows: int,
    pad_id: int,
    device: torch.device,
    dtype: torch.dtype,
    on_batch: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Per item, the summed cross-entropy (float64) of its labelled tokens; ``on_batch`` hears
    the items and tokens of each batch done."""
    out = np.zeros(len(items), dtype=np.float64)
    order = np.argsort([-len(e) for e in items], kind="stable")
    head = head_and_body(model)
    model.eval()
    for start in range(0, len(order), rows):
        chunk = [int(i) for i in order[start : start + rows]]
        batch = collate(items, [[i] for i in chunk], packed=False, pad_id=pad_id)
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with autocast(device, dtype):
            losses = _token_losses(model, head, batch)
        owner = (batch["labels"][:, 1:] != IGNORE).nonzero()[:, 0]
        sums = torch.zeros(len(chunk), dtype=torch.float64, device=losses.device)
        sums.index_add_(0, owner, losses.double())
        out[chunk] = sums.cpu().numpy()
        if on_batch is not None:
            on_batch(len(chunk), sum(len(items[i]) for i in chunk))
    return out
