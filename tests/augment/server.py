"""A chat-completions server of the tests' own, on 127.0.0.1, that answers from a script, and a
small data set that lacks translations, with the records the scripted model writes.

Each request pops the next scripted reply (a string is sent as the message's content; an int
is an HTTP status with an error body; a function is called with the prompt and returns the
content, a model that reads what it was told); the server keeps every request's body and headers, so
that a test can read the prompt it was sent and what credentials came with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dqe.testing.chat_server import ChatServer, Request


class ScriptedServer(ChatServer):
    def __init__(self) -> None:
        super().__init__()
        self.script: list[str | int | Callable[[str], str]] = []
        self.usage = True  # report token usage in replies
        self.redirect: str | None = None  # answer every request with HTTP 307 to this address

    def prompt(self, n: int) -> str:
        """The user message of request ``n`` (0-based)."""
        return self.requests[n]["messages"][-1]["content"]

    def answer(self, request: Request, body: dict[str, Any]) -> None:
        with self.lock:
            reply = self.script.pop(0) if self.script else 500
        if self.redirect is not None:
            return request.send(307, b"", {"Location": self.redirect})
        if isinstance(reply, int):
            return request.send(reply, b'{"error": {"message": "scripted failure"}}')
        if callable(reply):
            reply = reply(body["messages"][-1]["content"])
        usage = {"prompt_tokens": 300, "completion_tokens": 200, "total_tokens": 500} if self.usage else None
        request.send(200, self.completion(body["model"], reply, usage))


def alpaca(instruction: str, output: str, input_: str = "") -> dict:
    return {"instruction": instruction, "input": input_, "output": output}


# The data: open questions, math and code, and two translations (the seeds)
DATA = [
    alpaca("Translate 'good morning' into French.", "Bonjour."),
    alpaca("Translate 'thank you very much' into German.", "Vielen Dank."),
    alpaca(
        "What causes the seasons on Earth?",
        "The seasons come from the tilt of Earth's axis, about 23.4 degrees: as Earth orbits the Sun, each "
        "hemisphere leans towards the Sun for part of the year and away from it for the rest.",
    ),
    alpaca(
        "Why is the sky blue?",
        "Air molecules scatter short wavelengths of sunlight much more than long ones, so blue light reaches "
        "our eyes from every part of the sky.",
    ),
    alpaca(
        "A shop sells pens at $3 each. Tom buys 4 pens and pays with a $20 bill. How much change does he get?",
        "The 4 pens cost 4 × 3 = $12. Tom pays $20, so his change is 20 − 12 = $8.\nThe answer is $8.",
    ),
    alpaca(
        "Write a Python function that returns the square of a number.",
        "```python\ndef square(x):\n    return x * x\n```\nIt multiplies the number by itself.",
    ),
]

# What the scripted model writes: translations that pass, and records each rule rejects
GOOD = [
    alpaca("Translate 'see you tomorrow' into Spanish.", "Hasta mañana."),
    alpaca("Translate 'where is the station?' into Italian.", "Dov'è la stazione?"),
    alpaca("Translate 'I love reading books' into French.", "J'adore lire des livres."),
    alpaca("Translate 'the weather is nice today' into German.", "Das Wetter ist heute schön."),
    alpaca("Translate 'happy birthday' into Portuguese.", "Feliz aniversário."),
    alpaca("Translate 'good night' into Dutch.", "Goedenacht."),
]
REFUSAL = alpaca(
    "Translate 'open the door' into Russian.",
    "I'm sorry, but as an AI language model I cannot help with that request.",
)
COPY = DATA[0]  # an exact duplicate of a data record
EMPTY = alpaca("Translate 'goodbye' into Japanese.", "")
OFF_CATEGORY = DATA[4] | {"instruction": "A baker makes 12 loaves a day. How many loaves does he make in 5 days?"}


def reply(*records: dict, fenced: bool = False) -> str:
    text = json.dumps(list(records), ensure_ascii=False, indent=1)
    return f"Here are the records:\n```json\n{text}\n```\nI hope they help." if fenced else text
