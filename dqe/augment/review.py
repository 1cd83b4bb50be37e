"""A round held for a person's review (``--review``): one JSON line per record the rules passed,

    {"mark": null, "note": "", "round": 3, "category": "translation", "record": {...}}

to be marked ``"accept"`` or ``"reject"`` (the note says why, and goes to the model with the
record as a mistake to avoid). The next run reads the marks before anything else; a record
left unmarked stops it, naming the line, and nothing is lost or taken for accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from dqe.augment.state import read_jsonl
from dqe.errors import InputError

MARKS = ("accept", "reject")


class Marked(NamedTuple):
    accepted: list[dict[str, Any]]
    rejected: list[tuple[dict[str, Any], str]]  # the record and the reviewer's note


def review_file(round_: int) -> str:
    return f"review-round-{round_}.jsonl"


def for_review(records: list[dict[str, Any]], round_: int, category: str) -> list[dict[str, Any]]:
    """The lines of a review file for ``records``."""
    return [{"mark": None, "note": "", "round": round_, "category": category, "record": r} for r in records]


def read_marks(path: Path) -> Marked:
    """The records of a marked review file; ``InputError`` naming the first line without a
    valid mark."""
    if not path.exists():
        raise InputError(f"{path}: the review file of the last round is missing; restore it to continue")
    marked = Marked([], [])
    for number, line in read_jsonl(path):
        mark = line.get("mark")
        record = line.get("record")
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}: 'record' must be the record object, as it was written")
        if mark not in MARKS:
            raise InputError(
                f"{path}:{number}: 'mark' is {mark!r}; set it to \"accept\" or \"reject\" (with a 'note' saying why), "
                "then run dqe augment again"
            )
        if mark == "accept":
            marked.accepted.append(record)
        else:
            marked.rejected.append((record, str(line.get("note") or "")))
    return marked
