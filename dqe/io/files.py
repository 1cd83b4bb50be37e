"""File containers: JSONL, JSON arrays and Parquet, read as a stream of items with line numbers.

A bad item never stops the stream: it comes out as an ``Item`` with ``error`` set and its raw
text kept (its bytes, where they are not valid text), so the caller can report it with its
file:line and keep it in the rejected output. Text is UTF-8, or UTF-16 or UTF-32 told by a
byte-order mark or by the zero bytes of its first characters (RFC 4627). Numbers read exactly:
integers of any size stay integers; a number no 64-bit float can hold (``NaN``, ``1e400``)
and a record nested deeper than ``MAX_DEPTH`` are invalid items, raw text kept, in every
container. Reading streams, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import orjson

from dqe.errors import InputError
from dqe.io.values import MAX_DEPTH, TOO_DEEP, Item, NotAFloat, exact_loads, parse_constant, parse_float, too_deep

Container = Literal["jsonl", "json", "object", "parquet", "arrow"]  # "json": an array; "object": one object

# Deepest nesting of a record (the record itself is level 1): below orjson's limit for writing
# (254), so that every record read can be hashed and written back.

_CHUNK = 1 << 22  # 4 MiB of text per read of a JSON array
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Undecodable bytes become U+DC00 + byte (surrogateescape does this only for bytes >= 0x80,
# which is all UTF-8 needs but not UTF-16), so that they can be told apart and given back.
_BYTES_ERRORS = "dqe.bytes"
_ESCAPED = re.compile("[\udc00-\udcff]")
# One pass over a JSON line: every digit becomes '1' and '{' becomes '[', so that 19 digits in a
# row (an integer that may not fit 64 bits, which orjson reads as a float) and the brackets of
# deep nesting are found with C-speed searches, not a regular expression.
_SCAN = bytes.maketrans(b"0123456789{", b"1111111111[")
_LONG_NUMBER = b"1" * 19
_SPACE = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.strip() strips


def _escape_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


def _bytes_of(text: str, encoding: str) -> bytes:
    """``text`` encoded again, each escaped byte given back as it was (a partial UTF-16 code
    unit included, which no encoder writes)."""
    parts, pos = [], 0
    for m in _ESCAPED.finditer(text):
        parts += [text[pos : m.start()].encode(encoding), bytes([ord(m.group()) - 0xDC00])]
        pos = m.end()
    parts.append(text[pos:].encode(encoding))
    return b"".join(parts)


codecs.register_error(_BYTES_ERRORS, _escape_bytes)


class Sniffed(NamedTuple):
    """What a file holds: its container and, for text, its encoding and byte-order mark."""

    container: Container
    encoding: str = "utf-8"
    bom: int = 0  # bytes of byte-order mark to skip
    # a JSON array written on one line: each item's ``line`` is its number in the array (the
    # line it would have as JSON Lines), since a line number would be 1 for every record
    numbered: bool = False


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _ends_with_parquet_footer(f: IO[bytes]) -> bool:
    """Parquet files start and end with PAR1; a text file that merely starts so is not one."""
    size = f.seek(0, os.SEEK_END)
    if size < 12:
        return False
    f.seek(size - 4)
    tail = f.read(4)
    f.seek(0)
    return tail == b"PAR1"


def _encoding(head: bytes) -> tuple[str, int]:
    """The text encoding and BOM length: a byte-order mark, else the zero bytes around the
    first characters, which JSON keeps ASCII (RFC 4627, section 3), else UTF-8."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    if len(head) >= 4:
        zeros = tuple(b == 0 for b in head[:4])
        for pattern, encoding in (
            ((True, True, True, False), "utf-32-be"),
            ((False, True, True, True), "utf-32-le"),
            ((True, False, True, False), "utf-16-be"),
            ((False, True, False, True), "utf-16-le"),
        ):
            # ... and text there: lines of NUL bytes ("\x00\n\x00\n") read as UTF-16 are two
            # line breaks, an empty file, and their records would be lost
            if zeros == pattern and head.decode(encoding, errors="replace").strip(" \t\r\n\ufeff\x00"):
                return encoding, 0
    return "utf-8", 0


