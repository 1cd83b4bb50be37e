"""Optional: how close each answer is in meaning to its reference, by a local embedding model.

The model is a sentence-transformers folder (``modules.json``, a transformer, ``1_Pooling``)
or a plain transformers encoder, loaded offline with transformers alone; its pooling (mean,
CLS, max or last token) and maximum length are read from the folder. The score is the cosine
of the two embeddings; an empty answer or reference scores 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dqe.errors import ConfigError

_POOLING_KEYS = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_lasttoken", "last"),
    ("pooling_mode_mean_tokens", "mean"),
)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8")) if path.is_file() else None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--embedding-model: {path} cannot be read: {exc}") from None


class Embedder:
    def __init__(self, folder: Path, device: torch.device, batch_size: int = 32):
        from transformers import AutoModel, AutoTokenizer

        if not folder.is_dir():
            raise ConfigError(f"--embedding-model {folder}: no such folder (a local sentence-transformers model)")
        modules = _read(folder / "modules.json") or []
        kinds = {
            str(m.get("type", "")).rsplit(".", 1)[-1]: folder / m.get("path", "")
            for m in modules
            if isinstance(m, dict)
        }
        body = kinds.get("Transformer", folder)
        pooling = _read(kinds.get("Pooling", folder / "1_Pooling") / "config.json") or {}
        self.pooling = next((mode for key, mode in _POOLING_KEYS if pooling.get(key)), "mean")
        settings = _read(body / "sentence_bert_config.json") or _read(folder / "sentence_bert_config.json") or {}
        self.max_length = int(settings.get("max_seq_length") or 512)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(body), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(body), local_files_only=True).to(device).eval()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--embedding-model {folder}: cannot load it offline: {exc}") from None
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.tokenizer.padding_side = "right"
        self.device = device
        self.batch_size = batch_size
        self.name = str(folder)

    @torch.no_grad()
    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        rows = []
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(
                texts[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**enc).last_hidden_state.float()
            mask = enc["attention_mask"].unsqueeze(-1).float()
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            elif self.pooling == "max":
                pooled = hidden.masked_fill(mask == 0, float("-inf")).max(dim=1).values
            elif self.pooling == "last":
                last = enc["attention_mask"].sum(dim=1) - 1
                pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
            else:
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def similarity(self, answers: dict[str, list[str]], references: list[str]) -> dict[str, list[float]]:
        """Per model, the cosine similarity of each answer to its reference (0 where either is
        empty)."""
        wanted = self.embed(references)
        out = {}
        for model, texts in answers.items():
            cosine = (self.embed(texts) * wanted).sum(axis=1) if texts else np.zeros(0)
            out[model] = [
                float(c) if answer.strip() and reference.strip() else 0.0
                for c, answer, reference in zip(cosine, texts, references, strict=True)
            ]
        return out
