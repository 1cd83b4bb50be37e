"""Regular expressions from rule packs: marker lists per language, checked and combined.

Rules scan whole columns with polars, and one scan with a combined pattern costs about what
one scan with a single marker costs. So a pack's lists are joined into one case-insensitive
alternation per kind of marker, over every language the pack has: ``[answer.en] connectives``
and ``[answer.zh] connectives`` become one pattern. A language table with ``boundaries = true``
matches its entries as whole words. Patterns are checked when the rule is set up, so a bad
pack is a configuration error naming the pack and key, before any data is read.
"""

from __future__ import annotations

import atexit
import hashlib
from collections.abc import Sequence
from typing import Any

import polars as pl

from dqe import diskcache
from dqe.errors import ConfigError

# Patterns polars compiled already: packs share many entries, and an engine checks thousands of
# them when it is set up (each worker process again). Kept between runs too (dqe.diskcache, by
# polars version), by their hashes.
_COMPILED: set[str] = set()
_LOADED = False


def _known() -> set[str]:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        cached = diskcache.load("patterns", pl.__version__)
        if cached:
            _COMPILED.update(cached.decode().split())
        atexit.register(_save, len(_COMPILED))  # once, when the process ends: not once per pack
    return _COMPILED


def _save(loaded: int) -> None:
    """Keep the patterns this process checked for the next run, when it checked new ones."""
    if len(_COMPILED) > loaded:
        diskcache.store("patterns", pl.__version__, " ".join(sorted(_COMPILED)).encode())


def _digest(pattern: str) -> str:
    return hashlib.blake2b(pattern.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def first_invalid(patterns: list[str]) -> tuple[int, Exception] | None:
    """The position of the first pattern polars (Rust regex syntax) cannot compile, with
    polars' error, or None when it compiles them all: one polars call for all of them (a call
    per pattern costs more than the compiling), one per pattern only to find a bad one."""
    known = _known()
    new = [p for p in dict.fromkeys(patterns) if _digest(p) not in known]
    if not new:
        return None
    try:
        pl.select([pl.lit("").str.contains(p).alias(str(i)) for i, p in enumerate(new)])
    except pl.exceptions.PolarsError:
        for i, pattern in enumerate(patterns):
            try:
                pl.select(pl.lit("").str.contains(pattern))
            except pl.exceptions.PolarsError as exc:
                return i, exc
    known.update(_digest(p) for p in new)
    return None


def check_regexes(patterns: list[str], where: str) -> list[str]:
    """``patterns`` if polars can compile each, else a ConfigError naming the first that it cannot."""
    bad = first_invalid(patterns)
    if bad is not None:
        i, exc = bad
        detail = str(exc).split("\n\nThis error occurred", 1)[0].strip()
        raise ConfigError(f"{where}: invalid regular expression {patterns[i]!r}: {detail}") from None
    return patterns


def check_regex(pattern: str, where: str) -> str:
    """``pattern`` if polars (Rust regex syntax) can compile it, else a ConfigError."""
    return check_regexes([pattern], where)[0]


def pack_value(
    pack: dict[str, Any], path: str, pack_name: str, kind: type | tuple[type, ...], default: Any = None
) -> Any:
    """The value at a dotted ``path`` of a pack, checked against ``kind``."""
    value: Any = pack
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            if default is not None:
                return default
            raise ConfigError(f"rule pack '{pack_name}': missing key '{path}'")
        value = value[part]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"rule pack '{pack_name}': '{path}' must be {names}, got {value!r}")
    return value


def string_list(pack: dict[str, Any], path: str, pack_name: str) -> list[str]:
    """A list of strings at ``path`` (empty when the key is absent)."""
    value = pack_value(pack, path, pack_name, list, default=[])
    if not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"rule pack '{pack_name}': '{path}' must be a list of non-empty strings")
    return value


def pack_languages(pack: dict[str, Any], section: str, pack_name: str) -> dict[str, dict[str, Any]]:
    """The language tables of a section: ``{"en": {...}, "zh": {...}}`` (nested tables only)."""
    table = pack_value(pack, section, pack_name, dict, default={})
    return {lang: value for lang, value in table.items() if isinstance(value, dict) and lang != "weights"}


def alternation(entries: list[str], *, boundaries: bool) -> str:
    """One group matching any entry; whole words only when ``boundaries``."""
    body = "|".join(f"(?:{e})" for e in entries)
    # ASCII word boundaries: Unicode ones keep the regex engine off its fast DFA (about 5x slower).
    return rf"(?-u:\b{{start-half}})(?:{body})(?-u:\b{{end-half}})" if boundaries else f"(?:{body})"


