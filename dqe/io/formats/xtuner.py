"""XTuner's conversations: ``conversation``, a list of exchanges, each an ``input`` and the
``output`` that answers it, the system prompt as ``system`` in the first exchange (InternLM's
XTuner, and the sets written for it such as EmoLLM's). Firefly's shape with other keys."""

from __future__ import annotations

from typing import Any

from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Columns, Tags, text_field
from dqe.io.formats.firefly import Firefly


class XTuner(Firefly):
    name = "xtuner"
    summary = "conversation of {input, output} exchanges, the system in the first (XTuner)"
    question_key = "input"
    answer_key = "output"

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        key, question, answer = self._keys(columns, tags)
        exchanges = obj.get(key)
        return (
            isinstance(exchanges, list)
            and bool(exchanges)
            and isinstance(exchanges[0], dict)
            and {question, answer} <= exchanges[0].keys()
        )

    def _system(self, obj: dict[str, Any], exchanges: list[Any], columns: Columns) -> str | None:
        """The system prompt: the first exchange's ``system``."""
        return text_field(exchanges[0], columns.system, required=False) or None

    def _with_system(self, out: dict[str, Any], system: str | None, columns: Columns) -> dict[str, Any]:
        key = next(iter(out))
        if system:
            out[key][0] = {columns.system: system, **out[key][0]}
        return out

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {self._keys(columns, tags)[0]}


@hookimpl
def dqe_register_formats(register):
    register(XTuner())
