"""From inputs (paths, lists of dicts or ``Record``s, polars frames) to batches of normalized records.

Each file is sniffed for its container and its record format is detected from its first
records (``input_format`` overrides). Every item is accounted for: a record that reads comes
out in a batch frame, one that does not comes out as an ``InvalidRecord`` with its reason and
raw text. Batches stream, so memory follows the batch size, not the file size.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from pydantic import BaseModel

from dqe.errors import InputError, NotDataError, PluginError, RecordError
from dqe.guard import blame, describe
from dqe.io.files import Position, read_items, sniff
from dqe.io.formats.base import Columns, Layout, RecordFormat, RecordLayout, Tags, field_role
from dqe.io.formats.preference import V1 as PREFERENCE_V1
from dqe.io.inputs import ANNOTATION, InputFile, is_generated, resolve_inputs
from dqe.io.values import Item
from dqe.records import Record, batch_schema

if TYPE_CHECKING:
    import polars as pl

_DETECT_SAMPLE = 64
NUMBERED_NOTE = "a JSON array on one line: a record's source line is its number in the array"


class FileInfo(BaseModel):
    path: str
    container: str | None = None  # None: empty file, or an in-memory input
    format: str | None = None
    records: int = 0  # items read, valid or not
    invalid: int = 0
    note: str | None = None
    error: str | None = None  # why a file of a folder could not be read; the others were (exit code 2)


class InvalidRecord(NamedTuple):
    idx: int
    file: int
    line: int
    reason: str
    raw: Any  # the text of the item, or the object that did not normalize


class Batch(NamedTuple):
    frame: pl.DataFrame
    invalid: list[InvalidRecord]


def record_id(obj: Any) -> str:
    """Content hash of an object, the same however the JSON was laid out."""
    try:
        data = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:
        data = repr(obj).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def format_labels(formats: dict[str, RecordFormat], owners: dict[str, str] | None) -> dict[str, str]:
    """How errors name each format's code: ``owners`` maps "format:NAME" to its plugin."""
    return {
        name: f"record format '{name}'"
        + (f" (plugin '{owners[f'format:{name}']}')" if owners and f"format:{name}" in owners else "")
        for name in formats
    }


