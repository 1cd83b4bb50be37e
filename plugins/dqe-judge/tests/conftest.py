"""A chat-completions server of the tests' own, on 127.0.0.1, and records that steer it.

The server grades like a judge that reads the last assistant turn: an answer holding
``WRONG`` gets 1 for correctness, every other answer 5/4/4. Markers in the answer make it
misbehave, once or always, so that retries, timeouts and malformed replies can be tested:

    [[slow]]        sleeps 1.5 s before answering
    [[500-once]]    HTTP 500 the first time this conversation is asked, then a verdict
    [[500]]         HTTP 500 every time
    [[429-once]]    HTTP 429 with Retry-After: 0, then a verdict
    [[not-json]]    a body that is not JSON
    [[no-choices]]  JSON without "choices"
    [[prose]]       a reply with no JSON object in it
    [[fenced]]      the verdict inside ```json fences, with prose around it
    [[partial]]     a verdict without the "reasoning" grade
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from dqe.testing.chat_server import ChatServer as BaseChatServer
from dqe.testing.chat_server import Request


class ChatServer(BaseChatServer):
    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0  # added to every response (to observe concurrency)
        self.redirect: tuple[int, str] | None = None  # (status, Location) to answer every request with

    def answer(self, request: Request, body: dict[str, Any]) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        request.answering = True
        try:
            self._grade(request, body)
        finally:
            self._stop_counting(request)

    def replying(self, request: Request) -> None:
        """A request stops counting as in flight before its reply is written: once the client
        has the reply it may send the next one, maybe before this thread runs on."""
        self._stop_counting(request)

    def _stop_counting(self, request: Request) -> None:
        if getattr(request, "answering", False):
            request.answering = False
            with self.lock:
                self.in_flight -= 1

    def _grade(self, request: Request, body: dict[str, Any]) -> None:
        if self.redirect is not None:
            status, location = self.redirect
            return request.send(status, b"", {"Location": location})
        if request.path != "/v1/chat/completions":
            return request.send(404, b'{"error": "not found"}')
        if body.get("model") == "missing-model":
            return request.send(404, b'{"error": {"message": "model does not exist"}}')
        if request.headers.get("Authorization") == "Bearer bad-key":
            return request.send(401, b'{"error": {"message": "invalid api key"}}')
        conversation = body["messages"][-1]["content"]
        answer = conversation.rsplit("[assistant]\n", 1)[-1]
        with self.lock:
            self.seen[conversation] += 1
            times = self.seen[conversation]
        time.sleep(self.delay + (1.5 if "[[slow]]" in answer else 0))
        if "[[500]]" in answer or ("[[500-once]]" in answer and times == 1):
            return request.send(500, b'{"error": "overloaded"}')
        if "[[429-once]]" in answer and times == 1:
            return request.send(429, b'{"error": "rate limited"}', {"Retry-After": "0"})
        if "[[not-json]]" in answer:
            return request.send(200, b"<html>Bad Gateway</html>")
        if "[[no-choices]]" in answer:
            return request.send(200, b'{"id": "x", "object": "chat.completion"}')
        verdict = {
            "correctness": 1 if "WRONG" in answer else 5,
            "helpfulness": 4,
            "reasoning": 4,
        }
        verdict["explanation"] = "The arithmetic is wrong." if "WRONG" in answer else "Correct and clear."
        if "[[partial]]" in answer:
            del verdict["reasoning"]
        content = json.dumps(verdict)
        if "[[prose]]" in answer:
            content = "This answer looks fine to me."
        if "[[fenced]]" in answer:
            content = f"Here is my grade:\n```json\n{content}\n```\nThanks."
        usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        request.send(200, self.completion(body["model"], content, usage))


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[ChatServer]:
    """A second server: another host, as far as the client can tell (another origin)."""
    with ChatServer() as server:
        yield server


@pytest.fixture
def judge_options(chat_server: ChatServer, tmp_path) -> dict:
    """Options of JDG001 that point at the test server, with quick retries and a fresh cache."""
    return {
        "base-url": chat_server.base_url,
        "model": "judge-test",
        "cache-dir": str(tmp_path / "cache"),
        "retry-delay": 0.01,
        "timeout": 5,
    }


@pytest.fixture(autouse=True)
def _no_judge_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests configure the judge themselves; a developer's real endpoint stays out."""
    for name in (
        "DQE_JUDGE_BASE_URL",
        "OPENAI_BASE_URL",
        "DQE_JUDGE_MODEL",
        "DQE_JUDGE_API_KEY",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
