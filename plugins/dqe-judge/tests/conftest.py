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
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class ChatServer:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.seen: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0  # added to every response (to observe concurrency)
        self.redirect: tuple[int, str] | None = None  # (status, Location) to answer every request with
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - what a client following a 302 would send
                with server.lock:
                    server.requests.append({"method": "GET", "path": self.path})
                    server.headers.append(dict(self.headers))
                self._send(405, b'{"error": "method not allowed"}')

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                self.answering = True
                try:
                    self._answer(body)
                finally:
                    self._answered()

            def _answered(self) -> None:
                """A request stops counting as in flight before its reply is written: once the
                client has the reply it may send the next one, maybe before this thread runs on."""
                if getattr(self, "answering", False):
                    self.answering = False
                    with server.lock:
                        server.in_flight -= 1

            def _answer(self, body: dict) -> None:
                if server.redirect is not None:
                    status, location = server.redirect
                    return self._send(status, b"", {"Location": location})
                if self.path != "/v1/chat/completions":
                    return self._send(404, b'{"error": "not found"}')
                if body.get("model") == "missing-model":
                    return self._send(404, b'{"error": {"message": "model does not exist"}}')
                if self.headers.get("Authorization") == "Bearer bad-key":
                    return self._send(401, b'{"error": {"message": "invalid api key"}}')
                conversation = body["messages"][-1]["content"]
                answer = conversation.rsplit("[assistant]\n", 1)[-1]
                with server.lock:
                    server.seen[conversation] += 1
                    times = server.seen[conversation]
                time.sleep(server.delay + (1.5 if "[[slow]]" in answer else 0))
                if "[[500]]" in answer or ("[[500-once]]" in answer and times == 1):
                    return self._send(500, b'{"error": "overloaded"}')
                if "[[429-once]]" in answer and times == 1:
                    return self._send(429, b'{"error": "rate limited"}', {"Retry-After": "0"})
                if "[[not-json]]" in answer:
                    return self._send(200, b"<html>Bad Gateway</html>")
                if "[[no-choices]]" in answer:
                    return self._send(200, b'{"id": "x", "object": "chat.completion"}')
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
                reply = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                }
                self._send(200, json.dumps(reply).encode())

            def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self._answered()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        return Handler


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def elsewhere() -> Iterator[ChatServer]:
    """A second server: another host, as far as the client can tell (another origin)."""
    server = ChatServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


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
