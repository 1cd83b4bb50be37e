"""The output folder of ``dqe augment``, which is also its memory: a run that stops (a budget, a
review, an error) continues where it left off when run again into the same folder.

    generated.jsonl         the accepted records, in the data's format, each with its provenance
    rejected.jsonl          every rejected record (and unreadable reply), with its reasons
    state.json              targets, rounds, spending, the mistakes fed back, a review pending
    review-round-N.jsonl    a round waiting for a person's marks (with --review)

What has been accepted is read from generated.jsonl itself, so it is counted once whatever
happened to a run; a round's files are replaced together, all or none.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from dqe.augment.prompt import Mistake, ReviewedOut
from dqe.errors import InputError
from dqe.io.files import json_objects
from dqe.io.inputs import ANNOTATION, GENERATED
from dqe.io.values import dumps
from dqe.io.writers import ObjectWriter, OutputSet

GENERATED_FILE = "generated.jsonl"
REJECTED_FILE = "rejected.jsonl"
STATE_FILE = "state.json"
CANDIDATES_FILE = ".candidates.jsonl"  # a round's records while they are checked
STATE_VERSION = 1


class RoundLog(BaseModel):
    round: int
    category: str
    asked: int
    received: int = 0  # records in the reply
    accepted: int = 0
    rejected: int = 0
    reasons: dict[str, int] = Field(default_factory=dict)  # records rejected per reason
    prompt_sha256: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failed: str | None = None  # the request failed after its retries: why
    review: str | None = None  # the file a person marks, with --review


class State(BaseModel):
    version: int = STATE_VERSION
    targets: dict[str, int]  # records wanted per category, fixed by the first run
    rounds: list[RoundLog] = Field(default_factory=list)
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    mistakes: dict[str, Mistake] = Field(default_factory=dict)
    reviewed_out: list[ReviewedOut] = Field(default_factory=list)
    pending_review: str | None = None  # a review file not read back yet

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def load_state(out: Path) -> State | None:
    """The state of an earlier run into ``out``, or None for a fresh folder."""
    path = out / STATE_FILE
    if not path.exists():
        return None
    try:
        state = State.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        raise InputError(
            f"{path}: not a state file dqe augment can continue from ({str(exc).splitlines()[0]}); "
            "move it away to start afresh"
        ) from None
    if state.version != STATE_VERSION:
        raise InputError(f"{path}: written by another version of dqe augment (state version {state.version})")
    return state


def accepted_counts(out: Path) -> Counter[str]:
    """Records accepted so far per category, from their provenance in generated.jsonl."""
    counts: Counter[str] = Counter()
    for _, obj in read_jsonl(out / GENERATED_FILE):
        provenance = obj.get(ANNOTATION, {}).get(GENERATED, {}) if isinstance(obj.get(ANNOTATION), dict) else {}
        counts[str(provenance.get("category"))] += 1
    return counts


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a JSONL file dqe augment wrote, with their line numbers (none when it does
    not exist yet); a line that is no JSON object stops the run naming it."""
    return list(json_objects(path)) if path.exists() else []


def save(
    out: Path,
    state: State,
    appended: dict[str, list[dict[str, Any]]],
    replaced: dict[str, list[dict[str, Any]]] | None = None,
) -> None:
    """Write the state with ``appended`` records added to the end of their files and
    ``replaced`` files written anew, all or none."""
    with OutputSet() as files:
        for name, records in appended.items():
            path = out / name
            pending = files.open(path)
            if path.exists():
                pending.write(path.read_bytes())
            writer = ObjectWriter(pending)
            for record in records:
                writer.write(record)
            writer.close()
        for name, records in (replaced or {}).items():
            writer = ObjectWriter(files.open(out / name))
            for record in records:
                writer.write(record)
            writer.close()
        files.open(out / STATE_FILE).write(dumps(state.model_dump(mode="json")) + b"\n")
