"""What one round asks the model: records of a category shaped like the seeds, and the mistakes
earlier rounds made, so that each round learns from the last (the practice: generate about 20
at a time, review them, feed the mistakes back).

The mistakes are the most common rejection reasons so far, each with what the rule checks and
one record's message, and the records a reviewer rejected, with the reviewer's note.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

SYSTEM = (
    "You write training examples for supervised fine-tuning of a language model. Every example is "
    "a record a careful human expert could have written: correct, complete, specific, in plain prose "
    "that does not talk about itself."
)
EXAMPLE_CHARS = 1_500  # of a seed or a reviewer-rejected record, in the prompt


class Mistake(BaseModel):
    """One reason records were rejected, counted over the rounds."""

    key: str  # the rule's code, or what else rejected them ("off-category", "malformed", "review")
    label: str  # shown in reports: "DQ203 boilerplate"
    summary: str  # what it rejects, for the model
    example: str  # one record's message
    count: int = 0


class ReviewedOut(BaseModel):
    """A record a reviewer rejected, and why."""

    record: dict[str, Any]
    note: str


def build_messages(
    category: str,
    count: int,
    seeds: list[dict[str, Any]],
    mistakes: list[Mistake],
    reviewed: list[ReviewedOut],
    shape: Sequence[dict[str, Any]] = (),
) -> list[dict[str, str]]:
    """The chat messages of one round's request; ``shape``: records of other categories, shown
    for their fields when the category has no seeds."""
    parts = [
        f'Write {count} new training records of the task category "{category}".',
        "Reply with a JSON array of the records and nothing else. Each record is one JSON object with "
        "exactly the fields of the examples below.",
        "Make every record different from the examples and from each other: new topics, new wording, "
        "varied length and difficulty.",
    ]
    if seeds:
        parts.append("Examples from the data set:\n" + "\n".join(_shown(seed) for seed in seeds))
    elif shape:
        parts.append(
            f'Records of the data set, of other categories (write "{category}" records with these fields):\n'
            + "\n".join(_shown(record) for record in shape)
        )
    if mistakes:
        lines = [f"- {m.summary} ({m.count} rejected so far; for example: {m.example})" for m in mistakes]
        parts.append("Mistakes to avoid (why earlier records were rejected):\n" + "\n".join(lines))
    if reviewed:
        lines = [f"- {_shown(r.record)}\n  reviewer: {r.note or 'rejected'}" for r in reviewed]
        parts.append("Records a reviewer rejected (do not write records like these):\n" + "\n".join(lines))
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def prompt_hash(messages: list[dict[str, str]]) -> str:
    """The sha256 of the request's messages: the provenance a generated record carries."""
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def most_common(mistakes: dict[str, Mistake], n: int) -> list[Mistake]:
    """The ``n`` reasons that rejected the most records (ties: the reason first seen)."""
    return sorted(mistakes.values(), key=lambda m: -m.count)[:n]


def _shown(record: dict[str, Any]) -> str:
    text = json.dumps(record, ensure_ascii=False)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"
