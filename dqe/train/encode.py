"""The trainer's side of the encoding: a run's encoder from its config, and the ledger.

The encoders themselves (templates, masking, ``fit_length``) are ``dqe.engine.encoding``, the
same ones ``dqe check --model`` counts with, so the length a record was checked at is the
length it is trained at. Every record gets a ledger row; a record whose answer would be cut
away entirely is dropped and counted, never trained on silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, Literal

from dqe.engine.encoding import ChatTemplateEncoder, Encoded, TemplateEncoder, fit_length
from dqe.engine.encoding import make_encoder as encoder_for
from dqe.engine.ledger import LedgerRow
from dqe.engine.train_config import TrainConfig
from dqe.io.formats.base import Columns

_CHUNK = 4096  # records tokenized per batch call


def make_encoder(config: TrainConfig, tokenizer: Any, registry: Any, columns: Columns) -> Any:
    """The run's encoder: its template (or the model's chat template), system prompt, masking."""
    return encoder_for(
        tokenizer,
        config.template,
        registry.templates,
        system=config.system,
        learn_all_turns=config.learn_all_turns,
        columns=columns,
    )


def encode_examples(
    encoder: TemplateEncoder | ChatTemplateEncoder,
    examples: Iterable[Any],
    seq_len: int,
    overlong: Literal["truncate", "drop"],
) -> tuple[dict[int, Encoded], list[LedgerRow]]:
    """Encode every example that has a split; the ledger has a row for every example."""
    examples = list(examples)
    usable = [e for e in examples if e.problem is None and e.split is not None]
    encoded: dict[int, Encoded] = {}
    rows: dict[int, LedgerRow] = {}
    for start in range(0, len(usable), _CHUNK):
        chunk = usable[start : start + _CHUNK]
        for e, enc in zip(chunk, encoder.encode([e.record for e in chunk]), strict=True):
            if isinstance(enc, str):
                rows[e.index] = LedgerRow(e.id, e.source, e.split, e.category, None, None, None, False, enc)
                continue
            fitted, truncated, dropped = fit_length(enc, seq_len, overlong)
            rows[e.index] = LedgerRow(
                e.id,
                e.source,
                e.split,
                e.category,
                len(enc),
                len(fitted) if fitted else 0,
                fitted.supervised if fitted else 0,
                truncated,
                dropped,
            )
            if fitted is not None:
                encoded[e.index] = fitted
    ledger = [
        rows.get(e.index) or LedgerRow(e.id, e.source, e.split, e.category, None, None, None, False, e.problem)
        for e in examples
    ]
    return encoded, ledger


def ledger_totals(ledger: list[LedgerRow]) -> dict[str, Any]:
    """The ledger's totals for the run manifest: records, tokens and drops per split."""
    out: dict[str, Any] = {
        "records": len(ledger),
        "dropped": dict(Counter(r.dropped.split(":")[0] for r in ledger if r.dropped)),
    }
    for split in ("train", "val", "test"):
        rows = [r for r in ledger if r.split == split and r.dropped is None]
        out[split] = {
            "records": len(rows),
            "tokens": sum(r.kept or 0 for r in rows),
            "supervised_tokens": sum(r.supervised or 0 for r in rows),
            "truncated": sum(r.truncated for r in rows),
        }
    out["truncated"] = sum(r.truncated for r in ledger)
    return out


def ledger_dicts(ledger: list[LedgerRow]) -> Iterable[dict[str, Any]]:
    return (asdict(r) for r in ledger)
