"""What the driver decides before any record is read: the read ranges of every input file.

The driver sniffs each file and detects its record format from its first items, as the local
reader does; it never reads a file whole. A UTF-8 JSON Lines file is cut into byte ranges at
line ends; every other container (a JSON array, Parquet, Arrow, UTF-16/32 text) is one range,
read by dqe's own reader. A Ray task per range counts its items first, so that each range knows
the position (``_idx``) and line number of its first record: both equal the local engine's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import ray

from dqe.io.files import Sniffed, read_items, sniff
from dqe.io.formats.base import Columns, Layout, Tags
from dqe.io.inputs import InputFile
from dqe.io.reader import Reader
from dqe.io.values import Item

RANGE_BYTES = 64 << 20  # a JSON Lines range: big enough that a read task is worth its start


@dataclass(frozen=True)
class LayoutSpec:
    """A file's ``Layout`` as it travels to the workers: a plugin's format object need not
    pickle, so the workers look the format up by name in their own plugins."""

    format: str
    columns: Columns
    tags: Tags

    @classmethod
    def of(cls, layout: Layout | None) -> LayoutSpec | None:
        return None if layout is None else cls(layout.name, layout.columns, layout.tags)


@dataclass(frozen=True)
class Range:
    """A part of an input file that one read task reads."""

    file: int  # the input's index (``_file``)
    path: str
    label: str  # the input as reports name it
    sniffed: Sniffed
    start: int = 0  # bytes [start, end) of a JSON Lines range; end -1: the whole file
    end: int = -1
    lines: int = 0  # lines in the range (JSON Lines)
    items: int = 0  # items in the range, readable or not
    first_idx: int = 0  # ``_idx`` of its first item
    first_line: int = 1  # line number of its first line (JSON Lines)

    @property
    def cut(self) -> bool:
        return self.end >= 0


def range_lines(r: Range) -> list[bytes]:
    """The lines of a JSON Lines range as iterating over the file yields them (newline kept)."""
    with open(r.path, "rb") as f:
        f.seek(r.start)
        data = f.read(r.end - r.start)
    parts = data.split(b"\n")
    last = parts.pop()  # b"" when the range ends with a newline, else a last line without one
    lines = [p + b"\n" for p in parts]
    if last:
        lines.append(last)
    return lines


def range_items(r: Range) -> Iterator[tuple[int, bytes | Item]]:
    """(line number, raw line) of each item of a JSON Lines range, blank lines left out, or
    (line number, ``Item``) of each item of a whole file read by dqe's reader; lazily, so that
    a part that runs into a range reads only what it needs of it."""
    if not r.cut:
        for item in read_items(Path(r.path), r.sniffed, r.label):
            yield item.line, item
        return
    with open(r.path, "rb") as f:
        f.seek(r.start)
        position = r.start
        for number, line in enumerate(f, start=r.first_line):
            if position >= r.end:
                return
            position += len(line)
            if line.strip():
                yield number, line


@dataclass(frozen=True)
class Part:
    """What one read task reads: the records ``_idx`` in [start, stop), whole batches of the
    local reader's (``batch-size`` records, counted from the first), since what some rules
    collect depends on the batch a record is in. It starts in its first range and runs into
    the next ones for the end of its last batch."""

    ranges: tuple[Range, ...]
    start: int
    stop: int

    def items(self) -> Iterator[tuple[int, int, int, bytes | Item]]:
        """(_idx, _file, line number, raw line or ``Item``) of each of its records."""
        idx = self.ranges[0].first_idx
        for r in self.ranges:
            for line, value in range_items(r):
                if idx >= self.stop:
                    return
                if idx >= self.start:
                    yield idx, r.file, line, value
                idx += 1


def parts(ranges: list[Range], batch_size: int) -> list[Part]:
    """A part for each range in which a batch starts: the batches that start in it."""
    total = sum(r.items for r in ranges)
    found = []
    for i, r in enumerate(ranges):
        start = -(-r.first_idx // batch_size) * batch_size
        end = r.first_idx + r.items
        if start >= end:
            continue  # every record of it is in a batch that started before it
        stop = min(total, -(-end // batch_size) * batch_size)
        following = [x for x in ranges[i + 1 :] if x.first_idx < stop]
        found.append(Part((r, *following), start, stop))
    return found


def _cuts(path: Path, size: int, start: int, range_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of about ``range_bytes`` from ``start``, each ending just after a newline."""
    bounds = [start]
    with open(path, "rb") as f:
        pos = start + range_bytes
        while pos < size:
            f.seek(pos)
            while True:  # forward to the next newline
                chunk = f.read(1 << 16)
                if not chunk:
                    pos = size
                    break
                newline = chunk.find(b"\n")
                if newline >= 0:
                    pos += newline + 1
                    break
                pos += len(chunk)
            if pos >= size:
                break
            bounds.append(pos)
            pos += range_bytes
    bounds.append(size)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


@ray.remote(num_cpus=0.2)
def _count(r: Range) -> tuple[int, int]:
    """(lines, items) of a range: items are what the reader yields (non-blank lines)."""
    if r.cut:
        lines = range_lines(r)
        return len(lines), sum(1 for line in lines if line.strip())
    return 0, sum(1 for _ in read_items(Path(r.path), r.sniffed, r.label))


def plan(reader: Reader, range_bytes: int = RANGE_BYTES) -> tuple[list[LayoutSpec | None], list[Range]]:
    """The layout of each input file and the ranges to read, with their first ``_idx`` and line;
    the reader's ``files`` get their container, format and record counts."""
    layouts: list[LayoutSpec | None] = []
    ranges: list[Range] = []
    for index, (label, source) in enumerate(reader.inputs.sources):
        opened = reader.open_file(index)
        layouts.append(LayoutSpec.of(opened[1]) if opened else None)
        if opened is None or not isinstance(source, InputFile):
            continue
        sniffed = sniff(source.path, label)
        if sniffed is None:  # an empty file
            continue
        if sniffed.container == "jsonl" and sniffed.encoding == "utf-8":
            size = os.path.getsize(source.path)
            for start, end in _cuts(source.path, size, sniffed.bom, range_bytes):
                ranges.append(Range(index, str(source.path.resolve()), label, sniffed, start, end))
        else:
            ranges.append(Range(index, str(source.path.resolve()), label, sniffed))
    counts = ray.get([_count.remote(r) for r in ranges])
    counted: list[Range] = []
    idx, line, last_file = 0, 1, -1
    for r, (lines, items) in zip(ranges, counts, strict=True):
        if r.file != last_file:
            line, last_file = 1, r.file
        counted.append(replace(r, lines=lines, items=items, first_idx=idx, first_line=line))
        idx += items
        line += lines
    for index, info in enumerate(reader.files):
        info.records = sum(r.items for r in counted if r.file == index)
    return layouts, counted