class Reader:
    """Reads inputs into batches; ``files`` describes each input once it has been read.

    ``inputs`` are resolved once (``dqe.io.inputs``): a stream is spooled then, so that a reader
    made again from ``reader.inputs`` reads the same records."""

    def __init__(
        self,
        inputs: Any,
        formats: dict[str, RecordFormat],
        *,
        input_format: str | None = None,
        columns: Columns | None = None,
        tags: Tags | None = None,
        batch_size: int = 10_000,
        owners: dict[str, str] | None = None,
    ):
        self.formats = formats
        self.labels = format_labels(formats, owners)
        self.columns = columns or Columns()
        self.tags = tags or Tags()
        self.batch_size = batch_size
        if input_format is not None and input_format not in formats:
            raise InputError(f"unknown input format '{input_format}'; known: {', '.join(formats)}")
        self.input_format = input_format
        self.inputs = resolve_inputs(inputs)
        self.files = [FileInfo(path=label) for label, _ in self.inputs.sources]
        self.generated = 0  # records read that carry dqe augment's provenance
        self._position = Position()  # in the file being read
        self._reading = 0  # the input being read
        self._numbered: set[int] = set()  # inputs whose sources number records, not lines
        sizes = [_size(source) for _, source in self.inputs.sources]
        # the bytes of the inputs, for progress; None where an input is in memory
        self.bytes_total = None if None in sizes else sum(sizes)  # type: ignore[arg-type]
        self._before = [sum(s or 0 for s in sizes[:i]) for i in range(len(sizes))]

    def bytes_read(self) -> int:
        """How many bytes of the inputs are read so far (0 for inputs in memory)."""
        if not self._before:
            return 0
        return self._before[self._reading] + self._position()

    def sha256(self, index: int) -> str | None:
        """The hash of input ``index`` as it was read (None for an in-memory input)."""
        source = self.inputs.sources[index][1]
        return source.sha256() if isinstance(source, InputFile) else None

    def _items(self, index: int) -> Iterator[Item]:
        label, source = self.inputs.sources[index]
        info = self.files[index]
        if isinstance(source, InputFile):
            sniffed = sniff(source.path, label)
            info.container = sniffed.container if sniffed else None
            if sniffed is None:
                info.note = "empty file"
                return iter(())
            if sniffed.numbered:
                self._numbered.add(index)
            return read_items(source.path, sniffed, label, self._position)
        if _holds_records(source):
            return (Item(i, record) for i, record in enumerate(source, start=1))  # type: ignore[arg-type]
        if isinstance(source, list):
            return (
                Item(i, obj) if isinstance(obj, dict) else Item(i, None, "expected an object (a dict)", repr(obj))
                for i, obj in enumerate(source, start=1)
            )
        return (Item(i, row) for i, row in enumerate(source.iter_rows(named=True), start=1))

    def _vote(self, objects: list[dict[str, Any]], columns: dict[str, Columns], label: str) -> RecordFormat | None:
        """The format most of ``objects`` look like, each format with its ``columns``."""
        votes: Counter[str] = Counter()
        for obj in objects:
            name = next((f.name for f in self.formats.values() if self._detects(f, obj, columns[f.name], label)), None)
            if name:
                votes[name] += 1
        return self.formats[votes.most_common(1)[0][0]] if votes else None

    def _layout(self, sample: list[Item], index: int) -> Layout | None:
        """How a file is read, from its first records: the format (``input_format``, or the one
        most records look like) and the field names, fitted to the file where the user mapped
        none (the file's note says which)."""
        info = self.files[index]
        objects = [item.obj for item in sample if item.obj is not None]
        if self.input_format:
            fmt: RecordFormat | None = self.formats[self.input_format]
        elif not objects:
            return None
        else:
            fmt = self._vote(objects, dict.fromkeys(self.formats, self.columns), info.path)
            if fmt is None:  # the field names may only be spelt differently
                fitted = {name: self._fit(f, objects, info.path)[0] for name, f in self.formats.items()}
                fmt = self._vote(objects, fitted, info.path)
        if fmt is None:
            keys = ", ".join(sorted({k for obj in objects for k in obj})[:12])
            if len(sample) == 1 and len(objects) == 1 and (what := _describes(objects[0])):
                raise NotDataError(
                    f"{info.path}: one JSON object describing {what}, not records (keys: {keys}); leave it out "
                    f"with --exclude {Path(info.path).name} (or exclude = [...] in the config)"
                )
            if linked := _linked_messages(objects):
                raise InputError(
                    f"{info.path}: messages, one a record, each linked to the one it answers by '{linked}' "
                    f"(Open Assistant's flat export; keys: {keys}): dqe reads one conversation a record, and "
                    "here a conversation spans records. Read the message trees instead (Open Assistant's "
                    "*.trees.jsonl, a tree a line: the prompt message with its 'replies' nested in it)"
                )
            sides = {self.columns.rejected, PREFERENCE_V1[1]}
            if len(sample) == 1 and len(objects) == 1 and (turns := _conversation(objects[0], sides)):
                key, n, content = turns
                tags = f' and [tags] content_tag = "{content}"' if content != "content" else ""
                raise InputError(
                    f"{info.path}: one JSON object, one conversation: its '{key}' holds {n} turns with a 'role'; "
                    f'read it with [columns] messages = "{key}"{tags} in a config file (--config)'
                )
            if len(sample) == 1 and len(objects) == 1 and (wrapped := _wrapped_records(objects[0], sides)):
                key, n = wrapped
                raise InputError(
                    f"{info.path}: one JSON object whose '{key}' holds a list of {n} object{'s' if n != 1 else ''}; dqe reads records "
                    "from a JSON array, JSON Lines or Parquet: write the list out first "
                    f"(jq '.{key}' {Path(info.path).name} > records.json)"
                )
            if len(sample) == 1 and len(objects) == 1 and (keyed := _keyed_records(objects[0])):
                name = Path(info.path).name
                raise InputError(
                    f"{info.path}: one JSON object of {keyed} objects under keys of their own ({keys}, ...): "
                    "records keyed by id, not a list of them; dqe reads records from a JSON array, JSON Lines "
                    f"or Parquet: write them out first, each key kept as its id (jq -c 'to_entries[] | "
                    f"{{id: .key}} + .value' {name} > records.jsonl)"
                )
            raise InputError(
                f"{info.path}: unknown record format (keys seen: {keys}); expected one of "
                f"{', '.join(self.formats)}: {_how_to_map(objects)}"
            )
        columns, notes = self._fit(fmt, objects, info.path)
        if index in self._numbered:
            notes = [NUMBERED_NOTE, *notes]
        if notes:
            info.note = "; ".join(notes)
        return Layout(fmt, columns, self.tags)

    def _detects(self, fmt: RecordFormat, obj: dict[str, Any], columns: Columns, label: str) -> bool:
        with blame(f"{label}: {self.labels[fmt.name]} detect()"):  # a plugin's format is plugin code
            return bool(fmt.detect(obj, columns, self.tags))

    def _fit(self, fmt: RecordFormat, objects: list[dict[str, Any]], label: str) -> tuple[Columns, list[str]]:
        with blame(f"{label}: {self.labels[fmt.name]} fit_columns()"):
            return fmt.fit_columns(objects, self.columns)

    def _record_layout(self, record: Record, index: int, line: int) -> Layout:
        """How a ``Record`` is read and written: by the format it names."""
        fmt = self.formats.get(record.format)
        if fmt is None:
            raise InputError(
                f"{self.files[index].path}:{line}: the record's format '{record.format}' is not one of "
                f"{', '.join(self.formats)}"
            )
        return RecordLayout(fmt, self.columns, self.tags)

    def _records(self, index: int) -> Iterator[tuple[int, Item, Layout | None]]:
        """The items of an input of ``Record``s, each with the layout of its own format."""
        info = self.files[index]
        info.format = None
        layouts: dict[str, Layout] = {}
        for item in self._items(index):
            record: Record = item.obj  # type: ignore[assignment]
            if record.format not in layouts:
                layouts[record.format] = self._record_layout(record, index, item.line)
                info.format = record.format if info.format in (None, record.format) else "mixed"
            if ANNOTATION in record.original:
                self.inputs.annotation_taken = True
                self.generated += is_generated(record.original)
            yield index, item, layouts[record.format]

    def open_file(self, index: int) -> tuple[Iterator[Item], Layout | None] | None:
        """The items of input file ``index`` and how they are read, detected from its first
        items; None for a file of a folder set aside (its ``files`` entry says why)."""
        info = self.files[index]
        source = self.inputs.sources[index][1]
        try:
            items = self._items(index)
            try:
                sample = list(itertools.islice(items, _DETECT_SAMPLE))
            except OSError as exc:
                raise InputError(f"{info.path}: cannot be read ({exc.strerror or exc})") from None
            layout = self._layout(sample, index)
        except InputError as exc:
            if not (isinstance(source, InputFile) and source.in_folder):
                raise
            # one file of a folder: set aside with its reason, the others still read
            if isinstance(exc, NotDataError):
                info.note = f"left out: {exc}".replace(f"{info.path}: ", "", 1)
            else:
                info.error = str(exc).replace(f"{info.path}: ", "", 1)
            info.records = 0
            return None
        info.format = layout.name if layout else None
        return itertools.chain(sample, items), layout

    def stream(self) -> Iterator[tuple[int, Item, Layout | None]]:
        """Every item of every input in order (the order ``_idx`` counts), with how its file is read."""
        for index in range(len(self.inputs.sources)):
            self._reading, self._position = index, Position()
            info = self.files[index]
            source = self.inputs.sources[index][1]
            if _holds_records(source):
                yield from self._records(index)
                continue
            opened = self.open_file(index)
            if opened is None:
                continue
            items, layout = opened
            try:
                for item in items:
                    if item.obj is not None and ANNOTATION in item.obj:
                        self.inputs.annotation_taken = True
                        self.generated += is_generated(item.obj)
                    yield index, item, layout
            except OSError as exc:  # an I/O error in the middle of a file stops the run naming it
                raise InputError(f"{info.path}: cannot be read ({exc.strerror or exc})") from None

    def __iter__(self) -> Iterator[Batch]:
        builder = BatchBuilder(self.files, self.labels)
        # counted here and written to ``files`` with each batch: a pydantic attribute set per
        # record costs more than the rest of the loop's bookkeeping
        records, invalid = [0] * len(self.files), [0] * len(self.files)

        def counted() -> Batch:
            for info, n, bad in zip(self.files, records, invalid, strict=True):
                info.records, info.invalid = n, bad
            return builder.build()

        idx = 0
        for index, item, layout in self.stream():
            records[index] += 1
            if not builder.add(idx, index, item, layout):
                invalid[index] += 1
            idx += 1
            if builder.size >= self.batch_size:
                yield counted()
        if builder.size or idx == 0:
            yield counted()


