"""Polars expressions over a batch's text that several content rules share."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

# Fenced code blocks (``` or ~~~, closed or running to the end) and inline code spans.
_CODE = r"(?s)```.*?(?:```|\z)|~~~.*?(?:~~~|\z)|`[^`\n]{1,200}`"


def without_code(text: pl.Expr) -> pl.Expr:
    """``text`` with Markdown code removed: code repeats lines and holds ``{{ }}`` by design."""
    return text.str.replace_all(_CODE, " ")


def turn_text(roles: Iterable[str], separator: str = "\n") -> pl.Expr:
    """The contents of every turn whose role is in ``roles``, joined, per record."""
    wanted = list(roles)
    return (
        pl.col("turns")
        .list.eval(pl.element().filter(pl.element().struct.field("role").is_in(wanted)).struct.field("content"))
        .list.join(separator)
    )


def snippet(text: pl.Expr, width: int = 60) -> pl.Expr:
    """The start of ``text`` on one line, for messages: ``'I am sorry, but…'``."""
    flat = text.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(flat.str.len_chars() > width).then(flat.str.slice(0, width - 1) + pl.lit("…")).otherwise(flat)


def _multi_turn(batch: pl.DataFrame) -> pl.Series:
    """Rows with more than one exchange: the only ones where question/answer are not the
    whole story. Most SFT records have two turns, so the exploding below is the rare path."""
    return batch["turns"].list.len() > 2


def role_text(batch: pl.DataFrame, role: str) -> pl.Series:
    """Per record, every ``role`` turn's content joined (user or assistant): the ``question``
    or ``answer`` column for two-turn records, the joined turns for longer conversations."""
    base = batch["question" if role == "user" else "answer"].fill_null("")
    multi = _multi_turn(batch)
    if multi.any():
        joined = batch.filter(multi).select(turn_text([role])).to_series()
        base = base.scatter(multi.arg_true(), joined)
    return base


def assistant_turns(batch: pl.DataFrame) -> pl.DataFrame:
    """Every assistant turn: ``_r`` (row in the batch), ``pos`` (1-based turn number; null for
    the final answer), ``final`` and ``content``. The final answers come from the ``answer``
    column, so only conversations of more than two turns are exploded."""
    final = batch.select(
        _r=pl.int_range(pl.len(), dtype=pl.UInt32),
        pos=pl.lit(None, dtype=pl.Int64),
        final=pl.lit(True),
        content=pl.col("answer").fill_null(""),
    )
    multi = _multi_turn(batch)
    if not multi.any():
        return final
    earlier = (
        batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32), turns=pl.col("turns"))
        .filter(multi)
        .explode("turns")
        .unnest("turns")
        .with_columns(pos=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_r"))
        .filter(pl.col("role") == "assistant")
        .filter(pl.col("pos") != pl.col("pos").max().over("_r"))
        .select("_r", "pos", final=pl.lit(False), content="content")
    )
    return pl.concat([earlier, final]).sort("_r", "pos", nulls_last=True)
