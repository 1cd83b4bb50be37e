"""DQ206 broken-markup: LaTeX and escapes that lost their backslashes, code fences left open, text
decoded with the wrong encoding."""

from __future__ import annotations

import string

import polars as pl

from dqe import (
    ConfigError,
    RecordRule,
    RuleOptions,
    check_regex,
    hookimpl,
    pack_value,
    snippet,
    string_list,
    turn_name,
    turn_texts,
    worst_exchange,
)

PACK = "markup"
_FENCE = r"(?m)^\s*```|```[ \t]*$"  # a fence opens or closes a block at the start or the end of a line
_INLINE_FENCES = r"```[^`\n]+```"  # a pair quoting a span within one line ("输入:```如何评价北京```") is closed
_OTHER_CODE = r"(?s)```.*?(?:```|\z)|~~~.*?(?:~~~|\z)"  # fenced blocks, closed or running to the end
# A fence next to a line break written as the two characters \n: text escaped twice (JSON in JSON)
_ESCAPED_FENCE = r"\\n[ \t]*```|```[\w+-]*[ \t]*\\n"
# Line breaks written as \n between sentences, three or more in a turn: prose escaped twice
# ("...from transformers.\n2. Load the model ...", Gorilla's answers). What follows a sentence's end
# tells it from data written on one line ("Line1\nLine2", "name,age\nAlice,30").
_ESCAPED_BREAK = r"[.:!?][ \t]*\\n[ \t]*[A-Z0-9#*<>-]"
_MIN_BREAKS = 3
# A short string literal of code ("```\\n" in a Markdown converter): what it holds is the program's
# data, escapes included, so it is left out before escaped fences are looked for
_STRING_LITERAL = r'"(?:[^"\\\n]|\\.){0,80}"'
# A LaTeX command with its argument ("\newcommand{", "\newwatermark*[") is no line break written as
# \n: left out too, with fence pairs quoting one token ("```\n``` (newline)" quotes the escape it is
# about; a block escaped twice holds spaces)
_LATEX_COMMAND = r"\\[A-Za-z]{2,}[{\[*]"
_QUOTED_TOKEN = r"```[^`\s]{1,40}```"
_SHOWN = 3
_NEVER = r"[^\s\S]"  # a pattern no text matches
_LITERAL = _STRING_LITERAL + r"|'(?:[^'\\\n]|\\.){0,80}'"  # a string literal in either quotes
# Inline math: a dollar, no space inside either end, another dollar, and no letter, digit or brace
# after it. "$5 and $10", "$count times '$file'" and "pi($r)" are money and code, not math.
# What inline math holds and money does not: a dollar before a letter or a backslash, or after a
# lower-case letter, a brace or a parenthesis ("$x", "$\\pi", "pi$", "}$"; never "$5" or "US$5").
_MATH_NEEDLES = [
    "$\\",
    *(f"${c}" for c in string.ascii_letters),
    *(f"{c}$" for c in string.ascii_lowercase),
    "}$",
    ")$",
]
_SYMBOL_SHOWN = r"[^$\n]{{0,20}}{}[^$\n]{{0,20}}"  # a symbol in its math, for evidence
_MATH = r"(?:^|[^\\$A-Za-z0-9_])\$([^\s$](?:[^$\n]{0,200}[^\s$])?)\$(?:[^A-Za-z0-9_{($]|$)"


