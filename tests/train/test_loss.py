"""The chunked cross-entropy gives the loss and gradients of the plain one."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.train


@pytest.mark.parametrize("bias", [False, True])
def test_chunked_loss_and_gradients_match_full_logits(torch_extra, bias):
    torch = torch_extra
    from dqe.train.loss import chunked_cross_entropy, full_cross_entropy

    torch.manual_seed(0)
    head = torch.nn.Linear(16, 97, bias=bias)
    hidden = torch.randn(3, 11, 16, requires_grad=True)
    labels = torch.randint(0, 97, (3, 11))
    labels[0, :4] = -100
    labels[2, 6:] = -100

    chunked = chunked_cross_entropy(hidden, labels, head, chunk=5)
    (chunked * 0.5).backward()
    grads = [
        hidden.grad.clone(),
        head.weight.grad.clone(),
        *([head.bias.grad.clone()] if bias else []),
    ]
    hidden.grad = None
    head.zero_grad()
    full = full_cross_entropy(head(hidden), labels)
    (full * 0.5).backward()
    expected = [hidden.grad, head.weight.grad, *([head.bias.grad] if bias else [])]

    assert torch.allclose(chunked, full, atol=1e-5)
    for got, want in zip(grads, expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(chunked_cross_entropy(hidden, labels, head, chunk=4), full, atol=1e-5)


@pytest.mark.parametrize("method", ["p-tuning", "prompt-tuning"])
def test_virtual_tokens_are_in_the_loss_as_peft_puts_them(torch_extra, tiny_model, tmp_path, method):
    """The chunked loss of a prompt method's model is peft's own forward loss: the virtual tokens
    go in front, the labels are -100 there, padding stays masked; switched off, it is the base's."""
    torch = torch_extra
    from dqe.engine.train_config import load_train_config
    from dqe.train.loss import loss_sum, virtual_token_count
    from dqe.train.model import add_adapter, head_and_body, load_base_model

    config = load_train_config(
        None, {"model": str(tiny_model), "data": tmp_path / "d", "out": tmp_path / "o", "method": method}
    )
    torch.manual_seed(0)
    base = load_base_model(config, torch.device("cpu"), torch.float32)
    model = add_adapter(base, config).eval()
    ids = torch.randint(3, 500, (2, 12))
    labels = ids.clone()
    labels[:, :5] = -100  # the prompt
    mask = torch.ones_like(ids)
    mask[1, 9:], labels[1, 9:] = 0, -100  # a shorter row, padded
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    supervised = int((labels[:, 1:] != -100).sum())

    def ours():
        with torch.no_grad():
            return float(loss_sum(model, head_and_body(model), batch, device=ids.device, dtype=torch.float32, chunk=16))

    with torch.no_grad():
        theirs = float(model(**batch).loss) * supervised
    assert virtual_token_count(model) == 20 and ours() == pytest.approx(theirs, rel=1e-5)
    with model.disable_adapter(), torch.no_grad():
        assert virtual_token_count(model) == 0
        plain = float(base(**batch).loss) * supervised
        assert ours() == pytest.approx(plain, rel=1e-5) and abs(plain - theirs) > 1e-3
