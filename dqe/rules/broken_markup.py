"""DQ206 broken-markup: LaTeX that lost its backslashes, code fences left open."""

from __future__ import annotations

import polars as pl

from dqe import (
    ConfigError,
    RecordRule,
    RuleOptions,
    check_regex,
    hookimpl,
    snippet,
    string_list,
    turn_name,
    turn_texts,
    worst_exchange,
)

PACK = "markup"
_FENCE = r"(?m)^\s*```|```[ \t]*$"  # a fence opens or closes a block at the start or the end of a line
_OTHER_CODE = r"(?s)```.*?(?:```|\z)|~~~.*?(?:~~~|\z)"  # fenced blocks, closed or running to the end
_SHOWN = 3


class BrokenMarkup(RecordRule):
    """Looks in every user and assistant turn for markup that lost its syntax: LaTeX commands
    without their backslash (the `markup` pack's `commands` followed by a brace, "frac{1}{2}",
    "usepackage{endfloat}", "textbf{not}", and "begin{equation}", "end{align}" for its
    `environments`), where neither a backslash nor a letter comes before them; and Markdown code
    fences (```, counted where they open or close a block: at the start or the end of a line) left
    unbalanced, so that the rest of the turn renders as code. Fenced code blocks
    are left out of the LaTeX search unless their language is LaTeX; inline code is not (a stripped
    `usepackage{endfloat}` in backticks is as broken). A LaTeX answer with its backslashes passes.
    A warning by default."""

    code = "DQ206"
    name = "broken-markup"
    summary = "LaTeX commands without their backslash (frac{, usepackage{), unbalanced code fences"
    why = (
        "Markup that lost its syntax trains a model to write it broken: formulas such as "
        "'frac{-b pm sqrt{b^2-4ac}}{2a}' that render as garbage, LaTeX preambles that do not "
        "compile, and answers whose open code fence swallows the rest of the text."
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
        self.latex_fence = (
            check_regex(
                rf"(?s)```(?:{'|'.join(languages)})[^\n]*\n(.*?)(?:```|\z)", f"rule pack '{PACK}', 'latex.languages'"
            )
            if languages
            else None
        )

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        # Only a turn with a brace or a fence can hold either defect: a fast literal search first.
        turns = turn_texts(batch).filter(pl.col("text").str.contains_any(["{", "```"]))
        text = pl.col("text")
        prose = text
        if self.latex_fence is not None:
            prose = prose.str.replace_all(self.latex_fence, "$1")
        prose = prose.str.replace_all(_OTHER_CODE, " ")
        fences = text.str.count_matches(_FENCE)
        hits = turns.with_columns(_prose=prose, _fences=fences).filter(
            pl.col("_prose").str.contains(self.latex) | (pl.col("_fences") % 2 == 1)
        )
        found = (
            pl.col("_prose")
            .str.extract_all(self.latex)
            .list.eval(pl.element().str.strip_chars_start().str.replace(r"^[^A-Za-z]", ""))
        )
        hits = hits.with_columns(_latex=found.list.unique(maintain_order=True))
        latex = pl.when(pl.col("_latex").list.len() > 0).then(
            pl.format("LaTeX without its backslash: {}", pl.col("_latex").list.head(_SHOWN).list.join(", "))
        )
        fence = pl.when(pl.col("_fences") % 2 == 1).then(
            pl.format("{} code fence(s) (```): one never closed", pl.col("_fences"))
        )
        what = pl.concat_str([latex, fence], separator="; ", ignore_nulls=True)
        judged = hits.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("broken markup in {}: {}", turn_name(), what),
            evidence=pl.concat_str(
                [
                    pl.when(pl.col("_latex").list.len() > 0).then(
                        pl.format(
                            'LaTeX: "{}"',
                            snippet(pl.col("_prose").str.extract(self.shown, 0).str.replace(r"^[^A-Za-z]", ""), 60),
                        )
                    ),
                    fence,
                ],
                separator="; ",
                ignore_nulls=True,
            ),
        )
        return worst_exchange(batch, judged)


@hookimpl
def dqe_register_rules(register):
    register(BrokenMarkup)
