"""DQ001 structure: an instruction and an answer, no empty turns, roles in a sensible order."""

from __future__ import annotations

import polars as pl

from dqe import TRACED, RecordRule, blank, collapse_spaces, hookimpl, unclosed_trace, without_trace

# Which role may follow which: a user asks, the assistant answers or calls a tool (after a word of
# its own or none: OpenAI's message with content and tool_calls), a tool result follows its call,
# and the assistant speaks after the tool.
_ALLOWED = {
    "user>assistant",
    "user>tool_call",
    "assistant>user",
    "assistant>tool_call",
    "tool_call>tool",
    "tool_call>tool_call",
    "tool>assistant",
    "tool>tool_call",
    "tool>tool",
}


class Structure(RecordRule):
    """Checks that a record has a non-empty instruction and a non-empty answer, that no turn
    (history included) is empty, that the conversation starts with the user and that roles
    follow each other sensibly (user, assistant, tool call, tool result). An assistant turn
    whose reasoning trace never closes (``<think>`` opens it, no ``</think>`` follows: the
    generation was cut inside its reasoning) has no reply, nor has one that is a closed trace and
    nothing after it; both fail, with where the trace ends as evidence. A turn of reasoning
    alone before a tool call is the call's reasoning (OpenAI's ``reasoning_content`` beside
    ``tool_calls``), not an empty answer."""

    code = "DQ001"
    name = "structure"
    summary = "missing or empty instruction or answer, an answer that never leaves its reasoning, empty turns, roles out of order"
    why = (
        "An example without an answer has nothing to learn from; an empty turn or two user "
        "turns in a row render into a prompt the model never sees at inference, and teach it "
        "to answer questions nobody asked. An answer cut inside its reasoning teaches the model "
        "to think without ever answering."
    )
    example = (
        '{"instruction": "Summarize the text.", "input": "...", "output": ""} fails: \'empty answer\'; '
        '"<think>12 pens is 4 groups of 3, so 4 groups cost" fails: \'answer cut inside its reasoning '
        "(<think> never closed, no reply)', with the evidence 'turns: user > assistant (trace never "
        'closed); the trace ends "…so 4 groups cost"\'.'
    )

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        flat = (
            batch.select(pl.col("turns"))
            .with_row_index("_r")
            .explode("turns")
            .unnest("turns")
            .filter(pl.col("role").is_not_null())
            # a record's turns are rows next to each other: its neighbours and positions without
            # windows (a window groups the rows by record first, three times)
            .with_columns(_i=pl.int_range(pl.len()), _same_prev=pl.col("_r").shift(1) == pl.col("_r"))
            .with_columns(
                pos=pl.col("_i") - pl.when(~pl.col("_same_prev").fill_null(False)).then("_i").forward_fill() + 1,
                prev=pl.when(pl.col("_same_prev")).then(pl.col("role").shift(1)),
                next=pl.when(pl.col("_r").shift(-1) == pl.col("_r")).then(pl.col("role").shift(-1)),
                empty=blank(pl.col("content")),
                **self._traces(pl.col("content"), pl.col("role") == "assistant"),
            )
            .with_columns(
                last=pl.col("pos") == pl.col("pos").max().over("_r", "role"),
            )
        )
        empty = pl.col("empty") & pl.col("role").is_in(["user", "assistant", "system"])
        # reasoning alone is a reply to nobody, unless a tool call follows it (the call's reasoning)
        trace_only = pl.col("thought") & ~pl.col("empty") & (pl.col("next") != "tool_call").fill_null(True)
        order = pl.concat_str("prev", pl.lit(">"), "role")
        problems = (
            flat.select(
                "_r",
                "pos",
                problem=pl.when(pl.col("pos").eq(1) & pl.col("role").ne("user"))
                .then(pl.format("the first turn is {}, not user", "role"))
                .when(pl.col("prev").is_not_null() & ~order.is_in(_ALLOWED))
                .then(pl.format("turn {}: {} after {}", "pos", "role", "prev"))
                .when(pl.col("unclosed") & pl.col("last"))
                .then(pl.lit("answer cut inside its reasoning (<think> never closed, no reply)"))
                .when(pl.col("unclosed"))
                .then(pl.format("turn {} (assistant) cut inside its reasoning (<think> never closed)", "pos"))
                .when(trace_only & pl.col("last"))
                .then(pl.lit("empty answer: a reasoning trace and no reply after it"))
                .when(trace_only)
                .then(pl.format("turn {} (assistant) is a reasoning trace with no reply", "pos"))
                .when(empty & pl.col("last") & pl.col("role").eq("assistant"))
                .then(pl.lit("empty answer"))
                .when(empty & pl.col("last") & pl.col("role").eq("user"))
                .then(pl.lit("empty instruction"))
                .when(empty)
                .then(pl.format("turn {} ({}) is empty", "pos", "role")),
            )
            .filter(pl.col("problem").is_not_null())
            .group_by("_r", maintain_order=True)
            .agg(pl.col("problem").head(3), turn=pl.col("pos").first())
        )
        roles = pl.col("turns").list.eval(pl.element().struct.field("role"))
        # A reply that is a tool call is an answer here; a conversation ending on it is DQ002's.
        missing = batch.select(
            missing=pl.concat_list(
                pl.when(~roles.list.contains("user")).then(pl.lit("no instruction (no user turn)")),
                pl.when(~roles.list.contains("assistant") & ~roles.list.contains("tool_call")).then(
                    pl.lit("no answer (no assistant turn)")
                ),
            ).list.drop_nulls()
        )
        found = missing.with_row_index("_r").join(problems, on="_r", how="left", maintain_order="left")
        reasons = found.select(
            pl.concat_list("missing", pl.col("problem").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        ).to_series()
        failed = reasons.list.len() > 0
        evidence = self._evidence(flat, found.filter(failed).select("_r"))
        out = found.select("_r", "turn").join(evidence, on="_r", how="left", maintain_order="left")
        return pl.DataFrame(
            {
                "passed": ~failed,
                "score": (~failed).cast(pl.Float64),
                "message": pl.select(pl.when(failed).then(reasons.list.join("; "))).to_series(),
                "turn": out["turn"].cast(pl.Int32),
                "evidence": out["evidence"],
            }
        )

    @staticmethod
    def _traces(content: pl.Expr, assistant: pl.Expr) -> dict[str, pl.Expr]:
        """``unclosed``: an assistant turn whose reasoning trace never closes; ``thought``: one
        that is a reasoning trace with no reply after it (closed, or not). Only turns that hold a
        trace tag are searched."""
        traced = assistant & content.str.contains(TRACED).fill_null(False)
        return {
            "unclosed": traced & unclosed_trace(content),
            "thought": traced & blank(without_trace(content)),
        }

    @staticmethod
    def _evidence(flat: pl.DataFrame, failing: pl.DataFrame) -> pl.DataFrame:
        """The failing records' turns as the rule saw them: 'user > user > assistant (empty)'
        (the first 12 turns, and how many there are when there are more), and where a trace that
        never closes ends: 'the trace ends "…so 4 groups cost"'."""
        label = (
            pl.when(pl.col("empty"))
            .then(pl.format("{} (empty)", "role"))
            .when(pl.col("unclosed"))
            .then(pl.format("{} (trace never closed)", "role"))
            .when(pl.col("thought"))
            .then(pl.format("{} (trace only)", "role"))
            .otherwise(pl.col("role"))
        )
        trace = collapse_spaces(pl.col("content").str.replace(r"\A\s*<think(?:ing)?>", "")).str.strip_chars()
        tail = pl.when(trace.str.len_chars() > 40).then(pl.lit("…") + trace.str.slice(-39)).otherwise(trace)
        return (
            flat.join(failing, on="_r", how="semi")
            .group_by("_r", maintain_order=True)
            .agg(labels=label.head(12), n=pl.len(), cut=tail.filter(pl.col("unclosed")).first())
            .select(
                "_r",
                evidence=pl.format(
                    "turns: {}{}{}",
                    pl.col("labels").list.join(" > "),
                    pl.when(pl.col("n") > 12).then(pl.format(" > ... ({} turns)", "n")).otherwise(pl.lit("")),
                    pl.when(pl.col("cut").is_not_null())
                    .then(pl.format('; the trace ends "{}"', "cut"))
                    .otherwise(pl.lit("")),
                ),
            )
        )


@hookimpl
def dqe_register_rules(register):
    register(Structure)
