"""Batched generation: left padding changes nothing, answers stop where the template ends."""

from __future__ import annotations

import numpy as np
import pytest

from dqe.eval.report import EvalSettings

pytestmark = pytest.mark.train


def generator(tokenizer, end_of_turn=None, **settings):
    import torch

    from dqe.eval.generate import Generator

    return Generator(
        tokenizer,
        end_of_turn=end_of_turn,
        max_prompt_tokens=256,
        device=torch.device("cpu"),
        settings=EvalSettings(**settings),
    )


def test_left_padded_batches_answer_as_one_prompt_at_a_time(torch_extra, tokenizer, tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    texts = [
        "### Instruction:\nName a colour.\n\n### Response:\n",
        "Hi",
        "Translate 'cat' into French, please, and explain.",
    ]
    prompts = [np.asarray(tokenizer(t)["input_ids"], dtype=np.int32) for t in texts]
    batched = generator(tokenizer, max_new_tokens=12, batch_size=3).generate(model, prompts)
    alone = generator(tokenizer, max_new_tokens=12, batch_size=1).generate(model, prompts)
    assert [g.text for g in batched] == [g.text for g in alone]
    assert all(g.stopped == "length" and g.tokens == 12 or g.stopped == "eos" for g in batched)


def test_an_answer_stops_at_the_end_of_turn_or_the_end_of_text(torch_extra, tokenizer):
    words = tokenizer("The cat sat.", add_special_tokens=False)["input_ids"]
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    chatml = generator(tokenizer, "<|im_end|>", max_new_tokens=len(words) + 3)
    got = chatml._finish([*words, im_end, pad, pad])
    assert (got.text, got.stopped, got.tokens) == ("The cat sat.", "end-of-turn", len(words) + 1)
    got = chatml._finish([*words, eos, pad, pad])
    assert (got.text, got.stopped) == ("The cat sat.", "eos")
    assert chatml._finish(words).stopped == "length"
    # an end of turn of several tokens ends the answer by its text
    marked = generator(tokenizer, "### End", max_new_tokens=40)
    ids = tokenizer("The cat sat.\n### End\nmore", add_special_tokens=False)["input_ids"]
    got = marked._finish([*ids, pad, pad])
    assert (got.text, got.stopped) == ("The cat sat.", "end-of-turn")


def test_a_prompt_methods_answers_keep_the_positions_of_training(torch_extra, tokenizer, tiny_model):
    """Left-padded and cached, each answer is the greedy continuation of the model's own forward
    on the prompt alone, right after the virtual tokens, as in training (peft's generate is not:
    it ignores position ids behind virtual tokens and drifts once its cache fills)."""
    torch = torch_extra
    from peft import PromptTuningConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    model = get_peft_model(base, PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4)).eval()
    texts = ["### Instruction:\nName a colour.\n\n### Response:\n", "Hi", "Translate 'cat' into French."]
    prompts = [np.asarray(tokenizer(t)["input_ids"], dtype=np.int32) for t in texts]

    def greedy(prompt, steps=6):  # the model's own forward, unpadded, as in training
        ids = torch.tensor([prompt.tolist()])
        with torch.no_grad():
            for _ in range(steps):
                ids = torch.cat([ids, model(input_ids=ids).logits[:, -1:].argmax(-1)], dim=1)
        return tokenizer.decode(ids[0, len(prompt) :].tolist(), skip_special_tokens=False).strip()

    answers = generator(tokenizer, max_new_tokens=6, batch_size=3).generate(model, prompts)
    assert [a.text for a in answers] == [greedy(p) for p in prompts]