def sniff(path: Path, label: str | None = None) -> Sniffed | None:
    """The container of a file: by extension for .jsonl and .parquet, else by content (many
    .json files are JSON Lines, and a few .jsonl files are JSON arrays over several lines). None for an empty or whitespace-only file. Errors name the
    file by ``label`` (a stream's name, where ``path`` is its spool).
    """
    name = label or str(path)
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
            if head[:4] == b"PAR1" and _ends_with_parquet_footer(f):
                return Sniffed("parquet")
            encoding, bom = _encoding(head)
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
            text = decoder.decode(head[bom:], final=len(head) < 1 << 16)
            while head and not text.strip(" \t\r\n\ufeff"):
                head = f.read(1 << 16)
                text = decoder.decode(head, final=not head)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})") from None
    text = text.lstrip(" \t\r\n\ufeff")
    if not text:
        return None
    if suffix == ".parquet":
        raise InputError(f"{name}: not a Parquet file (no PAR1 magic bytes)")
    if suffix == ".arrow":
        return Sniffed("arrow")
    lines = text.splitlines()
    if suffix in (".jsonl", ".ndjson"):
        # a JSON array written over several lines under the name of JSON Lines (EmoLLM's
        # *_format_emo.jsonl): read line by line, every line would be an invalid record
        several = text[:1] == "[" and len(lines) > 1 and lines[0].rstrip()[-1:] in ("[", "{", ",")
        return Sniffed("json" if several else "jsonl", encoding, bom)
    if text[:1] == "[":
        return Sniffed("json", encoding, bom, numbered="\n" not in text.rstrip())
    # JSON Lines whose first line is damaged still has whole objects on the lines after it
    later = any(line.lstrip()[:1] == "{" and _whole(line) for line in lines[1:20])
    if text[:1] == "{" and not later and len(lines) > 1 and not _whole(lines[0]):
        return Sniffed("object", encoding, bom)  # one object over several lines: a record, or a config
    if text[:1] == "{" or later:
        return Sniffed("jsonl", encoding, bom)
    if suffix in _DELIMITED:
        # polars (a dqe dependency) writes it out; every field a string, as its text was
        separator = ", separator='\\t'" if suffix == ".tsv" else ""
        raise InputError(
            f"{name}: {suffix[1:].upper()} is not read (dqe reads JSON Lines, JSON arrays, Parquet and Arrow): "
            'write it out as JSON Lines first, every field a string: python -c "import polars as pl; '
            f"pl.read_csv('{path.name}', infer_schema=False{separator}).write_ndjson('{path.stem}.jsonl')\""
        )
    raise InputError(
        f"{name}: unknown format: expected JSON Lines, a JSON array or Parquet (the file starts with {text[:20]!r})"
    )


_DELIMITED = (".csv", ".tsv")  # tables of text that dqe does not read, but says how to


def _whole(line: str) -> bool:
    """Whether a line is a whole JSON value, as each line of JSON Lines is."""
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


class Position:
    """How far a reader is into the file it reads, in bytes, for progress (0 before it opens it,
    the file's size once it has closed it)."""

    def __init__(self) -> None:
        self.file: IO[bytes] | None = None
        self.size = 0

    def open(self, f: IO[bytes]) -> None:
        self.file, self.size = f, os.fstat(f.fileno()).st_size

    def __call__(self) -> int:
        if self.file is None:
            return 0
        if self.file.closed:
            return self.size
        try:
            return self.file.tell()
        except OSError:
            return 0


def read_items(
    path: Path, sniffed: Sniffed, label: str | None = None, position: Position | None = None
) -> Iterator[Item]:
    position = position or Position()
    if sniffed.container == "jsonl":
        return _read_jsonl(path, sniffed, position)
    if sniffed.container == "object":
        return _read_object(path, sniffed, position)
    if sniffed.container == "json":
        return _read_json_array(path, sniffed, position)
    if sniffed.container == "arrow":
        from dqe.io.arrow import read_arrow

        return read_arrow(path, label)
    from dqe.io.parquet import read_rows

    return read_rows(path, label)


def _decode_error(exc: Exception) -> str:
    msg = str(exc)
    if "utf-8" in msg.lower() or "surrogates" in msg.lower():
        return "invalid UTF-8"
    if "depth limit" in msg or "recursion limit" in msg:
        return TOO_DEEP
    return f"malformed JSON: {msg}"


