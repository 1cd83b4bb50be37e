"""The two sequences a record is scored on: the answer after its question, and the answer alone.

"With the question" is exactly what the trainer learns from the record: its encoding (template
or chat template, system prompt, masking) fitted to seq-len, labels on the supervised tokens.
"Alone" is the model's leading special tokens (a BOS) followed by those same supervised tokens
and nothing else: no system prompt, no question, no template around them, as Cherry LLM scores
the answer alone. Both passes predict the very same tokens, so their perplexities compare, and
IFD, their ratio, says how much the question helps the model predict the answer. With
``learn-all-turns`` every learned assistant turn counts, token-weighted, in both passes. Nothing
here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from dqe.engine.encoding import IGNORE, Encoded, fit_length

_DROPPED = {
    "too-long": "the trainer drops it: longer than seq-len {seq_len} (overlong = drop)",
    "answer-truncated-away": "seq-len {seq_len} cuts the whole answer away",
    "no-supervised-tokens": "no supervised token: nothing the trainer learns from",
}


@dataclass
class Pair:
    given: Encoded  # the trainer's encoding, fitted to seq-len
    alone: Encoded  # the leading special tokens, then the same answer tokens

    @property
    def tokens(self) -> int:
        """Answer tokens predicted in both passes."""
        return self.given.supervised


def answer_pair(
    encoded: Encoded | str, leading: list[int], seq_len: int, overlong: Literal["truncate", "drop"]
) -> Pair | str:
    """The record's two sequences, or why it cannot be scored (a string)."""
    if isinstance(encoded, str):
        return f"the template cannot render it: {encoded}"
    fitted, _, dropped = fit_length(encoded, seq_len, overlong)
    if fitted is None:
        return _DROPPED[dropped or "no-supervised-tokens"].format(seq_len=seq_len)
    labels = fitted.labels.copy()
    answer = labels[labels != IGNORE]
    alone_ids = np.concatenate([np.asarray(leading, dtype=np.int32), answer])
    alone_labels = np.concatenate([np.full(len(leading), IGNORE, dtype=np.int32), answer])
    if not leading:  # nothing comes before the answer alone: its first token cannot be predicted in either pass
        labels[np.flatnonzero(labels != IGNORE)[0]] = IGNORE
        alone_labels[0] = IGNORE
    if not (labels != IGNORE).any():
        return "a one-token answer: without a token before it, nothing is left to predict"
    return Pair(Encoded(fitted.ids, labels), Encoded(alone_ids, alone_labels))
