"""Self-instruct tasks: an ``instruction`` with its ``instances``, each an ``input`` and an
``output`` (yizhongw/self-instruct's seed and generated tasks). Each instance is one exchange of
the record: the instruction with the instance's input, then its output."""

from __future__ import annotations

import os
from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Columns, Normalized, RecordFormat, Tags, metadata, text_field
from dqe.records import Record

INSTANCES = "instances"


class SelfInstruct(RecordFormat):
    name = "self-instruct"
    summary = "instruction with instances of input / output (self-instruct tasks)"

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        return isinstance(obj.get(INSTANCES), list) and columns.prompt in obj

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        instruction = text_field(obj, columns.prompt, required=True)
        instances = obj[INSTANCES]
        if not instances:
            raise RecordError(f"field '{INSTANCES}' is empty: a task needs at least one instance")
        roles: list[str] = []
        contents: list[str] = []
        for i, instance in enumerate(instances):
            if not isinstance(instance, dict):
                raise RecordError(
                    f"'{INSTANCES}[{i}]' must be an object with '{columns.query}' and '{columns.response}'"
                )
            where = f"{INSTANCES}[{i}]"
            query = _field(instance, columns.query, where, required=False)
            response = _field(instance, columns.response, where, required=True)
            roles += ("user", "assistant")
            contents += (f"{instruction}\n{query}" if query else instruction, response)
        return Normalized(None, roles, contents, None, *metadata(obj, columns))

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        turns = [t for t in record.turns if t.role != "system"]
        if len(turns) < 2 or len(turns) % 2 or any(t.role != ("user", "assistant")[i % 2] for i, t in enumerate(turns)):
            raise RecordError("self-instruct needs alternating user and assistant turns, ending on an answer")
        asks = [t.content for t in turns[::2]]
        instruction = _instruction(asks, record.original.get(columns.prompt))
        instances = []
        for ask, answer in zip(asks, turns[1::2], strict=True):
            instances.append({columns.query: ask[len(instruction) + 1 :], columns.response: answer.content})
        return {columns.prompt: instruction, INSTANCES: instances}

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {columns.prompt, INSTANCES}


def _instruction(asks: list[str], original: Any) -> str:
    """The instruction every exchange repeats: the original's, else the whole of a lone ask, else
    the lines the asks share."""
    if isinstance(original, str) and all(a == original or a.startswith(original + "\n") for a in asks):
        return original
    if len(asks) == 1:
        return asks[0]
    shared = os.path.commonprefix(asks)
    cut = shared.rfind("\n") if not all(a == shared or a.startswith(shared + "\n") for a in asks) else len(shared)
    if cut <= 0:
        raise RecordError("self-instruct needs one instruction that every exchange's question starts with")
    return shared[:cut]


def _field(instance: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    try:
        return text_field(instance, key, required=required)
    except RecordError as exc:
        raise RecordError(f"{where}: {exc}") from None


@hookimpl
def dqe_register_formats(register):
    register(SelfInstruct())
