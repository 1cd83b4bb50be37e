"""Every training method through peft's own configs: LoRA, P-tuning, prompt tuning (QLoRA needs
a GPU: tests/train/test_trainer.py checks its refusal on CPU)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.train


@pytest.fixture
def ok(filtered, rasbt):
    return filtered(rasbt[:80])


@pytest.mark.parametrize(
    ("method", "trainable"),
    [("lora", "lora_A"), ("p-tuning", "mlp_head"), ("prompt-tuning", "prompt_encoder.default.embedding")],
)
def test_each_method_trains_and_its_adapter_reloads_with_the_same_outputs(
    torch_extra, tmp_path, ok, config_for, method, trainable
):
    torch = torch_extra
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from dqe.train.checkpoint import load_adapter_weights
    from dqe.train.model import add_adapter, load_base_model
    from dqe.train.run import train

    config = config_for(ok, tmp_path / "run", method=method)
    run = train(config, echo=False)
    m = run.manifest
    prompt_method = method != "lora"
    assert m["method"] == {"name": method, "virtual_tokens": 20 if prompt_method else 0}
    assert m["packing"] is not prompt_method  # the virtual tokens come once per sequence
    assert m["losses"]["test"] < m["losses"]["val_final_adapter"] + 0.5 and m["training"]["steps"] == 6
    saved = json.loads((run.run_dir / "train_config.json").read_text())
    assert saved["method"] == method and ("lora" in saved) is not prompt_method

    # the trained adapter, as training left it in best/ (P-tuning's encoder included) ...
    trained = add_adapter(load_base_model(config, torch.device("cpu"), torch.float32), config)
    assert any(trainable in name for name, p in trained.named_parameters() if p.requires_grad)
    load_adapter_weights(trained, run.run_dir / "best")
    # ... and the adapter folder, read by peft alone, give the same logits, and not the base's
    ids = torch.tensor([[1, 40, 41, 42, 43, 44]])
    base = AutoModelForCausalLM.from_pretrained(str(config.model))
    with torch.no_grad():
        plain = base(ids).logits
        want = trained.eval()(ids).logits
        reloaded = PeftModel.from_pretrained(base, str(run.run_dir / "adapter")).eval()(ids).logits
    assert torch.allclose(reloaded, want, atol=1e-5)
    assert not torch.allclose(reloaded[:, -ids.shape[1] :], plain, atol=1e-3)


def test_prompt_tuning_can_start_from_the_embeddings_of_a_text(torch_extra, tmp_path, ok, config_for, tokenizer):
    torch = torch_extra
    from dqe.train.model import add_adapter, load_base_model

    config = config_for(
        ok,
        tmp_path / "run",
        method="prompt-tuning",
        **{
            "prompt_tuning.init": "text",
            "prompt_tuning.init_text": "Answer the question",
            "prompt_tuning.num_virtual_tokens": 4,
        },
    )
    model = add_adapter(load_base_model(config, torch.device("cpu"), torch.float32), config)
    start = model.prompt_encoder["default"].embedding.weight
    words = tokenizer("Answer the question")["input_ids"]  # as peft reads the text: with the model's own tokenizer
    expected = model.get_base_model().get_input_embeddings().weight[(words * 4)[:4]]
    assert torch.equal(start, expected)


def test_virtual_tokens_that_do_not_fit_the_model_are_a_config_error(torch_extra, tmp_path, ok, config_for):
    from dqe.errors import ConfigError
    from dqe.train.run import train

    with pytest.raises(ConfigError, match=r"'batch.seq-len': 256 tokens and 4000 virtual tokens of p-tuning"):
        train(config_for(ok, tmp_path / "run", method="p-tuning", **{"p_tuning.num_virtual_tokens": 4000}), echo=False)
