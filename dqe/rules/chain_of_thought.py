"""DQ201 chain-of-thought: a question that needs reasoning gets an answer that shows it."""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import Field

from dqe import GateMetric, RecordRule, RuleOptions, hookimpl, new_feature, worst_exchange

Need = Literal["math", "why", "logic", "request"]


class ChainOfThoughtOptions(RuleOptions):
    min_score: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="CoT score an answer needs when its question needs reasoning (one connective "
        "such as 'so' scores 0.3, one equation 0.35, a tool call or code 1)",
    )
    needs: list[Need] = Field(
        default_factory=lambda: ["math", "why", "logic", "request"],
        description="which questions need reasoning: math (word problems, calculations, algebra), why, "
        "logic (riddles, comparison chains, syllogisms), request (asks for steps)",
    )
    label_tasks: list[str] = Field(
        default_factory=lambda: [
            "classification",
            "sentiment-analysis",
            "text-matching",
            "summarization",
            "rewriting",
            "translation",
            "keyword-recognition",
            "entity-recognition",
        ],
        description="task categories that ask for a label, a summary or a rewrite, never a derivation: a record "
        "the category model places in one of them with task-confidence or more is not judged (numbers, a "
        "'why' or an 'if' in its text are the text's)",
    )
    task_confidence: float = Field(
        0.4, ge=0.0, le=1.0, description="the category confidence from which label-tasks and scene-tasks are believed"
    )
    scene_tasks: list[str] = Field(
        default_factory=lambda: ["role-play"],
        description="task categories that play a scene: a 'why' asked there is a line of the dialogue, put to a "
        "character who answers in voice ('他们只为什么杀人？' '命令。'), not an explanation asked for; a puzzle or a "
        "word problem put to the character is still judged",
    )


