"""The trainer-encoding feature: the check counts exactly what ``dqe train`` encodes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dqe.testing import batch
from tests.support import real


def trainer_ledger(path, model, template, seq_len):
    """What the trainer's own path makes of a file: its reader, its encoder, its ledger."""
    from dqe.api import resolve_config
    from dqe.engine.plugins import load_plugins
    from dqe.engine.train_config import load_train_config
    from dqe.train.data import read_examples
    from dqe.train.encode import encode_examples, make_encoder
    from dqe.train.model import load_tokenizer

    registry = load_plugins()
    loaded = resolve_config({})
    config = load_train_config(
        None, {"model": str(model), "data": path, "out": "run", "template": template, "batch.seq_len": seq_len}
    )
    examples = read_examples(path, loaded, registry)
    for e in examples:
        e.split = "train"
    encoder = make_encoder(config, load_tokenizer(str(model)), registry, loaded.config.columns)
    return encode_examples(encoder, examples, seq_len, "truncate")[1]


@pytest.mark.parametrize("template", ["alpaca", "chatml", "model"])
def test_the_check_counts_what_the_trainer_encodes(tmp_path, english_model, template):
    records = json.loads(real("llamafactory_alpaca_en_demo.json").read_text("utf-8"))[:150]
    records += json.loads(real("llamafactory_alpaca_zh_demo.json").read_text("utf-8"))[:50]
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    train_toml = tmp_path / "train.toml"
    train_toml.write_text(f'model = "{english_model}"\ntemplate = "{template}"\n[batch]\nseq-len = 256\n')
    frame = batch(records, needs=["trainer-encoding"], train_config=str(train_toml))
    ledger = trainer_ledger(path, english_model, template, 256)
    assert frame["train_tokens"].to_list() == [r.tokens for r in ledger]
    assert frame["train_supervised_kept"].to_list() == [r.supervised for r in ledger]
    assert sum(r.tokens > 256 for r in ledger) > 10  # records the trainer cuts are among them
    assert frame["input"].is_not_null().sum() > 0  # Alpaca records with an input are among them


def test_the_tokens_total_with_a_model_is_the_trainers_and_the_parts_are_its_tokenizers(english_model):
    records = [{"instruction": "Translate the sentence.", "input": "The quick brown fox.", "output": "Le renard."}]
    with_model = batch(records, needs=["tokens", "trainer-encoding"], model=str(english_model), template="alpaca")
    assert with_model["tokens_total"].to_list() == with_model["train_tokens"].to_list()
    generic = batch(records, needs=["tokens"], tokenizer=f"hf:{english_model}", template="alpaca")
    # the same pieces, counted with the same tokenizer; the trainer's encoding adds the BOS
    assert np.array_equal(generic["tokens_total"].to_numpy() + 1, with_model["tokens_total"].to_numpy())
    assert generic["tokens_answer"].to_list() == with_model["tokens_answer"].to_list()


def test_the_feature_needs_a_model():
    from dqe.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a model: dqe check --model PATH"):
        batch([{"instruction": "Hi.", "output": "Hello."}], needs=["trainer-encoding"])
