"""What may reach a terminal: every control character made visible but newline, tab and CRLF.

Record text, file names, config values and plugin messages can hold sequences a terminal obeys
rather than shows: OSC sets the window title (``ESC ]0;``) or hides a link (``ESC ]8;;``), CSI
moves the cursor and clears lines, NUL and the other C0 controls, DEL, the C1 controls
(U+0080-U+009F, single-character versions of the same) and bidi overrides (U+202E) that reorder
what a reader sees. ``visible`` writes each as its escape, ``\\u001b``: it reads as what it is,
and inside a JSON string it decodes back to the same character, so a JSON report on a terminal
stays exact.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 but tab and newline, DEL, C1, and the bidi controls: embeddings, overrides, isolates, marks;
# a carriage return only where it ends no line (alone it moves the cursor back over the line)
CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROL}]|\r(?!\n)")
_ANY = re.compile(f"[{CONTROL}\r]")  # a quick test first: most text holds none
# dqe's own colours: Select Graphic Rendition, ESC [ numbers m, and nothing else
_SGR_OR_CONTROL = re.compile(f"(\x1b\\[[0-9;]*m)|[{CONTROL}]|\r(?!\n)")


def _escape(char: str) -> str:
    return f"\\u{ord(char):04x}"


def visible(text: str) -> str:
    """``text`` with every control character but newline, tab and CRLF written as its escape."""
    if _ANY.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: _escape(m.group()), text)


def keep_colours(text: str) -> str:
    """``visible``, but colour sequences (SGR) stay: for output dqe coloured itself, from data
    that went through ``visible`` first."""
    if _ANY.search(text) is None:
        return text
    return _SGR_OR_CONTROL.sub(lambda m: m.group(1) or _escape(m.group()), text)


class TerminalStream:
    """stdout or stderr of the ``dqe`` command: what is written goes through ``keep_colours``.

    The last line of defence: a renderer or message that forgot ``visible`` still cannot send
    a terminal anything but text and colours. Everything else is the wrapped stream's.
    """

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(keep_colours(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
