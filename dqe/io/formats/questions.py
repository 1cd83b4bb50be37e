"""Questions without answers: evaluation sets such as MT-Bench (``turns``, the user's turns of a
conversation), a JSONL of prompts (``prompt``, ``question`` or ``instruction`` alone) or
function-calling sets such as BFCL, whose ``question`` is the user's messages, a list per turn.
Read to be checked against (``--against``): as training data every record lacks its answer
(DQ001)."""

from __future__ import annotations

from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.alpaca import SPELLINGS
from dqe.io.formats.base import Columns, Normalized, RecordFormat, Tags, metadata, text_field
from dqe.records import Record

TURNS = "turns"
_ASKS = SPELLINGS["prompt"][1]  # instruction, prompt, question, query
_ANSWERS = SPELLINGS["response"][1]  # output, response, completion, answer


class Questions(RecordFormat):
    name = "questions"
    summary = "questions alone: MT-Bench turns, or a prompt per record (evaluation sets for --against)"

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        """No field is renamed; the note names the text fields left unread, where the answer may
        be under a name no format knows (``response1``, ``ground_truth``): every record of such a
        file fails DQ001, and the note says how to read one of them as the answer."""
        read = self.owned_keys(columns, Tags()) | {columns.category, columns.domain, columns.language}
        texts = [
            key
            for key in dict.fromkeys(key for obj in sample for key in obj)
            if key not in read and sum(_is_text(obj.get(key)) for obj in sample) * 2 >= len(sample)
        ]
        if not texts:
            return columns, []
        named = ", ".join(f"'{key}'" for key in texts[:4]) + (f" and {len(texts) - 4} more" if len(texts) > 4 else "")
        return columns, [
            f"questions alone, no answer field; text not read from {named} "
            f"(to check one as the answer: --columns response={texts[0]})"
        ]

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        if any(key in obj for key in (*_ANSWERS, columns.response, "messages", "conversations", "instances")):
            return False
        history = obj.get(columns.history)
        if isinstance(history, list) and history and all(isinstance(turn, str) for turn in history):
            return False  # the conversation's turns, answers among them: Alpaca's
        turns = obj.get(TURNS)
        if isinstance(turns, list):
            return bool(turns) and all(isinstance(t, str) for t in turns)
        return sum(key in obj for key in _ASKS) == 1

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        if TURNS in obj:
            turns = obj[TURNS]
            if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
                raise RecordError(f"field '{TURNS}' must be a list of strings, the user's turns")
            asks = list(turns)
            query = None
        else:
            key = next((k for k in _ASKS if k in obj), columns.prompt)
            query = text_field(obj, columns.query, required=False) or None  # Alpaca's input, as Alpaca reads it
            if isinstance(obj.get(key), list):
                asks = _messages(obj[key], key)
            else:
                ask = text_field(obj, key, required=True)
                asks = [f"{ask}\n{query}" if query else ask]
        return Normalized(None, ["user"] * len(asks), asks, None, *metadata(obj, columns), query)

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        asks = [t.content for t in record.turns if t.role == "user"]
        if not asks or len(asks) != len([t for t in record.turns if t.role != "system"]):
            raise RecordError("questions hold user turns only")
        return {TURNS: asks}

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {TURNS, *_ASKS, columns.query}


def _is_text(value: Any) -> bool:
    """Prose, not an id or a label: 20 characters or more, with a space or a non-ASCII letter."""
    return isinstance(value, str) and len(value) >= 20 and (" " in value or not value.isascii())


def _messages(value: list[Any], key: str) -> list[str]:
    """The user's turns of a question written as messages: strings, messages with a role and
    content, or BFCL's list of them per turn ([[{"role": "user", "content": ...}], ...])."""
    asks = []
    for item in value:
        for message in item if isinstance(item, list) else [item]:
            if isinstance(message, str):
                asks.append(message)
            elif isinstance(message, dict) and isinstance(message.get("content"), str):
                if message.get("role", "user") == "user":
                    asks.append(message["content"])
            else:
                raise RecordError(
                    f"field '{key}' must be a string, or the user's turns: strings or messages with a role "
                    f"and a string content, got {type(message).__name__}"
                )
    if not asks:
        raise RecordError(f"field '{key}' holds no user turn")
    return asks


@hookimpl
def dqe_register_formats(register):
    register(Questions())
