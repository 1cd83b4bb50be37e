"""DQ002 turn-structure: multi-turn conversations that repeat a turn, end unanswered or lose
tool results.

DQ001 (structure) already reports missing or empty user and assistant turns and roles out of
order, a tool call followed straight by an answer included; this rule reports what DQ001 cannot
see turn by turn.
"""

from __future__ import annotations

import re

import polars as pl
from pydantic import Field

from dqe import RecordRule, RuleOptions, collapse_spaces, hookimpl, in_batch_order, snippet, without_trace


class TurnStructureOptions(RuleOptions):
    min_repeat_chars: int = Field(
        20,
        ge=1,
        description="shorter turns may repeat ('continue', 'thanks'); longer ones repeated word for word fail",
    )
    allow_open_end: bool = Field(False, description="let a conversation end on a user turn or a tool result")
    answer_calls: list[str] = Field(
        ["Finish", "final_answer"],
        description=(
            "functions whose call gives the answer and ends the episode (ToolBench's Finish): a conversation "
            "may end on one, since no result follows it (names compared without case)"
        ),
    )
    silent_calls: list[str] = Field(
        ["think"],
        description=(
            "functions whose result is empty by design (tau-bench's `think`, which only logs a thought): "
            "an empty result of a call to one is that result, not a lost one (names compared without case)"
        ),
    )


