"""The model's scores of each record (``dqe check --scores FILE``): the answer's perplexity with
its question and without it, and IFD, their ratio, read from the file ``dqe score`` wrote.

The file is matched to the data by each record's content id (``_id``), so no record is scored
by another's numbers; a record the file does not hold stops the check (exit 2), naming both,
once the record rules are done (worker processes do not know the files' paths). The
summary keeps histograms of IFD and perplexity for the report: aggregates, the same size on
any data set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dqe import ConfigError, Feature
from dqe.hookspecs import hookimpl

IFD_EDGES = np.round(np.arange(0, 2.0001, 0.05), 2)  # IFD above 2 goes into the last bin


class ModelScores(Feature):
    name = "model-scores"
    summary = "the answer's perplexity with and without its question, and IFD, from dqe score (--scores)"
    columns = ("score_tokens", "score_ppl", "score_ppl_alone", "score_ifd", "score_error", "score_found")
    keep = ("score_ppl", "score_ifd", "score_error", "score_found")
    labels = {"ifd": "score_ifd"}

    def __init__(self, context):
        super().__init__(context)
        if context.scores is None:
            raise ConfigError(
                "the model-scores feature needs a score file: dqe check --scores FILE (dqe score makes one)"
            )

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        return self.context.scores.lookup(batch).select(pl.all().name.prefix("score_"))

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        scores = self.context.scores
        # here, in the process that read the files (not a worker), so the record is named by path
        scores.refuse_missing(table.rename({"score_found": "found"}), self.context.sources)
        scored = table.filter(pl.col("score_ifd").is_not_null())
        ifd = scored["score_ifd"].to_numpy()
        ppl = scored["score_ppl"].to_numpy()
        section: dict[str, Any] = {
            "file": str(scores.path),
            "model": scores.header.encoding.model,
            "template": scores.header.encoding.template,
            "records": table.height,
            "scored": scored.height,
            "not_scored": dict(table["score_error"].drop_nulls().value_counts().iter_rows()),
        }
        if scored.height:
            top = max(float(ppl.max()), 2.0)
            ppl_edges = np.unique(np.geomspace(1, top * 1.01, 41).round(3))
            section |= {
                "ifd": _percentiles(ifd) | {"at_or_above_1": int((ifd >= 1).sum())},
                "ppl": _percentiles(ppl),
                "histograms": {
                    "ifd": _histogram(np.clip(ifd, 0, IFD_EDGES[-1]), IFD_EDGES),
                    "ppl": _histogram(ppl, ppl_edges),
                },
            }
        return {"scores": section}


def _percentiles(values: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"mean": round(float(values.mean()), 4), "p10": round(p10, 4), "p50": round(p50, 4), "p90": round(p90, 4)}


def _histogram(values: np.ndarray, edges: np.ndarray) -> dict[str, list]:
    counts, _ = np.histogram(values, bins=edges)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


@hookimpl
def dqe_register_features(register):
    register(ModelScores)
