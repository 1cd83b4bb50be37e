"""DQ201 chain-of-thought: a question that needs reasoning gets an answer that shows it."""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import Field

from dqe.features.cot import ChainOfThought as CotFeature
from dqe.hookspecs import hookimpl
from dqe.rule import GateMetric, RecordRule, RuleOptions, worst_exchange

Need = Literal["math", "why", "logic", "request"]


class ChainOfThoughtOptions(RuleOptions):
    min_score: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="CoT score an answer needs when its question needs reasoning (one connective "
        "such as 'so' scores 0.3, one equation 0.35)",
    )
    needs: list[Need] = Field(
        default_factory=lambda: ["math", "why", "logic", "request"],
        description="which questions need reasoning: math (word problems, calculations), why, "
        "logic (riddles, puzzles), request (asks for steps)",
    )


class ChainOfThought(RecordRule):
    """Decides from the question whether it needs reasoning (a word problem or calculation, a
    "why", a riddle or logic puzzle, an explicit "step by step"), scores how much reasoning the
    answer shows (a <think> block, ordered steps, connectives such as because/so/therefore or
    因为/所以/因此, equations with intermediate results, sentences before the final one, a tool
    call that did the work) and fails the records whose question needs reasoning and whose answer
    scores below min-score. Markers are in the `cot` rule pack, per language.

    The report's dataset section gets `cot`: the share of answers that show reasoning, overall
    and among the questions that need it; the gate warns when fewer than half of those do."""

    code = "DQ201"
    name = "chain-of-thought"
    summary = "a question that needs reasoning answered without any (bare final answers)"
    why = (
        "An answer that shows its reasoning teaches more than a bare answer: trained on bare "
        "answers to word problems and riddles, a model learns to guess the result in one step. "
        "Questions that need no reasoning (facts, rewriting, classification) are not affected."
    )
    example = (
        "\"What's the name of the third child of Xiao Ming's mother, who has three children, the "
        'first named Yi Mao and the second Er Mao?" answered "Xiao Ming." fails: \'question needs '
        "reasoning (logic), the answer shows none (CoT score 0.0 < 0.3)'. Answered \"The question "
        "starts from Xiao Ming's mother, so her third child is Xiao Ming himself.\" it passes."
    )
    Options = ChainOfThoughtOptions
    needs = ("cot",)
    gate_metrics = (
        GateMetric(
            name="cot-share-reasoning",
            key="cot.share_reasoning",
            description="share of the questions that need reasoning whose answers show it (DQ201)",
            direction="min",
            warn=0.5,
            bounds=(0, 1),
        ),
    )

    def __init__(self, options, context):
        super().__init__(options, context)
        self.cot = CotFeature(context)  # reads again the exchanges it fails, for their evidence

    def _needs(self) -> pl.Expr:
        return pl.col("cot_need").is_in(list(self.options.needs)).fill_null(False)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        limit = self.options.min_score
        score = pl.col("score")
        judged = (
            batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32), exchange="cot_exchanges")
            .explode("exchange")
            .drop_nulls("exchange")
            .unnest("exchange")
            .filter(pl.col("need").is_in(list(self.options.needs)))
            .with_columns(passed=score >= limit)
        )
        evidence = self.cot.explain(batch, judged.filter(~pl.col("passed")))
        return worst_exchange(
            batch,
            judged.join(evidence, on=["_r", "turn"], how="left").select(
                "_r",
                "turn",
                "passed",
                score=score,
                message=pl.when(~pl.col("passed")).then(
                    pl.format(
                        "question needs reasoning ({}), the answer shows {} (CoT score {} < {})",
                        pl.col("need"),
                        pl.when(score == 0).then(pl.lit("none")).otherwise(pl.lit("too little")),
                        score.round(2).cast(pl.String),
                        pl.lit(f"{limit:g}"),
                    )
                ),
                evidence=pl.format("{} < {}", pl.col("evidence"), pl.lit(f"{limit:g}")),
            ),
        )

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        if table.height == 0:
            return {}
        shows = table["cot_score"] >= self.options.min_score
        reasoning = table.select(self._needs()).to_series()
        n_reasoning = int(reasoning.sum())
        n_cot = int(shows.sum())
        by_need = table.filter(reasoning).group_by("cot_need").len().sort("cot_need")
        return {
            "cot": {
                "share": round(n_cot / table.height, 6),
                "share_reasoning": round(int((shows & reasoning).sum()) / n_reasoning, 6) if n_reasoning else None,
                "reasoning_records": n_reasoning,
                "cot_records": n_cot,
                "by_need": dict(by_need.iter_rows()),
                "min_score": self.options.min_score,
            }
        }


@hookimpl
def dqe_register_rules(register):
    register(ChainOfThought)
