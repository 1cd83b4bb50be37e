"""DQ403 contamination: training records that are in an evaluation set, exactly or nearly.

The evaluation sets come from ``--against`` (config key ``against``) and are read with the same
reader, formats and column mapping as the training data. They are indexed once (text hashes,
MinHash signatures, LSH buckets); each batch of training records is looked up as it streams
by, so only the match of each record is kept for the end, not its signature.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dqe.context import loaded_dir
from dqe.features.text import Text
from dqe.hookspecs import hookimpl
from dqe.minhash import BucketIndex, compact, is_empty, similarity
from dqe.reader import FileInfo, Reader
from dqe.rule import DatasetResult, DatasetRule, GateMetric
from dqe.rules.duplicates import SimilarityOptions

EXAMPLES = 5


class AgainstSet:
    """The records of the evaluation sets, indexed for lookups."""

    def __init__(self, reader: Reader, text: Text, options: SimilarityOptions):
        self.options = options
        self.hasher = options.hasher()
        self.bands = options.banding()
        hashes, signatures, files, lines = [], [], [], []
        for batch in reader:
            frame = batch.frame
            if frame.height == 0:
                continue
            columns = text.compute(frame)
            hashes.append(columns["text_hash"].to_numpy())
            signatures.append(compact(self.hasher.signatures(columns["text"])))
            files.append(frame["_file"].to_numpy())
            lines.append(frame["_line"].to_numpy())
        self.files: list[FileInfo] = reader.files
        self.reader = reader
        self.size = sum(h.size for h in hashes)
        self.hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        self.signatures = np.concatenate(signatures) if signatures else np.zeros((0, options.num_perm), dtype=np.uint16)
        self._file = np.concatenate(files) if files else np.zeros(0, dtype=np.uint32)
        self._line = np.concatenate(lines) if lines else np.zeros(0, dtype=np.uint32)
        self._hash_order = np.argsort(self.hashes, kind="stable")
        self._sorted_hashes = self.hashes[self._hash_order]
        items = np.arange(self.size)
        items = items[~is_empty(self.signatures, items)]
        self.buckets = BucketIndex(self.bands.keys(self.signatures, items), items)

    def source(self, item: int) -> str:
        return f"{self.files[int(self._file[item])].path}:{int(self._line[item])}"

    def lookup(self, text_hash: np.ndarray, signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each record, the evaluation record it matches (-1: none) and the similarity: 1.0
        for the same text, else the highest estimate at or above the threshold."""
        n = text_hash.size
        match = np.full(n, -1, dtype=np.int64)
        sim = np.zeros(n)
        if self.size == 0 or n == 0:
            return match, sim
        pos = np.minimum(np.searchsorted(self._sorted_hashes, text_hash), self.size - 1)
        exact = self._sorted_hashes[pos] == text_hash
        match[exact] = self._hash_order[pos[exact]]
        sim[exact] = 1.0
        rows = np.flatnonzero(~exact)
        rows = rows[~is_empty(signatures, rows)]
        if rows.size == 0:
            return match, sim
        query, items = self.buckets.candidates(self.bands.keys(signatures, rows))
        if query.size == 0:
            return match, sim
        estimate = similarity(signatures, rows[query], self.signatures, items)
        close = estimate >= self.options.threshold
        best = (
            pl.DataFrame({"row": rows[query[close]], "item": items[close], "sim": estimate[close]})
            .sort(["row", "sim", "item"], descending=[False, True, False])
            .unique("row", keep="first")
        )
        match[best["row"].to_numpy()] = best["item"].to_numpy()
        sim[best["row"].to_numpy()] = best["sim"].to_numpy()
        return match, sim


