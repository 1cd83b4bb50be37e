"""A chat-completions endpoint on 127.0.0.1 for the tests of what calls one (``dqe augment``, a
judge plugin): a real HTTP server in a thread, so that a client's retries, timeouts, redirects
and credentials are tested as they happen, with every request's body and headers kept.

    class Grader(ChatServer):
        def answer(self, request, body):
            request.send(200, self.completion(body["model"], '{"score": 5}'))

    with Grader() as server:
        ...  # point the client at server.base_url
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer(ABC):
    """Subclass it and define ``answer``; ``requests`` and ``headers`` hold what each request
    sent, in order (a GET, which a client following a redirect would send, is kept as
    ``{"method": "GET", "path": ...}`` and refused with 405)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @abstractmethod
    def answer(self, request: Request, body: dict[str, Any]) -> None:
        """Reply to a POST whose JSON ``body`` was kept: ``request.send(status, data, headers)``."""

    def replying(self, request: Request) -> None:  # noqa: B027 - an optional hook: most servers count nothing
        """Called as ``request``'s reply is about to be written (a subclass counting requests in
        flight stops counting it: once the client has its reply it may send the next)."""

    @staticmethod
    def completion(model: str, content: str, usage: dict[str, int] | None = None) -> bytes:
        """A chat-completions reply carrying ``content``."""
        reply: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        }
        if usage is not None:
            reply["usage"] = usage
        return json.dumps(reply).encode()


class Request(BaseHTTPRequestHandler):
    server_: ChatServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        with self.server_.lock:
            self.server_.requests.append({"method": "GET", "path": self.path})
            self.server_.headers.append(dict(self.headers))
        self.send(405, b'{"error": "method not allowed"}')

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server_.lock:
            self.server_.requests.append(body)
            self.server_.headers.append(dict(self.headers))
        self.server_.answer(self, body)

    def send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.server_.replying(self)
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


def _handler(server: ChatServer) -> type[Request]:
    return type("Handler", (Request,), {"server_": server})
