"""What a record format is: how to recognise it, read it into turns and write it back.

A format only maps fields. Files (JSONL, JSON arrays, Parquet) are the container's business
(``dqe.io.files``); batching and column building are the reader's (``dqe.io.reader``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

from dqe.errors import RecordError
from dqe.records import Record, Source, Turn


class Columns(BaseModel):
    """Field names of a data set, as LLaMA-Factory's ``dataset_info.json`` spells them.

    Leave a name unset to take the format's own default.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    prompt: str = "instruction"
    query: str = "input"
    response: str = "output"
    system: str = "system"
    history: str = "history"
    messages: str | None = None  # "conversations" for ShareGPT, "messages" for OpenAI
    tools: str = "tools"
    chosen: str = "chosen"  # preference data: the answer checked (written back as it came)
    rejected: str = "rejected"  # preference data: never checked, written back as it came
    category: str = "category"
    domain: str = "domain"
    language: str = "language"


# LLaMA-Factory's columns that hold no text to check (media files, KTO's label): a mapping copied
# from a dataset_info.json names them, and dqe reads none of them
UNREAD_COLUMNS = frozenset({"images", "videos", "audios", "kto_tag"})


# Words in a field's name that say which of a question-and-answer record's fields it is
# ("toy_output": the answer), for hints that name the mapping that would read a file
FIELD_WORDS = (
    ("system", ("system",)),
    ("response", ("output", "response", "answer", "completion", "target", "tgt", "reply", "assistant", "chosen")),
    ("prompt", ("input", "prompt", "question", "query", "instruction", "src", "human", "user")),
)


def field_role(name: str, taken: Collection[str] = ()) -> str | None:
    """Which field a key's name says it is: "system", "response" or "prompt", the first its words
    name that is not ``taken`` (by another key); None if none."""
    lowered = name.lower()
    return next((role for role, words in FIELD_WORDS if role not in taken and any(w in lowered for w in words)), None)


class Tags(BaseModel):
    """Role and content keys inside a conversation (LLaMA-Factory's ``tags``)."""

    model_config = ConfigDict(extra="forbid")

    role_tag: str | None = None
    content_tag: str | None = None
    user_tag: str | None = None
    assistant_tag: str | None = None
    observation_tag: str | None = None
    function_tag: str | None = None
    system_tag: str | None = None


class Normalized(NamedTuple):
    system: str | None
    roles: list[str]
    contents: list[str]
    tools: str | None
    category: str | None
    domain: str | None
    language: str | None
    # Alpaca's ``input`` kept apart from its instruction (the user turn holds both): templates
    # with an input section place it themselves, and the check counts what they render
    input: str | None = None


class RecordFormat(ABC):
    """Base class of a record format; subclasses set ``name`` and implement the three methods."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""

    @abstractmethod
    def detect(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> bool:
        """Whether ``obj`` looks like this format (cheap: key checks only)."""

    @abstractmethod
    def normalize(self, obj: dict[str, Any], columns: Columns, tags: Tags) -> Normalized:
        """Read ``obj`` into turns; raise ``RecordError`` naming the field when it cannot."""

    @abstractmethod
    def denormalize(self, record: Record, columns: Columns, tags: Tags) -> dict[str, Any]:
        """Write ``record`` in this format; raise ``RecordError`` when it cannot be expressed."""

    @abstractmethod
    def owned_keys(self, columns: Columns, tags: Tags) -> set[str]:
        """Top-level keys this format owns; ``dqe convert`` carries every other key over."""

    def fit_columns(self, sample: list[dict[str, Any]], columns: Columns) -> tuple[Columns, list[str]]:
        """The field names of a file, from its first records, for the fields the user did not
        map (``columns.model_fields_set``), and a note for each one that differs from the
        default ("answer read from 'response'"). The default: ``columns`` as they are."""
        return columns, []


def _check_unicode(text: str) -> None:
    """RecordError for text UTF-8 cannot hold: a lone surrogate (a JSON escape, a Parquet string)."""
    try:
        text.encode()  # faster than searching for surrogates
    except UnicodeEncodeError as exc:
        lone = ascii(exc.object[exc.start])[1:-1]
        raise RecordError(f"a lone surrogate ({lone}) in its text, which is not valid Unicode") from None


@dataclass(frozen=True, slots=True)
class Layout:
    """How one file's records are read: its record format, with the file's field names and tags."""

    format: RecordFormat
    columns: Columns
    tags: Tags

    @property
    def name(self) -> str:
        return self.format.name

    def normalize(self, obj: dict[str, Any]) -> Normalized:
        """``obj`` read into turns; RecordError when it cannot be, or when its text is not valid
        Unicode (a lone surrogate, which a JSON escape or a Parquet file can hold and UTF-8 cannot)."""
        return checked(self.format.normalize(obj, self.columns, self.tags))

    def denormalize(self, record: Record) -> dict[str, Any]:
        return self.format.denormalize(record, self.columns, self.tags)

    def record(self, obj: Any, source: Source | None = None, original: dict[str, Any] | None = None) -> Record:
        """``obj`` read into a ``Record`` of this format (RecordError when it cannot be): what
        another format's ``denormalize`` writes out. ``original`` is the object it keeps (default
        ``obj``)."""
        n = self.normalize(obj)
        return Record(
            system=n.system,
            turns=[Turn(role=r, content=c) for r, c in zip(n.roles, n.contents, strict=True)],  # type: ignore[arg-type]
            tools=n.tools,
            category=n.category,
            domain=n.domain,
            language=n.language,
            format=self.name,
            source=source,
            original=obj if original is None else original,
        )

    def owned_keys(self) -> set[str]:
        return self.format.owned_keys(self.columns, self.tags)

    def object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The object an output writes for this item: a file's object as it was read."""
        return obj


