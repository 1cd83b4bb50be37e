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
        # With the trainer's encoding (dqe check --model) the total is what its encoder makes;
        # the parts are the contents counted with the model's tokenizer.
        self._encoding = context.encoding
        self._overhead = np.zeros(len(ROLES), dtype=np.int64)
        self._default_system = 0
        self._role_codes = {role: i for i, role in enumerate(ROLES)}
        self._input_wrap: Any = None  # the template, when it places Alpaca's input itself
        self._default_system_with_input = 0
        if self._encoding is not None:
            return
        template = context.template
        if template.input is not None:
            self._input_wrap = template
        for i, role in enumerate(ROLES):
            prefix, suffix = template.wrap(role)
            wrap = [t for t in (prefix, suffix) if t]
            self._overhead[i] = int(tokenizer.count(wrap).sum()) if wrap else 0
            if role == "assistant" and template.eos_after_assistant:
                self._overhead[i] += 1
        # The default system prompt is wrapped like a record's own (the trainer renders it so);
        # an Alpaca record with an input gets the template's second one.
        self._default_system, self._default_system_with_input = (
            int(tokenizer.count([text])[0]) + self._overhead[0] if text else 0
            for text in (template.system_prompt(None), template.system_prompt(None, has_input=True))
        )

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        tokenizer = self.context.tokenizer
        lengths = batch["turns"].list.len().to_numpy().astype(np.int64)
        flat = batch["turns"].explode().struct.unnest() if lengths.sum() else None
        contents = flat["content"].to_list() if flat is not None else []
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])) if lengths.size else lengths
        codes = (
            flat["role"].replace_strict(self._role_codes, default=1, return_dtype=pl.Int64).to_numpy()
            if flat is not None
            else np.zeros(0, dtype=np.int64)
        )
        systems = batch["system"]
        has_system = systems.is_not_null().to_numpy()
        system_counts = np.full(batch.height, self._default_system, dtype=np.int64)
        with_input, at, rendered = self._input_sections(batch, contents, codes, offsets, lengths)
        system_counts[with_input] = self._default_system_with_input
        system_texts = systems.drop_nulls().to_list()
        counts = tokenizer.count(contents + system_texts + rendered)
        turn_counts = counts[: len(contents)]
        system_counts[has_system] = counts[len(contents) : len(contents) + len(system_texts)] + self._overhead[0]
        # the formatted example holds the rendered user turn; the turn's own count stays its content's
        formatted = turn_counts.copy()
        formatted[at] = counts[len(contents) + len(system_texts) :]

        nonempty = lengths > 0
        totals = system_counts.copy()
        if turn_counts.size:
            totals[nonempty] += np.add.reduceat(formatted + self._overhead[codes], offsets[nonempty])
        if self._encoding is not None:
            totals = self._encoding.encode(batch).tokens

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

    def _input_sections(
        self, batch: pl.DataFrame, contents: list[str], codes: np.ndarray, offsets: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Alpaca records whose input the template places in its own section, as the trainer
        renders them (``Template.user_content``): which records (they get the template's second
        system prompt), the flat index of their last user turn, and that turn rendered."""
        with_input = np.zeros(batch.height, dtype=bool)
        if self._input_wrap is None or batch["input"].null_count() == batch.height:
            return with_input, np.zeros(0, dtype=np.int64), []
        given = batch["input"]
        last_user = last_index_per_segment(codes == self._role_codes["user"], offsets, lengths)
        with_input = given.is_not_null().to_numpy() & (last_user >= 0)
        at = last_user[with_input]
        user_content = self._input_wrap.user_content
        rendered = [
            user_content(contents[i][: len(contents[i]) - len(query) - 1], query)
            for i, query in zip(at, given.filter(pl.Series(with_input)).to_list(), strict=True)
        ]
        return with_input, at, rendered

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        if table.height == 0:
            return {}
        out: dict[str, Any] = {"tokenizer": self.context.tokenizer.name, "template": self.context.template_name}
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
