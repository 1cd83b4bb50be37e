"""Parquet that round-trips JSON records: typed columns where the values allow, JSON text where not.

A Parquet column has one type, and JSON records need not: a field may hold a number in one
record and a string in the next, objects of different shapes, integers beyond 64 bits, or be
missing from some records and null in others. Left to inference, polars would refuse such
rows, or turn 1 into "1" or 1.0 and add the missing keys of objects as nulls. Here a field is
a typed column only when every value has exactly one type, objects the same keys all through;
any other field is written as the JSON text of each value. The file's key-value metadata
(``dqe``) lists those fields, and the fields whose nulls mean "absent", so that ``read_rows``
gives every record back as it was written. Other readers see ordinary columns.
"""

from __future__ import annotations

import datetime
import decimal
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from dqe.errors import InputError
from dqe.io.values import MAX_DEPTH, TOO_DEEP, Item, dtype_depth, dumps, exact_loads, too_deep

if TYPE_CHECKING:
    import polars as pl

METADATA_KEY = "dqe"
_ROWS = 20_000  # rows read at a time
_ABSENT = object()
_INT64 = (-(1 << 63), (1 << 63) - 1)
_NESTING = 32  # deepest typed column; a deeper value is JSON text (polars overflows its stack far deeper)
# Python types polars stores faithfully (from Parquet inputs); their dtype is its own inference
_NATIVE = (datetime.date, datetime.datetime, datetime.time, datetime.timedelta, decimal.Decimal, bytes)


def _dtype(values: list[Any], depth: int = 0) -> pl.DataType | None:
    """The one polars type that holds every value exactly (None: nulls allowed), or None."""
    import polars as pl

    if depth > _NESTING:
        return None
    present = [v for v in values if v is not None]
    if not present:
        return pl.Null()
    types = {type(v) for v in present}
    if len(types) != 1:
        return None
    kind = types.pop()
    if kind is str:
        return pl.String()
    if kind is bool:
        return pl.Boolean()
    if kind is int:
        return pl.Int64() if _INT64[0] <= min(present) and max(present) <= _INT64[1] else None
    if kind is float:
        return pl.Float64()
    if kind is list:
        inner = _dtype([x for v in present for x in v], depth + 1)
        return None if inner is None else pl.List(inner)
    if kind is dict:
        shapes = {tuple(v) for v in present}
        if len(shapes) != 1:
            return None
        (fields,) = shapes
        if not fields:  # Parquet has no empty struct
            return None
        struct = {}
        for field in fields:
            inner = _dtype([v[field] for v in present], depth + 1)
            if inner is None:
                return None
            struct[field] = inner
        return pl.Struct(struct)
    if issubclass(kind, _NATIVE):
        try:
            return pl.Series(present).dtype
        except Exception:  # polars refuses some values of these types (out-of-range dates)
            return None
    return None


def encode(rows: list[dict[str, Any]]) -> bytes:
    """``rows`` as a Parquet file's bytes, every value kept (see the module's docstring)."""
    import polars as pl

    keys = list(dict.fromkeys(k for row in rows for k in row))
    columns: list[pl.Series] = []
    as_json: list[str] = []
    absent: list[str] = []
    for key in keys:
        values = [row.get(key, _ABSENT) for row in rows]
        missing = any(v is _ABSENT for v in values)
        present = [v for v in values if v is not _ABSENT]
        dtype = None if missing and any(v is None for v in present) else _dtype(present)
        cells = [None if v is _ABSENT else v for v in values]
        series = None
        if dtype is not None:
            try:
                series = pl.Series(key, cells, dtype=dtype, strict=True)
            except Exception:  # a string polars cannot store (a lone surrogate), or the like
                series = None
        if series is None:
            # ASCII-escaped JSON text, exact for any value, big integers and lone surrogates included
            series = pl.Series(key, [None if v is _ABSENT else dumps(v).decode() for v in values], dtype=pl.String)
            as_json.append(key)
        elif missing:
            absent.append(key)
        columns.append(series)
    buffer = io.BytesIO()
    metadata = {METADATA_KEY: orjson.dumps({"json": as_json, "absent": absent}).decode()} if as_json or absent else None
    pl.DataFrame(columns).write_parquet(buffer, metadata=metadata)
    return buffer.getvalue()


def read_rows(path: Path, label: str | None = None) -> Iterator[Item]:
    """Every row of a Parquet file as an item, numbered from 1; a file dqe wrote gives back its
    JSON-text fields as values and leaves absent fields out. A row nested deeper than
    ``MAX_DEPTH`` is an invalid item, its JSON text kept, as in the other containers."""
    import polars as pl

    name = label or str(path)
    try:
        meta = pl.read_parquet_metadata(path)
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        layout = orjson.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else {}
    except Exception as exc:  # polars raises several error types for a bad file
        raise InputError(f"{name}: cannot be read as Parquet ({exc})") from None
    as_json = set(layout.get("json", []))
    absent = set(layout.get("absent", [])) | as_json
    for offset in range(0, rows, _ROWS):
        try:
            frame = pl.scan_parquet(path).slice(offset, _ROWS).collect()
        except Exception as exc:
            raise InputError(f"{name}: cannot be read as Parquet from row {offset + 1} ({exc})") from None
        deep_columns = 1 + max((dtype_depth(t) for t in frame.schema.values()), default=0) > MAX_DEPTH
        for i, row in enumerate(frame.iter_rows(named=True), start=offset + 1):
            deep = deep_columns
            if absent:
                texts = [v for k, v in row.items() if k in as_json and v]
                deep = deep or any(v.count("[") + v.count("{") >= MAX_DEPTH for v in texts)
                try:
                    row = {
                        k: exact_loads(v) if k in as_json else v
                        for k, v in row.items()
                        if v is not None or k not in absent
                    }
                except RecursionError:  # too deep for the decoder, so too deep for a record: kept as text
                    yield Item(i, None, TOO_DEEP, dumps(row).decode())
                    continue
            if deep and too_deep(row):
                yield Item(i, None, TOO_DEEP, dumps(row).decode())
                continue
            yield Item(i, row)