_SOURCES = {"file_name", "hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name"}


# What a model's folder or a training run holds beside its weights, told by a key of its own:
# config.json, tokenizer_config.json, generation_config.json, adapter_config.json, trainer_state.json
_MODEL_KEYS = {
    "model_type": "a model (config.json)",
    "architectures": "a model (config.json)",
    "tokenizer_class": "a tokenizer (tokenizer_config.json)",
    "_from_model_config": "a model's generation settings (generation_config.json)",
    "peft_type": "an adapter (adapter_config.json)",
    "log_history": "a training run (trainer_state.json)",
}


def _describes(obj: dict[str, Any]) -> str | None:
    """What one JSON object describes when it is not a record: data sets (LLaMA-Factory's
    dataset_info.json, an object of named objects, or the dataset_info.json and state.json that
    Hugging Face datasets' save_to_disk writes beside its Arrow files, and dataset_dict.json, the
    list of its splits), or a model, its tokenizer or adapter, or a training run (the configs a
    model folder holds); None for anything else."""
    keys = set(obj)
    # LLaMA-Factory's entries each name where their data is: a file, or a hub's repository
    named_objects = bool(obj) and all(isinstance(v, dict) and _SOURCES & set(v) for v in obj.values())
    features = obj.get("features")
    hf_features = isinstance(features, dict) and any(isinstance(f, dict) and "_type" in f for f in features.values())
    if keys == {"splits"} or named_objects or "_data_files" in keys or hf_features:
        return "data sets, such as LLaMA-Factory's dataset_info.json or a Hugging Face datasets folder's"
    return next((what for key, what in _MODEL_KEYS.items() if key in keys), None)