class TurnStructure(RecordRule):
    """Checks multi-turn conversations for four defects: a user or assistant turn that repeats
    an earlier turn of the same role word for word (whitespace and case aside, an answer's
    reasoning trace left out: the same reply after other reasoning repeats; short turns such
    as 'continue' may repeat, and a tool call made again may give the same result); a conversation that ends on a user turn or a tool result, which nobody answers; a
    block of tool calls followed by fewer tool results than calls (or more results than calls),
    or a conversation that ends on a tool call (not on one that gives the answer, ToolBench's
    ``Finish``: ``answer_calls``); and an empty tool call or tool result (not the result of a
    call that returns nothing by design, a ``think``: ``silent_calls``). Empty
    user and assistant turns and roles out of order are DQ001's."""

    code = "DQ002"
    name = "turn-structure"
    summary = "a turn repeated, a conversation ending unanswered, tool calls without results"
    why = (
        "A repeated turn is a copy-paste or generation loop the model will learn to imitate; a "
        "final user turn has no answer to learn from and is masked out anyway; a tool call with "
        "no result teaches the model to answer without the data it asked for."
    )
    example = (
        '[user "Weather in Paris?", tool_call {"name": "weather", ...}, assistant "It is sunny."] '
        'is DQ001\'s (an answer right after a call); [user, assistant, user "And tomorrow?"] fails '
        "here: 'ends on a user turn (turn 3 gets no answer)'."
    )
    Options = TurnStructureOptions

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        o = self.options
        # Two turns or fewer, ending on the assistant: nothing here can go wrong (DQ001 sees the rest).
        last_role = pl.col("turns").list.last().struct.field("role")
        flat = (
            batch.select(pl.col("turns"))
            .with_row_index("_r")
            .filter((pl.col("turns").list.len() > 2) | (last_role != "assistant"))
            .explode("turns")
            .unnest("turns")
            .filter(pl.col("role").is_not_null())
            .with_columns(pos=pl.int_range(1, pl.len() + 1).over("_r"))
        )
        problems = [self._repeats(flat, o.min_repeat_chars), self._tools(flat, o.answer_calls, o.silent_calls)]
        if not o.allow_open_end:
            problems.append(self._ending(flat))
        found = (
            pl.concat(problems)
            .sort("_r", "pos")
            .group_by("_r", maintain_order=True)
            .agg(
                message=pl.col("problem").head(3).str.join("; "),
                evidence=pl.col("evidence").head(3).str.join("; "),
                turn=pl.col("pos").first().cast(pl.Int32),
                count=pl.len(),
            )
        )
        out = in_batch_order(batch, found)
        failed = out["message"].is_not_null()
        turns = batch["turns"].list.len().cast(pl.Float64).clip(lower_bound=1.0)
        score = (1.0 - out["count"].fill_null(0).cast(pl.Float64) / turns).clip(0.0, 1.0)
        return pl.DataFrame(
            {
                "passed": ~failed,
                "score": score,
                "message": out["message"],
                "turn": out["turn"],
                "evidence": out["evidence"],
            }
        )

    @staticmethod
    def _repeats(flat: pl.DataFrame, min_chars: int) -> pl.DataFrame:
        norm = collapse_spaces(pl.col("reply")).str.strip_chars().str.to_lowercase()
        return (
            # a tool call may be made again and give the same result again: only people and the
            # assistant repeat themselves; an answer is its reply, a reasoning trace before it left
            # out (the same reply after other reasoning is still said twice)
            flat.filter(pl.col("role").is_in(["user", "assistant"]))
            .with_columns(reply=without_trace(pl.col("content")))
            .with_columns(norm=norm)
            # measured as compared: the line break after "go to diningtable 1" makes no long turn
            .filter(pl.col("norm").str.len_chars() >= min_chars)
            .with_columns(first=pl.col("pos").first().over("_r", "role", "norm", order_by="pos"))
            .filter(pl.col("pos") != pl.col("first"))
            .select(
                "_r",
                "pos",
                problem=pl.format("turn {} ({}) repeats turn {} word for word", "pos", "role", "first"),
                evidence=pl.format(
                    'turn {} = turn {} with case and spaces folded ({} chars): "{}"',
                    "pos",
                    "first",
                    pl.col("norm").str.len_chars(),
                    snippet(pl.col("reply"), 50),
                ),
            )
        )

    @staticmethod
    def _ending(flat: pl.DataFrame) -> pl.DataFrame:
        last = flat.group_by("_r").agg(
            pos=pl.col("pos").last(),
            role=pl.col("role").last(),
            content=pl.col("content").last(),
            answered=(pl.col("role") == "assistant").any(),
        )
        return last.filter(pl.col("answered") & pl.col("role").is_in(["user", "tool"])).select(
            "_r",
            "pos",
            problem=pl.when(pl.col("role") == "user")
            .then(pl.format("ends on a user turn (turn {} gets no answer)", "pos"))
            .otherwise(pl.format("ends on a tool result (turn {}) that no answer reads", "pos")),
            evidence=pl.format('last turn {} is {}: "{}"', "pos", "role", snippet(pl.col("content"), 50)),
        )

    @staticmethod
    def _tools(flat: pl.DataFrame, answer_calls: list[str], silent_calls: list[str]) -> pl.DataFrame:
        tool = flat.filter(pl.col("role").is_in(["tool_call", "tool"]))
        empty = pl.col("content").str.strip_chars() == ""
        if silent_calls:  # the calls a result answers: the last tool-call turn before it
            names = "|".join(re.escape(name) for name in silent_calls)
            called = pl.when(pl.col("role") == "tool_call").then(pl.col("content")).forward_fill().over("_r")
            silent = called.fill_null("").str.contains(f'(?i)"name"\\s*:\\s*"(?:{names})"')
            empty = empty & ~((pl.col("role") == "tool") & silent)
        empty = tool.filter(empty).select(
            "_r",
            "pos",
            problem=pl.format("turn {} ({}) is empty", "pos", "role"),
            evidence=pl.format("turn {} ({}) holds only whitespace", "pos", "role"),
        )
        # Runs of one role: a block of tool calls and the block of results that follows it. One
        # turn may hold several calls (OpenAI's parallel `tool_calls`, a JSON list of calls) and
        # one tool turn several results (a list of {"tool_call_id": ..., "content": ...} objects).
        counted = _entries(flat)
        if counted.height:
            flat = flat.join(counted, on=["_r", "pos"], how="left", maintain_order="left")
        else:
            flat = flat.with_columns(n=pl.lit(None, dtype=pl.UInt32))
        blocks = (
            flat.with_columns(
                block=((pl.col("role") != pl.col("role").shift(1)) | (pl.col("_r") != pl.col("_r").shift(1))).cum_sum(),
                n=pl.col("n").fill_null(1),
            )
            .group_by("block", maintain_order=True)
            .agg(
                pl.col("_r").first(),
                pl.col("role").first(),
                pos=pl.col("pos").first(),
                end=pl.col("pos").last(),
                n=pl.col("n").sum(),
                last=pl.col("content").last(),
            )
            .with_columns(
                next_role=pl.when(pl.col("_r").shift(-1) == pl.col("_r")).then(pl.col("role").shift(-1)),
                next_n=pl.col("n").shift(-1),
                next_pos=pl.col("pos").shift(-1),
                next_end=pl.col("end").shift(-1),
            )
            .filter(pl.col("role") == "tool_call")
        )
        calls_text = pl.when(pl.col("n") == 1).then(pl.lit("a tool call")).otherwise(pl.format("{} tool calls", "n"))
        span = pl.when(pl.col("end") == pl.col("pos")).then(pl.format("turn {}", "pos"))
        span = span.otherwise(pl.format("turns {}-{}", "pos", "end"))
        next_span = pl.when(pl.col("next_end") == pl.col("next_pos")).then(pl.format("turn {}", "next_pos"))
        next_span = next_span.otherwise(pl.format("turns {}-{}", "next_pos", "next_end"))
        # a call that gives the answer ends the episode: no result follows it
        answers = pl.lit(False)
        if answer_calls:
            names = "|".join(re.escape(name) for name in answer_calls)
            answers = pl.col("last").fill_null("").str.contains(f'(?i)"name"\\s*:\\s*"(?:{names})"')
        unmatched = (
            blocks.filter(pl.col("next_role").is_not_null() | ~answers)
            .select(
                "_r",
                "pos",
                problem=pl.when(pl.col("next_role").is_null())
                .then(pl.format("ends on {} (turn {}) with no result", calls_text, "pos"))
                .when((pl.col("next_role") == "tool") & (pl.col("next_n") < pl.col("n")))
                .then(pl.format("{} at turn {} get only {} result(s)", calls_text, "pos", "next_n"))
                .when((pl.col("next_role") == "tool") & (pl.col("next_n") > pl.col("n")))
                .then(pl.format("{} at turn {} get {} results", calls_text, "pos", "next_n")),
                evidence=pl.when(pl.col("next_role").is_null())
                .then(pl.format("{} call(s) at {}, nothing after them", "n", span))
                .otherwise(pl.format("{} call(s) at {}, {} result(s) at {}", "n", span, "next_n", next_span)),
            )
            .drop_nulls("problem")
        )
        return pl.concat([empty, unmatched])


_MOST = 16  # entries counted in one turn's JSON list of calls or results


def _entries(flat: pl.DataFrame) -> pl.DataFrame:
    """How many calls (results) each tool call (tool) turn that holds a JSON list carries: every
    entry of a list of calls; every entry of a list of results that names its call (a
    ``tool_call_id``, or a ``name`` with its ``content``): a list of search hits is one result.
    Turns not listed here hold one."""
    listed = flat.filter(
        pl.col("role").is_in(["tool_call", "tool"]) & pl.col("content").str.strip_chars_start().str.starts_with("[")
    )
    content = pl.col("content").str
    entry = [
        pl.when(pl.col("role") == "tool_call")
        .then(content.json_path_match(f"$[{k}]").is_not_null())
        .otherwise(
            content.json_path_match(f"$[{k}].tool_call_id").is_not_null()
            | (
                content.json_path_match(f"$[{k}].name").is_not_null()
                & content.json_path_match(f"$[{k}].content").is_not_null()
            )
        )
        .cast(pl.UInt32)
        for k in range(_MOST)
    ]
    return listed.select("_r", "pos", n=pl.sum_horizontal(entry)).filter(pl.col("n") > 0)


@hookimpl
def dqe_register_rules(register):
    register(TurnStructure)