class Contamination(DatasetRule):
    """With --against eval.jsonl (config key 'against'), looks each training record up in
    the evaluation sets: a record with the same normalized conversation text as an evaluation
    record, or a MinHash estimate of Jaccard similarity at or above the threshold (shingles and
    bands as in DQ402), fails and names the evaluation record. Without an evaluation set the
    rule does nothing."""

    code = "DQ403"
    name = "contamination"
    summary = "a training record that is also in the --against evaluation set, exactly or nearly"
    why = (
        "A model trained on its test questions scores well on them without having learnt the "
        "skill: the evaluation then measures memory, and every decision taken on it is wrong. "
        "Near copies leak too: a reworded question with the same answer is still the answer key."
    )
    example = (
        "dqe check train.jsonl --against eval.jsonl: a training record whose question and answer "
        "match eval.jsonl:7 with two words changed fails with "
        "'near-duplicate of eval.jsonl:7 (against set, similarity 0.83)'."
    )
    Options = SimilarityOptions
    needs = ("text",)
    gate_metrics = (
        GateMetric(
            name="contaminated-records",
            key="contamination.records",
            description="training records found in the --against evaluation sets (DQ403)",
            direction="max",
            warn=0,
            bounds=(0, None),
        ),
    )

    def __init__(self, options: SimilarityOptions, context):
        super().__init__(options, context)
        paths = [loaded_dir(context.loaded) / p for p in context.config.against]
        # Built now so that a missing file stops the run before any data is read.
        self._reader = (
            Reader(
                [str(p) for p in paths],
                context.registry.formats,
                input_format=context.config.input_format,
                columns=context.config.columns,
                tags=context.config.tags,
                batch_size=context.config.batch_size,
            )
            if paths
            else None
        )
        self._against: AgainstSet | None = None

    def _index(self, reader: Reader) -> AgainstSet:
        """The evaluation sets, read and indexed on first use."""
        if self._against is None:
            self._against = AgainstSet(reader, Text(self.context), self.options)
        return self._against

    def collect(self, batch: pl.DataFrame) -> pl.DataFrame | None:
        if self._reader is None:
            return None
        against = self._index(self._reader)
        match, sim = against.lookup(batch["text_hash"].to_numpy(), compact(against.hasher.signatures(batch["text"])))
        return pl.DataFrame(
            {"match": match, "similarity": sim},
            schema={"match": pl.Int64, "similarity": pl.Float64},
        )

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        if self._reader is None:
            return DatasetResult(skipped="no --against")
        against = self._index(self._reader)
        hit = table.filter(pl.col("match") >= 0)
        items = hit["match"].to_list()
        sims = hit["similarity"].to_list()
        messages = [
            f"same text as {against.source(i)} (against set)"
            if s >= 1.0
            else f"near-duplicate of {against.source(i)} (against set, similarity {s:.2f})"
            for i, s in zip(items, sims, strict=True)
        ]
        failed = pl.DataFrame(
            {"_idx": hit["_idx"], "score": [round(1.0 - s, 4) for s in sims], "message": messages},
            schema={"_idx": pl.UInt64, "score": pl.Float64, "message": pl.String},
        )
        exact = sum(1 for s in sims if s >= 1.0)
        shown = hit.head(EXAMPLES)
        sources = self.context.sources(shown["_file"].to_list(), shown["_line"].to_list())
        section: dict[str, Any] = {
            "against": [_describe(f, against.reader.sha256(i)) for i, f in enumerate(against.files)],
            "against_records": against.size,
            "records": hit.height,
            "exact": exact,
            "near": hit.height - exact,
            "rate": round(hit.height / table.height, 6) if table.height else 0.0,
            "examples": [
                {"source": src, "against": against.source(i), "similarity": round(s, 4)}
                for src, i, s in zip(sources, items[:EXAMPLES], sims[:EXAMPLES], strict=True)
            ],
        }
        return DatasetResult(failed=failed, metrics={"contamination": section})


def _describe(info: FileInfo, sha256: str | None) -> dict[str, Any]:
    """An evaluation file as the report and the gate manifest record it."""
    return {
        "path": info.path,
        "sha256": sha256 if info.container else None,
        "records": info.records,
        "invalid": info.invalid,
    }


@hookimpl
def dqe_register_rules(register):
    register(Contamination)
