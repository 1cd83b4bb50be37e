"""DQ401 exact-duplicate and DQ402 near-duplicate: of each cluster of duplicates one record is kept.

Records are compared on their conversation text (``dqe.features.text``). Exact duplicates share
the hash of the normalized text. Near-duplicates are found with MinHash signatures and LSH
bands (``dqe.minhash``), and every candidate pair is checked against the threshold with its
estimated Jaccard similarity.

Clusters are stars around the record kept: records are visited best first (one that no other
rule rejected, then the highest quality score, then the first seen), and each record not yet
taken keeps the records within the threshold of it that are not taken either. So every
record removed is within the threshold of the record it names, not merely linked to it
through a chain of neighbours.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from dqe.hookspecs import hookimpl
from dqe.minhash import NONE, Bands, MinHasher, bucket_partners, compact, is_empty, similarity
from dqe.rule import DatasetResult, DatasetRule, GateMetric, RuleOptions

LARGEST_CLUSTERS = 5
EXAMPLES_PER_CLUSTER = 3
RECALL_WEIGHTS = (0.05, 0.95)  # datasketch's (false positive, false negative) weights for the bands

DUPLICATE_RATE = GateMetric(
    name="duplicate-rate",
    key="duplicates.rate",
    description="share of records that repeat a kept record, exactly or nearly (DQ401, DQ402)",
    direction="max",
    fail=0.10,
    warn=0.02,
    bounds=(0, 1),
    n_key="duplicates.records",
)


class SimilarityOptions(RuleOptions):
    """How records are shingled, signed and compared (near-duplicates and contamination)."""

    threshold: float = Field(
        0.7,
        gt=0.0,
        le=1.0,
        description="estimated Jaccard similarity of the shingle sets at or above which "
        "two records are near-duplicates",
    )
    shingle_size: int = Field(2, ge=1, le=16, description="words per shingle, for text in spaced scripts")
    char_shingle_size: int = Field(
        2, ge=1, le=16, description="characters per shingle, for text mostly in Chinese or Japanese"
    )
    num_perm: int = Field(
        256,
        ge=16,
        le=1024,
        description="MinHash permutations: more estimate similarity more closely, at 2 bytes per record each",
    )
    bands: int | None = Field(
        None,
        ge=2,
        description="LSH bands of num-perm / bands rows each; default: chosen by datasketch "
        "for the threshold, favouring recall",
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> SimilarityOptions:
        if self.bands is not None and self.bands > self.num_perm // 2:
            rows = f"fewer than 2 rows per band with num-perm = {self.num_perm}"
            raise ValueError(f"bands = {self.bands} leaves {rows}")
        return self

    def hasher(self) -> MinHasher:
        return MinHasher(self.num_perm, self.shingle_size, self.char_shingle_size)

    def banding(self) -> Bands:
        return Bands(self.threshold, self.num_perm, self.bands, weights=RECALL_WEIGHTS)


def preference(table: pl.DataFrame) -> np.ndarray:
    """Row positions, best first: not rejected by another rule, highest quality, first seen."""
    return (
        table.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.col("rejected") if "rejected" in table.columns else pl.lit(False).alias("rejected"),
            pl.col("quality") if "quality" in table.columns else pl.lit(0.0).alias("quality"),
            "_idx",
        )
        .sort(["rejected", "quality", "_idx"], descending=[False, True, False])["_row"]
        .to_numpy()
    )


def exact_keep(text_hash: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For each row, the row kept among the rows with its text: the first in ``order``."""
    ranked = pl.DataFrame({"row": order, "hash": text_hash[order]})
    first = ranked.select(pl.col("row").first().over("hash"))["row"].to_numpy()
    keep = np.empty_like(order)
    keep[order] = first
    return keep