def _how_to_map(objects: list[dict[str, Any]]) -> str:
    """What a user does with records of no known format: the ``--columns`` that would read their
    text fields (each field's role by a word in its name, "toy_output" the answer, else, of two
    prose fields, the first the question and the next the answer), or why one text field is not
    instruction data."""
    strings = [
        key
        for key in dict.fromkeys(key for obj in objects for key in obj)
        if sum(isinstance(obj.get(key), str) for obj in objects) * 2 >= len(objects)
    ]
    # prose, not ids or labels: some value has a space or a letter beyond ASCII
    texts = [
        key
        for key in strings
        if any(" " in v or not v.isascii() for obj in objects if isinstance(v := obj.get(key), str))
    ]
    if len(strings) == 1 and texts and field_role(texts[0]) == "prompt":
        return (
            f"one text field, '{texts[0]}', named as a question, and no answer: questions alone (prompts to "
            f"answer, an evaluation set) read with --input-format questions --columns prompt={texts[0]} "
            "(as training data every record fails DQ001 for want of an answer)"
        )
    if len(strings) == 1 and texts:
        return (
            f"one text field, '{texts[0]}', and no question or answer: text alone (pretraining text, a "
            "document) is not instruction data (a question and its answer map with --columns prompt=FIELD,response=FIELD)"
        )
    roles: dict[str, str] = {}
    for key in texts:  # prose only: an 'answer_id' or a 'user_name' is no answer or question
        if role := field_role(key, roles):
            roles[role] = key
    # by place only between two prose fields: among more, the first two are a guess (gorilla's API
    # docs, a table of airports), and a hint that maps the wrong fields is worse than none
    for key in texts if len(texts) == 2 else ():
        if key not in roles.values() and (role := next((r for r in ("prompt", "response") if r not in roles), None)):
            roles[role] = key
    if {"prompt", "response"} <= roles.keys():
        mapping = ",".join(f"{role}={roles[role]}" for role in ("prompt", "response", "system") if role in roles)
        return f"map your field names with --columns {mapping} (or [tool.dqe.columns]), or pass --input-format"
    return "map your field names with --columns prompt=FIELD,response=FIELD (or [tool.dqe.columns]), or pass --input-format"


