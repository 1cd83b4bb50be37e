"""Answers picked from the options their question lists ("B", "B. 检查结果", "He is careless ."
among bullets): picked, not written, so neither too short (DQ102) nor a bare result that needed
working (a "why" in DQ201)."""

from __future__ import annotations

import polars as pl

# An option's label opening an answer: "B.", "(3).", "A)", "C、".
_OPTION = r"^[(（]?[A-Za-z0-9][)）]?[.．、:：)）]"
# Where a question lists options: a bullet opening a line ("- He is careless ."), or a label after
# anything but a letter or digit ("(B) x", "B. x", "A)x", "(3). 不够信息", "选项：A.思考饮食B.检查结果",
# the character before it kept as group 1).
_BULLETS = r"(?m)^\s*[-*•]\s+"
_LABELS = r"(^|[^A-Za-z0-9])(?:[(（][A-Ha-h1-9][)）][.．、:：]?|[A-Ha-h1-9][)）.．、:：])"
# An answer that is an option's label alone: "B", "(B)", "B.", "3)".
_LABEL_ONLY = r"^[(（]?([A-Ha-h1-9])[)）.．]?$"
# A line that names its options and lists them between commas, no labels: "类型选项：医疗费用，病情诊断",
# "Options: yes, no" (PromptCBLUE, FLAN); the list is group 1.
_OPTIONS_LINE = r"(?im)^[^\n:：]{0,12}(?:选项|options|choices)\s*[:：]\s*([^\n]*[，,、；;][^\n]*)$"
_SEPARATORS = r"\s*[，,、；;]\s*"
# Letters, digits and CJK characters only: options compared regardless of spacing, case and punctuation.
_NOISE = r"[^\p{L}\p{N}]"


def picked_choice(question: pl.Expr, answer: pl.Expr) -> pl.Expr:
    """Whether ``answer`` is an option ``question`` lists, whatever the options' layout: the
    question marks two options or more (a bullet opening a line, a label such as "(B)", "B.",
    "A)", "(3).", or an options line: "类型选项：医疗费用，病情诊断") and the answer, its label aside
    and spaces, case and punctuation aside, is the text of one of them ("He is careless ." among
    "- He is terrible . / - He is careless .", "B. 检查结果" to "选项：A.思考饮食B.检查结果…", "yes"
    among "- yes / - no"), or is a label alone the question marks ("B" to "(A) ... (B) ...")."""
    answer = answer.str.strip_chars()
    text = answer.str.replace(_OPTION, "").str.replace_all(_NOISE, "").str.to_lowercase()
    options = question.str.replace_all(_BULLETS, "\n").str.replace_all(_LABELS, "${1}\n").str.split("\n")
    options = options.list.concat(listed_options(question))
    listed = options.list.eval(pl.element().str.replace_all(_NOISE, "").str.to_lowercase())
    label = answer.str.extract(_LABEL_ONLY, 1)
    marked = question.str.contains(pl.format(r"(?:^|[^A-Za-z0-9])(?:[(（]{}[)）]|{}[)）.．、:：])", label, label))
    return lists_options(question) & (
        ((text != "") & listed.list.contains(text)) | (label.is_not_null() & marked.fill_null(False))
    )


def lists_options(question: pl.Expr) -> pl.Expr:
    """Whether ``question`` marks two options or more (bullets, labels or an options line): where
    an answer may be picked at all, scans that spare the rest of ``picked_choice`` most questions."""
    labelled = question.str.count_matches(_BULLETS) + question.str.count_matches(_LABELS) >= 2
    return labelled | question.str.contains(_OPTIONS_LINE)


def is_options_line(line: pl.Expr) -> pl.Expr:
    """Whether ``line`` names options and lists them between commas ("类型选项：医疗费用，病情诊断")."""
    return line.str.contains(_OPTIONS_LINE)


def listed_options(question: pl.Expr) -> pl.Expr:
    """The options ``question``'s options line lists between commas ("类型选项：医疗费用，病情诊断" gives
    both), stripped; an empty list where it has none."""
    return (
        question.str.extract(_OPTIONS_LINE, 1)
        .fill_null("")
        .str.replace_all(_SEPARATORS, "\n")
        .str.split("\n")
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != ""))
    )
