"""DQ203 boilerplate: AI disclaimers, refusals, apologies and requests for input as answers."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
from pydantic import Field

from dqe.config import ConfigError
from dqe.hookspecs import hookimpl
from dqe.patterns import categories, pack_value, selected
from dqe.rule import RecordRule, RuleOptions, in_batch_order
from dqe.text import exchanges, snippet


def _tool_records(batch: pl.DataFrame) -> pl.Series:
    """Records with tools: a ``tools`` field, or a tool call among more than two turns."""
    tools = batch["tools"].is_not_null()
    multi = batch["turns"].list.len() > 2
    if multi.any():
        calls = batch.filter(multi).select(
            pl.col("turns").list.eval(pl.element().struct.field("role") == "tool_call").list.any()
        )
        tools = tools.scatter(multi.arg_true(), tools.filter(multi) | calls.to_series())
    return tools


class BoilerplateOptions(RuleOptions):
    skip_categories: list[str] = Field(
        default_factory=list,
        description="categories of the `boilerplate` pack not to check: disclaimer, refusal, apology, asks-for-input",
    )
    head_chars: int = Field(150, ge=1, description="how far into a turn a 'start' category looks, in characters")
    short_chars: int = Field(
        300, ge=1, description="turns shorter than this count as short (for 'short-only' categories)"
    )


class Category(NamedTuple):
    name: str
    label: str
    pattern: str
    start: bool
    final_only: bool
    short_only: bool
    tool_records: bool


def load_categories(pack: dict, pack_name: str = "boilerplate") -> list[Category]:
    out = []
    for name, (_table, pattern) in categories(pack, pack_name).items():
        base = f"categories.{name}"
        where = pack_value(pack, f"{base}.where", pack_name, str, default="anywhere")
        turns = pack_value(pack, f"{base}.turns", pack_name, str, default="all")
        if where not in ("anywhere", "start") or turns not in ("all", "final"):
            raise ConfigError(
                f"rule pack '{pack_name}': '{base}': 'where' must be \"anywhere\" or \"start\" and 'turns' "
                f'"all" or "final" (got where={where!r}, turns={turns!r})'
            )
        if pattern is None:
            continue
        out.append(
            Category(
                name=name,
                label=pack_value(pack, f"{base}.label", pack_name, str, default=name),
                pattern=pattern,
                start=where == "start",
                final_only=turns == "final",
                short_only=pack_value(pack, f"{base}.short-only", pack_name, bool, default=False),
                tool_records=pack_value(pack, f"{base}.tool-records", pack_name, bool, default=True),
            )
        )
    return out


class Boilerplate(RecordRule):
    """Looks in every assistant turn for the patterns of the `boilerplate` rule pack, English and
    Chinese, by category: AI disclaimers anywhere ("As an AI language model, I...", "作为一个人工
    智能助手，我..."); refusals at the start of a turn ("I'm unable to help with that", "我无法...");
    apologies that open a short turn ("I'm sorry, ...", "很抱歉..."), which apologise instead of
    answering; and final answers that ask for the input the instruction forgot ("Please provide
    the text", "您没有提供..."). Records with tools are spared refusals and apologies: tool-use
    data teaches a model to decline what its tools cannot do."""

    code = "DQ203"
    name = "boilerplate"
    summary = "AI disclaimers, refusals, apologies or requests for input instead of an answer"
    why = (
        "Boilerplate answers teach a model to refuse, hedge and talk about itself instead of "
        "doing the task; they are the most common residue of data distilled from chat models, "
        "and an answer that asks for the missing input marks an instruction that lost its input."
    )
    example = (
        '{"instruction": "Design a logo.", "output": "I\'m sorry, I am an AI language model and I '
        "do not possess the ability to create visual graphics.\"} fails: 'answer: AI disclaimer: "
        '"I am an AI language model and I do not"\'.'
    )
    Options = BoilerplateOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        found = load_categories(context.pack("boilerplate"))
        skipped = selected({c.name: c for c in found}, options.skip_categories, "rules.DQ203.skip-categories")
        self.categories = [c for c in found if c.name not in skipped]

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        o = self.options
        tools = _tool_records(batch)
        turns = exchanges(batch)
        turns = turns.with_columns(_tools=tools.gather(turns["_r"]))
        text = pl.col("answer")
        head = text.str.slice(0, o.head_chars)
        short = text.str.len_chars() < o.short_chars
        flags = {}
        for i, c in enumerate(self.categories):
            applies = (head if c.start else text).str.contains(c.pattern)
            if c.final_only:
                applies = applies & pl.col("final")
            if c.short_only:
                applies = applies & short
            if not c.tool_records:
                applies = applies & ~pl.col("_tools")
            flags[f"_c{i}"] = applies
        if not flags:
            return batch.select(
                passed=pl.repeat(True, pl.len()),
                score=pl.repeat(1.0, pl.len()),
                message=pl.repeat(None, pl.len(), dtype=pl.String),
            )
        hit = turns.with_columns(**flags).filter(pl.any_horizontal(list(flags)))
        # Messages only for the turns that hit: the matched text of the first category found.
        described = [
            pl.when(pl.col(f"_c{i}")).then(
                pl.format(
                    '{}: "{}"', pl.lit(c.label), snippet((head if c.start else text).str.extract(c.pattern, 0), 60)
                )
            )
            for i, c in enumerate(self.categories)
        ]
        where = (
            pl.when(pl.col("final")).then(pl.lit("answer")).otherwise(pl.format("assistant turn {}", pl.col("turn")))
        )
        found = (
            hit.select("_r", "turn", message=pl.format("{}: {}", where, pl.coalesce(described)))
            .group_by("_r", maintain_order=True)
            .agg(pl.col("turn").min(), pl.col("message").str.join("; "))
        )
        out = in_batch_order(batch, found)
        failed = out["message"].is_not_null()
        return pl.DataFrame(
            {"passed": ~failed, "score": (~failed).cast(pl.Float64), "message": out["message"], "turn": out["turn"]}
        )


@hookimpl
def dqe_register_rules(register):
    register(Boilerplate)