# Keys that link a message to its parent in a flat export of message trees (Open Assistant's
# messages.jsonl and its backend's test data)
_PARENT_KEYS = ("parent_id", "parent_message_id")


def _linked_messages(objects: list[dict[str, Any]]) -> str | None:
    """The key that links each message to its parent when most ``objects`` are single messages of
    a flat export (a ``text`` and a ``role`` beside a parent key); None otherwise."""
    for key in _PARENT_KEYS:
        if sum(key in obj and "text" in obj and "role" in obj for obj in objects) * 2 > len(objects):
            return key
    return None


def _conversation(obj: dict[str, Any], sides: set[str]) -> tuple[str, int, str] | None:
    """The key, length and text key of the turns of the one conversation an object holds
    (ToolTalk's ``conversation`` of {index, role, text}): a list of objects that each have a
    ``role`` and a text under ``content``, ``text`` or ``value``; None for any other object. A
    preference pair's rejected side (a key of ``sides``) is never the conversation to read."""
    for key, value in obj.items():
        if key in sides:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) and "role" in v for v in value):
            content = next((c for c in ("content", "text", "value") if all(c in v for v in value)), None)
            if content:
                return key, len(value), content
    return None


def _wrapped_records(obj: dict[str, Any], sides: set[str]) -> tuple[str, int] | None:
    """The key and length of the list of objects one JSON object wraps its records in
    (``{"data": [{...}, ...]}``, ``{"version": 2, "train": [...]}``), or None: the first such list
    that is not a preference pair's rejected side (a key of ``sides``)."""
    for key, value in obj.items():
        if key not in sides and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return key, len(value)
    return None


def _keyed_records(obj: dict[str, Any]) -> int | None:
    """How many records one JSON object keys by id (ToolBench's ``{"35735": {"query": ...}, ...}``):
    two or more values, every one an object, all sharing a key; None for any other object."""
    values = list(obj.values())
    if len(values) < 2 or not all(isinstance(v, dict) and v for v in values):
        return None
    shared = set(values[0]).intersection(*values[1:])
    return len(values) if shared else None


def _size(source: Any) -> int | None:
    """An input's size in bytes; None for one in memory."""
    if not isinstance(source, InputFile):
        return None
    try:
        return source.path.stat().st_size
    except OSError:
        return 0  # reading it says what is wrong


