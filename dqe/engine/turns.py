"""Polars expressions over a batch's text that several content rules share."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

T = TypeVar("T", pl.Expr, pl.Series)

# One unit of text as the content rules count it: a word of letters, digits, "_" and "'", or one
# Chinese, Japanese or Korean character (those scripts put no spaces between words).
WORD_UNIT = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|[\p{L}\p{N}_']+"

# Fenced code blocks (``` or ~~~, closed or running to the end) and inline code spans; a fence
# in quotes is named, not opened ("通过“```”分隔的邮件内容": the text goes on). A fence of four
# backticks closes only at four (CommonMark): it wraps a block that shows ``` fences of its own.
_CODE = r"(?s)[“\"'「]```[”\"'」]|````.*?(?:````|\z)|```.*?(?:```|\z)|~~~.*?(?:~~~|\z)|`[^`\n]{1,200}`"


def without_code(text: T) -> T:
    """``text`` (an expression or a Series of strings) with Markdown code removed: code repeats
    lines, holds ``{{ }}`` and is in no natural language, by design. dqe's one definition of code
    in text."""
    return text.str.replace_all(_CODE, " ")


# Whole lines of code outside fences: keywords that start a statement, declarations,
# assignments, control lines ending in ':' or '{', lines ending in a brace or ');', SQL. Word
# boundaries are ASCII: a Unicode one keeps the regex engine off its fast path on non-ASCII text.
CODE_LINE = (
    r"(?m)^[ \t]*(?:"
    r"(?:def|class|import|return|elif|except|raise|yield|lambda|async|await|function|public|private|"
    r"protected|static|void|using|package|namespace|fn|impl|struct)(?-u:\b)[^\n]*"
    r"|from [A-Za-z0-9_.]+ import(?-u:\b)[^\n]*"
    r"|(?:let|const|var|val|auto|int|float|double|char|string|bool)[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*[=:;][^\n]*"
    r"|(?:if|for|while|with|else|elif|try|finally|switch|case)(?-u:\b)[^\n]*[:{(：][^\n]*"  # ：as typed in Chinese
    r"|#[^\n]*"
    r"|[A-Za-z_][A-Za-z0-9_.]*(?:\[[^\]\n]*\])*[ \t]*(?:[-+*/%]|//|\*\*)?=[ \t]*[^=\s][^\n]*"
    r"|(?:#include|#!|//|/\*|\*/|\$ |>>> |<[/!]?[A-Za-z])[^\n]*"
    r"|@[A-Za-z_][A-Za-z0-9_.]*(?:\([^\n]*\))?"  # decorators
    r"|Action[ \t]*:[ \t]*[A-Za-z_][A-Za-z0-9_.]*|Action[ _]Input[ \t]*:[^\n]*"  # ReAct tool calls
    r"|(?:pass|break|continue|end|fi|done|esac|else:?)"  # statements of one word
    r"|(?:puts|print|printf|echo)[ \t]*[(\"'][^\n]*|(?:std::)?cout[ \t]*<<[^\n]*"  # output statements
    r"|(?:SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|FROM|WHERE|JOIN|GROUP BY|ORDER BY)(?-u:\b)[^\n]*"
    # a shell command with an argument that is a flag, a path, a file or a pipe: "git add README.md",
    # "cat a b | sort | uniq > out", "ls -la" (not "sort the list.": a sentence's full stop is no file);
    # the administrator's commands too: "useradd bob && usermod -a -G dev bob", "du -sh /usr"
    # (AgentBench's OS tasks, unseen)
    r"|(?:git|cd|ls|cat|cp|mv|rm|mkdir|chmod|chown|chgrp|grep|sed|awk|sort|uniq|head|tail|find|tar|sudo|"
    r"apt|apt-get|yum|brew|pip|pip3|conda|npm|yarn|docker|kubectl|ssh|scp|export|source|python|python3|node|"
    r"useradd|adduser|usermod|userdel|groupadd|groupdel|gpasswd|setfacl|getfacl|chattr|lsattr|du|df|ps|"
    r"kill|touch|ln|stat|wc|xargs|systemctl|crontab)"
    r"(?:[ \t]+\S+)*?[ \t]+(?:-{1,2}[A-Za-z]|\S*[/*|>]|\S*\.[A-Za-z0-9])[^\n]*"
    r"|[^\n]*(?:[{}]|[)\]'\"0-9][ \t]*;|\):)"
    r")[ \t]*$"
)


def bare_code(text: T, least: int = 1) -> T:
    """Whether ``text`` is code without fences: at least half of its lines (``least`` at least)
    are lines of code (``CODE_LINE``), as a program or a page of markup pasted as an answer is."""
    code = text.str.count_matches(CODE_LINE)
    return (code >= least) & (2 * code >= text.str.count_matches(r"(?m)^[ \t]*\S"))


# A reasoning trace before the reply, in the three shapes distilled reasoning data writes it: a
# closed block (<think>...</think>; the readers write a trace kept under its own key, such as
# reasoning_content, as one); one that opens the answer and never closes (the generation was cut
# inside its reasoning, or the answer is all reasoning); and one whose opening tag the prompt
# held (R1's chat template ends the prompt with "<think>\n": the answer is "...</think>\n\n
# reply"). A tag in the middle of prose ("the HTML <think> tag") is not a trace.
_CLOSED = r"(?s)<think(?:ing)?>.*?</think(?:ing)?>\s*"  # with the blank lines after it
_UNCLOSED = r"(?s)\A\s*<think(?:ing)?>.*"
_OPENED_BEFORE = r"(?s)\A.*?</think(?:ing)?>(?:[ \t]*\n|\z)\s*"
TRACED = r"</?think(?:ing)?>"  # a pattern every trace matches: a cheap test before the three above


def _traced_rows(text: pl.Series) -> pl.Series:
    """The rows of ``text`` holding a trace tag: the only ones the trace patterns search."""
    return text.str.contains(TRACED).fill_null(False).arg_true()


def without_trace(text: T) -> T:
    """``text`` without its reasoning trace (``TRACED``'s shapes): the reply is what follows it.
    The trace is reasoning (DQ201 counts it, DQ101 its tokens), not what the user reads; an
    answer that never closes its trace has no reply at all (DQ001 reports it). Only the texts
    that hold a trace tag are searched: most hold none."""
    if isinstance(text, pl.Expr):
        return text.map_batches(without_trace, return_dtype=pl.String, is_elementwise=True)
    rows = _traced_rows(text)
    if rows.len() == 0:
        return text
    traced = text.gather(rows).str.replace_all(_CLOSED, "").str.replace(_UNCLOSED, "").str.replace(_OPENED_BEFORE, "")
    return text.clone().scatter(rows, traced)  # scatter writes in place: the caller's text stays


def unclosed_trace(text: T) -> T:
    """Whether ``text`` opens a reasoning trace it never closes: a generation cut inside its
    reasoning, with no reply after it."""
    if isinstance(text, pl.Expr):
        return text.map_batches(unclosed_trace, return_dtype=pl.Boolean, is_elementwise=True)
    rows = _traced_rows(text)
    found = pl.Series(text.name, [False] * text.len(), dtype=pl.Boolean)
    if rows.len() == 0:
        return found
    return found.scatter(rows, text.gather(rows).str.replace_all(_CLOSED, "").str.contains(_UNCLOSED))


# A web address, up to the first character no URL holds unescaped (a space, a bracket, CJK text).
_URL = r"https?://[-_.?&~;+=/#%0-9A-Za-z]+"


def without_urls(text: T) -> T:
    """``text`` (an expression or a Series of strings) with web addresses removed: a source cited
    after every sentence repeats its address, by design."""
    return text.str.replace_all(_URL, " ")


# A run of whitespace that is not already one space: replacing these by " " collapses every run,
# as ``\s+`` does, but touches only the text that changes (several times faster on prose).
_SPACES = r"\s\s+|[^ \S]"


def collapse_spaces(text: T) -> T:
    """``text`` (an expression or a Series of strings) with every run of whitespace one space."""
    return text.str.replace_all(_SPACES, " ")


# A character that shows something: neither white space nor an invisible format character (a
# zero-width space, a byte-order mark), which editors and scrapers leave in "empty" answers.
_VISIBLE = r"[^\p{White_Space}\p{Cf}]"


def blank(text: pl.Expr) -> pl.Expr:
    """Whether ``text`` shows nothing: empty, white space or invisible characters only. dqe's one
    definition of an empty turn."""
    return ~text.str.contains(_VISIBLE)


def snippet(text: pl.Expr, width: int = 60) -> pl.Expr:
    """The start of ``text`` on one line, for messages: ``'I am sorry, but…'``."""
    flat = collapse_spaces(text).str.strip_chars()
    return pl.when(flat.str.len_chars() > width).then(flat.str.slice(0, width - 1) + pl.lit("…")).otherwise(flat)


EXCHANGE_SCHEMA = {
    "_r": pl.UInt32,
    "turn": pl.Int32,
    "final": pl.Boolean,
    "question": pl.String,
    "question_turn": pl.Int32,
    "answer": pl.String,
    "tool": pl.Boolean,
}


def exchanges(batch: pl.DataFrame) -> pl.DataFrame:
    """Every assistant turn of every record with the user turn it answers, so that a rule judges
    each exchange of a conversation and not only the last (``EXCHANGE_SCHEMA``):

    - ``_r``: the record's row in ``batch``; ``turn``: the assistant turn's 1-based position in
      ``turns`` (what findings name); ``final``: the record's last assistant turn;
    - ``question`` / ``question_turn``: the nearest user turn before it ("" and null when none);
    - ``answer``: the assistant turn's content;
    - ``tool``: a tool call or a tool result came between that user turn and this answer (the
      tool did the work; some data keeps only the result).

    The system prompt, tool schemas, tool calls and tool results are context, not rows. Records
    that are one question and one answer (most SFT data) come from the ``question`` and ``answer``
    columns; only longer conversations are exploded.
    """
    roles = pl.col("turns").list.eval(pl.element().struct.field("role"))
    simple = (roles.list.len() == 2) & (roles.list.first() == "user") & (roles.list.last() == "assistant")
    flags = batch.select(simple=simple.fill_null(False), any_turns=pl.col("turns").list.len() > 0)
    pairs = batch.select(
        _r=pl.int_range(pl.len(), dtype=pl.UInt32),
        turn=pl.lit(2, dtype=pl.Int32),
        final=pl.lit(True),
        question=pl.col("question").fill_null(""),
        question_turn=pl.lit(1, dtype=pl.Int32),
        answer=pl.col("answer").fill_null(""),
        tool=pl.lit(False),
    ).filter(flags["simple"])
    other = ~flags["simple"] & flags["any_turns"]
    if not other.any():
        return pairs
    turns = (
        batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32), turns="turns")
        .filter(other)
        .explode("turns")
        .unnest("turns")
        .with_columns(turn=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("_r"))
    )
    user = pl.col("role") == "user"
    calls = pl.col("role").is_in(["tool_call", "tool"]).cast(pl.Int32).cum_sum().over("_r")
    spread = turns.with_columns(
        question=pl.when(user).then(pl.col("content")).forward_fill().over("_r").fill_null(""),
        question_turn=pl.when(user).then(pl.col("turn")).forward_fill().over("_r"),
        _calls_at_question=pl.when(user).then(calls).forward_fill().over("_r").fill_null(0),
        _calls=calls,
    )
    answers = spread.filter(pl.col("role") == "assistant").select(
        "_r",
        "turn",
        final=pl.col("turn") == pl.col("turn").max().over("_r"),
        question="question",
        question_turn="question_turn",
        answer="content",
        tool=pl.col("_calls") > pl.col("_calls_at_question"),
    )
    return pl.concat([pairs, answers.cast(EXCHANGE_SCHEMA)]).sort("_r", "turn")


TURN_SCHEMA = {
    "_r": pl.UInt32,
    "turn": pl.Int32,
    "role": pl.String,
    "final": pl.Boolean,
    "text": pl.String,
    "question": pl.String,
}


def turn_texts(batch: pl.DataFrame, *, system: bool = False) -> pl.DataFrame:
    """Every user and assistant turn of ``batch`` as a row (``TURN_SCHEMA``), for rules that judge
    what a turn holds whoever wrote it: ``_r``, ``turn`` (1-based, as findings name it), ``role``,
    ``final`` (the last turn of its role in the record), ``text``, and ``question`` (for an
    assistant turn, the user turn it answers; for a user turn, itself). Built from ``exchanges``,
    so a user turn that no assistant turn answers is left out (DQ002 reports it). With ``system``,
    a record's system prompt is a row too, role "system" and a null turn: it is context, and a rule
    reads it only when what it looks for is a defect there as well (an unfilled ``{{name}}``)."""
    pairs = exchanges(batch)
    answers = pairs.select("_r", "turn", role=pl.lit("assistant"), final="final", text="answer", question="question")
    questions = (
        pairs.filter(pl.col("question_turn").is_not_null())
        .unique(["_r", "question_turn"], keep="first", maintain_order=True)
        .select(
            "_r",
            turn="question_turn",
            role=pl.lit("user"),
            final=pl.col("question_turn") == pl.col("question_turn").max().over("_r"),
            text="question",
            question="question",
        )
    )
    parts = [answers, questions]
    if system:
        parts.append(
            batch.select(
                _r=pl.int_range(pl.len(), dtype=pl.UInt32),
                turn=pl.lit(None, dtype=pl.Int32),
                role=pl.lit("system"),
                final=pl.lit(True),
                text="system",
                question=pl.lit(""),
            ).filter(pl.col("text").is_not_null() & (pl.col("text") != ""))
        )
    return pl.concat([p.cast(TURN_SCHEMA) for p in parts]).sort("_r", "turn", nulls_last=False)


def turn_name() -> pl.Expr:
    """How messages name a row of ``turn_texts``: "answer" and "instruction" for the last of
    each role, "assistant turn 4", "user turn 3" for earlier ones, "system prompt"."""
    role, turn = pl.col("role"), pl.col("turn").cast(pl.String)
    return (
        pl.when(role == "system")
        .then(pl.lit("system prompt"))
        .when(pl.col("final"))
        .then(pl.when(role == "assistant").then(pl.lit("answer")).otherwise(pl.lit("instruction")))
        .otherwise(pl.format("{} turn {}", role, turn))
    )
