"""Anthropic's HH-RLHF transcripts: a conversation written as one string, each turn opened by
``\\n\\nHuman:`` or ``\\n\\nAssistant:``, in ``chosen`` (with ``rejected`` beside it: never checked,
written back as it came) or ``transcript`` (the red-team attempts)."""

from __future__ import annotations

import re
from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Columns, Normalized, RecordFormat, Tags, metadata, preference_note
from dqe.records import Record

TRANSCRIPT = "transcript"
# A turn's marker: a blank line (or the text's start), the speaker, a colon and one space
_MARKER = re.compile(r"(?:\A|\n\n)(Human|Assistant):[ ]?")
_ROLES = {"Human": "user", "Assistant": "assistant"}
_SPEAKERS = {role: speaker for speaker, role in _ROLES.items()}


def _key(obj: dict[str, Any], columns: Columns) -> str | None:
    """The field holding the transcript: ``chosen`` (or its mapped name), else ``transcript``."""
    for key in (columns.chosen, TRANSCRIPT):
        value = obj.get(key)
        if isinstance(value, str) and _MARKER.match(value.lstrip(" ")):
            return key
    return None


class Transcript(RecordFormat):
    name = "hh-rlhf"
    summary = "Human:/Assistant: transcripts in chosen or transcript (Anthropic HH-RLHF); rejected kept as it came"

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        return _key(obj, columns) is not None

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        return columns, preference_note(sample, columns)

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        key = _key(obj, columns)
        if key is None:
            raise RecordError(
                f"field '{columns.chosen}' (or '{TRANSCRIPT}') must be a transcript opening with '\\n\\nHuman:'"
            )
        text = obj[key].lstrip(" ")
        markers = list(_MARKER.finditer(text))
        roles = [_ROLES[m.group(1)] for m in markers]
        ends = [m.start() for m in markers[1:]] + [len(text)]
        contents = [text[m.end() : end] for m, end in zip(markers, ends, strict=True)]
        return Normalized(None, roles, contents, None, *metadata(obj, columns))

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        if record.system or any(t.role not in _SPEAKERS for t in record.turns):
            raise RecordError("hh-rlhf holds only Human and Assistant turns: no system prompt, no tool turns")
        key = _key(record.original, columns)
        return {key or columns.chosen: "".join(f"\n\n{_SPEAKERS[t.role]}: {t.content}" for t in record.turns)}

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {columns.chosen, TRANSCRIPT}


@hookimpl
def dqe_register_formats(register):
    register(Transcript())
