"""The conversation's text, normalized, and a hash of it: what duplicate checks compare.

The text is every turn of the conversation (history, tool calls and tool results included; an
answer without its reasoning trace) but the system prompt, which is often the same boilerplate across a data set; NFKC
normalized (full-width and half-width forms agree), lowercased, with runs of whitespace
collapsed; each turn is stripped, and turns are joined by a separator that is not
whitespace, so that moving words from a question into its answer changes the hash. The
preview (the first 100 characters, turns shown as " | ") is kept for reports that show
examples, such as the largest duplicate clusters.
"""

from __future__ import annotations

import polars as pl

from dqe import TRACED, Feature, collapse_spaces, without_trace
from dqe.hookspecs import hookimpl

TURN_SEPARATOR = "\x1e"  # ASCII record separator: not whitespace, not a word character
_HASH_SEED = 0x5EED


PREVIEW_CHARS = 100


def conversation(turns: pl.Expr) -> pl.Expr:
    """The turns of a ``turns`` column but system ones, joined by ``TURN_SEPARATOR``."""
    contents = turns.list.eval(
        pl.element().filter(pl.element().struct.field("role") != "system").struct.field("content").str.strip_chars()
    )
    return contents.list.join(TURN_SEPARATOR)


def replies(turns: pl.Series, raw: pl.Series) -> pl.Series:
    """``raw`` (``conversation`` of ``turns``) with each answer's reasoning trace left out, for the
    records that hold one: two records that ask and answer alike are duplicates whatever they
    reasoned on the way, and distilled data's templated reasoning ("This is a logic problem;
    let x be...") makes different problems look alike."""
    rows = raw.str.contains(TRACED).fill_null(False).arg_true()
    if rows.len() == 0:
        return raw
    said = (
        pl.DataFrame({"turns": turns.gather(rows)})
        .with_row_index("r")
        .explode("turns")
        .unnest("turns")
        .filter(pl.col("role") != "system")
    )
    rebuilt = (
        said.with_columns(content=without_trace(said["content"]).str.strip_chars())
        .group_by("r", maintain_order=True)
        .agg(pl.col("content").str.join(TURN_SEPARATOR))
    )
    return raw.clone().scatter(rows.gather(rebuilt["r"]), rebuilt["content"])


def normalized(text: pl.Series) -> pl.Series:
    """NFKC (only where there is something beyond ASCII: it is the costly step), lowercase,
    whitespace collapsed. A text beyond ASCII has more bytes than characters: counting both
    costs a twentieth of a regular expression's scan for such a character."""
    wide = (text.str.len_bytes() != text.str.len_chars()).fill_null(False)
    if wide.any():
        text = text.scatter(wide.arg_true(), text.filter(wide).str.normalize("NFKC"))
    return collapse_spaces(text.str.to_lowercase()).str.strip_chars()


def user_lines(turns: pl.Series) -> pl.DataFrame:
    """Every non-blank line of every user turn, normalized like the text: ``row`` (the record's
    position in ``turns``), ``turn`` (the turn's position in the conversation text, system turns
    left out) and ``line``. Text that recurs across many records' user turns is context they
    share (a tool description, a header), not what each record asks."""
    role = pl.element().struct.field("role")
    said = pl.col("turns").list.eval(pl.element().filter(role != "system"))
    contents = pl.DataFrame({"turns": turns}).select(
        row=pl.int_range(pl.len(), dtype=pl.UInt32),
        turn=said.list.eval(pl.int_range(pl.len(), dtype=pl.UInt32)),
        user=said.list.eval(role == "user"),
        line=said.list.eval(pl.element().struct.field("content")),
    )
    lines = (
        contents.explode(["turn", "user", "line"])
        .filter(pl.col("user"))
        .drop("user")
        .drop_nulls("line")
        .with_columns(pl.col("line").str.split("\n"))
        .explode("line")
    )
    return lines.with_columns(line=normalized(lines["line"])).filter(pl.col("line") != "")


def preview(text: pl.Expr) -> pl.Expr:
    """The first characters of a conversation, turns shown as `` | ``, for reports."""
    short = (
        text.str.slice(0, PREVIEW_CHARS + 1)
        .str.replace_all("\n", " ", literal=True)
        .str.replace_all(TURN_SEPARATOR, " | ", literal=True)
        .str.strip_chars()
    )
    return (
        pl.when(short.str.len_chars() > PREVIEW_CHARS)
        .then(short.str.slice(0, PREVIEW_CHARS - 1) + "…")
        .otherwise(short)
    )


class Text(Feature):
    name = "text"
    summary = "normalized conversation text (every turn but system), its 64-bit hash, a preview"
    columns = ("text", "text_hash", "text_preview")
    keep = ("text_hash", "text_preview")

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        raw = batch.select(raw=conversation(pl.col("turns")))
        raw = raw.with_columns(raw=replies(batch["turns"], raw["raw"]))
        text = normalized(raw["raw"])
        shown = raw.select(preview(pl.col("raw"))).to_series()
        return pl.DataFrame({"text": text, "text_hash": text.hash(seed=_HASH_SEED), "text_preview": shown})


@hookimpl
def dqe_register_features(register):
    register(Text)
