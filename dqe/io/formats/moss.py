"""MOSS's SFT conversations (OpenLMLab/MOSS, fnlp/moss-003-sft-data): ``meta_instruction`` (the
system prompt) and ``chat``, an object of ``turn_1``, ``turn_2``, ... each holding the speakers'
texts as the model reads them, speaker tag and end token included (``"<|Human|>: Hi<eoh>\\n"``).

A turn is the user's text (``Human``), optionally the model's reasoning (``Inner Thoughts``), a
tool call (``Commands``) and its results (``Tool Responses``), and the answer (``MOSS``); ``None``
for a thought or a command means none. The inner thoughts are the answer's reasoning trace: read
as a ``<think>`` block before the answer (``traced``), they count as its reasoning (DQ201) and are
left out of what judges the reply (its language, boilerplate, length). ``dqe filter`` writes the
object back as it came; ``dqe convert`` to moss writes a trace that opens an answer back as its
inner thoughts."""

from __future__ import annotations

import re
from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import (
    Columns,
    Normalized,
    RecordFormat,
    Tags,
    metadata,
    split_trace,
    text_field,
    traced,
    turn_text,
)
from dqe.records import Record, Turn

CHAT = "chat"
META = "meta_instruction"
NUM_TURNS = "num_turns"
_TURN = re.compile(r"turn_([1-9][0-9]*)")
# Each key's speaker tag and end token, as MOSS's training data writes them
_HUMAN, _THOUGHTS, _COMMANDS, _RESULTS, _MOSS = "Human", "Inner Thoughts", "Commands", "Tool Responses", "MOSS"
_MARKS = {
    _HUMAN: ("<|Human|>:", "<eoh>"),
    _THOUGHTS: ("<|Inner Thoughts|>:", "<eot>"),
    _COMMANDS: ("<|Commands|>:", "<eoc>"),
    _RESULTS: ("<|Results|>:", "<eor>"),
    _MOSS: ("<|MOSS|>:", "<eom>"),
}
_NO_CALL = ("", "None")


def _text(turn: dict[str, Any], number: int, key: str, *, required: bool) -> str | None:
    """The text of ``chat.turn_N.key`` without its speaker tag and end token: the tag and the one
    space or newline after it, the end token with the newline after it (and before it, when the
    text opened on a new line: MOSS's tool results); nothing else is touched."""
    if turn.get(key) is None and not required:
        return None
    value = turn_text(turn, key, f"{CHAT}.turn_{number}.{key}")
    tag, end = _MARKS[key]
    block = False
    if value.startswith(tag):
        value = value[len(tag) :]
        block = value.startswith("\n")
        if value[:1] in (" ", "\n"):
            value = value[1:]
    for ending in (end + "\n", end):
        if value.endswith(ending):
            value = value[: -len(ending)]
            if block and value.endswith("\n"):
                value = value[:-1]
            break
    return value


def _turns(obj: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """``chat``'s turns in their order (turn_10 after turn_9), each with its number; RecordError
    when one is missing or is not an object (MOSS's trainer reads turn_1 to turn_N by name)."""
    chat = obj.get(CHAT)
    if not isinstance(chat, dict) or not chat:
        what = "missing" if chat is None else "empty" if chat == {} else "not an object"
        raise RecordError(f"field '{CHAT}' is {what}: a conversation needs at least turn_1")
    numbered: list[tuple[int, dict[str, Any]]] = []
    for key, turn in chat.items():
        match = _TURN.fullmatch(key)
        if match is None:
            raise RecordError(f"'{CHAT}.{key}' is not a turn: keys are turn_1, turn_2, ...")
        if not isinstance(turn, dict):
            raise RecordError(f"'{CHAT}.{key}' must be an object with '{_HUMAN}' and '{_MOSS}'")
        numbered.append((int(match.group(1)), turn))
    numbered.sort(key=lambda item: item[0])
    for expected, (number, _) in enumerate(numbered, 1):
        if number != expected:
            raise RecordError(f"'{CHAT}.turn_{expected}' is missing (the turns go on to turn_{numbered[-1][0]})")
    declared = obj.get(NUM_TURNS)
    if declared is not None and str(declared) != str(len(numbered)):
        raise RecordError(f"'{NUM_TURNS}' is {declared!r} but '{CHAT}' holds {len(numbered)} turns")
    return numbered


class Moss(RecordFormat):
    name = "moss"
    summary = "meta_instruction and chat of turn_N {Human, Commands, Tool Responses, MOSS} (MOSS)"

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        chat = obj.get(CHAT)
        return isinstance(chat, dict) and bool(chat) and _TURN.fullmatch(next(iter(chat))) is not None

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        roles: list[str] = []
        contents: list[str] = []
        for number, turn in _turns(obj):
            roles.append("user")
            contents.append(_text(turn, number, _HUMAN, required=True))  # type: ignore[arg-type]
            command = _text(turn, number, _COMMANDS, required=False)
            if command is not None and command.strip() not in _NO_CALL:
                roles += ["tool_call", "tool"]
                contents += [command, _text(turn, number, _RESULTS, required=True)]  # type: ignore[list-item]
            thoughts = _text(turn, number, _THOUGHTS, required=False)
            answer: str = _text(turn, number, _MOSS, required=True)  # type: ignore[assignment]
            roles.append("assistant")
            contents.append(answer if thoughts is None or thoughts.strip() in _NO_CALL else traced(thoughts, answer))
        system = text_field(obj, META, required=False)
        return Normalized(system or None, roles, contents, None, *metadata(obj, columns))

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        chat: dict[str, dict[str, str]] = {}
        exchange: list[Turn] = []
        for turn in record.turns:
            exchange.append(turn)
            if turn.role == "assistant":
                chat[f"turn_{len(chat) + 1}"] = _written(exchange)
                exchange = []
        if exchange or not chat:
            raise RecordError("moss needs exchanges of a user turn, a tool call and its result or none, and an answer")
        out: dict[str, Any] = {}
        if record.system:
            out[META] = record.system
        return {**out, NUM_TURNS: len(chat), CHAT: chat}

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {CHAT, META, NUM_TURNS}


def _written(exchange: list[Turn]) -> dict[str, str]:
    """One MOSS turn from [user, (tool_call, tool)?, assistant], each text with its tag and token."""
    roles = [t.role for t in exchange]
    if roles not in (["user", "assistant"], ["user", "tool_call", "tool", "assistant"]):
        raise RecordError(
            f"moss needs exchanges of a user turn, a tool call and its result or none, and an answer, got {roles}"
        )
    keys = [_HUMAN, _MOSS] if len(exchange) == 2 else [_HUMAN, _COMMANDS, _RESULTS, _MOSS]
    texts = [turn.content for turn in exchange]
    thoughts, texts[-1] = split_trace(texts[-1])
    if thoughts is not None:  # MOSS's place for the answer's reasoning, before any tool call
        keys.insert(1, _THOUGHTS)
        texts.insert(1, thoughts)
    written = {}
    for key, text in zip(keys, texts, strict=True):
        tag, end = _MARKS[key]
        written[key] = f"{tag}\n{text}\n{end}\n" if key == _RESULTS else f"{tag} {text}{end}\n"
    return written


@hookimpl
def dqe_register_formats(register):
    register(Moss())
