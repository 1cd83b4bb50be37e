"""The text of chosen records, read again from the inputs.

The engine keeps no record text for the whole data set (memory follows the number of records,
not their size), so whatever shows failing records with their text (the HTML report,
``dqe check --show``) reads those few again by position, as ``dqe filter`` does for its
outputs. The read stops after the last record wanted.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from pydantic import BaseModel

from dqe.errors import RecordError
from dqe.io.reader import Reader
from dqe.records import Turn


class RecordText(BaseModel):
    record: int  # position in the run, as in findings
    source: str  # file:line
    system: str | None = None
    turns: list[Turn] = []
    raw: str | None = None  # the text of a record that could not be read (invalid)
    omitted: int = 0  # characters left out by clipping, over all parts


def _clip(text: str, max_chars: int | None) -> tuple[str, int]:
    if max_chars is None or len(text) <= max_chars:
        return text, 0
    return text[:max_chars], len(text) - max_chars


def _raw_text(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bytes):  # not valid text: shown with its bad bytes replaced
        return raw.decode("utf-8", "replace")
    try:
        return orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return repr(raw)


def read_texts(reader: Reader, records: Iterable[int], max_chars: int | None = None) -> dict[int, RecordText]:
    """Text of ``records`` (positions in the run), each part clipped to ``max_chars``."""
    wanted = set(records)
    out: dict[int, RecordText] = {}
    if not wanted:
        return out
    last = max(wanted)
    for idx, (file, item, layout) in enumerate(reader.stream()):
        if idx > last:
            break
        if idx not in wanted:
            continue
        source = f"{reader.files[file].path}:{item.line}"
        normalized = None
        if item.obj is not None and layout is not None:
            try:
                normalized = layout.normalize(item.obj)
            except RecordError:
                normalized = None
        if normalized is None:
            raw, omitted = _clip(_raw_text(item.raw if item.obj is None else item.obj), max_chars)
            out[idx] = RecordText(record=idx, source=source, raw=raw, omitted=omitted)
            continue
        omitted = 0
        system = None
        if normalized.system is not None:
            system, omitted = _clip(normalized.system, max_chars)
        turns = []
        for role, content in zip(normalized.roles, normalized.contents, strict=True):
            text, dropped = _clip(content, max_chars)
            omitted += dropped
            turns.append(Turn(role=role, content=text))  # type: ignore[arg-type]
        out[idx] = RecordText(record=idx, source=source, system=system, turns=turns, omitted=omitted)
    return out
