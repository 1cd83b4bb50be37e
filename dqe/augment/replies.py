"""Records out of a model's reply: a JSON array, JSON Lines, or either inside code fences.

Models answer "return a JSON array" with prose around it, fences, one object a line, or an
object that wraps the list; all of those are read. What cannot be read is never an exception
to the caller's loop: the whole reply, or each item that is no object, comes back as a reason.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from dqe.llm.client import unfenced


class Parsed(NamedTuple):
    records: list[dict[str, Any]]
    unreadable: list[str]  # one reason per item of the reply that is no record object


def parse_reply(content: str) -> Parsed:
    """The record objects in ``content``; ``ValueError`` (its reason) when it holds none."""
    text = unfenced(content).strip()
    items = _json_list(text)
    if items is None:
        items = _json_lines(text)
    if not items:
        raise ValueError(f"no JSON array or JSON lines of records in the reply: {_clip(content)!r}")
    records = [item for item in items if isinstance(item, dict)]
    unreadable = [
        f"item {i}: {item.reason}"
        if isinstance(item, _Unparsed)
        else f"item {i}: not a JSON object: {_clip(repr(item))}"
        for i, item in enumerate(items, 1)
        if not isinstance(item, dict)
    ]
    return Parsed(records, unreadable)


class _Unparsed(NamedTuple):
    reason: str


def _json_list(text: str) -> list[Any] | None:
    """The list a reply holds: the outermost ``[...]``, or the first list an object wraps."""
    start, end = text.find("["), text.rfind("]")
    brace = text.find("{")
    if start >= 0 and end > start and (brace < 0 or start < brace):
        try:
            value = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict):
        wrapped = next((v for v in value.values() if isinstance(v, list)), None)
        return wrapped if wrapped is not None else [value]
    return value if isinstance(value, list) else None


def _json_lines(text: str) -> list[Any]:
    """One JSON object per line; a line that does not parse is kept as the reason it does not."""
    items: list[Any] = []
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if not line.startswith("{"):
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            items.append(_Unparsed(f"invalid JSON ({exc.msg}): {_clip(line)!r}"))
    return items


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
