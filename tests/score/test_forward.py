"""Exactness: a record's perplexity is exp of transformers' own loss on the same tokens."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.train


def test_perplexity_is_exp_of_the_models_own_loss_in_length_sorted_padded_batches(torch_extra, tiny_model, rasbt):
    torch = torch_extra
    from transformers import AutoModelForCausalLM

    from dqe.engine.encoding import leading_special_ids, load_model_tokenizer, make_encoder
    from dqe.engine.plugins import load_plugins
    from dqe.io.formats.base import Columns
    from dqe.records import Record, Turn
    from dqe.score.forward import summed_losses
    from dqe.score.pairs import answer_pair

    tokenizer = load_model_tokenizer(str(tiny_model))
    encoder = make_encoder(
        tokenizer, "alpaca", load_plugins().templates, system=None, learn_all_turns=False, columns=Columns()
    )
    records = [
        Record(turns=[Turn(role="user", content=r["instruction"]), Turn(role="assistant", content=r["output"])])
        for r in rasbt[:7]
    ]
    pairs = [answer_pair(e, leading_special_ids(tokenizer), 2048, "truncate") for e in encoder.encode(records)]
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    items = [part for p in pairs for part in (p.given, p.alone)]
    sums = summed_losses(
        model, items, rows=3, pad_id=tokenizer.pad_token_id, device=torch.device("cpu"), dtype=torch.float32
    )

    for n, pair in enumerate(pairs):
        for item, total in ((pair.given, sums[2 * n]), (pair.alone, sums[2 * n + 1])):
            ids = torch.as_tensor(item.ids, dtype=torch.long)[None]
            labels = torch.as_tensor(item.labels, dtype=torch.long)[None]
            with torch.no_grad():
                loss = model(input_ids=ids, labels=labels).loss
            assert math.exp(total / item.supervised) == pytest.approx(math.exp(float(loss)), rel=1e-4)
