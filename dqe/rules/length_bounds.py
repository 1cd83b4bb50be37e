"""DQ102 length-bounds: neither too short nor too long, question and answer each, by task."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
from pydantic import Field, model_validator

from dqe.config import ConfigError
from dqe.hookspecs import hookimpl
from dqe.patterns import languages, marker_pattern
from dqe.rule import RecordRule, RuleOptions

BOUNDS = ("min-question-tokens", "max-question-tokens", "min-answer-tokens", "max-answer-tokens")


class LengthBoundsOptions(RuleOptions):
    min_question_tokens: int = Field(1, ge=0, description="fewest tokens in a question (empty ones are DQ001's)")
    max_question_tokens: int = Field(2048, ge=1, description="most tokens in a question, its input included")
    min_answer_tokens: int = Field(
        1, ge=0, description="fewest tokens in an answer; long-form tasks (the `length` pack) need 10"
    )
    max_answer_tokens: int = Field(2048, ge=1, description="most tokens in an answer")

    @model_validator(mode="after")
    def _ordered(self) -> LengthBoundsOptions:
        for part in ("question", "answer"):
            low, high = getattr(self, f"min_{part}_tokens"), getattr(self, f"max_{part}_tokens")
            if low > high:
                raise ValueError(f"min-{part}-tokens ({low}) is larger than max-{part}-tokens ({high})")
        return self


class Task(NamedTuple):
    name: str
    pattern: str
    bounds: dict[str, int]


def load_tasks(pack: dict, pack_name: str = "length") -> list[Task]:
    """The pack's tasks in file order, each with its combined marker pattern and bounds."""
    tasks = pack.get("tasks", {})
    if not isinstance(tasks, dict):
        raise ConfigError(f"rule pack '{pack_name}': 'tasks' must be a table of tasks")
    out = []
    for name, table in tasks.items():
        if not isinstance(table, dict):
            raise ConfigError(f"rule pack '{pack_name}': 'tasks.{name}' must be a table")
        unknown = set(table) - set(BOUNDS) - set(languages(pack, f"tasks.{name}", pack_name))
        if unknown:
            raise ConfigError(
                f"rule pack '{pack_name}': 'tasks.{name}' has unknown keys {sorted(unknown)}; "
                f"a task has language tables of markers and any of {', '.join(BOUNDS)}"
            )
        bounds = {}
        for key in BOUNDS:
            if key in table:
                value = table[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ConfigError(
                        f"rule pack '{pack_name}': 'tasks.{name}.{key}' must be a whole number >= 0, got {value!r}"
                    )
                bounds[key] = value
        pattern = marker_pattern(pack, f"tasks.{name}", "markers", pack_name)
        if pattern:
            out.append(Task(name, pattern, bounds))
    return out


class LengthBounds(RecordRule):
    """Fails a question or an answer with fewer or more tokens than the bounds allow (tokens as
    the `tokens` feature counts them, with the configured tokenizer). The bounds depend on what
    the question asks: the `length` rule pack lists kinds of task by their markers (English and
    Chinese) with bounds of their own, and the first kind that matches decides. A long-form task
    (write an essay, describe, explain, 写一篇, 描述...) needs an answer of ten tokens; a
    short-answer task (classify, translate, yes or no, extract, pick, 分类, 翻译, 判断...) may be
    answered in one, and chit-chat ("hi", "thanks", 你好) asked in one, even where a config
    raises the minimums for everything else. Empty questions and answers are DQ001's."""

    code = "DQ102"
    name = "length-bounds"
    summary = "question or answer too short or too long for what the question asks"
    why = (
        "An answer of two tokens to 'write an essay' teaches the model to stop early, and a "
        "question of one token ('Summarize') without its input teaches it to answer nothing. "
        "Very long questions or answers dominate a batch's memory and loss. But short answers "
        "are often right: 'Positive' is the whole answer to a sentiment label, so the minimum "
        "depends on the task."
    )
    example = (
        '{"instruction": "Write a short story about a dragon.", "output": "Once upon a time."} '
        "fails: 'answer has 5 tokens, fewer than 10 (long-form task)'; "
        '{"instruction": "Classify the sentiment: I love it.", "output": "Positive"} passes.'
    )
    Options = LengthBoundsOptions
    needs = ("tokens",)

    def __init__(self, options, context):
        super().__init__(options, context)
        self.tasks = load_tasks(context.pack("length"))

    def _bounds(self) -> tuple[pl.Expr, dict[str, pl.Expr]]:
        q = pl.col("question")
        task = pl.lit(None, dtype=pl.String)
        for t in reversed(self.tasks):
            task = pl.when(q.str.contains(t.pattern)).then(pl.lit(t.name)).otherwise(task)
        defaults = {key: getattr(self.options, key.replace("-", "_")) for key in BOUNDS}
        bounds = {}
        for key in BOUNDS:
            expr = pl.lit(defaults[key], dtype=pl.Int64)
            for t in self.tasks:
                if key in t.bounds:
                    expr = (
                        pl.when(pl.col("_task") == t.name).then(pl.lit(t.bounds[key], dtype=pl.Int64)).otherwise(expr)
                    )
            bounds[key] = expr
        return task, bounds

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        task, bounds = self._bounds()
        frame = batch.select("tokens_question", "tokens_answer", _task=task).with_columns(
            **{key: expr for key, expr in bounds.items()}
        )
        problems = []
        scores = []
        for part in ("question", "answer"):
            n = pl.col(f"tokens_{part}").cast(pl.Int64)
            low, high = pl.col(f"min-{part}-tokens"), pl.col(f"max-{part}-tokens")
            kind = (
                pl.when(pl.col("_task").is_not_null())
                .then(pl.format(" ({} task)", pl.col("_task")))
                .otherwise(pl.lit(""))
            )
            unit = pl.when(n == 1).then(pl.lit("token")).otherwise(pl.lit("tokens"))
            short = (n > 0) & (n < low)  # empty ones are DQ001's
            problems.append(
                pl.when(short).then(pl.format("{} has {} {}, fewer than {}{}", pl.lit(part), n, unit, low, kind))
            )
            problems.append(
                pl.when(n > high).then(pl.format("{} has {} {}, more than {}{}", pl.lit(part), n, unit, high, kind))
            )
            scores.append(pl.when(short).then(n / low).when(n > high).then(high / n).otherwise(pl.lit(1.0)))
        out = frame.select(
            message=pl.concat_str(problems, separator="; ", ignore_nulls=True).fill_null(""),
            score=pl.min_horizontal(scores),
        )
        message = pl.when(pl.col("message") != "").then(pl.col("message"))
        return out.select(passed=pl.col("message") == "", score="score", message=message)


@hookimpl
def dqe_register_rules(register):
    register(LengthBounds)