def _not_an_object(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        # a conversation written as its bare list of messages (XTuner's openai_sft.jsonl)
        return (
            f"expected a JSON object, got a list of {len(value)} messages: a conversation reads as "
            """{"messages": [...]} (jq -c '{messages: .}')"""
        )
    return f"expected a JSON object, got {type(value).__name__ if value is not None else 'null'}"


# -- JSON Lines --------------------------------------------------------------------------------


def _aligned_lines(f: IO[bytes], encoding: str) -> Iterator[bytes]:
    """Lines of UTF-16 or UTF-32 bytes: split at newline code units, never inside a character."""
    newline = "\n".encode(encoding)
    unit = len(newline)
    buf = b""
    while True:
        chunk = f.read(_CHUNK)
        buf += chunk
        start = scan = 0
        while (end := buf.find(newline, scan)) != -1:
            if (end - start) % unit:  # a match across two characters
                scan = end + 1
                continue
            yield buf[start : end + unit]
            start = scan = end + unit
        buf = buf[start:]
        if not chunk:
            if buf:
                yield buf
            return


def _raw(data: bytes, encoding: str) -> str | bytes:
    """An invalid item's text, or its bytes when they are not valid in the file's encoding."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data


def _body(line: bytes, encoding: str) -> bytes:
    """A line's bytes without its line ending."""
    for ending in ("\r\n", "\n"):
        encoded = ending.encode(encoding)
        if line.endswith(encoded):
            return line[: -len(encoded)]
    return line


def _parse_line(number: int, data: bytes, line: bytes, encoding: str) -> Item:
    """One line of JSON Lines: ``data`` is its UTF-8 text, ``line`` its own bytes (for raw)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return _unparsed(number, data, line, encoding, exc)
    return _checked(number, data, line, encoding, obj, data.translate(_SCAN))


def _unparsed(number: int, data: bytes, line: bytes, encoding: str, exc: orjson.JSONDecodeError) -> Item:
    if "surrogate in string" in str(exc):
        try:  # a lone surrogate escaped ("\ud800"): JSON, as the array reader takes it
            obj = exact_loads(data)
        except (ValueError, RecursionError):
            pass
        else:
            return _checked(number, data, line, encoding, obj, data.translate(_SCAN))
    return Item(number, None, _decode_error(exc), _raw(_body(line, encoding), encoding))


def _checked(number: int, data: bytes, line: bytes, encoding: str, obj: Any, scan: bytes) -> Item:
    """A parsed line held to what every container holds to: an object, not too deep, exact."""
    if scan.count(b"[") > MAX_DEPTH and too_deep(obj):
        return Item(number, None, TOO_DEEP, _raw(_body(line, encoding), encoding))
    if not isinstance(obj, dict):
        return Item(number, None, _not_an_object(obj), _raw(_body(line, encoding), encoding))
    return Item(number, exact_loads(data) if _LONG_NUMBER in scan else obj)


def json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a JSON Lines file dqe wrote itself (a run's ledger, dqe augment's state),
    with their line numbers; a line that is not a JSON object stops the run naming ``path:line``
    (data files are read by ``read_items``, which keeps such lines as invalid records)."""
    with path.open("rb") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{number}: expected a JSON object")
            yield number, obj


def jsonl_items(numbered: Iterable[tuple[int, bytes]]) -> Iterator[Item]:
    """The items of numbered lines of UTF-8 JSON Lines (each with its newline); a blank line
    gives none. What reads a whole file and what reads a range of one (``dqe.ray``) share it."""
    for number, line in numbered:
        if line[0] in _SPACE and not line.strip():  # a line of JSON starts with '{': no copy to strip
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield _unparsed(number, line, line, "utf-8", exc)
            continue
        scan = line.translate(_SCAN)  # the common case, inline: this loop is the reader's hot path
        if type(obj) is dict and _LONG_NUMBER not in scan and scan.count(b"[") <= MAX_DEPTH:
            yield Item(number, obj)
        else:
            yield _checked(number, line, line, "utf-8", obj, scan)


def _read_jsonl(path: Path, sniffed: Sniffed, position: Position) -> Iterator[Item]:
    encoding = sniffed.encoding
    with open(path, "rb") as f:
        position.open(f)
        f.seek(sniffed.bom)
        if encoding == "utf-8":
            yield from jsonl_items(enumerate(f, start=1))
            return
        for number, line in enumerate(_aligned_lines(f, encoding), start=1):
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError:
                yield Item(number, None, f"invalid {_name(encoding)}", _body(line, encoding))
                continue
            if text.strip():
                yield _parse_line(number, text.encode(), line, encoding)


def _read_object(path: Path, sniffed: Sniffed, position: Position) -> Iterator[Item]:
    """A file of one JSON object over several lines: one item. Text that is not one object after
    all (JSON Lines whose first record spans lines) is read as JSON Lines, line by line."""
    raw = path.read_bytes()[sniffed.bom :]
    try:
        data = raw if sniffed.encoding == "utf-8" else raw.decode(sniffed.encoding).encode()
        obj = orjson.loads(data)
    except UnicodeDecodeError:
        yield from _read_jsonl(path, sniffed, position)
        return
    except orjson.JSONDecodeError as exc:
        if not _one_value(data):
            yield from _read_jsonl(path, sniffed, position)
            return
        # one object after all, holding what orjson refuses: a NaN or a number no float holds (a
        # training run's metrics), or an escaped lone surrogate, which the exact reader takes
        try:
            obj = exact_loads(data)
        except NotAFloat as why:
            yield Item(1, None, f"malformed JSON: {why}", _raw(raw, sniffed.encoding))
            return
        except (ValueError, RecursionError):
            yield _unparsed(1, data, raw, sniffed.encoding, exc)
            return
    yield _checked(1, data, raw, sniffed.encoding, obj, data.translate(_SCAN))


def _one_value(data: bytes) -> bool:
    """Whether ``data`` is one JSON value to Python's lenient reader (NaN and Infinity allowed):
    one object over several lines, not JSON Lines whose first record spans lines."""
    try:
        json.loads(data)
    except RecursionError:
        return True  # one value, too deep to read: invalid as such
    except ValueError:
        return False
    return True


# -- JSON arrays -------------------------------------------------------------------------------


class _ArrayText:
    """A sliding window of a JSON array file's text, tracking the line number at ``pos``."""

    def __init__(self, f: IO[bytes], encoding: str):
        self.f = f
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)(errors=_BYTES_ERRORS)
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.eof = False
        self.bad_bytes = False  # some bytes were not valid text: check each record for them
        self.closed = False  # set when a skipped tail ended with the array's ']'
        self.resynced = False  # set when a malformed record was skipped up to the next one

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
        if not self.bad_bytes and _ESCAPED.search(text):
            self.bad_bytes = True
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

    def raw(self, start: int, end: int) -> str | bytes:
        """The text from ``start`` to ``end``, or its bytes when some were not valid text."""
        text = self.buf[start:end]
        if self.bad_bytes and _ESCAPED.search(text):
            return _bytes_of(text, self.encoding)
        return text


