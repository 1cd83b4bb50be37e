"""ShareGPT: ``conversations`` of from/value turns, function_call/observation turns, ``tools``; an
assistant turn's reasoning trace (``reasoning_content``, ``reasoning`` or ``thinking`` beside its
value) is read as a ``<think>`` block before it."""

from __future__ import annotations

from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import (
    Columns,
    Normalized,
    RecordFormat,
    Tags,
    chosen_answer,
    metadata,
    preference_note,
    text_field,
    tools_field,
    turn_text,
    with_trace,
)
from dqe.records import Record


class ShareGPT(RecordFormat):
    name = "sharegpt"
    summary = "conversations of {from, value}; human/gpt/system/function_call/observation"

    def _keys(self, columns: Columns, tags: Tags) -> tuple[str, str, str, dict[str, str]]:
        tag_to_role = {
            tags.user_tag or "human": "user",
            tags.assistant_tag or "gpt": "assistant",
            tags.system_tag or "system": "system",
            tags.function_tag or "function_call": "tool_call",
            tags.observation_tag or "observation": "tool",
        }
        if not tags.user_tag:  # common spellings in the wild
            tag_to_role.setdefault("user", "user")
        if not tags.assistant_tag:
            tag_to_role.setdefault("assistant", "assistant")
            tag_to_role.setdefault("chatgpt", "assistant")
            tag_to_role.setdefault("bing", "assistant")
            tag_to_role.setdefault("bard", "assistant")
        return (columns.messages or "conversations", tags.role_tag or "from", tags.content_tag or "value", tag_to_role)

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        key, role_tag, _, _ = self._keys(columns, tags)
        if key in obj:
            # ``messages`` mapped as LLaMA-Factory's dataset_info.json maps it, its turns OpenAI's
            # {role, content} (its tags not given): OpenAI's to read
            turns = obj[key]
            openai = key == (columns.messages or "messages") and not tags.role_tag
            return not (
                openai
                and isinstance(turns, list)
                and turns
                and isinstance(turns[0], dict)
                and role_tag not in turns[0]
                and "role" in turns[0]
            )
        turns = obj.get("messages")
        return isinstance(turns, list) and bool(turns) and isinstance(turns[0], dict) and role_tag in turns[0]

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        key, role_tag, content_tag, tag_to_role = self._keys(columns, tags)
        if key not in obj and "messages" in obj and columns.messages is None:
            key = "messages"
        turns = obj.get(key)
        if not isinstance(turns, list):
            raise RecordError(f"field '{key}' must be a list of turns" if key in obj else f"missing field '{key}'")
        system = text_field(obj, columns.system, required=False)
        roles: list[str] = []
        contents: list[str] = []
        for i, turn in enumerate(turns):
            if not isinstance(turn, dict):
                raise RecordError(f"'{key}[{i}]' must be an object with '{role_tag}' and '{content_tag}'")
            tag = turn.get(role_tag)
            role = tag_to_role.get(tag) if isinstance(tag, str) else None
            if role is None:
                known = ", ".join(sorted(tag_to_role))
                raise RecordError(f"'{key}[{i}].{role_tag}' is {tag!r}, expected one of {known}")
            value = turn_text(turn, content_tag, f"{key}[{i}].{content_tag}")
            if role == "assistant":
                value = with_trace(turn, value, f"{key}[{i}]")
            if role == "system" and not roles and system is None:
                system = value
                continue
            roles.append(role)
            contents.append(value)
        chosen = chosen_answer(obj, columns, content_tag, roles)
        if chosen is not None:
            roles.append("assistant")
            contents.append(chosen)
        return Normalized(system or None, roles, contents, tools_field(obj, columns.tools), *metadata(obj, columns))

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        return columns, preference_note(sample, columns)

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        key, role_tag, content_tag, tag_to_role = self._keys(columns, tags)
        role_to_tag: dict[str, str] = {}
        for tag, role in tag_to_role.items():
            role_to_tag.setdefault(role, tag)
        out: dict[str, Any] = {key: [{role_tag: role_to_tag[t.role], content_tag: t.content} for t in record.turns]}
        if record.system:
            out[columns.system] = record.system
        if record.tools:
            out[columns.tools] = record.tools
        return out

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        key = self._keys(columns, tags)[0]
        return {key, columns.system, columns.tools, columns.chosen}


@hookimpl
def dqe_register_formats(register):
    register(ShareGPT())
