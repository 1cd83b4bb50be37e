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
