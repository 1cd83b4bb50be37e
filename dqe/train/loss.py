"""Cross-entropy from hidden states, a chunk of tokens at a time: full-vocabulary logits never
sit whole in memory.

Only the positions that have a label are projected onto the vocabulary at all (prompts and
padding cost nothing), and each chunk's logits live only while that chunk's loss and gradient
are computed: the gradient with respect to the hidden states is formed in the forward pass,
so nothing of the logits is kept for the backward pass. For a 128k vocabulary and 16k tokens
per micro-batch that is the difference between 8 GiB of fp32 logits and a few hundred MiB.

P-tuning and prompt tuning put virtual tokens in front of every sequence; the batch is widened
here exactly as peft's own forward widens it (``with_virtual_tokens``), so the decoder still
runs alone and the loss stays chunked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from dqe.engine.encoding import IGNORE, Encoded
from dqe.train.batches import BatchPlan, Rows, collate, supervised_count
from dqe.train.model import head_and_body


class _LinearCrossEntropy(torch.autograd.Function):
    """Sum of cross-entropy of ``hidden @ weight.T (+ bias)`` against ``targets``, chunked."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, chunk):  # type: ignore[override]
        need_h = hidden.requires_grad
        need_w = weight.requires_grad
        need_b = bias is not None and bias.requires_grad
        grad_h = torch.empty_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        grad_b = torch.zeros(bias.shape, dtype=torch.float32, device=bias.device) if need_b else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, hidden.shape[0], chunk):
            h = hidden[start : start + chunk]
            t = targets[start : start + chunk]
            logits = (h @ weight.t()).float()
            if bias is not None:
                logits += bias.float()
            lse = torch.logsumexp(logits, dim=-1)
            total += (lse - logits.gather(1, t[:, None]).squeeze(1)).sum()
            if need_h or need_w or need_b:
                probs = torch.exp(logits.sub_(lse[:, None]))  # softmax, in place of the logits
                probs[torch.arange(t.numel(), device=t.device), t] -= 1.0  # d(sum CE)/d(logits)
                if need_h:
                    grad_h[start : start + chunk] = (probs.to(weight.dtype) @ weight).to(hidden.dtype)
                if need_w:
                    grad_w += probs.t() @ h.float()
                if need_b:
                    grad_b += probs.sum(0)
        ctx.save_for_backward(*(g for g in (grad_h, grad_w, grad_b) if g is not None))
        ctx.needs = (need_h, need_w, need_b)
        ctx.dtypes = (hidden.dtype, weight.dtype, bias.dtype if bias is not None else None)
        return total

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        saved = iter(ctx.saved_tensors)
        grads = [
            (next(saved) * grad_out).to(dtype) if need else None
            for need, dtype in zip(ctx.needs, ctx.dtypes, strict=True)
        ]
        return *grads, None, None


