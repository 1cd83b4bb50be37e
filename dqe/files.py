"""File containers: JSONL, JSON arrays and Parquet, read as a stream of items with line numbers.

A bad item never stops the stream: it comes out as an ``Item`` with ``error`` set and the raw
text kept, so the caller can report it with its file:line and keep it in the rejected output.
Reading streams, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import orjson

Container = Literal["jsonl", "json", "parquet"]
CONTAINERS: tuple[str, ...] = ("jsonl", "json", "parquet")

_CHUNK = 1 << 22  # 4 MiB of text per read of a JSON array
_PARQUET_ROWS = 20_000
_SURROGATE = re.compile("[\udc80-\udcff]")


class InputError(Exception):
    """An input that cannot be read at all: a missing file, an unknown format (exit code 2)."""


class Item(NamedTuple):
    line: int
    obj: dict[str, Any] | None
    error: str | None = None
    raw: str | None = None  # the text of an invalid item, so that nothing is lost


def _ends_with_parquet_footer(f: IO[bytes]) -> bool:
    """Parquet files start and end with PAR1; a text file that merely starts so is not one."""
    size = f.seek(0, os.SEEK_END)
    if size < 12:
        return False
    f.seek(size - 4)
    tail = f.read(4)
    f.seek(0)
    return tail == b"PAR1"


def sniff(path: Path) -> Container | None:
    """The container of a file: by extension for .jsonl and .parquet, else by content (many
    .json files are JSON Lines). None for an empty or whitespace-only file.
    """
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
            if head[:4] == b"PAR1" and _ends_with_parquet_footer(f):
                return "parquet"
            while head and not head.strip():
                head = f.read(1 << 16)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not text:
        return None
    if suffix == ".parquet":
        raise InputError(f"{path}: not a Parquet file (no PAR1 magic bytes)")
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if text[:1] == b"[":
        return "json"
    # JSON Lines whose first line is damaged still has objects on the lines after it
    if text[:1] == b"{" or any(line.lstrip()[:1] == b"{" for line in text.splitlines()[1:20]):
        return "jsonl"
    raise InputError(
        f"{path}: unknown format: expected JSON Lines, a JSON array or Parquet (the file starts with {text[:20]!r})"
    )


def read_items(path: Path, container: Container) -> Iterator[Item]:
    if container == "jsonl":
        return _read_jsonl(path)
    if container == "json":
        return _read_json_array(path)
    return _read_parquet(path)


def _decode_error(exc: Exception) -> str:
    msg = str(exc)
    if "utf-8" in msg.lower() or "surrogates" in msg.lower():
        return "invalid UTF-8"
    return f"malformed JSON: {msg}"


def _not_an_object(value: Any) -> str:
    return f"expected a JSON object, got {type(value).__name__ if value is not None else 'null'}"


def _read_jsonl(path: Path) -> Iterator[Item]:
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield Item(number, None, _decode_error(exc), line.decode("utf-8", "replace").rstrip("\r\n"))
                continue
            if isinstance(obj, dict):
                yield Item(number, obj)
            else:
                yield Item(number, None, _not_an_object(obj), line.decode("utf-8", "replace").rstrip("\r\n"))


class _ArrayText:
    """A sliding window of a JSON array file's text, tracking the line number at ``pos``."""

    def __init__(self, f: IO[bytes]):
        self.f = f
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.eof = False
        self.bad_utf8 = False
        self.closed = False  # set when a skipped tail ended with the array's ']'

    def more(self, at_least: int = _CHUNK) -> bool:
        """Read more text; False at the end of the file."""
        if self.eof:
            return False
        if self.pos > _CHUNK:  # drop what has been consumed
            self.buf = self.buf[self.pos :]
            self.pos = 0
        data = self.f.read(max(at_least, _CHUNK))
        text = self.decoder.decode(data, final=not data)
        if not data:
            self.eof = True
        if not self.bad_utf8 and _SURROGATE.search(text):
            self.bad_utf8 = True
        self.buf += text
        return bool(data) or bool(text)

    def advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def skip_space(self) -> str:
        """The next non-space character ('' at the end), with ``pos`` on it."""
        while True:
            buf, pos, n = self.buf, self.pos, len(self.buf)
            while pos < n and buf[pos] in " \t\r\n\ufeff":
                pos += 1
            self.advance(pos)
            if pos < n:
                return buf[pos]
            if not self.more():
                return ""


_TRUNCATED = "truncated JSON array: the file ends before the closing ']'"


