"""Chain-of-thought columns: per exchange, does the question need reasoning, and how much
reasoning does the answer show?

Every assistant turn is judged with the user turn it answers (``dqe.engine.turns.exchanges``): the
question's need (``math``, ``why``, ``logic``, ``request``; null when it needs none) and the
answer's CoT score (0..1). A record's labels are its worst exchange: ``cot_need`` and
``cot_score``, kept for the data set's CoT share. ``cot_exchanges`` lists every exchange that
needs reasoning with its turn, score and evidence (which markers fired, what the answer scored
on), for DQ201. Markers come from the ``cot`` rule pack; each kind is one combined regex scan of
a column, so the cost does not grow with the number of languages.
"""

from __future__ import annotations

import re

import polars as pl

from dqe import (
    Feature,
    check_regex,
    count_markers,
    exchanges,
    lists_options,
    marker_pattern,
    marker_patterns,
    pack_value,
    pattern_list,
    picked_choice,
    snippet,
)
from dqe.hookspecs import hookimpl

NEEDS = ("request", "logic", "why", "math")  # in order of precedence for the label
_QUESTION = (
    *NEEDS,
    *("how-many", "relations", "unknown", "quantities", "ordinals", "algebra", "comparisons", "premises", "members"),
    *("formula", "one-step", "one-step-formulas", "at-a-glance", "procedure", "consultation"),
    *("waives", "text-task", "creative", "programming", "follow-up", "reading", "motive", "opinion"),
    "aggregate",
)
_FULL = {"think": "a <think> block", "tool": "a tool call", "code": "code"}  # evidence that counts in full
_PARTIAL = {  # evidence that adds up: kind -> (singular, plural) for the evidence text
    "connectives": ("connective", "connectives"),
    "clauses": ("explaining clause", "explaining clauses"),
    "steps": ("step", "steps"),
    "equations": ("equation", "equations"),
    "sentences": ("earlier sentence", "earlier sentences"),
    "conclusions": ("conclusion", "conclusions"),
}
_QUOTED = ("connectives", "clauses", "conclusions")  # evidence that names its first match
# Where a text task's imperative counts: at the start of the question, after a comma or colon
# in its first sentence ("Given the text, classify..."), at the start of a line, a few Chinese
# characters in ("用一句话总结"), or opening the question's last sentence ("Here is a review.
# Classify it."). Not in the middle of a word problem ("A fan can create an airflow of...").
_OPENINGS = r"(?:^|^[^.!?。！？\n]*[,，:：]\s*|\n\s*|^[^\x00-\x7f，。：！？\n]{1,8})"
_LAST = r"(?:[.!?]\s+|[。！？]\s*)"
_END = r"[^.!?。！？\n]*[.!?。！？]?\s*$"
# The lines of a question about a given text that ask: "Question: ..." lines, and a last line that asks.
_ASKED_LINES = r"(?im)^[ \t]*(?:question|q|问题|题目)[ \t]*[:：].*$"
_LAST_ASKING_LINE = r"(?:^|\n)([^\n]*[?？])\s*$"
# The sentences of a long question that ask: its first, every one that ends in a question mark,
# and its last; the passage, table or log between is the material they ask about.
_FIRST_SENTENCE = r"^\s*[^.!?。！？\n]*[.!?。！？]?"
_QUESTION_SENTENCES = r"[^.!?。！？\n]*[?？]"
_LAST_SENTENCE = r"[^.!?。！？\n]*[.!?。！？]?\s*$"
# the options a question lists last, one a line ("(A) Helga", "- Yes"): its last sentence is before them
_OPTIONS_AT_END = r"(\n[ \t]*((\([A-Za-z0-9]\)|[A-Za-z][.)]|[-•*])[^\n]*)?)+\s*$"
# A question asks something: a question mark, or a blank to fill ("2 s 内物体的位移为（　）", "x = ____").
_ASKS = r"[?？]|[（(][ \t　]*[)）]|_{3,}"
# a range written with a dash is no subtraction: "between 0 - 100", "在1-100之间" (its numbers stay)
_RANGE = r"(?i)(?P<at>between|from|range of|ranging from|在|从|介于) ?(?P<low>[$¥€£]?[0-9][0-9.,]*) ?[-–~～] ?(?P<high>[$¥€£]?[0-9][0-9.,]*)"
# "in which", "by which": a relative clause, not a question asking which ("a dilemma in which a
# person can save 5 people or 1" asks nothing to calculate)
_RELATIVE = r"(?i)(?-u:\b)(?:in|of|by|for|to|on|at|from|with|during|through|under|after|before|upon|into|among|between) which(?-u:\b)"
# An answer looked up in the text a question gives: its words (Chinese characters, words of two
# letters or more) and numbers, read against the question's.
_WORDS = r"\p{Han}|[^\W\d_]{2,}"
_NUMBERS = r"\d+(?:[.,]\d+)*"
EXCHANGE = pl.Struct({"turn": pl.Int32, "need": pl.String, "score": pl.Float64})
# A table given as input: two lines running, each of cells between pipes ("Year | Film | Role").
_TABLE = r"(?m)^[^\n]*\S \| \S[^\n]*\n[^\n]*\S \| \S"
_RULE_LINE = re.compile(r"^[\s|:-]*$")  # a markdown table's |---|---| line
_LETTER = re.compile(r"[^\W\d_]")
_NUMBER = re.compile(r"[-+−]?\d[\d,]*(\.\d+)?")
_VERDICTS = {"yes", "no", "true", "false"}
_CELL_CHARS = 200  # the longest answer that may be one cell of a table
_NAME_CHARS = 80  # the longest answer that may be a name
# the Latin words of a name that tell it from the question's ("Rug B" has none); in a script
# written without spaces a run of characters is no word to look for
_NAME_WORDS = r"[A-Za-z]{4,}"
_UNSPACED = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"


