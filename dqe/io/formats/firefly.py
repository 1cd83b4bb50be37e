"""Firefly's conversations: ``conversation``, a list of exchanges, each a ``human`` question and its
``assistant`` answer, and an optional ``system`` (yangjianxin1/Firefly's training data, and the
public sets converted to it). Each exchange is a user turn and the answer to it."""

from __future__ import annotations

from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Columns, Normalized, RecordFormat, Tags, metadata, text_field, turn_text
from dqe.records import Record

CONVERSATION = "conversation"


class Firefly(RecordFormat):
    name = "firefly"
    summary = "conversation of {human, assistant} exchanges (Firefly)"
    question_key = "human"  # an exchange's keys, unless the config's tags name others
    answer_key = "assistant"

    def _keys(self, columns: Columns, tags: Tags) -> tuple[str, str, str]:
        return (
            columns.messages or CONVERSATION,
            tags.user_tag or self.question_key,
            tags.assistant_tag or self.answer_key,
        )

    def _system(self, obj: dict[str, Any], exchanges: list[Any], columns: Columns) -> str | None:
        """The system prompt: a field of the record."""
        return text_field(obj, columns.system, required=False) or None

    def _with_system(self, out: dict[str, Any], system: str | None, columns: Columns) -> dict[str, Any]:
        if system:
            out[columns.system] = system
        return out

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        key, human, _ = self._keys(columns, tags)
        exchanges = obj.get(key)
        return (
            isinstance(exchanges, list) and bool(exchanges) and isinstance(exchanges[0], dict) and human in exchanges[0]
        )

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        key, human, assistant = self._keys(columns, tags)
        exchanges = obj.get(key)
        if not isinstance(exchanges, list) or not exchanges:
            what = "missing" if exchanges is None else "empty" if exchanges == [] else "not a list"
            raise RecordError(f"field '{key}' is {what}: a conversation needs at least one exchange")
        roles: list[str] = []
        contents: list[str] = []
        for i, exchange in enumerate(exchanges):
            if not isinstance(exchange, dict):
                raise RecordError(f"'{key}[{i}]' must be an object with '{human}' and '{assistant}'")
            for tag, role in ((human, "user"), (assistant, "assistant")):
                roles.append(role)
                contents.append(turn_text(exchange, tag, f"{key}[{i}].{tag}"))
        return Normalized(self._system(obj, exchanges, columns), roles, contents, None, *metadata(obj, columns))

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        key, human, assistant = self._keys(columns, tags)
        turns = [t for t in record.turns if t.role != "system"]
        if len(turns) < 2 or len(turns) % 2 or any(t.role != ("user", "assistant")[i % 2] for i, t in enumerate(turns)):
            raise RecordError(f"{self.name} needs alternating user and assistant turns, ending on an answer")
        out: dict[str, Any] = {
            key: [{human: q.content, assistant: a.content} for q, a in zip(turns[::2], turns[1::2], strict=True)]
        }
        return self._with_system(out, record.system, columns)

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {self._keys(columns, tags)[0], columns.system}


@hookimpl
def dqe_register_formats(register):
    register(Firefly())