def _read_json_array(path: Path) -> Iterator[Item]:
    decoder = json.JSONDecoder()
    with open(path, "rb") as f:
        text = _ArrayText(f)
        text.more()
        text.skip_space()
        text.advance(text.pos + 1)  # the '[' that sniff() saw
        after_record = False
        while True:
            ch = text.skip_space()
            if ch == "":
                if not text.closed:
                    yield Item(text.line, None, _TRUNCATED, "")
                return
            if ch == "]":
                return
            if after_record:
                if ch != ",":
                    line = text.line
                    yield Item(
                        line, None, "malformed JSON: expected ',' or ']' after the previous record", _resync(text)
                    )
                    after_record = False
                    continue
                text.advance(text.pos + 1)
                ch = text.skip_space()
                if ch == "":
                    yield Item(text.line, None, _TRUNCATED, "")
                    return
                if ch == "]":  # a trailing comma: forgive it
                    return
            item = _decode_one(text, decoder)
            yield item
            if item.error and item.error.startswith("truncated"):
                return
            after_record = item.error is None or not item.error.startswith("malformed")


def _decode_one(text: _ArrayText, decoder: json.JSONDecoder) -> Item:
    line = text.line
    while True:
        try:
            obj, end = decoder.raw_decode(text.buf, text.pos)
            break
        except json.JSONDecodeError as exc:
            incomplete = exc.pos >= len(text.buf) - 16 or exc.msg.startswith("Unterminated")
            if incomplete and text.more(len(text.buf)):
                continue
            if incomplete:
                raw = text.buf[text.pos :].rstrip()
                text.advance(len(text.buf))
                return Item(line, None, f"truncated JSON array: the file ends inside this record ({exc.msg})", raw)
            where = text.line + text.buf.count("\n", text.pos, exc.pos)
            return Item(line, None, f"malformed JSON: {exc.msg} (line {where})", _resync(text))
    start = text.pos
    text.advance(end)
    if text.bad_utf8 and _SURROGATE.search(text.buf, start, end):
        raw = text.buf[start:end].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return Item(line, None, "invalid UTF-8", raw)
    if isinstance(obj, dict):
        return Item(line, obj)
    return Item(line, None, _not_an_object(obj), text.buf[start:end])


def _resync(text: _ArrayText) -> str:
    """Skip a malformed record, up to the next line indented like it that opens an object.

    Pretty-printed arrays put every record at the same indent, so this finds the next one; in a
    one-line array there is none, and the rest of the file becomes one invalid item.
    Returns the skipped text, so that nothing is lost.
    """
    start = text.pos
    line_start = text.buf.rfind("\n", 0, start) + 1
    indent = text.buf[line_start:start]
    pattern = re.compile(r"\n" + re.escape(indent if not indent.strip() else "") + r"\{")
    while True:
        m = pattern.search(text.buf, start + 1)
        if m:
            raw = text.buf[start : m.start()].rstrip().rstrip(",")
            text.advance(m.end() - 1)  # onto the '{' of the next record
            return raw
        if not text.more(len(text.buf)):
            raw = text.buf[start:].rstrip()
            text.advance(len(text.buf))
            text.closed = raw.endswith("]")
            return raw.removesuffix("]").rstrip()
        start = text.pos  # more() may have moved the window


def _read_parquet(path: Path) -> Iterator[Item]:
    import polars as pl

    try:
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except Exception as exc:  # polars raises several error types for a bad file
        raise InputError(f"{path}: cannot be read as Parquet ({exc})") from None
    for offset in range(0, rows, _PARQUET_ROWS):
        frame = pl.scan_parquet(path).slice(offset, _PARQUET_ROWS).collect()
        for i, row in enumerate(frame.iter_rows(named=True), start=offset + 1):
            yield Item(i, row)


# -- writing -----------------------------------------------------------------------------------


def container_for_output(path: Path) -> Container:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".json":
        return "json"
    return "jsonl"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: Path) -> Iterator[IO[bytes]]:
    """Write to a temporary file beside ``path`` and move it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(obj: Any) -> bytes:
    """Compact JSON, UTF-8; falls back to escapes for lone surrogates that orjson refuses."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=str).encode()


class ObjectWriter:
    """Writes JSON objects to a JSONL file, a JSON array or Parquet, atomically."""

    def __init__(self, path: Path):
        self.path = path
        self.container = container_for_output(path)
        self.count = 0
        self._rows: list[dict[str, Any]] = []
        self._cm = atomic_output(path)
        self._f = self._cm.__enter__()
        if self.container == "json":
            self._f.write(b"[")

    def write(self, obj: dict[str, Any]) -> None:
        if self.container == "parquet":
            self._rows.append(obj)
        else:
            data = dumps(obj)
            if self.container == "json":
                self._f.write(b"\n  " if self.count == 0 else b",\n  ")
                self._f.write(data)
            else:
                self._f.write(data + b"\n")
        self.count += 1

    def close(self, ok: bool = True) -> None:
        if not ok:
            self._cm.__exit__(RuntimeError, RuntimeError("aborted"), None)
            return
        if self.container == "json":
            self._f.write(b"\n]\n" if self.count else b"]\n")
        elif self.container == "parquet":
            import polars as pl

            pl.DataFrame(self._rows, infer_schema_length=None).write_parquet(self._f)
        self._cm.__exit__(None, None, None)
