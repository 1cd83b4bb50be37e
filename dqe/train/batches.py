"""Batches: records packed into sequences, or grouped by length and padded.

Packing puts several records in one sequence (best fit, longest first, within windows of the
shuffled records so that neighbours change from epoch to epoch) and restarts the
position ids at each record, which is how transformers (SDPA, eager, FlashAttention varlen)
knows not to attend across them. Without packing, records of similar length are batched
together so that little is padding. Each epoch's order is a function of (seed, epoch) alone:
a checkpoint only has to remember the epoch and how many micro-batches it has done.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from dqe.engine.encoding import IGNORE, Encoded

if TYPE_CHECKING:
    import torch

Rows = list[list[int]]  # a micro-batch: rows of item positions
_GROUP = 64  # micro-batches per length-sorted group when padding
_WINDOW = 2048  # records packed together: each epoch packs different neighbours


def pack(lengths: np.ndarray, order: np.ndarray, capacity: int) -> Rows:
    """Best-fit decreasing: each item (longest first) goes into the fullest bin it fits."""
    by_length = order[np.argsort(-lengths[order], kind="stable")]
    free: list[tuple[int, int]] = []  # (room left, bin), sorted
    bins: Rows = []
    for item in by_length.tolist():
        size = int(lengths[item])
        at = bisect_left(free, (size, -1))
        if at < len(free):
            room, b = free.pop(at)
            bins[b].append(item)
            insort(free, (room - size, b))
        else:
            bins.append([item])
            insort(free, (capacity - size, len(bins) - 1))
    return bins


class BatchPlan:
    """Which items go in which micro-batch, epoch by epoch."""

    def __init__(self, lengths: Sequence[int], *, seq_len: int, rows: int, packing: bool, seed: int):
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.seq_len = seq_len
        self.rows = rows
        self.packing = packing
        self.seed = seed

    def _batches(self, order: np.ndarray, rng: np.random.Generator | None) -> list[Rows]:
        if self.packing:
            sequences = [
                b
                for i in range(0, order.size, _WINDOW)
                for b in pack(self.lengths, order[i : i + _WINDOW], self.seq_len)
            ]
            if rng is not None:
                sequences = [sequences[i] for i in rng.permutation(len(sequences))]
            return [sequences[i : i + self.rows] for i in range(0, len(sequences), self.rows)]
        group = self.rows * _GROUP
        batches: list[Rows] = []
        for start in range(0, order.size, group):
            chunk = order[start : start + group]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")].tolist()
            batches += [[[i] for i in chunk[j : j + self.rows]] for j in range(0, len(chunk), self.rows)]
        if rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def epoch(self, epoch: int) -> list[Rows]:
        rng = np.random.default_rng([self.seed, epoch])
        return self._batches(rng.permutation(self.lengths.size), rng)

    def fixed(self) -> list[Rows]:
        """The same batches every time (validation and test)."""
        return self._batches(np.arange(self.lengths.size), None)


def collate(
    items: Sequence[Encoded], rows: Rows, *, packed: bool, pad_id: int, multiple: int = 8
) -> dict[str, torch.Tensor]:
    """One micro-batch: input_ids, labels, and position_ids (packed) or attention_mask."""
    import torch

    row_lengths = [sum(len(items[i]) for i in row) for row in rows]
    width = -(-max(row_lengths) // multiple) * multiple
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    labels = np.full((len(rows), width), IGNORE, dtype=np.int64)
    positions = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            item = items[i]
            n = len(item)
            ids[r, at : at + n] = item.ids
            labels[r, at : at + n] = item.labels
            positions[r, at : at + n] = np.arange(n)
            at += n
        positions[r, at:] = np.arange(width - at)  # the padding is a block of its own
    batch = {"input_ids": torch.from_numpy(ids), "labels": torch.from_numpy(labels)}
    if packed:
        batch["position_ids"] = torch.from_numpy(positions)
    else:
        mask = np.arange(width)[None, :] < np.asarray(row_lengths)[:, None]
        batch["attention_mask"] = torch.from_numpy(mask.astype(np.int64))
    return batch


def supervised_count(items: Sequence[Encoded], batches: Sequence[Rows]) -> int:
    return sum(items[i].supervised for rows in batches for row in rows for i in row)


def token_count(items: Sequence[Encoded], batches: Sequence[Rows]) -> int:
    return sum(len(items[i]) for rows in batches for row in rows for i in row)
