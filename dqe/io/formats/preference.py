"""Preference pairs whose two sides are conversations: TRL's conversational preference data
(``chosen`` and ``rejected`` lists of messages, the prompt in them or in a ``prompt`` of its own,
a string or messages) and LLaMA-Factory v1's ``chosen_messages`` / ``rejected_messages``. The
prompt and the chosen side are the conversation checked; the rejected side is never checked and
is written back as it came."""

from __future__ import annotations

from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Columns, Normalized, RecordFormat, Tags, metadata, tools_field
from dqe.io.formats.openai import OpenAI, read_messages
from dqe.records import Record

# The chosen side's key and the rejected side's beside it: TRL's (or as mapped), then LLaMA-Factory v1's
V1 = ("chosen_messages", "rejected_messages")
PROMPT = "prompt"  # TRL's explicit prompt


def _sides(obj: dict[str, Any], columns: Columns) -> tuple[str, str] | None:
    """The keys of the chosen and rejected conversations of ``obj``: the first pair whose chosen
    side is a list (of messages); None when there is none."""
    for chosen, rejected in ((columns.chosen, columns.rejected), V1):
        if isinstance(obj.get(chosen), list):
            return chosen, rejected
    return None


def _prompt_key(columns: Columns) -> str:
    return columns.prompt if "prompt" in columns.model_fields_set else PROMPT


class Preference(RecordFormat):
    name = "preference"
    summary = "chosen / rejected conversations, with an optional prompt (TRL; LLaMA-Factory v1's *_messages)"

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        sides = _sides(obj, columns)
        if sides is None:
            return False
        chosen = obj[sides[0]]
        if not chosen:  # an empty chosen side beside a rejected one: a pair, invalid for want of turns
            return isinstance(obj.get(sides[1]), list)
        return isinstance(chosen[0], dict) and (tags.role_tag or "role") in chosen[0]

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        found = next((sides for obj in sample if (sides := _sides(obj, columns))), None)
        if found is None:
            return columns, []
        return columns, [f"preference data: the '{found[0]}' conversations checked, '{found[1]}' not"]

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        role_tag, content_tag = tags.role_tag or "role", tags.content_tag or "content"
        sides = _sides(obj, columns)
        if sides is None:
            raise RecordError(f"field '{columns.chosen}' (or '{V1[0]}') must be a list of messages")
        system, roles, contents = None, [], []
        key = _prompt_key(columns)
        prompt = obj.get(key)
        if isinstance(prompt, str):
            roles, contents = ["user"], [prompt]
        elif isinstance(prompt, list):
            system, roles, contents = read_messages(prompt, key, role_tag, content_tag)
        elif prompt is not None:
            raise RecordError(f"field '{key}' must be a string or a list of messages, got {type(prompt).__name__}")
        chosen_system, chosen_roles, chosen_contents = read_messages(obj[sides[0]], sides[0], role_tag, content_tag)
        if chosen_system is not None:
            if roles:  # a system message after the prompt's turns is a turn of its own
                chosen_roles, chosen_contents = ["system", *chosen_roles], [chosen_system, *chosen_contents]
            else:
                system = chosen_system if system is None else f"{system}\n{chosen_system}"
        return Normalized(
            system,
            roles + chosen_roles,
            contents + chosen_contents,
            tools_field(obj, columns.tools),
            *metadata(obj, columns),
        )

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        """The conversation as the chosen side (TRL's implicit prompt), under the key the record
        was read from; with a ``prompt`` where it had one: the turns before its last answers."""
        messages = OpenAI().denormalize(record, Columns(), tags)["messages"]
        chosen, _ = _sides(record.original, columns) or (columns.chosen, columns.rejected)
        key = _prompt_key(columns)
        if key not in record.original:
            return {chosen: messages}
        answers = len(messages)
        while answers and messages[answers - 1]["role"] == "assistant":
            answers -= 1
        return {key: messages[:answers], chosen: messages[answers:]}

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {_prompt_key(columns), columns.chosen, V1[0], columns.tools}


@hookimpl
def dqe_register_formats(register):
    register(Preference())
