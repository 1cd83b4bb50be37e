"""OpenAI chat ``messages``: role/content, content as a string or a list of parts, tool calls, and
an assistant message's reasoning trace (``reasoning_content``, ``reasoning`` or ``thinking``),
read as a ``<think>`` block before its content."""

from __future__ import annotations

from typing import Any

import orjson

from dqe.errors import RecordError
from dqe.hookspecs import hookimpl
from dqe.io.formats.base import (
    Columns,
    Normalized,
    RecordFormat,
    Tags,
    chosen_answer,
    field_role,
    metadata,
    preference_note,
    tools_field,
    with_trace,
)
from dqe.records import Record

_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}


def _content(value: Any, where: str) -> str:
    """Text of a message's content: a string, or the text parts of a list joined by newlines."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list):
        texts = []
        for j, part in enumerate(value):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if part.get("type", "text") != "text":
                    continue  # images, audio: no text to check
                text = part.get("text", part.get("value"))
                if not isinstance(text, str):
                    raise RecordError(f"'{where}.content[{j}]' is a text part without a 'text' string")
                texts.append(text)
            else:
                raise RecordError(f"'{where}.content[{j}]' must be a string or an object")
        return "\n".join(texts)
    raise RecordError(f"'{where}.content' must be a string or a list of parts, got {type(value).__name__}")


def _call_parts(value: Any) -> list[str]:
    """Tool calls written as content parts (``{"type": "tool_call", "value": "{...}"}``, as in
    LLaMA-Factory's v1 messages): each becomes a tool call turn, as ``tool_calls`` do."""
    if not isinstance(value, list):
        return []
    calls = []
    for part in value:
        if isinstance(part, dict) and part.get("type") == "tool_call":
            call = part.get("value", part.get("text"))
            calls.append(call if isinstance(call, str) else orjson.dumps(call).decode())
    return calls


# ToolTalk's assistant turns log the calls they made: {request: {api_name, parameters}, response,
# exception}, each a tool call and its result
API_LOG = "apis"


def _api_log(value: Any, where: str) -> list[str]:
    """The calls an assistant message logs under ``API_LOG``, each its request and what came
    back (the response, or the exception), as JSON text; [] when it logs none."""
    if value is None or value == []:
        return []
    if not isinstance(value, list) or not all(isinstance(call, dict) and "request" in call for call in value):
        raise RecordError(f"'{where}.{API_LOG}' must be a list of calls, each with a 'request'")
    out = []
    for call in value:
        out.append(orjson.dumps(call["request"]).decode())
        result = call.get("response") if call.get("exception") is None else {"exception": call["exception"]}
        out.append(orjson.dumps(result).decode())
    return out


def _as_exchanges(message: dict[str, Any], key: str) -> str | None:
    """How to read ``key`` when its items are exchanges, not messages: a question and its answer
    under two keys whose names say which (XTuner's toy sets: ``toy_input``, ``toy_output``, the
    system prompt as ``toy_system`` in the first), each item a user turn and its answer, as the
    XTuner format reads them; None when ``message`` is not such an exchange."""
    found: dict[str, str] = {}
    for name, value in message.items():
        if isinstance(value, str) and (role := field_role(name)) and role not in found:
            found[role] = name
    if not {"prompt", "response"} <= found.keys():
        return None
    system = f', system = "{found["system"]}"' if "system" in found else ""
    return (
        f"an exchange of '{found['prompt']}' and '{found['response']}', not a message: read the file with "
        f'input-format = "xtuner", [columns] messages = "{key}"{system} and [tags] user_tag = '
        f'"{found["prompt"]}", assistant_tag = "{found["response"]}" in a config file (--config)'
    )


def read_messages(
    messages: list[Any], key: str, role_tag: str, content_tag: str
) -> tuple[str | None, list[str], list[str]]:
    """The system prompt (the leading system messages), roles and texts of a list of messages
    (``key`` names the list in errors): each content a string or a list of parts, an assistant's
    tool calls and reasoning trace read as ``OpenAI`` reads them."""
    system: str | None = None
    roles: list[str] = []
    contents: list[str] = []
    for i, message in enumerate(messages):
        where = f"{key}[{i}]"
        if not isinstance(message, dict):
            raise RecordError(f"'{where}' must be an object with '{role_tag}' and '{content_tag}'")
        role = _ROLES.get(message.get(role_tag))  # type: ignore[arg-type]
        if role is None and role_tag not in message and (how := _as_exchanges(message, key)):
            raise RecordError(f"'{where}' has no '{role_tag}': {how}")
        if role is None:
            raise RecordError(f"'{where}.{role_tag}' is {message.get(role_tag)!r}, expected one of {', '.join(_ROLES)}")
        text = _content(message.get(content_tag), where)
        if role == "assistant":
            text = with_trace(message, text, where)
        if role == "system" and not roles:
            system = text if system is None else f"{system}\n{text}"
            continue
        if role == "assistant" and (log := _api_log(message.get(API_LOG), where)):
            # the calls were made, and answered, before the text that reports them
            roles += [r for _ in range(len(log) // 2) for r in ("tool_call", "tool")]
            contents += log
            if text:
                roles.append("assistant")
                contents.append(text)
            continue
        calls = message.get("tool_calls") or message.get("function_call")
        parts = _call_parts(message.get(content_tag)) if role == "assistant" else []
        if role == "assistant" and (calls or parts):
            if text:
                roles.append("assistant")
                contents.append(text)
            if calls:
                roles.append("tool_call")
                contents.append(orjson.dumps(calls).decode())
            roles += ["tool_call"] * len(parts)
            contents += parts
            continue
        roles.append(role)
        contents.append(text)
    return system, roles, contents


class OpenAI(RecordFormat):
    name = "openai"
    summary = "messages of {role, content}; content as a string or a list of parts; tool calls"

    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        return (columns.messages or "messages") in obj

    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        key = columns.messages or "messages"
        role_tag = tags.role_tag or "role"
        content_tag = tags.content_tag or "content"
        messages = obj.get(key)
        if not isinstance(messages, list):
            raise RecordError(f"field '{key}' must be a list of messages" if key in obj else f"missing field '{key}'")
        system, roles, contents = read_messages(messages, key, role_tag, content_tag)
        chosen = chosen_answer(obj, columns, content_tag, roles)
        if chosen is not None:
            roles.append("assistant")
            contents.append(chosen)
        return Normalized(system or None, roles, contents, tools_field(obj, columns.tools), *metadata(obj, columns))

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        return columns, preference_note(sample, columns)

    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if record.system:
            messages.append({"role": "system", "content": record.system})
        for turn in record.turns:
            if turn.role == "tool_call":
                try:
                    calls = orjson.loads(turn.content)
                except orjson.JSONDecodeError as exc:
                    raise RecordError(f"tool call is not JSON: {exc}") from None
                messages.append(
                    {"role": "assistant", "content": None, "tool_calls": calls if isinstance(calls, list) else [calls]}
                )
            else:
                messages.append({"role": turn.role, "content": turn.content})
        out: dict[str, Any] = {columns.messages or "messages": messages}
        if record.tools:
            try:
                out[columns.tools] = orjson.loads(record.tools)
            except orjson.JSONDecodeError:
                out[columns.tools] = record.tools
        return out

    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        return {columns.messages or "messages", columns.tools, columns.chosen}


@hookimpl
def dqe_register_formats(register):
    register(OpenAI())