def star_clusters(partners: np.ndarray, sims: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre and similarity of each item (items in order of preference): visited best first,
    an item joins the best of its candidate partners (all better than it) that is within the
    threshold and not itself taken; else it stays, a centre. The same stars as letting the best
    item not yet taken take its neighbours."""
    n = partners.shape[0]
    center = np.arange(n)
    sim = np.ones(n)
    taken = np.zeros(n, dtype=bool)
    close = (partners != NONE) & (sims >= threshold)
    for v in np.flatnonzero(close.any(axis=1)).tolist():
        for u, s in zip(partners[v][close[v]].tolist(), sims[v][close[v]].tolist(), strict=True):
            if not taken[u]:
                taken[v] = True
                center[v] = u
                sim[v] = s
                break
    return center, sim


def near_keep(signatures: np.ndarray, rows: np.ndarray, options: SimilarityOptions) -> tuple[np.ndarray, np.ndarray]:
    """For ``rows`` (best first), the row each is a near-duplicate of (itself when kept) and the
    estimated similarity to it."""
    kept = rows.copy()
    sim = np.ones(rows.size)
    live = np.flatnonzero(~is_empty(signatures, rows))  # a text without words matches exactly or not at all
    if live.size < 2:
        return kept, sim
    items = rows[live]
    partners = bucket_partners(options.banding().keys(signatures, items))
    v, column = np.nonzero(partners != NONE)
    sims = np.full(partners.shape, -1.0)
    sims[v, column] = similarity(signatures, items[partners[v, column]], signatures, items[v])
    center, item_sim = star_clusters(partners, sims, options.threshold)
    kept[live] = items[center]
    sim[live] = item_sim
    return kept, sim


class DuplicateRule(DatasetRule):
    """What DQ401 and DQ402 share: the cluster report and the gate metric."""

    needs: ClassVar[tuple[str, ...]] = ("text",)
    gate_metrics: ClassVar[tuple[GateMetric, ...]] = (DUPLICATE_RATE,)

    def sources(self, table: pl.DataFrame, rows: np.ndarray) -> list[str]:
        return self.context.sources(table["_file"].to_numpy()[rows].tolist(), table["_line"].to_numpy()[rows].tolist())

    def report(
        self,
        table: pl.DataFrame,
        kept: np.ndarray,
        exact: np.ndarray,
        near: np.ndarray | None,
        order: np.ndarray,
    ) -> dict[str, Any]:
        """The ``duplicates`` section: counts, rate and the largest clusters with examples.

        ``kept`` is the row kept for each row's cluster; ``exact`` and ``near`` mark the rows
        removed as exact or near duplicates (``near`` None: not measured); ``order`` is the
        order of preference."""
        n = table.height
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        sizes = np.bincount(kept, minlength=n)
        multi = np.flatnonzero(sizes > 1)
        largest = multi[np.lexsort((rank[multi], -sizes[multi]))][:LARGEST_CLUSTERS]
        clusters = []
        if largest.size:
            members = np.flatnonzero(np.isin(kept, largest))
            members = members[np.argsort(rank[members], kind="stable")]
            ids = table["_id"].to_list()
            previews = table["text_preview"].to_list()
            for head in largest:
                shown = members[kept[members] == head][:EXAMPLES_PER_CLUSTER]
                shown = np.concatenate(([head], shown[shown != head]))[:EXAMPLES_PER_CLUSTER]
                clusters.append(
                    {
                        "id": ids[head],
                        "size": int(sizes[head]),
                        "examples": [
                            {"source": src, "text": previews[row]}
                            for row, src in zip(shown, self.sources(table, shown), strict=True)
                        ],
                    }
                )
        removed = int(exact.sum()) + (int(near.sum()) if near is not None else 0)
        section: dict[str, Any] = {
            "records": n,
            "rate": round(removed / n, 6) if n else 0.0,
            "exact": int(exact.sum()),
        }
        if near is not None:
            section["near"] = int(near.sum())
        return {"duplicates": {**section, "clusters": int(multi.size), "largest": clusters}}

    @staticmethod
    def rejections(table: pl.DataFrame, rows: np.ndarray, messages: list[str], scores: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame(
            {"_idx": table["_idx"].to_numpy()[rows], "score": scores, "message": messages},
            schema={"_idx": pl.UInt64, "score": pl.Float64, "message": pl.String},
        )


class ExactDuplicate(DuplicateRule):
    """Hashes each record's conversation text (every turn but the system prompt, history and
    tool calls included; Unicode NFKC, lowercased, whitespace collapsed) and keeps one record
    per hash: the best by quality score (one no other rule rejected first; ties: the first
    seen). The others fail and name the record kept."""

    code = "DQ401"
    name = "exact-duplicate"
    summary = "the same conversation text as another record (ignoring case and whitespace)"
    why = (
        "Repeated examples are trained on several times per epoch: the model memorizes them and "
        "their share of the data set is silently larger than it looks. A copy also makes the "
        "data set look bigger than the knowledge in it."
    )
    example = (
        'Two records {"instruction": "Name a primary color.", "output": "Red."} and '
        '{"instruction": "name a  primary color.", "output": "red."}: the second fails with '
        "'exact duplicate of data.jsonl:1'."
    )

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        if table.height == 0:
            return DatasetResult()
        order = preference(table)
        kept = exact_keep(table["text_hash"].to_numpy(), order)
        exact = kept != np.arange(table.height)
        rows = np.flatnonzero(exact)
        messages = [f"exact duplicate of {src}" for src in self.sources(table, kept[rows])]
        failed = self.rejections(table, rows, messages, np.zeros(rows.size))
        return DatasetResult(failed=failed, metrics=self.report(table, kept, exact, None, order))


class NearDuplicate(DuplicateRule):
    """Cuts each record's conversation text into shingles (2 words, or 2 characters for text
    mostly in Chinese or Japanese), computes MinHash signatures for whole batches with numpy,
    finds candidate pairs with LSH bands and keeps those whose estimated Jaccard similarity
    reaches the threshold. Records are visited best first (quality score, then first seen);
    each one not yet taken keeps the near-duplicates of it that are not taken either, which
    fail naming it and the similarity. Copies with the very same text are DQ401's: this rule
    reports one record per text, so a text and its copies fail only once each."""

    code = "DQ402"
    name = "near-duplicate"
    summary = "nearly the same text as a better record (MinHash estimate of Jaccard >= threshold)"
    why = (
        "Near-duplicates (the same answer with a word changed, the same template filled the same "
        "way) weigh a data set towards a few examples as much as exact copies do, and they "
        "survive exact deduplication. Keeping the best of each cluster keeps the knowledge and "
        "drops the repetition."
    )
    example = (
        "'What is the capital of France?' answered 'The capital of France is Paris, which is also "
        "its largest city and its cultural centre.' in data.jsonl:1 and with 'biggest' for "
        "'largest' in data.jsonl:2: the second fails with 'near-duplicate of data.jsonl:1 "
        "(similarity 0.82, cluster aceaf1bc76ff80cc)'."
    )
    Options = SimilarityOptions

    def __init__(self, options: SimilarityOptions, context):
        super().__init__(options, context)
        self.hasher = options.hasher()

    def collect(self, batch: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({"signature": compact(self.hasher.signatures(batch["text"]))})

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        if table.height == 0:
            return DatasetResult()
        n = table.height
        order = preference(table)
        exact_of = exact_keep(table["text_hash"].to_numpy(), order)
        reps = order[exact_of[order] == order]  # one row per text, best first
        rep_kept, rep_sim = near_keep(table["signature"].to_numpy(), reps, self.options)
        center = np.arange(n)
        center[reps] = rep_kept
        sim = np.ones(n)
        sim[reps] = rep_sim
        kept = center[exact_of]
        exact = exact_of != np.arange(n)
        near = ~exact & (kept != np.arange(n))
        rows = np.flatnonzero(near)
        ids = table["_id"].to_numpy()[kept[rows]].tolist()
        messages = [
            f"near-duplicate of {src} (similarity {s:.2f}, cluster {cluster})"
            for src, s, cluster in zip(self.sources(table, kept[rows]), sim[rows].tolist(), ids, strict=True)
        ]
        failed = self.rejections(table, rows, messages, np.round(1.0 - sim[rows], 4))
        return DatasetResult(failed=failed, metrics=self.report(table, kept, exact, near, order))


@hookimpl
def dqe_register_rules(register):
    register(ExactDuplicate)
    register(NearDuplicate)