_TRUNCATED = "truncated JSON array: the file ends before the closing ']'"
_AFTER = "content after the end of the JSON array"


def _read_json_array(path: Path, sniffed: Sniffed, position: Position) -> Iterator[Item]:
    items = _array_items(path, sniffed, position)
    if not sniffed.numbered:
        return items
    return (item._replace(line=number) for number, item in enumerate(items, start=1))


def _array_items(path: Path, sniffed: Sniffed, position: Position) -> Iterator[Item]:
    decoder = json.JSONDecoder(parse_float=parse_float, parse_constant=parse_constant)
    with open(path, "rb") as f:
        position.open(f)
        f.seek(sniffed.bom)
        text = _ArrayText(f, sniffed.encoding)
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
                text.advance(text.pos + 1)
                yield from _after_array(text, decoder)
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
                    text.advance(text.pos + 1)
                    yield from _after_array(text, decoder)
                    return
            text.resynced = False
            item = _decode_one(text, decoder)
            yield item
            if item.error and item.error.startswith("truncated"):
                return
            after_record = not text.resynced  # a value read whole is followed by ',' or ']'


def _after_array(text: _ArrayText, decoder: json.JSONDecoder) -> Iterator[Item]:
    """Whatever follows the array's closing ']' (a stray record, a second array): each JSON
    value an invalid item with its text, so that nothing after the array goes unseen."""
    while text.skip_space():
        item = _decode_one(text, decoder, trailing=True)
        yield item._replace(obj=None, error=_AFTER)
        if item.error and item.error.startswith("truncated"):
            return


