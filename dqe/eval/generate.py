"""Answers for the test prompts: batched, left-padded generation that stops where the
template ends an answer.

A prompt method's model (P-tuning, prompt tuning) generates from embeddings with its virtual
tokens in front, through the base model: peft's own generate ignores position ids behind virtual
tokens (a left-padded prompt would sit at other positions than in training) and, with
transformers 5, drifts from its own forward once the cache holds a few tokens.

An answer ends at the end-of-text token or at the template's end of turn (``<|im_end|>``,
``<|end|>``, or what the model's chat template closes an answer with), whichever comes first;
one that reaches max-new-tokens first is marked ``length``, unfinished. Greedy by default;
with a temperature above 0 it samples (top-p), seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from dqe.eval.report import EvalSettings, Generated
from dqe.train.loss import virtual_token_count, with_virtual_tokens


def _single_token(tokenizer: Any, text: str) -> int | None:
    """The id of ``text`` when the tokenizer spells it as one token (a special marker)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids[0] if len(ids) == 1 else None


class Generator:
    """Generates answers with one model (or the same one with its adapter switched off)."""

    def __init__(
        self,
        tokenizer: Any,
        *,
        end_of_turn: str | None,
        max_prompt_tokens: int,
        device: torch.device,
        settings: EvalSettings,
    ):
        self.tokenizer = tokenizer
        self.end_of_turn = end_of_turn
        self.max_prompt = max_prompt_tokens
        self.device = device
        self.settings = settings
        self.eos = tokenizer.eos_token_id
        self.turn_id = _single_token(tokenizer, end_of_turn) if end_of_turn else None
        self.stop_ids = sorted({i for i in (self.eos, self.turn_id) if i is not None})
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.eos or 0)

    def _config(self) -> Any:
        from transformers import GenerationConfig

        s = self.settings
        sampling = s.temperature > 0
        return GenerationConfig(
            max_new_tokens=s.max_new_tokens,
            do_sample=sampling,
            temperature=s.temperature if sampling else None,
            top_p=s.top_p if sampling else None,
            top_k=None,
            eos_token_id=self.stop_ids or None,
            pad_token_id=self.pad,
            # an end of turn of several tokens stops by text (transformers checks it each step)
            stop_strings=[self.end_of_turn] if self.end_of_turn and self.turn_id is None else None,
            use_cache=True,
        )

    def _finish(self, ids: list[int]) -> Generated:
        """Cut a row of new tokens at its stop; decode it."""
        stopped = "length"
        for at, token in enumerate(ids):
            if token in self.stop_ids:
                stopped = "end-of-turn" if token == self.turn_id else "eos"
                ids = ids[: at + 1]
                break
        else:  # a row that stopped at an end-of-turn text is padded after it
            while ids and ids[-1] == self.pad:
                ids = ids[:-1]
        kept = ids[:-1] if stopped != "length" else ids
        text = self.tokenizer.decode(kept, skip_special_tokens=False)
        if self.end_of_turn and self.end_of_turn in text:
            text = text[: text.index(self.end_of_turn)]
            stopped = "end-of-turn"
        return Generated(text=text.strip(), stopped=stopped, tokens=len(ids))  # type: ignore[arg-type]

    def _new_tokens(self, model: Any, ids: torch.Tensor, mask: torch.Tensor, config: Any) -> torch.Tensor:
        """The tokens generated after each (left-padded) prompt. Virtual tokens go in front of the
        padding, whose mask keeps the prompt's positions where training had them."""
        tokenizer = self.tokenizer if config.stop_strings else None
        if not virtual_token_count(model):
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config, tokenizer=tokenizer)
            return out[:, ids.shape[1] :]
        inputs = with_virtual_tokens(model, {"input_ids": ids, "attention_mask": mask})
        # from embeddings alone, generate returns only the new tokens
        return model.get_base_model().generate(**inputs, generation_config=config, tokenizer=tokenizer)

    @torch.no_grad()
    def generate(self, model: Any, prompts: Sequence[np.ndarray]) -> list[Generated]:
        """One answer per prompt (token ids), in the order given."""
        config = self._config()
        if self.settings.temperature > 0:
            torch.manual_seed(self.settings.seed)
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))  # little padding
        out: dict[int, Generated] = {}
        model.eval()
        for start in range(0, len(order), self.settings.batch_size):
            chosen = order[start : start + self.settings.batch_size]
            rows = [prompts[i][-self.max_prompt :].tolist() for i in chosen]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, row in enumerate(rows):  # left padding: every prompt ends where generation starts
                ids[r, width - len(row) :] = torch.tensor(row, dtype=torch.long)
                mask[r, width - len(row) :] = 1
            generated = self._new_tokens(model, ids.to(self.device), mask.to(self.device), config)
            for r, i in enumerate(chosen):
                out[i] = self._finish(generated[r].tolist())
        return [out[i] for i in range(len(prompts))]