def _inner(pattern: str) -> str:
    """A combined pattern without its leading case flag, to embed in a larger one."""
    return pattern.removeprefix("(?i)")


def _uncaptured(pattern: str) -> str:
    """``pattern`` with its capturing groups made non-capturing, so that a group wrapped around it
    is group 1 whatever a pack's entries hold."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":  # a "]" first in a class is a literal
                out.append("]")
                i += 1
            continue
        elif c == "(" and pattern[i + 1 : i + 2] != "?":
            out.append("(?:")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _quote(text: pl.Expr, width: int = 40) -> pl.Expr:
    return pl.lit('"') + snippet(text, width) + pl.lit('"')


def _sentences_part(w: dict) -> pl.Expr:
    return pl.col("_sentences").clip(upper_bound=w["sentences-cap"]).cast(pl.Float64) * w["sentences"]


def _plural(n: pl.Expr, one: str, many: str) -> pl.Expr:
    return pl.format("{} {}", n, pl.when(n == 1).then(pl.lit(one)).otherwise(pl.lit(many)))


class CotFeature(Feature):
    name = "cot"
    summary = (
        "per exchange, why a question needs reasoning and the answer's reasoning score; the record's worst "
        "exchange (cot_need, cot_score) and every exchange that needs reasoning (cot_exchanges)"
    )
    columns = ("cot_need", "cot_score", "cot_exchanges")
    keep = ("cot_need", "cot_score")
    labels = {"cot.need": "cot_need", "cot.score": "cot_score"}

    def __init__(self, context):
        super().__init__(context)
        pack = context.pack("cot")
        name = "cot"
        self.question = {kind: marker_pattern(pack, "question", kind, name) for kind in _QUESTION}
        self.ignore = pattern_list(pack, "question.ignore", name)
        self.material = pattern_list(pack, "question.material", name)
        self.options = pattern_list(pack, "question.options", name)
        # a text task's verb counts where an imperative starts, after a lead ("Can you ...")
        text_task = self.question.pop("text-task")
        lead = marker_pattern(pack, "question", "lead", name)
        lead = f"(?:(?:{_inner(lead)})\\s*)*" if lead else ""
        self.text_task = self.task_sentence = None
        if text_task:
            verbs = _inner(text_task)
            self.text_task = f"(?i){_OPENINGS}{lead}(?:{verbs})|{_LAST}{lead}(?:{verbs}){_END}"
            # the task's sentence ends where its material starts: after a colon, a line, a sentence
            # (group 1 is the task: the pack's own groups are made non-capturing)
            prefix = _uncaptured(f"(?:{_OPENINGS}|{_LAST}){lead}")
            self.task_sentence = f"(?i){prefix}((?:{_uncaptured(verbs)})[^.!?:。！？：\\n]*)"
        self.least = {
            key: pack_value(pack, f"question.{key}", name, int, default=default)
            for key, default in (
                ("min-quantities", 1),
                ("how-many-min-quantities", 2),
                ("one-step-max-quantities", 2),
                ("relations-min-quantities", 2),
                ("question-min-quantities", 3),
                ("min-comparisons", 2),
                ("min-premises", 2),
                ("given-text-bytes", 150),
                ("looked-up-share", 80),
                ("passage-bytes", 600),
                ("premises-max-bytes", 400),
            )
        }
        self.answer = {key: marker_pattern(pack, "answer", key, name) for key in (*_QUOTED, "unanswerable")}
        # counted language by language (count_markers): each language's list alone is a small automaton
        self.answer_parts = {key: marker_patterns(pack, "answer", key, name) for key in _QUOTED}
        for key in ("calls", "code", "steps", "equations"):
            self.answer[key] = pattern_list(pack, f"answer.{key}", name)
        for key in ("think", "sentences", "asks"):
            where = f"rule pack 'cot', 'answer.{key}'"
            self.answer[key] = check_regex(pack_value(pack, f"answer.{key}", name, str), where)
        self.prose_words = pack_value(pack, "answer.prose-words", name, int)
        self.motive_prose_words = pack_value(pack, "answer.motive-prose-words", name, int)
        # a formula asked for: an unknown, then the formula's name a few words on
        unknown, formula = self.question["unknown"], self.question["formula"]
        self.formula_asked = None
        if unknown and formula:
            self.formula_asked = (
                f"(?i)(?:{_inner(unknown)})(?:'s| is| was| are| will be)? (?:the |its |their |his |her )?"
                f"(?:[a-z]+ ){{0,3}}(?:{_inner(formula)})"
            )
        # one scan for the evidence that counts in full
        full = [self.answer[key].removeprefix("(?i)") for key in ("think", "calls", "code") if self.answer[key]]
        self.full = "(?i)" + "|".join(f"(?:{p})" for p in full) if full else None
        self.weights = {"prose": float(pack_value(pack, "answer.weights.prose", name, (int, float)))}
        for key in (*_FULL, *_PARTIAL):
            self.weights[key] = float(pack_value(pack, f"answer.weights.{key}", name, (int, float)))
            if key in _PARTIAL:
                self.weights[f"{key}-cap"] = pack_value(pack, f"answer.weights.{key}-cap", name, int)

    # -- questions ---------------------------------------------------------------------------

    def _has(self, kind: str, text: pl.Expr) -> pl.Expr:
        pattern = self.question[kind]
        return text.str.contains(pattern) if pattern else pl.lit(False)

    def _count(self, kind: str, text: pl.Expr) -> pl.Expr:
        pattern = self.question[kind]
        return text.str.count_matches(pattern) if pattern else pl.lit(0, dtype=pl.UInt32)

    def _less(self, kind: str) -> pl.Expr:
        """The question less what ``kind`` matches in it."""
        pattern = self.question[kind]
        return pl.col("_plain").str.replace_all(pattern, " ") if pattern else pl.col("_plain")

    def _question_columns(self) -> dict[str, pl.Expr]:
        """What the question holds: its ``_task`` (the sentence of a text task, else the question
        with its material cut out), the quantities it works from, and which markers fired."""
        task = pl.col("_task")
        asks = task.str.contains(_ASKS)
        found = {
            "_marker_math": self._has("math", task),
            "_how_many": self._has("how-many", task),
            # one operation that names its numbers, with no other number left in the question and
            # nothing asked of its result ("What is 12% of 250, and how much is left?"); a second
            # one makes a chain to work through ("((9 + 2 + 3 - -3) + (-5 + 6)) =")
            "_one_step": (self._count("one-step", task) == 1)
            & (self._count("quantities", self._less("one-step")) + self._count("ordinals", self._less("one-step")) == 0)
            & ~self._has("follow-up", task),
            "_one_step_formula": self._has("one-step-formulas", task),
            "_glance": self._has("at-a-glance", task),
            "_procedure": self._has("procedure", task),
            "_consultation": self._has("consultation", pl.col("question")),
            "_algebra": self._has("algebra", task),
            "_heuristic": ~pl.col("_vetoed") & asks & self._has("unknown", task.str.replace_all(_RELATIVE, " ")),
            # the numbers a question states itself, not those of the material it works on: a list
            # to take the distinct values of is data, not a word problem ("What are the distinct
            # values from the given list?\ndataList = [3, 9, 3, 5, 7, 9, 5]")
            "_stated": self._count("quantities", pl.col("_body"))
            + self._count("ordinals", pl.col("_body"))
            + pl.col("_listed"),
            "_relations": self._has("relations", task),
            "_comparisons": self._count("comparisons", task),
            "_premises": self._count("premises", task),
            "_asks": asks,
            "_members": self._count("members", task),
            "_formula_asked": task.str.contains(self.formula_asked) if self.formula_asked else pl.lit(False),
        }
        for kind in ("request", "logic", "why"):
            found[f"_marker_{kind}"] = self._has(kind, task)
        return found

    def _need(self) -> pl.Expr:
        least = self.least
        n = pl.col("_quantities")
        # one operation on given numbers is seen at a glance
        glance = (
            pl.col("_one_step")
            | (pl.col("_one_step_formula") & (n <= least["one-step-max-quantities"]))
            | pl.col("_glance")
        )
        # a formula asked for from quantities: "What is the hypotenuse of a triangle with legs 3 and 4?"
        formula = pl.col("_formula_asked")
        # a question word asking for a quantity works from two numbers, or from one and a relation
        # ("15 people shake hands with each other once: how many handshakes in total?")
        many = pl.when(pl.col("_relations")).then(least["min-quantities"]).otherwise(least["how-many-min-quantities"])
        # a consultation's numbers are its circumstances (an age, a temperature, how long it has
        # lasted), and its "some say A, others B" is a story, not data to reason from
        circumstances = pl.col("_consultation")
        math = (~pl.col("_coding") & ~glance & ~circumstances) & (
            ((pl.col("_marker_math") | formula) & (pl.col("_cardinals") >= least["min-quantities"]))
            | (pl.col("_how_many") & (pl.col("_cardinals") >= many))
            | pl.col("_algebra")
            | (
                pl.col("_heuristic")
                & ~pl.col("_named")
                & (
                    (pl.col("_relations") & (n >= least["relations-min-quantities"]))
                    | (pl.col("_stated") >= least["question-min-quantities"])
                )
            )
        )
        # comparisons and premises in a word problem are its data, not a logic puzzle
        syllogism = (pl.col("_premises") >= 1) & (pl.col("_premises") + pl.col("_members") >= least["min-premises"])
        # a puzzle states its premises tersely and asks what follows; in a story, a review or a
        # turn that asks nothing ("如果我不能取得优秀的成绩，我就觉得自己没有价值。") they are narration
        terse = pl.col("question").str.len_bytes() < least["premises-max-bytes"]
        chain = ((pl.col("_comparisons") >= least["min-comparisons"]) | (syllogism & pl.col("_asks"))) & terse
        # and the premises a "why" rests on ("If water is not a good conductor, why ...?") are the
        # ground of an explanation asked for: prose that explains answers it
        logic = pl.col("_marker_logic") | (
            chain & ~pl.col("_marker_math") & ~pl.col("_how_many") & ~circumstances & ~pl.col("_marker_why")
        )
        request = pl.col("_marker_request") & ~pl.col("_procedure")
        found = {"request": request, "logic": logic, "why": pl.col("_marker_why"), "math": math}
        need = pl.lit(None, dtype=pl.String)
        for kind in reversed(NEEDS):
            need = pl.when(found[kind]).then(pl.lit(kind)).otherwise(need)
        # an answer looked up in the given text needs no working; a puzzle's answer is words of its
        # question by nature ("The third child is Xiao Ming"), so for logic the text must be a passage
        looked_up = pl.col("_looked_up") & ((need != "logic") | pl.col("_passage"))
        looked_up = looked_up | ((need == "why") & pl.col("_picked"))
        judged = pl.col("_judged") & ~pl.col("_waived") & ~pl.col("_unanswerable") & ~looked_up.fill_null(False)
        return pl.when(judged).then(need).otherwise(None)

    def _why(self) -> pl.Expr:
        """Which markers made the question need reasoning, for the exchanges that need it."""
        least = self.least
        task = pl.col("_task")
        q = self.question

        def extracted(kind: str) -> pl.Expr:
            return _quote(task.str.extract(q[kind], 0)) if q[kind] else pl.lit('""')

        quantities = _plural(pl.col("_quantities"), "quantity", "quantities")
        need = pl.col("need")
        math = (
            pl.when(pl.col("_marker_math") & (pl.col("_cardinals") >= least["min-quantities"]))
            .then(pl.format("{} + {}", extracted("math"), quantities))
            .when(pl.col("_formula_asked") & (pl.col("_cardinals") >= least["min-quantities"]))
            .then(pl.format("{} + {}", _quote(task.str.extract(self.formula_asked, 0)), quantities))
            .when(pl.col("_how_many") & (pl.col("_cardinals") >= least["how-many-min-quantities"]))
            .then(pl.format("{} + {}", extracted("how-many"), quantities))
            .when(pl.col("_how_many") & pl.col("_relations") & (pl.col("_cardinals") >= least["min-quantities"]))
            .then(pl.format("{} + {} + {}", extracted("how-many"), extracted("relations"), quantities))
            .when(pl.col("_algebra"))
            .then(pl.format("algebra {}", extracted("algebra")))
            .when(pl.col("_relations") & (pl.col("_quantities") >= least["relations-min-quantities"]))
            .then(pl.format("{} + {} + {}", extracted("unknown"), extracted("relations"), quantities))
            .otherwise(pl.format("{} + {}", extracted("unknown"), _plural(pl.col("_stated"), "quantity", "quantities")))
        )
        logic = (
            pl.when(pl.col("_marker_logic"))
            .then(extracted("logic"))
            .when(pl.col("_comparisons") >= least["min-comparisons"])
            .then(pl.format("{} comparisons ({}…)", pl.col("_comparisons"), extracted("comparisons")))
            .otherwise(pl.format("{} premises ({}…)", pl.col("_premises") + pl.col("_members"), extracted("premises")))
        )
        detail = (
            pl.when(need == "math")
            .then(math)
            .when(need == "logic")
            .then(logic)
            .when(need == "why")
            .then(extracted("why"))
            .otherwise(extracted("request"))
        )
        return pl.format("{}: {}", need, detail)

    # -- answers -----------------------------------------------------------------------------

    def _answer_columns(self, answers: pl.Series, later: str | None = None) -> dict[str, pl.Expr | pl.Series]:
        """The answer's evidence; the ``later`` kind's count is left at 0, to count afterwards."""
        a = pl.col("answer")
        out: dict[str, pl.Expr | pl.Series] = {
            "_full": pl.col("tool") | a.str.contains(self.full) if self.full else pl.col("tool")
        }
        for key in _PARTIAL:
            pattern = self.answer[key]
            if key in self.answer_parts:
                out[f"_{key}"] = count_markers(answers, self.answer_parts[key])
            else:
                counted = pattern is not None and key != later
                out[f"_{key}"] = a.str.count_matches(pattern) if counted else pl.lit(0, dtype=pl.UInt32)
        out["_judged"] = a.str.contains(r"\S") & ~a.str.contains(self.answer["asks"])
        return out

    def _total(self) -> pl.Expr:
        """The partial evidence's weights summed, before the cap of 1."""
        w = self.weights
        total = pl.lit(0.0)
        for key in _PARTIAL:
            total = total + pl.col(f"_{key}").clip(upper_bound=w[f"{key}-cap"]).cast(pl.Float64) * w[key]
        return total

    def _score(self) -> pl.Expr:
        full = pl.lit(max(self.weights["think"], self.weights["tool"], self.weights["code"]))
        return (
            pl.when(pl.col("_full")).then(full).otherwise(self._total()).clip(upper_bound=1.0).round(3).cast(pl.Float64)
        )

    def _reasons(self) -> pl.Expr:
        """The evidence that gives a reason: every partial kind but the sentences."""
        return pl.sum_horizontal(pl.col(f"_{key}") for key in _PARTIAL if key != "sentences")

    def _settled(self) -> pl.Expr:
        """Answers whose score and derivation no further evidence changes: those that count in full,
        and those whose partial evidence already sums to the cap of 1 with a reason among it. A
        count added at a weight of 0 or more keeps the sum at 1 or more (a floating-point sum never
        falls when a term grows) and the reasons above 0."""
        return pl.col("_full") | ((self._total() >= 1.0) & (self._reasons() > 0))

    def _derivation(self) -> pl.Expr:
        """The score as a problem to solve (math, logic, a request for steps) counts it: sentences
        before the last add to a reason given, but give none on their own, since a verdict told in
        three sentences ("Elementary. The gardener took it. Arrest him.") is still bare. For a
        "why", prose is the explanation asked for, and they count as they are."""
        lone = pl.when(~pl.col("_full") & (self._reasons() == 0)).then(_sentences_part(self.weights)).otherwise(0.0)
        return (pl.col("score") - lone).clip(lower_bound=0.0).round(3)

    def _needed_score(self) -> pl.Expr:
        """The score that counts for the exchange's need: a derivation for a problem to solve; for a
        "why", the answer's prose too, which is the explanation asked for."""
        prose = pl.when(pl.col("_prose").fill_null(False)).then(self.weights["prose"]).otherwise(0.0)
        return (
            pl.when(pl.col("need").is_in(["math", "logic", "request"]))
            .then("_derivation")
            .when(pl.col("need") == "why")
            .then((pl.col("score") + prose).clip(upper_bound=1.0).round(3))
            .otherwise("score")
        )

    def _shows(self) -> pl.Expr:
        """What the answer scored on, for the exchanges that need reasoning."""
        a = pl.col("answer")
        full = pl.lit(None, dtype=pl.String)
        for key in ("code", "calls", "think"):
            if self.answer[key]:
                full = (
                    pl.when(a.str.contains(self.answer[key]))
                    .then(pl.lit(_FULL.get(key, "a tool call")))
                    .otherwise(full)
                )
        full = pl.when(pl.col("tool")).then(pl.lit(_FULL["tool"])).otherwise(full)
        found, missing = [], []
        for key, (one, many) in _PARTIAL.items():
            n = pl.col(f"_{key}")
            text = _plural(n, one, many)
            if key in _QUOTED and self.answer[key]:
                text = pl.format("{} {}", text, _quote(a.str.extract(self.answer[key], 0), 20))
            if key == "sentences":  # they counted for nothing: a derivation was needed
                lone = pl.col("score") < pl.col("_score_as_read")
                text = pl.when(lone).then(pl.format("{} (no reason on their own)", text)).otherwise(text)
            found.append(pl.when(n > 0).then(text))
            if key != "conclusions":  # a conclusion shows nothing alone: not missed
                missing.append(pl.when(n == 0).then(pl.lit(one)))
        shown = pl.concat_str(found, separator=", ", ignore_nulls=True)
        absent = pl.concat_str([*missing, pl.lit("tool call or code")], separator=", ", ignore_nulls=True)
        partial = pl.when(shown == "").then(pl.format("no {}", absent)).otherwise(pl.format("{}; no {}", shown, absent))
        return pl.coalesce(full, partial)

    # -- records -----------------------------------------------------------------------------

    @staticmethod
    def _exchanges(batch: pl.DataFrame) -> pl.DataFrame:
        # a tool that did the work for a question counts for every answer to it: "Let me look
        # that up." before the call as much as the answer after the result (a later question
        # answered without a tool is judged on its own)
        return exchanges(batch).with_columns(tool=pl.col("tool").any().over("_r", "question_turn"))

    def _scored(self, rows: pl.DataFrame, *, exact: bool = True) -> pl.DataFrame:
        """Exchanges with their answer's evidence and score, and the quantities of their question.

        Not ``exact`` (to judge, not to explain), the equations are counted only in the answers
        whose score and derivation they can change (``_settled``), and are 0 in the others: every
        match is found one by one, the costliest count of an answer, and most answers that hold
        equations have reached the cap of 1 without them."""
        q = pl.col("question")
        # quantities count in the question less what only looks like one (links, years, names)
        plain = q.str.replace_all(self.ignore, " ") if self.ignore else q
        plain = plain.str.replace_all(_RANGE, "${at} ${low} to ${high}")
        # written once and read from the column: the patterns of what to ignore are a long union,
        # the costliest scan of a question (about 6 ms per 1,000 questions)
        rows = rows.with_columns(_plain=plain)
        # a multiple-choice question's options are candidate answers: out of what the question says,
        # their numbers counted only beside one it states itself (a computation whose results they list)
        listed = pl.lit(0, dtype=pl.UInt32)
        if self.options:
            plain = pl.col("_plain")
            rows = rows.with_columns(_listed=plain.str.extract_all(self.options).list.join("\n"))
            rows = rows.with_columns(_plain=plain.str.replace_all(self.options, " "))
            listed = self._count("quantities", pl.col("_listed"))
        stated = self._count("quantities", pl.col("_plain"))
        later = "equations" if not exact and self.answer["equations"] and self.weights["equations"] >= 0 else None
        rows = (
            rows.with_columns(_listed=pl.when(stated > 0).then(listed).otherwise(0))
            .with_columns(_cardinals=stated + pl.col("_listed"), **self._answer_columns(rows["answer"], later))
            .with_columns(
                _quantities=pl.col("_cardinals") + self._count("ordinals", pl.col("_plain")),
                # a conclusion concludes from something: a bare "The answer is B." shows nothing
                _conclusions=pl.when(pl.col("_sentences") > 0).then("_conclusions").otherwise(0),
            )
        )
        if later:
            open_rows = rows.select(~self._settled()).to_series().arg_true()
            counted = rows["answer"].gather(open_rows).str.count_matches(self.answer[later])
            rows = rows.with_columns(rows[f"_{later}"].scatter(open_rows, counted))
        return rows.with_columns(score=self._score()).with_columns(_derivation=self._derivation())

    def judge(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Every exchange of ``batch`` judged: ``_r``, ``turn``, ``need`` (null where the
        question needs no reasoning) and ``score``.

        Every answer is scored; a question is read closely only when a quick look finds it may
        need reasoning (a marker anywhere in it, or a question mark and quantities), which most
        questions of general data do not."""
        rows = self._scored(self._exchanges(batch), exact=False)
        plain = pl.col("_plain")
        fewest = min(self.least["relations-min-quantities"], self.least["question-min-quantities"])
        maybe = plain.str.contains(_ASKS) & (pl.col("_quantities") >= fewest)
        for kind in (*NEEDS, "how-many", "algebra", "comparisons", "premises"):
            maybe = maybe | self._has(kind, plain)
        read = self._read(rows.filter(pl.col("_judged") & maybe)).select("_r", "turn", "need", "_prose")
        return (
            rows.select("_r", "turn", "score", "_derivation")
            .join(read, on=["_r", "turn"], how="left")
            .select("_r", "turn", "need", score=self._needed_score())
        )

    def explain(self, batch: pl.DataFrame, which: pl.DataFrame) -> pl.DataFrame:
        """``evidence`` for the exchanges of ``batch`` in ``which`` (``_r``, ``turn``): which
        markers made the question need reasoning and what the answer scored on. Read again for
        the few exchanges a rule reports, rather than written for every one."""
        asked = self._exchanges(batch).join(which.select("_r", "turn"), on=["_r", "turn"], how="semi")
        rows = self._read(self._scored(asked)).with_columns(_score_as_read="score", score=self._needed_score())
        return rows.filter(pl.col("need").is_not_null()).select(
            "_r",
            "turn",
            evidence=pl.format("need {}; answer score {} ({})", self._why(), pl.col("score"), self._shows()),
        )

    def _names_a_thing(self, rows: pl.DataFrame) -> pl.Series:
        """Whether each answer of ``rows`` names a thing its question does not: a few Latin words with
        no quantity or formula, none of four letters or more found in the question, which lists no
        options. A
        "what" or "which" among numbers answered so asked for a thing they describe ("What cocktail
        is 3 parts vodka, 1 part schnapps, 1 part cointreau?" "Appletini"); an answer that names one
        of the things the question compares ("Which place has a lower unit price?" "Online") worked
        the comparison out."""
        answer = pl.col("answer")
        found = pl.repeat(False, rows.height, eager=True)
        # the patterns are read on the short answers only: most answers are longer than a name
        short = rows.select("question", "answer").with_row_index("_k").filter(answer.str.len_chars() <= _NAME_CHARS)
        # a name holds no formula ("$\\mathrm{BDE}$" picks options) and no characters written without spaces
        wordy = answer.str.contains(_NAME_WORDS) & ~answer.str.contains(r"[\\$]|" + _UNSPACED)
        if self.question["quantities"]:
            wordy = wordy & ~answer.str.contains(self.question["quantities"])
        if self.options:
            wordy = wordy & ~pl.col("question").str.contains(self.options)
        picked = short.filter(wordy)
        if not picked.height:
            return found
        # each word of the answer looked for in its question, lower case both
        held = (
            picked.select(
                "_k",
                _q=pl.col("question").str.to_lowercase(),
                _w=answer.str.to_lowercase().str.extract_all(_NAME_WORDS),
            )
            .explode("_w")
            .group_by("_k", maintain_order=True)
            .agg(_held=pl.col("_q").str.contains(pl.col("_w"), literal=True).any())
        )
        return found.scatter(held["_k"], ~held["_held"])

    def _looked_up(self, rows: pl.DataFrame) -> pl.Series:
        """Whether each answer of ``rows`` was looked up in the text its question gives, not worked
        out: a question holding a passage, a table or options (``given-text-bytes`` of UTF-8 or
        more: a Chinese character is three) answered with its own words (``looked-up-share`` of the answer's, and at least three) and
        no number it does not hold: "Jason Lee plays Earl Hickey" to a passage naming him, "(b)
        positive" and "B. 检查结果" to options; one word of a passage ("gravity"); the figures of a text
        handed over for reading ("Context: ... 62% of those who replied ..." answered "62%."). A word
        problem's result is a number the question does not hold, or holds by chance; a bare name or
        letter is too little to tell ("Gus" to a puzzle)."""
        least = self.least
        q = pl.col("question")
        given = q.str.len_bytes() >= least["given-text-bytes"]
        # the words and numbers of the questions that give a text only: most give none
        items = (
            rows.select("question", "answer", _i=pl.int_range(pl.len(), dtype=pl.UInt32))
            .filter(given)
            .select(
                "_i",
                _passage_given=q.str.len_bytes() >= least["passage-bytes"],
                _reading=self._has("reading", q),
                a_words=pl.col("answer").str.to_lowercase().str.extract_all(_WORDS),
                a_numbers=pl.col("answer").str.extract_all(_NUMBERS),
                q_words=q.str.to_lowercase().str.extract_all(_WORDS),
                q_numbers=q.str.extract_all(_NUMBERS),
            )
        )

        def found(answer: str, question: str) -> pl.DataFrame:
            """Per row, how many of the answer's ``answer`` items the question's ``question`` hold.
            A semi join finds them without making the question's items unique first (a passage's
            words are most of the items: the unique took half the time)."""
            held = items.select("_i", item=question).explode("item")
            asked = items.select("_i", item=answer).explode("item").drop_nulls("item").with_row_index("_k")
            found = asked.join(held, on=["_i", "item"], how="semi")["_k"]
            return (
                asked.with_columns(_held=pl.col("_k").is_in(found.implode()))
                .group_by("_i")
                .agg(n=pl.len(), held=pl.col("_held").sum())
            )

        words, numbers = found("a_words", "q_words"), found("a_numbers", "q_numbers")
        n_words, held_words = pl.col("n").fill_null(0), pl.col("held").fill_null(0)
        n_numbers, held_numbers = pl.col("n_numbers").fill_null(0), pl.col("held_numbers").fill_null(0)
        words_held = held_words >= n_words * least["looked-up-share"] / 100
        looked = (
            items.select("_i", "_passage_given", "_reading")
            .join(words, on="_i", how="left")
            .join(numbers.rename({"n": "n_numbers", "held": "held_numbers"}), on="_i", how="left")
            .filter(
                (held_numbers == n_numbers)
                # its words: three or more, or one in a passage ("gravity", "A TEENAGER"); a bare
                # letter or number holds no word: a word problem's result may be one of its numbers
                # by chance, and a picked option stays bare
                & (
                    (((n_words >= 3) | (pl.col("_passage_given") & (n_words >= 1))) & words_held)
                    # or figures a text handed over for reading states, a unit at most: "62%.", "9:25."
                    | (pl.col("_reading") & (n_numbers >= 1) & (n_words <= 2) & (held_words == n_words))
                )
            )
            .get_column("_i")
        )
        found = pl.int_range(rows.height, dtype=pl.UInt32, eager=True).is_in(looked.implode())
        return pl.Series(found | self._read_off_table(rows))

    def _read_off_table(self, rows: pl.DataFrame) -> pl.Series:
        """Whether each answer of ``rows`` is read off a table its question gives (rows of cells
        between pipes): a text that is one of its cells ("March 4, 2006", "Thailand"), or the cell
        where a row and a column the question names meet ("how many friendlies did Milicic have?"
        answered "2" from Milicic's row of the Friendlies column), with no `aggregate` asked beyond
        what that column holds. A count, sum or difference over rows ("how many times did the
        iron chef win?") is worked out, even where its result is one of the table's numbers by
        chance: it names no row, or asks an aggregate."""
        # an answer that is one cell is short: a long one is no look-up, and its table is not read
        tabled = rows.select(
            (pl.col("answer").str.len_chars() <= _CELL_CHARS) & pl.col("question").str.contains(_TABLE)
        ).to_series()
        found = pl.repeat(False, rows.height, eager=True)
        if not tabled.any():
            return found
        picked = rows.filter(tabled).select("question", "answer")
        tables = [_table(q) for q in picked["question"]]
        aggregate = self.question["aggregate"]
        asked = pl.Series([t[0] for t in tables], dtype=pl.String)
        wants = asked.str.extract_all(aggregate) if aggregate else pl.Series([[]] * len(tables))
        read = [
            _read_off(answer, asking, header, body, want)
            for answer, (asking, header, body), want in zip(picked["answer"], tables, wants, strict=True)
        ]
        return found.scatter(tabled.arg_true(), read)

    @staticmethod
    def _picked(rows: pl.DataFrame) -> pl.Series:
        """``picked_choice`` of each row, worked out only where the question lists options (the
        rest are not picked): splitting every question into options cost more than all its scans."""
        lists = rows.select(lists_options(pl.col("question"))).to_series()
        picked = rows.filter(lists).select(picked_choice(pl.col("question"), pl.col("answer"))).to_series()
        return pl.repeat(False, rows.height, eager=True).scatter(lists.arg_true(), picked)

    def _read(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The need of each question of ``rows``: markers count in its task, which is the
        question less the material it works on, or the sentence of a text task.

        Each step of the task is a column of its own: an eager frame evaluates an expression as
        often as it appears, and each step reads the one before it several times."""
        body = pl.col("_plain").str.replace_all(self.material, " ") if self.material else pl.col("_plain")
        rows = rows.with_columns(_body=body)
        task = pl.col("_body")
        # a column too: it is kept and read into the veto, and the programming patterns are the
        # costliest of the question's markers to scan
        rows = rows.with_columns(_coding=self._has("programming", task))
        coding = pl.col("_coding")
        vetoed = coding | self._has("creative", task)
        if self.question["reading"]:
            # a question about a given text: its first line, its "Question:" lines and a last line
            # that asks; the passage between is what they ask about
            asking = pl.concat_str(
                [
                    task.str.split("\n").list.first(),
                    task.str.extract_all(_ASKED_LINES).list.join("\n"),
                    task.str.strip_chars().str.extract(_LAST_ASKING_LINE, 1).fill_null(""),
                ],
                separator="\n",
            )
            # and only a calculation it asks for makes a word problem of it, not a "what" or
            # "which" among the passage's numbers ("What time did he arrive?" is a look-up)
            rows = rows.with_columns(_reading=self._has("reading", task))
            reading = pl.col("_reading")
            vetoed = vetoed | reading
            rows = rows.with_columns(_asking=pl.when(reading).then(asking).otherwise(task))
            task = pl.col("_asking")
        # a long question (a passage, a table, a log, a task definition with examples) asks in a
        # few sentences: markers count there, not in the material; its quantities still count
        # (a long word problem asks "How many ..." of them), but no longer make a problem alone
        passage = pl.col("question").str.len_bytes() >= self.least["passage-bytes"]
        asked = pl.concat_str(
            [
                task.str.extract(_FIRST_SENTENCE, 0).fill_null(""),
                task.str.extract_all(_QUESTION_SENTENCES).list.join("\n"),
                task.str.replace(_OPTIONS_AT_END, "").str.extract(_LAST_SENTENCE, 0).fill_null(""),
            ],
            separator="\n",
        )
        vetoed = vetoed | passage
        rows = rows.with_columns(_asked=pl.when(passage).then(asked).otherwise(task))
        task = pl.col("_asked")
        if self.text_task:
            rows = rows.with_columns(_text_task=task.str.contains(self.text_task))
            is_text_task = pl.col("_text_task")
            vetoed = vetoed | is_text_task
            task = pl.when(is_text_task).then(task.str.extract(self.task_sentence, 1)).otherwise(task)
        return (
            rows.with_columns(
                _task=task.fill_null(""),
                _vetoed=vetoed,
                # read in the whole question: an instruction that asks for a verdict ("否则回答“否”")
                # is a conditional the body leaves out as material
                _waived=self._has("waives", pl.col("_plain")),
                _looked_up=self._looked_up(rows),
                _named=self._names_a_thing(rows),
                _passage=passage,
                _words=pl.col("answer").str.count_matches(_WORDS),
                # a "why" answered by picking one of its options: the option states the reason
                _picked=self._picked(rows),
                # "无法回答。该文本没有提供…": no result to show working for
                _unanswerable=pl.col("answer").str.contains(self.answer["unanswerable"])
                if self.answer["unanswerable"]
                else pl.lit(False),
            )
            .with_columns(_prose=pl.col("_words") >= self.prose_words, **self._question_columns())
            .with_columns(need=self._need())
            # asked for their own reasons, people answer with a motive in one clause
            .with_columns(
                _prose=pl.col("_prose")
                | (
                    self._has("motive", pl.col("_task"))
                    & ~self._has("opinion", pl.col("_task"))
                    & (pl.col("_words") >= self.motive_prose_words)
                )
            )
        )

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        judged = self.judge(batch)
        needy = judged.filter(pl.col("need").is_not_null())
        worst = needy.group_by("_r", maintain_order=True).agg(
            cot_need=pl.col("need").sort_by("score", "turn").first(),
            cot_score=pl.col("score").min(),
            cot_exchanges=pl.struct("turn", "need", "score"),
        )
        least = judged.group_by("_r").agg(_least=pl.col("score").min())
        out = (
            batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32))
            .join(worst, on="_r", how="left", maintain_order="left")
            .join(least, on="_r", how="left", maintain_order="left")
        )
        return out.select(
            cot_need="cot_need",
            cot_score=pl.coalesce("cot_score", "_least", pl.lit(0.0)),
            cot_exchanges=pl.col("cot_exchanges")
            .fill_null(pl.lit([], dtype=pl.List(EXCHANGE)))
            .cast(pl.List(EXCHANGE)),
        )


def _table(question: str) -> tuple[str, list[str], list[list[str]]]:
    """The lines of ``question`` that ask (lower-cased), and the header and rows of the table it gives."""
    asking, cells = [], []
    for line in question.split("\n"):
        if "|" not in line:
            asking.append(line)
        elif not _RULE_LINE.match(line):
            cells.append([c.strip().lower() for c in line.strip().strip("|").split("|")])
    return "\n".join(asking).lower(), cells[0] if cells else [], cells[1:]


def _number(text: str) -> float | None:
    m = _NUMBER.fullmatch(text)
    return float(m.group(0).replace(",", "").replace("−", "-")) if m else None


def _holds(cell: str, answer: str, value: float | None) -> bool:
    """Whether ``cell`` gives ``answer``: the same text or number, or a number leading the cell ("28 lost", "6–10")."""
    if cell == answer:
        return True
    if value is None:
        return False
    lead = _NUMBER.match(cell)
    return lead is not None and _number(lead.group(0)) == value and not cell[lead.end() :][:1].isalnum()


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]{3,}", text))


def _named(cell: str, asking: str) -> bool:
    """Whether the question names ``cell`` as a row's label ("milicic", "french open"): whole words,
    five letters or more ("open" in a Status column names no row)."""
    return (
        cell in asking
        and len(_LETTER.findall(cell)) >= 5
        and re.search(rf"(?<!\w){re.escape(cell)}(?!\w)", asking) is not None
    )


def _read_off(answer: str, asking: str, header: list[str], body: list[list[str]], wants: list[str]) -> bool:
    """Whether ``answer`` is read off the table of ``header`` and ``body`` that the question ``asking`` gives."""
    answer = answer.strip().rstrip(".").strip().lower()
    if not answer or not body:
        return False
    value = _number(answer)
    if value is None:
        # a text is looked up where it is a whole cell: no sum or count makes a name or a date
        return (
            answer not in _VERDICTS
            and len(_LETTER.findall(answer)) >= 2
            and any(answer == cell for row in body for cell in row)
        )
    # the cells that give the answer: most tables hold none
    held = [
        (r, c) for r, row in enumerate(body) for c, cell in enumerate(row[: len(header)]) if _holds(cell, answer, value)
    ]
    if not held:
        return False
    aggregates = set().union(*(_words(want) for want in wants))
    asked = _words(asking) - aggregates
    stems = _stems(asked)
    named = [bool(_stems(_words(h)) & stems) for h in header]
    numbers = {_number(n.group(0)) for n in _NUMBER.finditer(asking)}
    # the rows the question names by a label ("milicic"), or by a number in a column it names
    # ("tie number 19"); two labels (two rows summed or compared) ask more than one cell
    labels = {
        (k, cell)
        for row in body
        for k, cell in enumerate(row)
        if (k < len(header) and named[k] and cell and _number(cell) in numbers) or _named(cell, asking)
    }
    if len({cell for _, cell in labels}) != 1:
        return False
    for r, c in held:
        # the column is named by what it holds ("friendlies", "lives lost", "attended"), or is
        # itself the aggregate asked ("how many total medals": the Total column); and the question
        # asks nothing its cells do not hold ("total" in "how many total goals" is Total Goals')
        column = _words(header[c])
        if not (named[c] or header[c] in aggregates) or not aggregates <= column:
            continue
        if any((k, other) in labels for k, other in enumerate(body[r]) if k != c):
            return True
    return False


def _stems(words: set[str]) -> set[str]:
    """The words' first five letters, a plural's "s" left out: "attendance" and "attended",
    "friendlies" and "friendly", "wins" and "win" meet there."""
    return {w.removesuffix("s")[:5] for w in words}


@hookimpl
def dqe_register_features(register):
    register(CotFeature)