def _holds_records(source: Any) -> bool:
    """Whether an input is a list of ``Record``s (``resolve_inputs`` lets no other kind in with them)."""
    return isinstance(source, list) and bool(source) and isinstance(source[0], Record)


_COLUMNS = (
    "_idx",
    "_file",
    "_line",
    "_id",
    "_format",
    "system",
    "tools",
    "category",
    "domain",
    "language",
    "question",
    "answer",
    "input",
)
_EXCHANGE = ["user", "assistant"]


class BatchBuilder:
    """Accumulates normalized records column by column; ``build`` makes the polars frame."""

    def __init__(self, files: list[FileInfo], labels: dict[str, str]):
        self.files = files  # for messages: the path of each input
        self.labels = labels  # for messages: each format with its plugin
        self._reset()

    def _reset(self) -> None:
        self.size = 0
        self.cols: dict[str, list[Any]] = {k: [] for k in _COLUMNS}
        self.turn_row: list[int] = []
        self.turn_role: list[str] = []
        self.turn_content: list[str] = []
        self.invalid: list[InvalidRecord] = []
        # the columns' appends, bound once a batch: ``add`` is the reader's hot path
        self._appends = [self.cols[k].append for k in _COLUMNS]

    def add(self, idx: int, file: int, item: Item, layout: Layout | None) -> bool:
        self.size += 1
        obj = item.obj
        if obj is None or layout is None:
            reason = item.error or "no record format detected in this file"
            self.invalid.append(InvalidRecord(idx, file, item.line, reason, item.raw))
            return False
        try:
            n = layout.normalize(obj)
        except RecordError as exc:
            self.invalid.append(InvalidRecord(idx, file, item.line, f"{layout.name}: {exc}", obj))
            return False
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a plugin's format raising anything else is a plugin error, not a bad record
            raise PluginError(
                f"{self.files[file].path}:{item.line}: {self.labels[layout.name]} normalize() raised {describe(exc)}"
            ) from exc
        roles, contents = n.roles, n.contents
        question = answer = None
        if roles[-2:] == _EXCHANGE:  # the common case: the record ends on a question and its answer
            question, answer = contents[-2], contents[-1]
        else:
            for role, content in zip(reversed(roles), reversed(contents), strict=True):
                if answer is None and role == "assistant":
                    answer = content
                elif question is None and role == "user":
                    question = content
                if question is not None and answer is not None:
                    break
        a_idx, a_file, a_line, a_id, a_format, a_system, a_tools, a_category, a_domain, a_language, a_q, a_a, a_in = (
            self._appends
        )
        row = len(self.cols["_idx"])
        a_idx(idx)
        a_file(file)
        a_line(item.line)
        a_id(record_id(layout.object(obj)))
        a_format(layout.name)
        a_system(n.system)
        a_tools(n.tools)
        a_category(n.category)
        a_domain(n.domain)
        a_language(n.language)
        a_q(question or "")
        a_a(answer or "")
        a_in(n.input)
        self.turn_row.extend(itertools.repeat(row, len(roles)))
        self.turn_role.extend(roles)
        self.turn_content.extend(contents)
        return True

    def build(self) -> Batch:
        import polars as pl

        schema = batch_schema()
        turn_type = schema["turns"]
        frame = pl.DataFrame({k: v for k, v in self.cols.items()}, schema={k: schema[k] for k in self.cols})
        turns = (
            pl.DataFrame(
                {"_row": self.turn_row, "role": self.turn_role, "content": self.turn_content},
                schema={"_row": pl.UInt32, "role": pl.String, "content": pl.String},
            )
            .group_by("_row", maintain_order=True)
            .agg(turns=pl.struct("role", "content"))
        )
        frame = (
            frame.with_row_index("_row")
            .join(turns, on="_row", how="left", maintain_order="left")
            .with_columns(pl.col("turns").fill_null(pl.lit([], dtype=turn_type)))
            .select(list(schema))
        )
        batch = Batch(frame, self.invalid)
        self._reset()
        return batch
