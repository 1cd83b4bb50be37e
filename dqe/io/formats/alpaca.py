"""Alpaca: instruction, input, output, optional system and history of [instruction, answer] pairs."""

from __future__ import annotations

import re
from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Columns, Normalized, RecordFormat, Tags, metadata, text_field
from dqe.records import Record

# Common spellings of Alpaca's fields, the default first, with what the note calls each.
SPELLINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "prompt": ("instruction", ("instruction", "prompt", "question", "query", "src")),  # src / tgt: PaddleNLP's
    "query": ("input", ("input", "context")),
    "response": ("answer", ("output", "response", "completion", "answer", "chosen", "tgt")),
}


class Alpaca(RecordFormat):
    name = "alpaca"
    summary = "instruction / input / output, with optional system and history"

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        """Each unmapped field read from the spelling most of ``sample`` uses (``response``,
        ``completion``, ``answer`` for the answer; ``prompt``, ``question``; ``context``)."""
        fitted: dict[str, str] = {}
        notes: list[str] = []
        for field, (what, names) in SPELLINGS.items():
            if field in columns.model_fields_set:
                continue
            counts = [sum(name in obj for obj in sample) for name in names]
            best = max(range(len(names)), key=lambda i: (counts[i], -i))
            if counts[best] and names[best] != getattr(columns, field):
                fitted[field] = names[best]
                notes.append(f"{what} read from '{names[best]}'")
        return (columns.model_copy(update=fitted) if fitted else columns), notes

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        return columns.prompt in obj or columns.response in obj

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        get = obj.get
        instruction, query = get(columns.prompt), get(columns.query)
        response, system = get(columns.response), get(columns.system)
        roles: list[str] = []
        contents: list[str] = []
        history = obj.get(columns.history)
        if history is not None:
            roles, contents = _history(history, columns.history)
        spoken = bool(history) and all(type(turn) is str for turn in history)  # type: ignore[union-attr]
        if not (  # the common case in one test; text_field says what is wrong otherwise
            type(instruction) is str
            and type(response) is str
            and (query is None or type(query) is str)
            and (system is None or type(system) is str)
        ):
            query = text_field(obj, columns.query, required=False)
            # {input, output} records (lawyer-llama's and many more): the input is the question
            instruction = text_field(obj, columns.prompt, required=not query and not spoken)
            if instruction is None:
                instruction, query = query, None
            # a history of turns with no answer beside it is the whole conversation
            response = text_field(obj, columns.response, required=not spoken)
            system = text_field(obj, columns.system, required=False)
        if response is None:
            asked = f"{instruction}\n{query}" if query else instruction
            if asked is not None and asked.strip() != contents[0].strip():  # not the history's opening again
                roles.append("user")
                contents.append(asked)
            return Normalized(system or None, roles, contents, None, *metadata(obj, columns), query or None)
        roles += ("user", "assistant")
        contents += (f"{instruction}\n{query}" if query else instruction, response)
        return Normalized(system or None, roles, contents, None, *metadata(obj, columns), query or None)

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        turns = [t for t in record.turns if t.role != "system"]
        if any(t.role not in ("user", "assistant") for t in turns):
            raise RecordError("Alpaca has no place for tool calls or tool results")
        if (
            len(turns) < 2
            or len(turns) % 2
            or any(t.role != ("user" if i % 2 == 0 else "assistant") for i, t in enumerate(turns))
        ):
            raise RecordError("Alpaca needs alternating user and assistant turns, ending on an answer")
        out: dict[str, Any] = {}
        if record.system:
            out[columns.system] = record.system
        out[columns.prompt] = turns[-2].content
        out[columns.query] = ""
        out[columns.response] = turns[-1].content
        if len(turns) > 2:
            out[columns.history] = [[turns[i].content, turns[i + 1].content] for i in range(0, len(turns) - 2, 2)]
        return out

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {columns.prompt, columns.query, columns.response, columns.system, columns.history}


# A speaker's label opening each turn of a history written as strings: "[客户] ..." / "[律师] ..."
_LABEL = re.compile(r"\[([^\[\]\n]{1,20})\]\s*")


def _history(history: Any, key: str) -> tuple[list[str], list[str]]:
    """The turns of a ``history``: [instruction, answer] pairs, or the conversation's turns as
    strings in order (lawyer-llama's), the user's first. Where every string opens with a
    speaker's label in brackets and there are two speakers, each turn's role is its speaker's (the
    first one's the user's) and the label is not part of its text; else turns alternate."""
    if not isinstance(history, list):
        raise RecordError(f"field '{key}' must be a list of [instruction, answer] pairs")
    if history and all(isinstance(turn, str) for turn in history):
        labels = [_LABEL.match(turn) for turn in history]
        speakers = list(dict.fromkeys(m.group(1) for m in labels if m))
        if all(labels) and len(speakers) <= 2:
            roles = ["user" if m.group(1) == speakers[0] else "assistant" for m in labels]  # type: ignore[union-attr]
            return roles, [turn[m.end() :] for turn, m in zip(history, labels, strict=True)]  # type: ignore[union-attr]
        if all(labels):
            raise RecordError(f"'{key}' has {len(speakers)} speakers ({', '.join(speakers)}); a conversation has two")
        return ["user" if i % 2 == 0 else "assistant" for i in range(len(history))], list(history)
    roles: list[str] = []
    contents: list[str] = []
    for i, pair in enumerate(history):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise RecordError(f"'{key}[{i}]' must be a pair of strings [instruction, answer]")
        roles += ("user", "assistant")
        contents += pair
    return roles, contents


@hookimpl
def dqe_register_formats(register):
    register(Alpaca())
