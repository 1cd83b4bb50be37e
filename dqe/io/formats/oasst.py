"""Open Assistant's message trees (oasst1, oasst2 ``*.trees.jsonl``): a ``prompt`` message whose
``replies`` answer it, each with replies of its own, siblings ranked by people (``rank`` 0 the
best). A tree is one record: the conversation checked is its best path, from the prompt down the
best-ranked reply at each turn (deleted messages left out, an unranked one after the ranked, the
first of equals) to its last answer (a follow-up no one answered yet is left out), as SFT sets
built from these trees take it; the tree is written back whole. A tree may also be its prompt
message itself, its ``replies`` nested in it (Open Assistant's own evaluation exports,
``en_100_message.jsonl``: a root message a line)."""

from __future__ import annotations

from typing import Any

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import Columns, Normalized, RecordFormat, Tags, metadata
from dqe.records import Record

PROMPT, REPLIES, TEXT, ROLE, RANK = "prompt", "replies", "text", "role", "rank"
_ROLES = {"prompter": "user", "assistant": "assistant"}


def _best(replies: list[Any]) -> dict[str, Any] | None:
    """The best-ranked reply that is not deleted: rank 0 first, an unranked one after the ranked."""
    kept = [r for r in replies if isinstance(r, dict) and not r.get("deleted")]
    ranked = sorted(kept, key=lambda r: (not isinstance(r.get(RANK), int), r.get(RANK) or 0))
    return ranked[0] if ranked else None


def _is_root(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` is a tree written as its prompt message, the replies nested in it: a
    message's ``text`` and ``role`` beside a list of ``replies``."""
    return TEXT in obj and ROLE in obj and isinstance(obj.get(REPLIES), list)


class OpenAssistant(RecordFormat):
    name = "oasst"
    summary = "Open Assistant message trees: the best-ranked path from the prompt is checked"

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        prompt = obj.get(PROMPT)
        return (isinstance(prompt, dict) and TEXT in prompt and ROLE in prompt) or _is_root(obj)

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        return columns, [
            "message trees: each tree's best-ranked path to its last answer checked, the other replies not"
        ]

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        roles: list[str] = []
        contents: list[str] = []
        message: Any = obj if PROMPT not in obj and _is_root(obj) else obj.get(PROMPT)
        where = "" if message is obj else f"{PROMPT}."  # a field's path, as errors name it
        while message is not None:
            if not isinstance(message, dict):
                raise RecordError(f"'{where.rstrip('.')}' must be a message object with '{TEXT}' and '{ROLE}'")
            role, text = _ROLES.get(message.get(ROLE)), message.get(TEXT)  # type: ignore[arg-type]
            if role is None:
                raise RecordError(f"'{where}{ROLE}' is {message.get(ROLE)!r}, expected prompter or assistant")
            if not isinstance(text, str):
                raise RecordError(f"'{where}{TEXT}' must be a string")
            roles.append(role)
            contents.append(text)
            replies = message.get(REPLIES) or []
            if not isinstance(replies, list):
                raise RecordError(f"'{where}{REPLIES}' must be a list of messages")
            best = _best(replies)
            where = f"{where}{REPLIES}[{replies.index(best)}]." if best is not None else where
            message = best
        while len(roles) > 1 and roles[-1] == "user":  # a follow-up no one has answered yet
            roles.pop()
            contents.pop()
        return Normalized(None, roles, contents, None, *metadata(obj, columns))

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        """The conversation as a tree of one path."""
        if record.system or any(t.role not in ("user", "assistant") for t in record.turns):
            raise RecordError("a message tree holds prompter and assistant messages only")
        speakers = {role: speaker for speaker, role in _ROLES.items()}
        tree: dict[str, Any] | None = None
        for turn in reversed(record.turns):
            tree = {TEXT: turn.content, ROLE: speakers[turn.role], REPLIES: [tree] if tree else []}
        return {PROMPT: tree}

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {PROMPT, TEXT, ROLE, REPLIES}


@hookimpl
def dqe_register_formats(register):
    register(OpenAssistant())