def marker_patterns(pack: dict[str, Any], section: str, key: str, pack_name: str) -> list[str]:
    """One case-insensitive pattern for ``section.LANG.key`` per language that lists any entry.

    A text matches ``marker_pattern`` exactly when it matches one of these: a rule that only asks
    whether a text matches may scan them one by one. Some unions of languages are several times
    slower to scan than their parts together (a large English list with a Chinese one: the lazy
    DFA of the union outgrows its cache), others faster, and which is not told by their size."""
    parts = []
    for lang in pack_languages(pack, section, pack_name):
        entries = check_regexes(
            string_list(pack, f"{section}.{lang}.{key}", pack_name),
            f"rule pack '{pack_name}', '{section}.{lang}.{key}'",
        )
        if entries:
            boundaries = pack_value(pack, f"{section}.{lang}.boundaries", pack_name, bool, default=False)
            spaced = next((e for e in entries if e != e.strip()), None) if boundaries else None
            if spaced is not None:  # whole words: a match can never end on a space before a word
                raise ConfigError(
                    f"rule pack '{pack_name}', '{section}.{lang}.{key}': {spaced!r} starts or ends with a space, "
                    "which a whole-word entry (boundaries = true) never matches: leave the space out"
                )
            parts.append("(?i)" + alternation(entries, boundaries=boundaries))
    return parts


def marker_pattern(pack: dict[str, Any], section: str, key: str, pack_name: str) -> str | None:
    """One case-insensitive pattern for ``section.LANG.key`` over every language, or None
    when no language lists any entry."""
    parts = marker_patterns(pack, section, key, pack_name)
    if not parts:
        return None
    return check_regex(_union(parts), f"rule pack '{pack_name}', '{section}.*.{key}'")


def _union(parts: Sequence[str]) -> str:
    """The case-insensitive patterns ``parts`` as one alternation, tried in their order."""
    return "(?i)" + "|".join(part.removeprefix("(?i)") for part in parts)


def count_markers(texts: pl.Series, parts: Sequence[str]) -> pl.Series:
    """How many times ``marker_pattern`` matches each of ``texts``, given ``marker_patterns``
    (``parts``): polars' ``count_matches`` of their union, without scanning every text with it.

    A text that only one part matches is matched by the union exactly where that part matches
    it (the others match nowhere in it), so the part's count is the union's; the union is
    scanned only in the texts that two parts match. Each part alone is a small automaton, and
    a union can be several times slower to scan than its parts together (English connectives
    with Chinese ones: about 7x)."""
    if len(parts) < 2:
        return texts.str.count_matches(parts[0]) if parts else pl.repeat(0, len(texts), dtype=pl.UInt32, eager=True)
    text = pl.col(texts.name)
    # each part counted once, into a column of its own: an eager frame evaluates an expression as
    # often as it appears, and the sum and the parts that match both read every count
    names = [f"part{i}" for i in range(len(parts))]
    counts = texts.to_frame().select(
        text.is_not_null().alias("given"),
        *(text.str.count_matches(part).alias(name) for name, part in zip(names, parts, strict=True)),
    )
    summed = counts.select(
        count=pl.when("given").then(pl.sum_horizontal(names)),
        several=pl.sum_horizontal(pl.col(names) > 0) > 1,
    )
    rows = summed["several"].arg_true()
    count = summed["count"].alias(texts.name)
    return count.scatter(rows, texts.gather(rows).str.count_matches(_union(parts))) if len(rows) else count


def pattern_list(pack: dict[str, Any], path: str, pack_name: str) -> str | None:
    """One case-insensitive pattern for a plain list of regexes at ``path``, or None."""
    entries = check_regexes(string_list(pack, path, pack_name), f"rule pack '{pack_name}', '{path}'")
    if not entries:
        return None
    return "(?i)" + alternation(entries, boundaries=False)


def pack_categories(pack: dict[str, Any], pack_name: str) -> dict[str, tuple[dict[str, Any], str | None]]:
    """A pack's ``[categories.NAME]`` tables, in file order: each table and the combined pattern
    of its language tables' ``patterns`` (None when they list none)."""
    table = pack_value(pack, "categories", pack_name, dict)
    out = {}
    for name, value in table.items():
        if not isinstance(value, dict):
            raise ConfigError(f"rule pack '{pack_name}': 'categories.{name}' must be a table")
        out[name] = (value, marker_pattern(pack, f"categories.{name}", "patterns", pack_name))
    return out


def selected_names(available: dict[str, Any], wanted: list[str], key: str) -> list[str]:
    """The category names in ``wanted``, in pack order; a name the pack lacks is an error."""
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise ConfigError(
            f"'{key}': no category {', '.join(unknown)} in the rule pack (categories: {', '.join(available)})"
        )
    return [name for name in available if name in wanted]