def _decode_one(text: _ArrayText, decoder: json.JSONDecoder, trailing: bool = False) -> Item:
    """The value at ``pos``; ``trailing``: it follows the array, so keep its text, and a ']'
    at the end of the file belongs to it."""
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
                raw = text.raw(text.pos, len(text.buf.rstrip()))
                text.advance(len(text.buf))
                return Item(line, None, f"truncated JSON array: the file ends inside this record ({exc.msg})", raw)
            where = text.line + text.buf.count("\n", text.pos, exc.pos)
            return Item(line, None, f"malformed JSON: {exc.msg} (line {where})", _resync(text, trailing))
        except (RecursionError, NotAFloat) as exc:
            reason = TOO_DEEP if isinstance(exc, RecursionError) else f"malformed JSON: {exc}"
            end = _value_end(text)
            if end is None:
                raw = text.raw(text.pos, len(text.buf.rstrip()))
                text.advance(len(text.buf))
                return Item(line, None, f"truncated JSON array: the file ends inside this record ({reason})", raw)
            raw = text.raw(text.pos, end)
            text.advance(end)
            return Item(line, None, reason, raw)
    start = text.pos
    text.advance(end)
    if text.bad_bytes and _ESCAPED.search(text.buf, start, end):
        return Item(line, None, f"invalid {_name(text.encoding)}", text.raw(start, end))
    brackets = text.buf.count("[", start, end) + text.buf.count("{", start, end)
    if brackets > MAX_DEPTH and too_deep(obj):
        return Item(line, None, TOO_DEEP, text.raw(start, end))
    if isinstance(obj, dict):
        return Item(line, obj, None, text.buf[start:end] if trailing else None)
    return Item(line, None, _not_an_object(obj), text.buf[start:end])


def _name(encoding: str) -> str:
    """'utf-16-le' -> 'UTF-16'."""
    return encoding.upper().removesuffix("-LE").removesuffix("-BE")


_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_REST = re.compile(r'(?:[^"\\]|\\.)*"', re.S)
_SCALAR = re.compile(r"[^\s,\]}]*")


def _value_end(text: _ArrayText) -> int | None:
    """Where the value at ``pos`` ends, found without recursion (for values too deep for the
    JSON decoder, or holding a number it refuses); None when the file ends first."""
    while True:
        buf, i, depth = text.buf, text.pos, 0
        if buf[i] not in "[{":  # a bare number or constant
            end = _SCALAR.match(buf, i).end()  # type: ignore[union-attr]
            if end < len(buf) or not text.more(len(buf)):
                return end
            continue
        while (m := _STRUCTURE.search(buf, i)) is not None:
            i = m.end()
            c = m.group()
            if c == '"':
                string = _STRING_REST.match(buf, i)
                if string is None:
                    break
                i = string.end()
            elif c in "[{":
                depth += 1
            else:
                depth -= 1
                if depth <= 0:
                    return i
        if not text.more(len(text.buf)):
            return None


def _resync(text: _ArrayText, trailing: bool = False) -> str | bytes:
    """Skip a malformed record, up to the next line indented like it that opens an object.

    Pretty-printed arrays put every record at the same indent, so this finds the next one; in a
    one-line array there is none, and the rest of the file becomes one invalid item (less the
    array's closing ']', unless the array had closed before: ``trailing``).
    Returns the skipped text, so that nothing is lost.
    """
    text.resynced = True
    start = text.pos
    line_start = text.buf.rfind("\n", 0, start) + 1
    indent = text.buf[line_start:start]
    pattern = re.compile(r"\n" + re.escape(indent if not indent.strip() else "") + r"\{")
    while True:
        m = pattern.search(text.buf, start + 1)
        if m:
            raw = text.raw(start, start + len(text.buf[start : m.start()].rstrip().rstrip(",")))
            text.advance(m.end() - 1)  # onto the '{' of the next record
            return raw
        if not text.more(len(text.buf)):
            rest = text.buf[start:].rstrip()
            if not trailing and rest.endswith("]"):
                text.closed = True
                rest = rest[:-1].rstrip()
            raw = text.raw(start, start + len(rest))
            text.advance(len(text.buf))
            return raw
        start = text.pos  # more() may have moved the window
