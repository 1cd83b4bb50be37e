"""Token counts of every record, in one batch call into the tokenizer per batch.

Each turn's content is tokenized once; the question, the answer and the formatted total are
sums over those counts plus the template's own tokens per turn, which are counted once per
run. That is how the trainer tokenizes too (turn by turn, for masking), so the total here is
what a training example will hold. The count of every turn is kept too (``tokens_turns``), so
that rules judging each exchange of a conversation need not tokenize again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dqe import Feature
from dqe.hookspecs import hookimpl
from dqe.records import ROLES


def last_index_per_segment(mask: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per segment, the flat index of the last True of ``mask``, or -1 when there is none."""
    positions = np.where(mask, np.arange(mask.size), -1)
    out = np.full(lengths.size, -1, dtype=np.int64)
    nonempty = lengths > 0
    if positions.size:
        out[nonempty] = np.maximum.reduceat(positions, offsets[nonempty])
    return out


def per_turn(counts: np.ndarray, lengths: np.ndarray) -> pl.Series:
    """The flat per-turn ``counts`` as one list per record (``lengths`` turns each)."""
    rows = np.repeat(np.arange(lengths.size, dtype=np.uint32), lengths)
    grouped = (
        pl.DataFrame({"_r": rows, "n": counts}, schema={"_r": pl.UInt32, "n": pl.UInt32})
        .group_by("_r", maintain_order=True)
        .agg("n")
    )
    every = pl.DataFrame({"_r": np.arange(lengths.size, dtype=np.uint32)})
    lists = every.join(grouped, on="_r", how="left", maintain_order="left")["n"]
    return lists.fill_null(pl.lit([], dtype=pl.List(pl.UInt32))).alias("tokens_turns")


class Tokens(Feature):
    name = "tokens"
    summary = "token counts: system, question, answer and the formatted total"
    columns = ("tokens_system", "tokens_question", "tokens_answer", "tokens_total", "tokens_turns")
    keep = ("tokens_question", "tokens_answer", "tokens_total")
    labels = {"tokens": "tokens_total"}

    def __init__(self, context):
        super().__init__(context)
        tokenizer = context.tokenizer
        template = context.template
        self._overhead = np.zeros(len(ROLES), dtype=np.int64)
        for i, role in enumerate(ROLES):
            prefix, suffix = template.wrap(role)
            wrap = [t for t in (prefix, suffix) if t]
            self._overhead[i] = int(tokenizer.count(wrap).sum()) if wrap else 0
            if role == "assistant" and template.eos_after_assistant:
                self._overhead[i] += 1
        # The default system prompt is wrapped like a record's own (the trainer renders it so).
        self._default_system = (
            int(tokenizer.count([template.default_system])[0]) + self._overhead[0] if template.default_system else 0
        )
        self._role_codes = {role: i for i, role in enumerate(ROLES)}

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        tokenizer = self.context.tokenizer
        lengths = batch["turns"].list.len().to_numpy().astype(np.int64)
        flat = batch["turns"].explode().struct.unnest() if lengths.sum() else None
        contents = flat["content"].to_list() if flat is not None else []
        systems = batch["system"]
        has_system = systems.is_not_null().to_numpy()
        system_texts = systems.drop_nulls().to_list()
        counts = tokenizer.count(contents + system_texts)
        turn_counts = counts[: len(contents)]
        system_counts = np.full(batch.height, self._default_system, dtype=np.int64)
        system_counts[has_system] = counts[len(contents) :] + self._overhead[0]

        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])) if lengths.size else lengths
        codes = (
            flat["role"].replace_strict(self._role_codes, default=1, return_dtype=pl.Int64).to_numpy()
            if flat is not None
            else np.zeros(0, dtype=np.int64)
        )
        nonempty = lengths > 0
        totals = system_counts.copy()
        if turn_counts.size:
            totals[nonempty] += np.add.reduceat(turn_counts + self._overhead[codes], offsets[nonempty])

        def count_of_last(role: str) -> np.ndarray:
            where = last_index_per_segment(codes == self._role_codes[role], offsets, lengths)
            padded = np.concatenate((turn_counts, [0]))
            return padded[where]  # -1 picks the 0 appended above

        return pl.DataFrame(
            {
                "tokens_system": system_counts,
                "tokens_question": count_of_last("user"),
                "tokens_answer": count_of_last("assistant"),
                "tokens_total": totals,
            },
            schema={
                "tokens_system": pl.UInt32,
                "tokens_question": pl.UInt32,
                "tokens_answer": pl.UInt32,
                "tokens_total": pl.UInt32,
            },
        ).with_columns(tokens_turns=per_turn(turn_counts, lengths))

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        if table.height == 0:
            return {}
        out: dict[str, Any] = {"tokenizer": self.context.tokenizer.name, "template": self.context.template.name}
        for column, key in (("tokens_total", "total"), ("tokens_question", "question"), ("tokens_answer", "answer")):
            values = table[column]
            out[key] = {
                "mean": round(float(values.mean()), 1),
                "p50": int(values.quantile(0.5, "nearest")),
                "p90": int(values.quantile(0.9, "nearest")),
                "p99": int(values.quantile(0.99, "nearest")),
                "max": int(values.max()),
            }
        return {"tokens": out}


@hookimpl
def dqe_register_features(register):
    register(Tokens)
