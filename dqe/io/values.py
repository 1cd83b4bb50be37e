"""JSON values as dqe reads and writes them: integers of any size kept exact, numbers no 64-bit
float holds refused, nesting bounded. The readers of every container (``files``, ``parquet``)
and the writers share these, so they live apart from all three."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import orjson

MAX_DEPTH = 200
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


class Item(NamedTuple):
    line: int
    obj: dict[str, Any] | None
    error: str | None = None
    raw: str | bytes | None = None  # an invalid item's text; its bytes when they are not valid text


class NotAFloat(ValueError):
    """A number JSON allows but no 64-bit float holds, or a NaN/Infinity JSON does not allow."""


def parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise NotAFloat(f"number {text} is out of the range of 64-bit floats")
    return value


def parse_constant(name: str) -> float:
    raise NotAFloat(f"{name} is not a JSON value")


def exact_loads(text: str | bytes) -> Any:
    """JSON read with integers of any size kept exact; NaN, Infinity and overflowing numbers
    are errors, as they are to orjson."""
    return json.loads(text, parse_float=parse_float, parse_constant=parse_constant)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests containers more than ``limit`` levels deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values() if isinstance(x, dict | list))
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v if isinstance(x, dict | list))
    return False


def dumps(obj: Any) -> bytes:
    """Compact JSON, UTF-8; integers beyond 64 bits and lone surrogates, which orjson refuses,
    as exact JSON text (ASCII escapes)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), default=str).encode()


def dtype_depth(dtype: Any) -> int:
    """Levels of nesting a column of ``dtype`` adds (a string: 0, a list of structs: 2)."""
    inner = [f.dtype for f in dtype.fields] if hasattr(dtype, "fields") else []
    if hasattr(dtype, "inner") and dtype.inner is not None:
        inner = [dtype.inner]
    return 1 + max(map(dtype_depth, inner), default=0) if dtype.is_nested() else 0
