"""Chain-of-thought columns: does the question need reasoning, how much does the answer show?

``cot_need`` names why a question needs reasoning (``math``, ``why``, ``logic``, ``request``;
null when it does not); ``cot_score`` (0..1) adds up the answer's evidence of reasoning. Both
come from the ``cot`` rule pack and are kept for the data-set's CoT share. Each marker kind is
one combined regex scan of a column, so the cost does not grow with the number of languages.
"""

from __future__ import annotations

import polars as pl

from dqe.feature import Feature
from dqe.hookspecs import hookimpl
from dqe.patterns import check_regex, marker_pattern, pack_value, pattern_list

NEEDS = ("request", "logic", "why", "math")  # in order of precedence for the label
_EVIDENCE = ("connectives", "steps", "equations", "sentences")


def _tool_answered(batch: pl.DataFrame) -> pl.Series:
    """True where a tool call comes after the last user turn: the answer reports the tool's work.
    Only conversations of more than two turns can hold one, so only those are looked at."""
    answered = pl.Series(values=[False] * batch.height, dtype=pl.Boolean)
    multi = batch["turns"].list.len() > 2
    if multi.any():
        roles = batch.filter(multi).select(pl.col("turns").list.eval(pl.element().struct.field("role")).list.join(" "))
        after = roles.to_series().str.contains(r"tool_call( (tool|tool_call|assistant|system))*$")
        answered = answered.scatter(multi.arg_true(), after)
    return answered


class ChainOfThought(Feature):
    name = "cot"
    summary = "why a question needs reasoning (cot_need) and the answer's reasoning score (cot_score)"
    columns = ("cot_need", "cot_score")
    keep = ("cot_need", "cot_score")
    labels = {"cot.need": "cot_need", "cot.score": "cot_score"}

    def __init__(self, context):
        super().__init__(context)
        pack = context.pack("cot")
        name = "cot"
        self.question = {
            kind: marker_pattern(pack, "question", kind, name) for kind in (*NEEDS, "relations", "quantities")
        }
        self.ignore = pattern_list(pack, "question.ignore", name)
        self.min_quantities = pack_value(pack, "question.min-quantities", name, int, default=1)
        self.relations_min_quantities = pack_value(pack, "question.relations-min-quantities", name, int, default=2)
        self.question_min_quantities = pack_value(pack, "question.question-min-quantities", name, int, default=3)
        self.answer = {
            "connectives": marker_pattern(pack, "answer", "connectives", name),
            "steps": pattern_list(pack, "answer.steps", name),
            "equations": pattern_list(pack, "answer.equations", name),
        }
        for key in ("think", "sentences"):
            where = f"rule pack 'cot', 'answer.{key}'"
            self.answer[key] = check_regex(pack_value(pack, f"answer.{key}", name, str), where)
        self.weights = {}
        for key in ("think", "tool", *_EVIDENCE):
            self.weights[key] = float(pack_value(pack, f"answer.weights.{key}", name, (int, float)))
            if key in _EVIDENCE:
                self.weights[f"{key}-cap"] = pack_value(pack, f"answer.weights.{key}-cap", name, int)

    def _need(self) -> pl.Expr:
        q = pl.col("question")
        if self.ignore:
            q = q.str.replace_all(self.ignore, " ")
        found = {k: q.str.contains(p) if p else pl.lit(False) for k, p in self.question.items() if k != "quantities"}
        quantities = self.question["quantities"]
        count = q.str.count_matches(quantities) if quantities else pl.lit(0)
        asks = q.str.contains(r"[?？]")
        found["math"] = (
            (found["math"] & (count >= self.min_quantities))
            | (found["relations"] & asks & (count >= self.relations_min_quantities))
            | (asks & (count >= self.question_min_quantities))
        )
        need = pl.lit(None, dtype=pl.String)
        for kind in reversed(NEEDS):
            need = pl.when(found[kind]).then(pl.lit(kind)).otherwise(need)
        return need

    def _score(self) -> pl.Expr:
        a = pl.col("answer")
        w = self.weights
        total = pl.when(a.str.contains(self.answer["think"])).then(pl.lit(w["think"])).otherwise(pl.lit(0.0))
        total = total + pl.when(pl.col("_tool")).then(pl.lit(w["tool"])).otherwise(pl.lit(0.0))
        for key in _EVIDENCE:
            pattern = self.answer[key]
            if pattern:
                hits = a.str.count_matches(pattern).clip(upper_bound=w[f"{key}-cap"])
                total = total + hits.cast(pl.Float64) * w[key]
        return total.clip(upper_bound=1.0).round(3).cast(pl.Float64)

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        return batch.with_columns(_tool=_tool_answered(batch)).select(cot_need=self._need(), cot_score=self._score())


@hookimpl
def dqe_register_features(register):
    register(ChainOfThought)