class ChainOfThought(RecordRule):
    """Judges every exchange of a conversation: each user turn for whether its task is a problem
    to solve, and the assistant turn that answers it for how much reasoning it shows. A problem is
    a word problem or calculation, algebra in letters, a chain of comparisons, a syllogism, a
    riddle, a "why", or an explicit "step by step"; numbers and question marks in the material a
    task works on (a review to classify, a passage to answer from, code, a role-play scene) make
    none, nor do places in an order ("the second flight"), one operation on given numbers, a
    conversion by a factor given or one power term's derivative. An answer looked up in the text
    its question gives (a passage, a table, options), in that text's own words with no number it
    does not hold, needs no working ("The mill employed 310 weavers", "B. 检查结果"), and so does
    one read off a table given as rows of cells between pipes: a cell's text, or the number where a
    row and a column the question names meet ("how many friendlies did Milicic have?"), while a
    count, sum or difference over its rows is worked out; a puzzle's
    answer is its own words by nature, so for logic the given text must be a passage. A long
    question (a passage, a table, a log) asks in its first, question-marked and last sentences: the
    markers count there, the material's quantities still count for them. A "what" or "which" among
    numbers answered with a name, not a quantity, where no options are listed, asked for a thing
    they describe ("What cocktail is 3 parts vodka, 1 part schnapps, 1 part cointreau?"
    "Appletini"); options, lettered or bulleted under their header, are candidates, not premises or
    data. A question that asks for the final answer alone, for a bare verdict in so many words
    ("Yes or no."), or fixes the answer's form ("Answer with only the letter", 'Answer "My answer
    is yes." or "My answer is no."') waives the reasoning; "if so, output ..." is an instruction,
    not a premise, and premises or
    comparisons in a story or a review (a question of 400 bytes or more) are narration, not a
    puzzle. An answer that says the question cannot be answered from what it gives ("无法回答",
    "Not enough information.") is not judged, nor is a record whose task the category model
    places, with label-tasks' confidence, among the tasks that ask for a label, a summary or a
    rewrite (sentiment, classification, matching two texts...). Reasoning is a <think> block, a
    tool call that did the work (its own turn, or inline:
    `python('9**2')`, `<<48/2=24>>`), code, ordered steps, equations with intermediate results,
    connectives and clauses that give a reason (because, so, as it, which means; 因为, 所以) and
    sentences before the final one. For a problem to solve (math, logic, steps asked for) the
    sentences count only beside a reason, a step, an equation or a final answer they argue for
    ("Glass ceiling is a metaphor. A metaphor is a figure of speech. The answer: metaphor."): a
    verdict told in three sentences ("Elementary. The gardener took it. Arrest him.") is still
    bare. For a "why", prose is the explanation asked for, one sentence of eight words or more
    included, while a noun ("Rayleigh scattering.") names a cause without explaining it; asked for
    their own reasons ("Why did you leave?", "Why not?"), people give a motive, and two words of it
    do ("I had a headache."). An
    exchange fails when its question needs reasoning and its answer scores below min-score; an answer that asks back, or is empty, is not judged. The
    finding names the first failing turn and its evidence: which markers fired and what the
    answer scored on. Markers are in the `cot` rule pack, per language.

    The report's dataset section gets `cot`: the share of records whose answers show reasoning,
    overall and among those that need it (each record counted by its worst exchange); the gate
    warns when fewer than half of those do."""

    code = "DQ201"
    name = "chain-of-thought"
    summary = "a question that is a problem to solve (word problem, algebra, puzzle, why) answered with a bare result"
    why = (
        "An answer that shows its reasoning teaches more than a bare answer: trained on bare "
        "answers to word problems and riddles, a model learns to guess the result in one step. "
        "Questions that need no reasoning (facts, rewriting, classification, role-play, code) are "
        "not affected, and an answer that explains itself in prose or lets a tool do the work "
        "shows its reasoning."
    )
    example = (
        "\"What's the name of the third child of Xiao Ming's mother, who has three children, the "
        'first named Yi Mao and the second Er Mao?" answered "Xiao Ming." fails: \'question needs '
        "reasoning (logic), the answer shows none (CoT score 0.0 < 0.3)', with the evidence 'need "
        'logic: "has three children, the first named Yi …"; answer score 0.0 (no connective, '
        "...) < 0.3'. Answered \"The question starts from Xiao Ming's mother, so her third child is "
        'Xiao Ming himself." it passes, as does "The square of 9 is python(\'9**2\')." for "What '
        'is the square of 9?".'
    )
    Options = ChainOfThoughtOptions
    needs = ("cot", "category")
    gate_metrics = (
        GateMetric(
            name="cot-share-reasoning",
            key="cot.share_reasoning",
            description="share of the questions that need reasoning whose answers show it (DQ201)",
            direction="min",
            warn=0.5,
            bounds=(0, 1),
            n_key="cot.reasoning_records",
        ),
    )

    def __init__(self, options, context):
        super().__init__(options, context)
        self.cot = new_feature(context, "cot")  # reads again the exchanges it fails, for their evidence

    def _believed(self, tasks: list[str]) -> pl.Expr:
        """Records the category model places among ``tasks``, at ``task-confidence`` or above."""
        o = self.options
        return (pl.col("category_pred").is_in(tasks) & (pl.col("category_confidence") >= o.task_confidence)).fill_null(
            False
        )

    def _label_task(self) -> pl.Expr:
        """Records whose task is to label, summarise or rewrite a text: no derivation is asked."""
        return self._believed(self.options.label_tasks)

    def _scene(self) -> pl.Expr:
        """Records whose conversation plays a scene (role-play): a why there is dialogue."""
        return self._believed(self.options.scene_tasks)

    def _judged(self, need: pl.Expr, scene: pl.Expr) -> pl.Expr:
        """Whether ``need`` is one this rule judges: one of ``needs``, and no why asked in a ``scene``."""
        dialogue = (scene & (need == "why")).fill_null(False)
        return need.is_in(list(self.options.needs)).fill_null(False) & ~dialogue

    def _needs(self) -> pl.Expr:
        return self._judged(pl.col("cot_need"), self._scene()) & ~self._label_task()

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        limit = self.options.min_score
        score = pl.col("score")
        judged = (
            batch.select(
                _r=pl.int_range(pl.len(), dtype=pl.UInt32),
                exchange="cot_exchanges",
                _label=self._label_task(),
                _scene=self._scene(),
            )
            .filter(~pl.col("_label"))
            .drop("_label")
            .explode("exchange")
            .drop_nulls("exchange")
            .unnest("exchange")
            .filter(self._judged(pl.col("need"), pl.col("_scene")))
            .drop("_scene")
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