@dataclass(frozen=True, slots=True)
class RecordLayout(Layout):
    """How a ``Record`` handed over in memory is read: its turns as they are, with no format to
    parse; outputs write it in its own format, every key of its ``original`` kept."""

    def normalize(self, obj: Record) -> Normalized:  # type: ignore[override]
        return checked(
            Normalized(
                obj.system,
                [t.role for t in obj.turns],
                [t.content for t in obj.turns],
                obj.tools,
                obj.category,
                obj.domain,
                obj.language,
            )
        )

    def object(self, obj: Record) -> dict[str, Any]:  # type: ignore[override]
        written = self.denormalize(obj)
        return {**{k: v for k, v in obj.original.items() if k not in self.owned_keys()}, **written}


def checked(n: Normalized) -> Normalized:
    """``n``, once its text is known to be valid Unicode: RecordError for a lone surrogate."""
    for text in n.contents:  # the reader's hot path: ASCII text costs one flag test
        if not text.isascii():
            _check_unicode(text)
    if n.system or n.tools or n.category or n.domain or n.language:
        for text in (n.system, n.tools, n.category, n.domain, n.language):
            if text and not text.isascii():
                _check_unicode(text)
    return n


def text_field(obj: dict[str, Any], key: str, *, required: bool) -> str | None:
    """A string field, or None when absent and optional; RecordError on a wrong type."""
    value = obj.get(key)
    if value is None:
        if required:
            raise RecordError(f"missing field '{key}'")
        return None
    if not isinstance(value, str):
        raise RecordError(f"field '{key}' must be a string, got {type(value).__name__}")
    return value


def turn_text(turn: dict[str, Any], key: str, where: str) -> str:
    """A conversation's text field ``key`` of ``turn``; RecordError naming ``where`` (the turn's
    path, "conversations[2].value") when it is missing or not a string."""
    value = turn.get(key)
    if not isinstance(value, str):
        what = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise RecordError(f"'{where}' is {what}")
    return value


# Keys under which exports keep an answer's reasoning trace beside its text: DeepSeek's API and
# Qwen-Agent write ``reasoning_content``, others ``reasoning`` or ``thinking``
TRACE_KEYS = ("reasoning_content", "reasoning", "thinking")


def traced(trace: str, text: str) -> str:
    """``text`` with a reasoning trace before it as a closed ``<think>`` block: the one shape of a
    trace that every rule reads as reasoning, not reply, and that a trainer trains on. ``text``
    alone when ``trace`` is blank."""
    if not trace.strip():
        return text
    block = f"<think>\n{trace.strip()}\n</think>"
    return f"{block}\n\n{text}" if text else block


_TRACED_TEXT = re.compile(r"<think>\n(.*?)\n</think>(?:\n\n|\Z)", re.DOTALL)


def split_trace(text: str) -> tuple[str | None, str]:
    """The trace and the reply of a text that opens with a closed ``<think>`` block, as ``traced``
    writes it, for a format with a place of its own for the trace; ``(None, text)`` otherwise."""
    match = _TRACED_TEXT.match(text)
    return (match.group(1), text[match.end() :]) if match else (None, text)


def with_trace(turn: dict[str, Any], text: str, where: str) -> str:
    """``text`` with the reasoning trace ``turn`` keeps under a key of ``TRACE_KEYS`` before it
    (``traced``; the object itself is written back as it came). RecordError naming the key when
    the trace is not a string."""
    for key in TRACE_KEYS:
        trace = turn.get(key)
        if trace is None:
            continue
        if not isinstance(trace, str):
            raise RecordError(f"'{where}.{key}' must be a string (a reasoning trace), got {type(trace).__name__}")
        return traced(trace, text)
    return text


def metadata(obj: dict[str, Any], columns: Columns) -> tuple[str | None, str | None, str | None]:
    """category, domain and language when the data carries them (non-strings are ignored)."""
    category, domain, language = obj.get(columns.category), obj.get(columns.domain), obj.get(columns.language)
    return (
        category if isinstance(category, str) and category else None,
        domain if isinstance(domain, str) and domain else None,
        language if isinstance(language, str) and language else None,
    )


def chosen_answer(obj: dict[str, Any], columns: Columns, content_tag: str, roles: list[str]) -> str | None:
    """Preference data (LLaMA-Factory's ranking sets): the ``chosen`` answer of a conversation
    that ends on the user's turn, a turn object (its reasoning trace read as ``with_trace`` reads
    one) or a string; None for any other record."""
    chosen = obj.get(columns.chosen)
    if chosen is None or roles[-1:] != ["user"]:
        return None
    value = chosen.get(content_tag) if isinstance(chosen, dict) else chosen
    if not isinstance(value, str):
        raise RecordError(f"'{columns.chosen}' must be a turn with '{content_tag}' or a string")
    return with_trace(chosen, value, columns.chosen) if isinstance(chosen, dict) else value


def preference_note(sample: list[dict[str, Any]], columns: Columns) -> list[str]:
    """The file's note when most of ``sample`` is preference data."""
    if sum(columns.chosen in obj for obj in sample) * 2 > len(sample):
        return [f"preference data: the '{columns.chosen}' answers checked, '{columns.rejected}' not"]
    return []


def tools_field(obj: dict[str, Any], key: str) -> str | None:
    """Tools as a JSON string (ShareGPT stores a string, OpenAI a list)."""
    value = obj.get(key)
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        import orjson

        return orjson.dumps(value).decode()
    raise RecordError(f"field '{key}' must be a string or a list, got {type(value).__name__}")