def shifted_targets(hidden: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The hidden states that predict a labelled token, and those tokens.

    Position t predicts the token at t + 1; only positions whose next token has a label count.
    """
    targets = labels[:, 1:]
    keep = targets != IGNORE
    return hidden[:, :-1][keep], targets[keep]


def chunked_cross_entropy(
    hidden: torch.Tensor, labels: torch.Tensor, lm_head: torch.nn.Module, chunk: int = 4096
) -> torch.Tensor:
    """Summed cross-entropy over labelled tokens (divide by their count for the mean)."""
    h, t = shifted_targets(hidden, labels)
    weight = lm_head.weight
    bias = getattr(lm_head, "bias", None)
    if torch.is_grad_enabled() and (h.requires_grad or weight.requires_grad):
        return _LinearCrossEntropy.apply(h, weight, bias, t, chunk)
    total = torch.zeros((), dtype=torch.float32, device=hidden.device)
    for start in range(0, h.shape[0], chunk):
        logits = (h[start : start + chunk] @ weight.t()).float()
        if bias is not None:
            logits += bias.float()
        total += torch.nn.functional.cross_entropy(logits, t[start : start + chunk], reduction="sum")
    return total


def full_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The same sum from whole logits (architectures whose head is more than a linear layer)."""
    x, t = shifted_targets(logits, labels)
    return torch.nn.functional.cross_entropy(x.float(), t, reduction="sum")


def autocast(device: torch.device, dtype: torch.dtype) -> AbstractContextManager[Any]:
    """bf16 autocast on CUDA; nothing on CPU or in fp32."""
    if device.type == "cuda" and dtype != torch.float32:
        return torch.autocast("cuda", dtype=dtype)
    return nullcontext()


def virtual_token_count(model: Any) -> int:
    """Virtual tokens the model puts in front of its input now: those of a prompt method's
    adapter while it is switched on (``disable_adapter`` switches them off too), else 0."""
    peft = getattr(model, "active_peft_config", None)
    if peft is None or not peft.is_prompt_learning or getattr(model, "_adapters_disabled", False):
        return 0
    return int(peft.num_virtual_tokens)


def with_virtual_tokens(model: Any, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The batch as a prompt method's model sees it: input embeddings with the virtual tokens in
    front, the attention mask widened with ones and the labels (when there are) with -100
    (nothing to learn there), as peft's forward does; the batch unchanged for other models."""
    n = virtual_token_count(model)
    if not n:
        return batch
    assert "position_ids" not in batch, "prompt methods train without packing (the config refuses it)"
    ids = batch["input_ids"]
    rows = ids.shape[0]
    embeds = model.word_embeddings(ids)
    out = {"inputs_embeds": torch.cat([model.get_prompt(batch_size=rows).to(embeds.dtype), embeds], dim=1)}
    if "labels" in batch:
        out["labels"] = torch.cat([ids.new_full((rows, n), IGNORE), batch["labels"]], dim=1)
    if "attention_mask" in batch:
        mask = batch["attention_mask"]
        out["attention_mask"] = torch.cat([mask.new_ones((rows, n)), mask], dim=1)
    return out


def loss_sum(
    model: Any,
    head: tuple[Any, Any] | None,
    batch: dict[str, torch.Tensor],
    *,
    device: torch.device,
    dtype: torch.dtype,
    chunk: int,
    per_row: bool = False,
) -> torch.Tensor:
    """Summed cross-entropy over the batch's supervised tokens (``head``: ``head_and_body``);
    ``per_row``: one sum for each row (padded rows, no packing), minus the log-likelihood of
    each row's answer (``dqe eval --choices``)."""
    with autocast(device, dtype):
        out, labels = _outputs(model, head, batch)
        if per_row:
            return torch.stack([_summed(out[r : r + 1], labels[r : r + 1], head, chunk) for r in range(out.shape[0])])
        return _summed(out, labels, head, chunk)


def _outputs(
    model: Any, head: tuple[Any, Any] | None, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """What the loss is computed from: the decoder's hidden states (the logits when ``head`` is
    None), and the labels they are aligned with."""
    if virtual_token_count(model):  # the virtual tokens are in the embeddings now: the base model runs them
        batch, model = with_virtual_tokens(model, batch), model.get_base_model()
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    if head is None:
        return model(**inputs, use_cache=False).logits, batch["labels"]
    return head[0](**inputs, use_cache=False).last_hidden_state, batch["labels"]


def _summed(out: torch.Tensor, labels: torch.Tensor, head: tuple[Any, Any] | None, chunk: int) -> torch.Tensor:
    return full_cross_entropy(out, labels) if head is None else chunked_cross_entropy(out, labels, head[1], chunk)


@torch.no_grad()
def summed_loss(
    model: Any,
    items: Sequence[Encoded],
    batches: Sequence[Rows],
    *,
    packing: bool,
    pad_id: int,
    device: torch.device,
    dtype: torch.dtype,
    chunk: int,
    on_batch: Callable[[dict[str, torch.Tensor]], None] | None = None,
) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy (float64) over the supervised tokens of ``batches``, and their
    number: one process's part of a loss that several processes share."""
    head = head_and_body(model)
    was_training = model.training
    model.eval()
    try:
        total = torch.zeros((), dtype=torch.float64, device=device)
        count = 0
        for rows in batches:
            batch = collate(items, rows, packed=packing, pad_id=pad_id)
            if on_batch is not None:
                on_batch(batch)
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            total += loss_sum(model, head, batch, device=device, dtype=dtype, chunk=chunk).double()
            count += supervised_count(items, [rows])
    finally:
        model.train(was_training)
    return total, count


@torch.no_grad()
def item_logliks(
    model: Any,
    items: Sequence[Encoded],
    plan: BatchPlan,
    *,
    pad_id: int,
    device: torch.device,
    dtype: torch.dtype,
    chunk: int,
) -> list[float]:
    """The summed log-likelihood of each item's supervised tokens, in item order, batched by
    ``plan`` (padded, not packed)."""
    head = head_and_body(model)
    model.eval()
    out: dict[int, float] = {}
    for rows in plan.fixed():
        batch = {k: v.to(device) for k, v in collate(items, rows, packed=False, pad_id=pad_id).items()}
        losses = loss_sum(model, head, batch, device=device, dtype=dtype, chunk=chunk, per_row=True)
        out.update((row[0], -float(loss)) for row, loss in zip(rows, losses, strict=True))
    return [out[i] for i in range(len(items))]


def mean_loss(
    model: Any,
    items: Sequence[Encoded],
    plan: BatchPlan,
    *,
    packing: bool,
    pad_id: int,
    device: torch.device,
    dtype: torch.dtype,
    chunk: int,
    on_batch: Callable[[dict[str, torch.Tensor]], None] | None = None,
) -> tuple[float, int]:
    """Mean cross-entropy per supervised token over ``items`` in ``plan``'s fixed batches,
    and the number of supervised tokens: ``dqe eval``'s test loss."""
    total, count = summed_loss(
        model,
        items,
        plan.fixed(),
        packing=packing,
        pad_id=pad_id,
        device=device,
        dtype=dtype,
        chunk=chunk,
        on_batch=on_batch,
    )
    return float(total) / max(count, 1), count