class BrokenMarkup(RecordRule):
    """Looks in every user and assistant turn for markup that lost its syntax: LaTeX commands
    without their backslash (the `markup` pack's `commands` followed by a brace, "frac{1}{2}",
    "usepackage{endfloat}", "textbf{not}", and "begin{equation}", "end{align}" for its
    `environments`), where neither a backslash nor a letter comes before them; symbol commands
    (`symbols`: "$A = pi r^2 = 9pi$") inside inline math only, where neither money ("$5 times 2, so
    $10") nor shell variables are; escapes whose backslash was stripped (the `escapes` patterns:
    "${noun}.n${phrase}", "printf(\"Done!n\")"), in prose and code alike; and Markdown code
    fences (```, counted where they open or close a block: at the start or the end of a line) left
    unbalanced, so that the rest of the turn renders as code; and line breaks written as the two
    characters \\n next to a fence ("...修复？\\n```python\\nclass A:") or, three or more, after the
    ends of sentences ("...the pipeline.\\n2. Load ..."), text escaped twice (not inside a string
    literal of code: "```\\n" is a Markdown converter's data); and text
    decoded with the wrong encoding (the `encoding` patterns: "fiancÃ©", "â€“", "Â°"); and text
    escaped for HTML (the `html` patterns, two or more outside HTML code, inline code and the
    string literals of other code: "&quot;hobbit&quot;", "&gt;&gt;&gt; z"); and wikitext never
    rendered (the `wikitext` patterns, outside code blocks: "[[Missy Cooper|sister]]",
    "''(Entering)''"). Fenced code blocks
    are left out of the LaTeX search unless their language is LaTeX; inline code is not (a stripped
    `usepackage{endfloat}` in backticks is as broken). A LaTeX answer with its backslashes passes.
    A warning by default."""

    code = "DQ206"
    name = "broken-markup"
    summary = (
        "LaTeX commands and escapes without their backslash (frac{, usepackage{, $9pi$, .n$), unbalanced code fences, "
        "mojibake (fiancÃ©, â€“), HTML character references (&quot;), wikitext never rendered ([[link]], ''italics'')"
    )
    why = (
        "Markup that lost its syntax trains a model to write it broken: formulas such as "
        "'frac{-b pm sqrt{b^2-4ac}}{2a}' that render as garbage, LaTeX preambles that do not "
        "compile, strings whose line breaks became the letter n, and answers whose open code fence "
        "swallows the rest of the text."
    )
    example = (
        '{"instruction": "Solve x^2 + 6x - 16 = 0.", "output": "$x = frac{-6 pm sqrt{100}}{2}$, so x = 2 '
        "or x = -8.\"} warns: 'broken markup in answer: LaTeX without its backslash: frac{, sqrt{'."
    )
    severity = "warning"
    Options = RuleOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        pack = context.pack(PACK)
        commands = string_list(pack, "latex.commands", PACK)
        environments = string_list(pack, "latex.environments", PACK)
        languages = string_list(pack, "latex.languages", PACK)
        if not commands and not environments:
            raise ConfigError(f"rule pack '{PACK}': 'latex.commands' and 'latex.environments' are both empty")
        alternatives = [f"(?:{'|'.join(commands)})\\{{"] if commands else []
        if environments:
            alternatives.append(f"(?:begin|end)\\{{(?:{'|'.join(environments)})\\}}")
        # The character before the command is part of the match (no look-behind): a start or a
        # character that is neither a backslash nor a letter.
        self.latex = check_regex(f"(?:^|[^\\\\A-Za-z])(?:{'|'.join(alternatives)})", f"rule pack '{PACK}', 'latex'")
        self.shown = self.latex + r"[^{}\n]{0,30}\}?"  # the first one with its argument, for evidence
        symbols = string_list(pack, "latex.symbols", PACK)
        # A symbol command inside math ("$9pi$", "$a pm b$"): neither a backslash nor a letter
        # before it, no letter, no call and no brace (a command above) after it.
        self.symbol = (
            check_regex(
                f"(?:^|[^\\\\A-Za-z_])({'|'.join(symbols)})(?:[^A-Za-z(_{{]|$)", f"rule pack '{PACK}', 'latex.symbols'"
            )
            if symbols
            else None
        )
        self.escapes = _union(pack, "escapes.patterns")
        # Literal strings every escape holds; without them, every turn is a candidate.
        self.escape_needles = _needles(pack, "escapes.needles", self.escapes)
        self.mojibake = _union(pack, "encoding.patterns")
        self.mojibake_needles = _needles(pack, "encoding.needles", self.mojibake)
        self.wikitext = _union(pack, "wikitext.patterns")
        self.wikitext_needles = _needles(pack, "wikitext.needles", self.wikitext)
        self.tex = _union(pack, "wikitext.tex")
        self.html = _union(pack, "html.patterns")
        self.html_min = pack_value(pack, "html.min-count", PACK, int, default=2)
        # HTML's own code blocks write references on purpose, and so does inline code
        html_blocks = "|".join(string_list(pack, "html.languages", PACK)) or _NEVER
        self.html_code = check_regex(
            rf"(?s)```(?:{html_blocks})[^\n]*\n.*?(?:```|\z)|`[^`\n]+`", f"rule pack '{PACK}', 'html.languages'"
        )
        self.latex_fence = (
            check_regex(
                rf"(?s)```(?:{'|'.join(languages)})[^\n]*\n(.*?)(?:```|\z)", f"rule pack '{PACK}', 'latex.languages'"
            )
            if languages
            else None
        )

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        # Each defect is looked for only in the turns that can hold it, found by a fast literal
        # search: a brace or a fence (LaTeX commands, fences), a dollar next to a letter (inline
        # math; many turns of data about money hold dollars), what every escape holds (the pack's
        # `escapes.needles`).
        text = pl.col("text")
        turns = turn_texts(batch).with_row_index("_i")
        latex = self._latex(turns.filter(text.str.contains_any(["{", "```", "\\n"])))
        parts = [latex]
        if self.symbol is not None:
            parts.append(self._symbols(turns.filter(text.str.contains_any(_MATH_NEEDLES))))
        if self.escapes is not None:
            parts.append(self._escapes(turns.filter(text.str.contains_any(self.escape_needles))))
        if self.mojibake is not None:
            parts.append(self._mojibake(turns.filter(text.str.contains_any(self.mojibake_needles))))
        if self.html is not None:
            parts.append(self._html(turns.filter(text.str.contains("&", literal=True))))
        if self.wikitext is not None:
            wiki = text.str.contains_any(self.wikitext_needles)
            if self.tex is not None:
                wiki = wiki & ~text.str.contains(self.tex)
            parts.append(self._wikitext(turns.filter(wiki)))
        candidates = pl.concat([part.select("_i") for part in parts]).unique()
        hits = turns.select("_i", "_r", "turn", "role", "final").join(candidates, on="_i", how="semi")
        for part in parts:
            hits = hits.join(part, on="_i", how="left")
        hits = hits.with_columns(
            _latex=pl.concat_list(
                pl.col("_commands").fill_null([]), *([pl.col("_symbols").fill_null([])] if self.symbol else [])
            ).list.unique(maintain_order=True),
            _fences=pl.col("_fences").fill_null(0),
            _escape=pl.col("_escape") if self.escapes is not None else pl.lit(None, dtype=pl.String),
            _escaped_lines=pl.col("_escaped_lines").fill_null(False),
            _escaped_prose=pl.col("_escaped_prose").fill_null(False),
            _garbled=pl.col("_garbled") if self.mojibake is not None else pl.lit(None, dtype=pl.String),
            _reference=pl.col("_reference") if self.html is not None else pl.lit(None, dtype=pl.String),
            _wiki=pl.col("_wiki") if self.wikitext is not None else pl.lit(None, dtype=pl.String),
        ).filter(
            (pl.col("_latex").list.len() > 0)
            | (pl.col("_fences") % 2 == 1)
            | pl.col("_escape").is_not_null()
            | pl.col("_escaped_lines")
            | pl.col("_garbled").is_not_null()
            | pl.col("_reference").is_not_null()
            | pl.col("_wiki").is_not_null()
        )
        latex = pl.when(pl.col("_latex").list.len() > 0).then(
            pl.format("LaTeX without its backslash: {}", pl.col("_latex").list.head(_SHOWN).list.join(", "))
        )
        escape = pl.when(pl.col("_escape").is_not_null()).then(
            pl.format('an escape without its backslash ("\\n" read as "n"): "{}"', pl.col("_escape"))
        )
        fence = pl.when(pl.col("_fences") % 2 == 1).then(
            pl.format("{} code fence(s) (```): one never closed", pl.col("_fences"))
        )
        lines = pl.when(pl.col("_escaped_lines")).then(
            pl.when(pl.col("_escaped_prose"))
            .then(pl.lit('line breaks written as "\\n" between sentences (the text was escaped twice)'))
            .otherwise(pl.lit('line breaks written as "\\n" around a code fence (the text was escaped twice)'))
        )
        garbled = pl.when(pl.col("_garbled").is_not_null()).then(
            pl.format('text decoded with the wrong encoding (mojibake): "{}"', pl.col("_garbled"))
        )
        reference = pl.when(pl.col("_reference").is_not_null()).then(
            pl.format('HTML character references for the characters meant: "{}"', pl.col("_reference"))
        )
        wiki = pl.when(pl.col("_wiki").is_not_null()).then(
            pl.format('wikitext never rendered: "{}"', pl.col("_wiki").str.strip_chars(' \t\n(「“").,;:!?」”'))
        )
        what = pl.concat_str([latex, escape, fence, lines, garbled, reference, wiki], separator="; ", ignore_nulls=True)
        shown = pl.coalesce("_shown", "_symbol") if self.symbol is not None else pl.col("_shown")
        evidence = [pl.when(pl.col("_latex").list.len() > 0).then(pl.format('LaTeX: "{}"', snippet(shown, 60)))]
        if self.escapes is not None:
            evidence.append(
                pl.when(pl.col("_escape").is_not_null()).then(pl.format('escape: "{}"', snippet(pl.col("_around"), 80)))
            )
        if self.mojibake is not None:
            evidence.append(
                pl.when(pl.col("_garbled").is_not_null()).then(
                    pl.format('mojibake: "{}"', snippet(pl.col("_garbled_around"), 80))
                )
            )
        if self.html is not None:
            evidence.append(
                pl.when(pl.col("_reference").is_not_null()).then(
                    pl.format(
                        '{} HTML references outside HTML code: "{}"',
                        pl.col("_references"),
                        snippet(pl.col("_reference_around"), 80),
                    )
                )
            )
        if self.wikitext is not None:
            evidence.append(
                pl.when(pl.col("_wiki").is_not_null()).then(
                    pl.format('wikitext: "{}"', snippet(pl.col("_wiki_around"), 80))
                )
            )
        judged = hits.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("broken markup in {}: {}", turn_name(), what),
            evidence=pl.concat_str(
                [
                    *evidence,
                    fence,
                    pl.when("_escaped_lines").then(pl.format('line breaks as \\n: "{}"', "_lines_shown")),
                ],
                separator="; ",
                ignore_nulls=True,
            ),
        )
        return worst_exchange(batch, judged)

    def _prose(self) -> pl.Expr:
        """A turn with its code blocks left out, LaTeX blocks kept as prose."""
        prose = pl.col("text")
        if self.latex_fence is not None:
            prose = prose.str.replace_all(self.latex_fence, "$1")
        return prose.str.replace_all(_OTHER_CODE, " ")

    def _latex(self, turns: pl.DataFrame) -> pl.DataFrame:
        """LaTeX commands without their backslash and unbalanced fences, per turn: ``_commands``,
        ``_shown`` (the first with its argument), ``_fences`` (counted with line breaks written as
        \\n read as breaks: that defect is ``_escaped_lines``, not an open fence; ``_escaped_prose``
        when it is found between sentences, with no fence next to one)."""
        quoted = pl.col("text").str.replace_all(_STRING_LITERAL, '""').str.replace_all(_QUOTED_TOKEN, "")
        around_fence = quoted.str.replace_all(_LATEX_COMMAND, "").str.contains(_ESCAPED_FENCE)
        between_sentences = quoted.str.count_matches(_ESCAPED_BREAK) >= _MIN_BREAKS
        escaped = around_fence | between_sentences
        lines = pl.when(escaped).then(pl.col("text").str.replace_all("\\n", "\n", literal=True)).otherwise("text")
        prose = turns.select(
            "_i",
            "text",
            _prose=self._prose(),
            _escaped_lines=escaped,
            _escaped_prose=~around_fence & between_sentences,
            _lines=lines,
        )
        # two patterns, each one scan: a pattern made per row is compiled again for every row
        shown = (
            pl.when("_escaped_prose")
            .then(pl.col("text").str.extract(f".{{0,24}}(?:{_ESCAPED_BREAK}).{{0,24}}", 0))
            .otherwise(pl.col("text").str.extract(f".{{0,24}}(?:{_ESCAPED_FENCE}).{{0,24}}", 0))
        )
        return prose.select(
            "_i",
            "_escaped_lines",
            "_escaped_prose",
            _lines_shown=shown,
            _commands=pl.col("_prose")
            .str.extract_all(self.latex)
            .list.eval(pl.element().str.strip_chars_start().str.replace(r"^[^A-Za-z]", "")),
            _shown=pl.col("_prose").str.extract(self.shown, 0).str.replace(r"^[^A-Za-z]", ""),
            _fences=pl.col("_lines").str.replace_all(_INLINE_FENCES, "").str.count_matches(_FENCE),
        )

    def _symbols(self, turns: pl.DataFrame) -> pl.DataFrame:
        """Symbol commands inside inline math, per turn: ``_symbols`` and ``_symbol`` (the first in its math)."""
        math = turns.select("_i", _math=self._prose().str.extract_all(_MATH).list.join("\n"))
        return math.select(
            "_i",
            _symbols=pl.col("_math").str.extract_all(self.symbol).list.eval(pl.element().str.extract(self.symbol, 1)),
            _symbol=pl.col("_math").str.extract(_SYMBOL_SHOWN.format(self.symbol), 0),
        )

    def _escapes(self, turns: pl.DataFrame) -> pl.DataFrame:
        """Escapes without their backslash, per turn: ``_escape`` and ``_around`` (it in its context)."""
        return turns.select(
            "_i",
            _escape=pl.col("text").str.extract(self.escapes, 0),
            _around=pl.col("text").str.extract(f".{{0,30}}(?:{self.escapes}).{{0,30}}", 0),
        )

    def _html(self, turns: pl.DataFrame) -> pl.DataFrame:
        """HTML character references outside HTML code, inline code and the string literals of
        other code, per turn, where there are ``min-count`` of them: ``_reference`` (the first),
        ``_references`` (how many) and ``_reference_around`` (the first in its context)."""
        outside = pl.col("text").str.replace_all(self.html_code, " ")
        # what string literals leave: of the prose as much as of the code, so the code's share is the difference
        bare = outside.str.replace_all(_LITERAL, '""')
        found = turns.select(
            "_i",
            _outside=outside,
            _prose=outside.str.replace_all(_OTHER_CODE, " "),
            _code=bare.str.count_matches(self.html)
            - bare.str.replace_all(_OTHER_CODE, " ").str.count_matches(self.html),
        ).with_columns(
            _references=pl.col("_prose").str.count_matches(self.html)
            + pl.col("_code").cast(pl.Int64).clip(lower_bound=0)
        )
        many = pl.col("_references") >= self.html_min
        return found.select(
            "_i",
            "_references",
            _reference=pl.when(many).then(pl.col("_outside").str.extract(self.html, 0)),
            _reference_around=pl.col("_outside").str.extract(f".{{0,30}}(?:{self.html}).{{0,30}}", 0),
        )

    def _mojibake(self, turns: pl.DataFrame) -> pl.DataFrame:
        """Text decoded with the wrong encoding, per turn: ``_garbled`` (the first such sequence)
        and ``_garbled_around`` (it in its context)."""
        return turns.select(
            "_i",
            _garbled=pl.col("text").str.extract(self.mojibake, 0),
            _garbled_around=pl.col("text").str.extract(f".{{0,30}}(?:{self.mojibake}).{{0,30}}", 0),
        )

    def _wikitext(self, turns: pl.DataFrame) -> pl.DataFrame:
        """Wikitext never rendered, outside code blocks, per turn not written in TeX: ``_wiki``
        (the first link or italics) and ``_wiki_around`` (it in its context)."""
        prose = turns.select("_i", _prose=pl.col("text").str.replace_all(_OTHER_CODE, " "))
        return prose.select(
            "_i",
            _wiki=pl.col("_prose").str.extract(self.wikitext, 0),
            _wiki_around=pl.col("_prose").str.extract(f".{{0,30}}(?:{self.wikitext}).{{0,30}}", 0),
        )


def _union(pack: dict, key: str) -> str | None:
    """The pack's patterns under ``key`` as one checked expression, None where it lists none."""
    patterns = string_list(pack, key, PACK)
    return check_regex("|".join(f"(?:{e})" for e in patterns), f"rule pack '{PACK}', '{key}'") if patterns else None


def _needles(pack: dict, key: str, pattern: str | None) -> list[str]:
    """The literal strings every match of ``pattern`` holds (a cheap filter before it); [""] (every
    turn) where the pack lists none, [] where there is no pattern."""
    return (string_list(pack, key, PACK) or [""]) if pattern is not None else []


@hookimpl
def dqe_register_rules(register):
    register(BrokenMarkup)
