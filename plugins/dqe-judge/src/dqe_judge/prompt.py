"""What the judge is asked, and how its answer is read.

The judge sees the whole conversation (system prompt, earlier turns, the final answer) and
grades the final answer on each rubric criterion from 1 to 5, answering with one JSON object.
Models wrap JSON in prose or code fences now and then; the parser takes the first object in
the reply and refuses anything without a number for every criterion, so that a malformed
reply is retried and never read as a grade.
"""

from __future__ import annotations

import json
from typing import Any

from dqe import unfenced

PROMPT_VERSION = 1  # part of every request, so a change of wording misses the cache

DEFAULT_RUBRIC = {
    "correctness": "the answer is factually and logically right: facts are true, math and code are right, nothing is made up",
    "helpfulness": "the answer does what the user asked, completely, at a useful level of detail, without padding",
    "reasoning": "the steps that lead to the answer are sound and shown where the task needs them",
}

_SYSTEM = """You grade examples for supervised fine-tuning of a language model (prompt version {version}).
Read the conversation and grade the assistant's final answer to the user's last request on each criterion, from 1 (very poor) to 5 (excellent):
{criteria}
Be strict: an answer with a factual or logical error gets at most 2 for correctness.
Reply with one JSON object and nothing else: {shape}"""


def build_messages(system: str | None, turns: list[dict[str, str]], rubric: dict[str, str]) -> list[dict[str, str]]:
    criteria = "\n".join(f"- {name}: {description}" for name, description in rubric.items())
    shape = "{" + ", ".join(f'"{name}": <1-5>' for name in rubric) + ', "explanation": "<one sentence>"}'
    transcript = []
    if system:
        transcript.append(f"[system]\n{system}")
    transcript += [f"[{t['role']}]\n{t['content']}" for t in turns]
    return [
        {
            "role": "system",
            "content": _SYSTEM.format(version=PROMPT_VERSION, criteria=criteria, shape=shape),
        },
        {"role": "user", "content": "Conversation to grade:\n\n" + "\n\n".join(transcript)},
    ]


def parse_verdict(content: str, criteria: list[str]) -> dict[str, Any]:
    """``{"scores": {criterion: 1..5}, "explanation": str}``; ValueError when malformed (what
    the client retries, and names if every try fails)."""
    try:
        return _verdict(content, criteria)
    except ValueError as exc:
        raise ValueError(f"malformed verdict: {exc}") from None


def _verdict(content: str, criteria: list[str]) -> dict[str, Any]:
    text = unfenced(content)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError(f"no JSON object in the reply: {_clip(content)!r}")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON in the reply ({exc.msg}): {_clip(content)!r}") from None
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    scores = {}
    for name in criteria:
        value = data.get(name)
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
            raise ValueError(f"no score from 1 to 5 for '{name}' (got {value!r})")
        scores[name] = float(value)
    explanation = data.get("explanation")
    return {
        "scores": scores,
        "explanation": explanation.strip() if isinstance(explanation, str) else "",
    }


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
