"""Quotas and best-first ranking, shared by the selection rules (balance, max-records), and the
shortfalls of categories below their share, which `dqe augment` grows.

"Best" is the engine's ``merit`` column, ties broken by the order records were read in, so
that a selection is the same on every run: the record's quality (the mean score of the record
rules), or with ``rank-by = "ifd"`` its IFD from ``dqe score``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl

_EPSILON = 1e-9  # 3 * (1/3) * 7 must be 7, not 6.999999999999999 rounded down


def merit(rank_by: str) -> pl.Expr:
    """How much selection wants a record, higher first. ``quality``: its quality. ``ifd``, as
    Cherry LLM and Superfiltering select: records whose IFD is below 1 by IFD, the highest first
    (the question helps, and the answer is still hard to predict: it teaches the most); after
    them, the rest (IFD at or above 1: the question does not help; or not scored), by quality."""
    if rank_by == "ifd":
        ifd = pl.col("score_ifd")
        return pl.when(ifd < 1).then(ifd).otherwise(pl.col("quality") - 2)
    return pl.col("quality")


def best_first(table: pl.DataFrame) -> pl.DataFrame:
    """``table`` sorted by merit (quality, or IFD), best first; ties in reading order."""
    return table.sort(["merit", "_idx"], descending=[True, False])


def over_quota(table: pl.DataFrame, by: str, quotas: Mapping[str, int]) -> pl.DataFrame:
    """The rows of ``table`` beyond their group's quota (the best of each group are kept).

    Groups without a quota keep every row. Adds ``_kept`` (the quota) and ``_had`` (the
    group's size) for messages.
    """
    if table.height == 0 or not quotas:
        return table.clear().with_columns(_kept=pl.lit(0, pl.Int64), _had=pl.lit(0, pl.Int64))
    limits = pl.col(by).replace_strict(dict(quotas), default=None, return_dtype=pl.Int64)
    return (
        best_first(table)
        .with_columns(_rank=pl.int_range(pl.len()).over(by), _had=pl.len().over(by).cast(pl.Int64), _kept=limits)
        .filter(pl.col("_kept").is_not_null() & (pl.col("_rank") >= pl.col("_kept")))
        .drop("_rank")
    )


def _cap(share: float, tolerance: float, size: int) -> int:
    """Records a category of this target share may keep in a selection of ``size``: never
    above its allowance, but at least one when it has any share (a small selection must not
    wipe out small categories)."""
    if share <= 0:
        return 0
    return max(1, math.floor(tolerance * share * size + _EPSILON))


def category_quotas(
    counts: Mapping[str, int], target: Mapping[str, float], tolerance: float, free: int = 0, limit: int | None = None
) -> dict[str, int]:
    """How many records each category may keep so that none holds more than ``tolerance``
    times its target share of the selection.

    ``counts`` are the records of each category; ``free`` records have no quota (they count
    towards the selection's size); ``limit`` caps the size (max-records). Categories missing
    from the data cannot be filled, so the target is renormalized over the ones present. The
    size of the selection is the largest that the quotas it implies can fill: start from every
    record (or ``limit``) and shrink until the quotas add up, which takes a few rounds.
    """
    present = {c: n for c, n in counts.items() if n > 0}
    weights = {c: max(target.get(c, 0.0), 0.0) for c in present}
    total = sum(weights.values())
    shares = {c: (w / total if total else 0.0) for c, w in weights.items()}
    size = sum(present.values()) + free
    if limit is not None:
        size = min(size, limit)
    while True:
        filled = sum(min(n, _cap(shares[c], tolerance, size)) for c, n in present.items()) + free
        if limit is not None:
            filled = min(filled, limit)
        if filled >= size:
            break
        size = filled
    return {c: min(n, _cap(shares[c], tolerance, size)) for c, n in present.items()}


def vertical_quota(vertical: int, general: int, max_share: float, limit: int | None = None) -> int:
    """How many vertical-domain records may stay so that they are at most ``max_share`` of
    the selection: of ``general + kept`` records, or of ``limit`` when max-records will cut."""
    allowed = vertical if max_share >= 1 else math.floor(max_share * general / (1 - max_share) + _EPSILON)
    if limit is not None:
        allowed = min(allowed, math.floor(max_share * limit + _EPSILON))
    return max(0, min(vertical, allowed))


def shortfalls(counts: Mapping[str, int], target: Mapping[str, float], size: int) -> dict[str, int]:
    """How many records each category lacks to hold its ``target`` share of a selection of
    ``size`` records (the balanced one, whose quotas sum to it): what ``dqe augment`` grows.
    Categories the data lacks entirely count too; the biggest shortfall comes first."""
    short = {c: math.ceil(share * size - _EPSILON) - counts.get(c, 0) for c, share in target.items() if share > 0}
    return dict(sorted(((c, n) for c, n in short.items() if n > 0), key=lambda cn: (-cn[1], cn[0])))
