"""What ``dqe augment`` grows and what it shows the model: the categories below their share of
the balanced selection (or the one named), the data's record format, and seed examples.

The shortfall of a category is its target share of the balanced selection (``dqe filter
--balance``: DQ411's quotas) less the passing records it holds, so a category the data lacks
entirely is grown too. Seeds are the data's own passing records of the category, or the records
of a file the user gives, shown to the model in the data's format, so that its reply can be
read, checked and written exactly as the data's own records are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dqe.engine.quotas import shortfalls
from dqe.errors import ConfigError, InputError, RecordError
from dqe.io.formats.base import Layout
from dqe.io.inputs import ANNOTATION
from dqe.io.reader import Reader
from dqe.report.model import Report

SEEDS_KEPT = 50  # seeds kept per category; each round shows a few, in turn
FORMAT_EXAMPLES = 2  # records of other categories shown for a category without seeds: the data's shape


@dataclass
class Plan:
    targets: dict[str, int]  # records wanted per category
    layout: Layout  # the data's record format, with its field names
    category_field: bool  # the data's records name their category: generated ones will too
    seeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # objects in the data's format
    examples: list[dict[str, Any]] = field(default_factory=list)  # the data's shape, for a category without seeds


def category_shortfalls(report: Report) -> dict[str, int]:
    """The categories below their share of the balanced selection, biggest shortfall first."""
    section = report.dataset.get("categories")
    if not isinstance(section, dict) or "quotas" not in section:
        raise ConfigError(
            "no category-balance plan: rule DQ411 (category-balance) is off; turn it on, or name what to grow "
            "with --category NAME --count N"
        )
    size = sum(section["quotas"].values())
    return shortfalls(section.get("counts", {}), section.get("target", {}), size)


def make_plan(
    report: Report,
    reader: Reader,
    targets: dict[str, int],
    seed_reader: Reader | None = None,
) -> Plan:
    """The plan for ``targets``: the data's format and each category's seeds, from the data
    ``report`` checked (read again by ``reader``) or from ``seed_reader``'s records."""
    passed = report.records.filter(pl.col("status") == "passed").select("record")
    chosen = report.labels.join(passed, on="record")
    wanted: dict[int, str] = {}
    for category in targets:
        rows = chosen.filter(pl.col("category") == category)["record"].head(SEEDS_KEPT)
        wanted.update(dict.fromkeys(rows.to_list(), category))
    others = set(chosen["record"].head(SEEDS_KEPT).to_list())
    layouts: Counter[tuple[int, str]] = Counter()
    found: dict[int, tuple[dict[str, Any], Layout]] = {}
    by_file: dict[int, Layout] = {}
    carried = False
    for idx, (file, item, layout) in enumerate(reader.stream()):
        if item.obj is None or layout is None:
            continue
        layouts[(file, layout.name)] += 1
        by_file[file] = layout
        carried = carried or layout.columns.category in item.obj
        if idx in wanted or idx in others:
            found[idx] = (item.obj, layout)
    if not layouts:
        raise InputError("the data holds no record that can be read: nothing to learn its format from")
    formats = Counter({name: n for (_, name), n in layouts.items()})
    name = formats.most_common(1)[0][0]
    file = max((f for f, fmt in layouts if fmt == name), key=lambda f: layouts[(f, name)])
    target = by_file[file]
    plan = Plan(targets, target, carried)
    for idx, (obj, layout) in found.items():
        if idx in wanted:
            plan.seeds.setdefault(wanted[idx], []).append(shown(obj, layout, target))
        elif len(plan.examples) < FORMAT_EXAMPLES and layout.name == target.name:
            plan.examples.append(shown(obj, layout, target))
    if seed_reader is not None:
        given = [shown(item.obj, layout, target) for _, item, layout in seed_reader.stream() if item.obj and layout]
        if not given:
            raise InputError(f"{seed_reader.files[0].path}: no record in it can be read as a seed")
        for category in targets:
            plan.seeds[category] = given[:SEEDS_KEPT]
    return plan


def shown(obj: dict[str, Any], layout: Layout, target: Layout) -> dict[str, Any]:
    """A seed as the model sees it: only its format's fields, in the data's format (a seed file
    in another format is converted; one the data's format cannot hold is shown as it is)."""
    if layout.name == target.name:
        return {k: v for k, v in obj.items() if k in target.owned_keys() and k != ANNOTATION}
    try:
        return target.denormalize(layout.record(obj))
    except RecordError:
        return {k: v for k, v in obj.items() if k in layout.owned_keys()}


def seeds_for(plan: Plan, category: str, round_: int, shown_per_round: int) -> list[dict[str, Any]]:
    """The seeds a round shows: the category's, ``shown_per_round`` of them, a different few
    each round so that the model is not steered by the same examples every time."""
    pool = plan.seeds.get(category, [])
    if not pool or shown_per_round == 0:
        return []
    start = (round_ * shown_per_round) % len(pool)
    return [pool[(start + i) % len(pool)] for i in range(min(shown_per_round, len(pool)))]
