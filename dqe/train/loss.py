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

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from dqe.engine.encoding import IGNORE, Encoded
from dqe.train.batches import BatchPlan, Rows, collate, supervised_count
from dqe.train.model import evaluating, head_and_body


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
    return _token_cross_entropy(h, t, lm_head, chunk).sum()


def _token_cross_entropy(h: torch.Tensor, t: torch.Tensor, lm_head: torch.nn.Module, chunk: int) -> torch.Tensor:
    """Cross-entropy of each of ``t`` from ``h``, chunked (float32, no gradient)."""
    weight = lm_head.weight
    bias = getattr(lm_head, "bias", None)
    out = torch.empty(t.numel(), dtype=torch.float32, device=h.device)
    for start in range(0, h.shape[0], chunk):
        logits = (h[start : start + chunk] @ weight.t()).float()
        if bias is not None:
            logits += bias.float()
        out[start : start + chunk] = torch.nn.functional.cross_entropy(
            logits, t[start : start + chunk], reduction="none"
        )
    return out


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
    per_token: bool = False,
) -> torch.Tensor:
    """Summed cross-entropy over the batch's supervised tokens (``head``: ``head_and_body``);
    ``per_token``: each supervised token's, in row order (without a gradient)."""
    with autocast(device, dtype):
        out, labels = _outputs(model, head, batch)
        if per_token:
            x, t = shifted_targets(out, labels)
            if head is None:
                return torch.nn.functional.cross_entropy(x.float(), t, reduction="none")
            return _token_cross_entropy(x, t, head[1], chunk)
        if head is None:
            return full_cross_entropy(out, labels)
        return chunked_cross_entropy(out, labels, head[1], chunk)


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


def _on_device(
    items: Sequence[Encoded],
    batches: Sequence[Rows],
    packing: bool,
    pad_id: int,
    device: torch.device,
    on_batch: Callable[[dict[str, torch.Tensor]], None] | None = None,
) -> Iterator[tuple[Rows, dict[str, torch.Tensor], dict[str, torch.Tensor]]]:
    """Each micro-batch of ``batches``: its rows, its tensors as collated, and on ``device``."""
    for rows in batches:
        batch = collate(items, rows, packed=packing, pad_id=pad_id)
        if on_batch is not None:
            on_batch(batch)
        yield rows, batch, {k: v.to(device, non_blocking=True) for k, v in batch.items()}


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
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    with evaluating(model):
        for rows, _, batch in _on_device(items, batches, packing, pad_id, device, on_batch):
            total += loss_sum(model, head, batch, device=device, dtype=dtype, chunk=chunk).double()
            count += supervised_count(items, [rows])
    return total, count


@torch.no_grad()
def record_losses(
    model: Any,
    items: Sequence[Encoded],
    batches: Sequence[Rows],
    *,
    packing: bool,
    pad_id: int,
    device: torch.device,
    dtype: torch.dtype,
    chunk: int,
) -> torch.Tensor:
    """Summed cross-entropy (float64) over each item's supervised tokens, for the items that
    ``batches`` hold, zero for the others: one process's part of every record's loss, which a
    sum over processes completes (each item lies in one batch of a plan)."""
    head = head_and_body(model)
    out = torch.zeros(len(items), dtype=torch.float64, device=device)
    with evaluating(model):
        for rows, cpu, batch in _on_device(items, batches, packing, pad_id, device):
            owner = torch.full(cpu["labels"].shape, -1, dtype=torch.int64)
            for r, row in enumerate(rows):
                at = 0
                for i in row:
                    owner[r, at : at + len(items[i])] = i
                    at += len(items[i])
            owner = owner[:, 1:][cpu["labels"][:, 1:] != IGNORE]  # the item of each supervised token, in row order
            tokens = loss_sum(model, head, batch, device=device, dtype=dtype, chunk=chunk, per_token=True)
            out.index_add_(0, owner.to(device), tokens.double())
    return out


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
    ``plan`` (padded, not packed): the records' losses, negated (``dqe eval --choices``)."""
    losses = record_losses(
        model, items, plan.fixed(), packing=False, pad_id=pad_id, device=device, dtype=dtype, chunk=chunk
    )
    return (-losses).tolist()


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
