"""The records a run trains on: read with dqe's own readers, held to the gate, split.

Records are read exactly as ``dqe filter`` read them (same formats, columns and tags), so a
record's id here is the id the gate manifest lists. Splits are seeded and stratified by
category when the data has categories; the test split is written out for ``dqe eval``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dqe.engine.config import LoadedConfig
from dqe.engine.plugins import Registry
from dqe.errors import RecordError
from dqe.io.files import file_sha256
from dqe.io.reader import Reader, record_id
from dqe.io.writers import ObjectWriter, OutputSet
from dqe.records import Record, Source
from dqe.train.runfolder import write_json

SPLITS = ("train", "val", "test")


@dataclass
class Example:
    """One record of the data file, in file order."""

    index: int
    id: str
    source: str  # file:line
    record: Record | None  # None when the record cannot be read
    problem: str | None = None  # why it is not trained on: "not-passed", "invalid: ..."
    split: str | None = None

    @property
    def category(self) -> str | None:
        return self.record.category if self.record else None


def read_examples(data: Path, loaded: LoadedConfig, registry: Registry) -> list[Example]:
    """Every record of ``data`` with its content id, read as ``dqe filter`` reads it."""
    config = loaded.config
    reader = Reader(
        [data],
        registry.formats,
        input_format=config.input_format,
        columns=config.columns,
        tags=config.tags,
        batch_size=config.batch_size,
    )
    examples: list[Example] = []
    for file, item, layout in reader.stream():
        source = f"{reader.files[file].path}:{item.line}"
        index = len(examples)
        if item.obj is None or layout is None:
            examples.append(Example(index, "", source, None, f"invalid: {item.error or 'no record format'}"))
            continue
        try:
            record = layout.record(item.obj, Source(file=reader.files[file].path, line=item.line))
        except RecordError as exc:
            examples.append(Example(index, record_id(item.obj), source, None, f"invalid: {exc}"))
            continue
        examples.append(Example(index, record_id(item.obj), source, record))
    return examples


def mark_not_passed(examples: list[Example], passed_ids: set[str]) -> list[Example]:
    """Flag records whose id the gate manifest does not list; returns them."""
    outside = [e for e in examples if e.problem is None and e.id not in passed_ids]
    for e in outside:
        e.problem = "not-passed"
    return outside


def _quotas(sizes: dict[Any, int], share: float) -> dict[Any, int]:
    """Per-stratum counts that sum to round(total * share), by largest remainder."""
    total = sum(sizes.values())
    target = round(total * share)
    exact = {k: n * share for k, n in sizes.items()}
    quota = {k: int(v) for k, v in exact.items()}
    order = sorted(sizes, key=lambda k: (-(exact[k] - quota[k]), str(k)))
    for k in order[: target - sum(quota.values())]:
        quota[k] += 1
    return quota


def assign_splits(
    examples: list[Example],
    val: float,
    test: float,
    seed: int,
    stratify: bool,
    test_ids: set[str] | None = None,
) -> dict[str, Any]:
    """Give every usable example a split; copies of a record share one. Returns a description.

    ``test_ids``: the test split is these records (another run's, to compare the two on the
    same records), and ``val`` a share of the others."""
    by_id: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        if e.problem is None:
            by_id[e.id].append(e)
    if test_ids is not None:
        for i in test_ids & by_id.keys():
            for e in by_id.pop(i):
                e.split = "test"
        test = 0.0
    ids = sorted(by_id)
    categories = {i: by_id[i][0].category for i in ids}
    known = stratify and any(c is not None for c in categories.values())
    strata: dict[str | None, list[str]] = defaultdict(list)
    for i in ids:
        strata[categories[i] if known else None].append(i)
    rng = np.random.default_rng(seed)
    sizes = {k: len(v) for k, v in strata.items()}
    test_q = _quotas(sizes, test)
    rest = {k: sizes[k] - test_q[k] for k in sizes}
    val_q = _quotas(rest, val / (1 - test)) if test < 1 else dict.fromkeys(sizes, 0)
    for key in sorted(strata, key=str):
        members = strata[key]
        order = rng.permutation(len(members))
        for rank, j in enumerate(order):
            split = "test" if rank < test_q[key] else "val" if rank < test_q[key] + val_q[key] else "train"
            for e in by_id[members[j]]:
                e.split = split
    counts = Counter(e.split for e in examples if e.split)
    by_category: dict[str, dict[str, int]] = {}
    if known:
        for s in SPLITS:
            by_category[s] = dict(sorted(Counter(str(e.category) for e in examples if e.split == s).items()))
    return {
        "seed": seed,
        "fractions": {"val": val, "test": test},
        "stratified_by": "category" if known else None,
        "records": {s: counts.get(s, 0) for s in SPLITS},
        "categories": by_category,
    }


def write_test_split(examples: list[Example], run_dir: Path, description: dict[str, Any], data: Path) -> dict[str, Any]:
    """``test.jsonl`` (the original records, in file order) and ``split.json`` describing it."""
    path = run_dir / "test.jsonl"
    with OutputSet() as files:
        writer = ObjectWriter(files.open(path))
        for e in examples:
            if e.split == "test" and e.record is not None:
                writer.write(e.record.original)
        writer.close()
    info = {
        **description,
        "data": str(data),
        "data_sha256": file_sha256(data),
        "test": {"path": str(path), "records": writer.count, "sha256": file_sha256(path)},
        "test_ids": sorted({e.id for e in examples if e.split == "test"}),
    }
    write_json(run_dir / "split.json", info)
    return info
