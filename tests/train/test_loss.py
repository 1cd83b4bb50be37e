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
