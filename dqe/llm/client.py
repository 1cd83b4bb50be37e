"""A small client for the OpenAI chat-completions protocol (vLLM, llama.cpp server, Ollama,
hosted APIs), on the standard library (no client dependency to keep in step with): retries with exponential backoff and jitter, a timeout
per request, ``Retry-After`` honoured, and a circuit breaker so that an endpoint that cannot
be reached fails the run once and fast instead of once per record.

Three outcomes per call: a ``Reply``; ``CallFailed`` (this request failed after its retries:
a slow, failing or malformed response; the caller gives up on what it asked); ``EndpointUnavailable``
(no request can succeed: nothing listens, the key is refused, the URL is wrong; the run stops).

Credentials go to the configured endpoint and nowhere else: a redirect is never followed (it
would carry the API key to whatever host it names, and a POST turned into a GET is no chat
completion anyway); it stops the run, saying where it pointed. A user and password in the
base URL are sent as HTTP basic authentication and left out of every URL the client shows.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class EndpointUnavailable(Exception):
    """No request to the endpoint can succeed; the message says what to fix."""


class CallFailed(Exception):
    """One request failed after every retry; the message says how."""


@dataclass(frozen=True)
class Reply:
    content: str
    prompt_tokens: int | None
    completion_tokens: int | None


class ChatClient:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        retry_delay: float = 1.0,
        extra: dict[str, Any] | None = None,
        key_hint: str = "set the API key",
    ):
        """``key_hint`` says where the caller's key comes from, for the message of a refused key
        (the judge's: "set DQE_JUDGE_API_KEY or api-key")."""
        parts = urllib.parse.urlsplit(base_url)
        self.url = without_credentials(base_url).rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self._basic = (
            base64.b64encode(
                f"{urllib.parse.unquote(parts.username or '')}:{urllib.parse.unquote(parts.password or '')}".encode()
            ).decode()
            if parts.username or parts.password
            else None
        )
        self._opener = urllib.request.build_opener(_RefuseRedirects)
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.extra = extra or {}
        self.key_hint = key_hint
        self._down: str | None = None  # set once the endpoint proved unreachable
        self._lock = threading.Lock()
        self.sent = 0  # HTTP requests sent, retries included: what a budget of requests counts

    def complete(self, messages: list[dict[str, str]], parse: Any = None) -> tuple[Reply, Any]:
        """Send one chat completion; ``parse(content)`` may raise ``ValueError`` (its message
        says what is malformed) to have the answer retried like a failed request. Returns the
        reply and what ``parse`` returned."""
        body = json.dumps({"model": self.model, "messages": messages, **self.extra}).encode()
        problem = ""
        for attempt in range(self.retries + 1):
            if self._down:
                raise EndpointUnavailable(self._down)
            if attempt:
                time.sleep(min(self.retry_delay * 2 ** (attempt - 1), 30.0) * (1 + random.random() / 4))
            try:
                reply = self._send(body)
                return reply, (parse(reply.content) if parse else None)
            except _Retry as exc:
                problem = str(exc)
                if exc.wait:
                    time.sleep(exc.wait)
            except ValueError as exc:  # parse() refused the content
                problem = str(exc)
            except _Unreachable as exc:
                problem = str(exc)
                if attempt == self.retries:
                    raise self._stop(
                        f"cannot reach {self.url}: {problem} (after {self.retries + 1} attempts); start the server or fix base-url"
                    ) from None
        raise CallFailed(f"{problem} (after {self.retries + 1} attempts)")

    def _send(self, body: bytes) -> Reply:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self._basic:
            headers["Authorization"] = f"Basic {self._basic}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with self._lock:
            self.sent += 1
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                raise _Unreachable(f"connecting timed out after {self.timeout:g} s") from None
            raise _Unreachable(
                str(reason.strerror if isinstance(reason, OSError) and reason.strerror else reason)
            ) from None
        except TimeoutError:
            raise _Retry(f"timed out after {self.timeout:g} s") from None
        except (http.client.HTTPException, ConnectionError) as exc:
            raise _Retry(f"connection broke: {type(exc).__name__}") from None
        return _reply(raw)

    def _http_error(self, exc: urllib.error.HTTPError) -> Exception:
        """What an HTTP error status means: retry it, give up on this record, or stop the run."""
        detail = _excerpt(exc.read())
        if 300 <= exc.code < 400:
            location = exc.headers.get("Location")
            where = without_credentials(urllib.parse.urljoin(self.url, location)) if location else "nowhere it named"
            return self._stop(
                f"the endpoint redirected to {where} (HTTP {exc.code}); dqe follows no redirect, so that the API key "
                "never goes to another host: if that is the endpoint, set base-url to it"
            )
        if exc.code in (401, 403):
            return self._stop(f"the endpoint refused the key (HTTP {exc.code}: {detail}); {self.key_hint}")
        if exc.code == 404:
            return self._stop(
                f"HTTP 404 from {self.url} ({detail}); base-url should end in /v1, and model '{self.model}' must exist"
            )
        if exc.code == 429 or exc.code >= 500:
            return _Retry(
                f"HTTP {exc.code} from the endpoint: {detail}",
                _retry_after(exc.headers.get("Retry-After")),
            )
        return CallFailed(f"HTTP {exc.code} from the endpoint: {detail}")

    def _stop(self, message: str) -> EndpointUnavailable:
        """Mark the endpoint down for every later call of this run."""
        with self._lock:
            self._down = message
        return EndpointUnavailable(message)


_FENCE = re.compile(r"```(?:jsonl|json)?\s*(.*?)```", re.DOTALL)


def unfenced(content: str) -> str:
    """The text inside the first code fence of a reply, or the reply: models wrap the JSON they
    were asked for in ```json fences and prose now and then."""
    fenced = _FENCE.search(content)
    return fenced.group(1) if fenced else content


def without_credentials(url: str) -> str:
    """``url`` without the user and password it may hold: what a message may show of it."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=host))


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Follows no redirect: the 3xx response comes back as an HTTPError, for ``_http_error``."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


class _Retry(Exception):
    def __init__(self, message: str, wait: float = 0.0):
        super().__init__(message)
        self.wait = wait


class _Unreachable(Exception):
    pass


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value), 0.0), 60.0) if value else 0.0
    except ValueError:
        return 0.0


def _excerpt(raw: bytes, limit: int = 160) -> str:
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reply(raw: bytes) -> Reply:
    """The first choice's content, or ``_Retry`` when the body is not a chat completion."""
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise _Retry(f"malformed response: not a chat completion: {_excerpt(raw, 80)!r}") from None
    if not isinstance(content, str):
        raise _Retry("malformed response: the message has no text content")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Reply(content, _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
