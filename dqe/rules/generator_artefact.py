"""DQ205 generator-artefact: residue of the program that generated the data, left in its text."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from dqe import (
    ConfigError,
    RecordRule,
    RuleOptions,
    hookimpl,
    marker_pattern,
    pack_categories,
    pack_value,
    snippet,
    turn_name,
    turn_texts,
    without_code,
    worst_exchange,
)

PACK = "artefacts"
_HEAD = 40  # characters of a turn a 'start' category looks at
_SHOWN = 3  # matches quoted per finding
_WORDS = r"[^\p{L}\p{N}_]+"  # what separates the words of a match, to compare it with the question's
_PROSE = " (in prose: no sign of code, a question not about code, no tools)"
_SNAKE = r"\w+(?:_\w+)+"  # a snake_case name: what pseudo-words and markers are made of
# A field of a template the answer writes, its value a [slot] ("### User: [Name of the user]"):
# the template asked for, not a chat template's role header (a slot left unfilled is DQ207's)
_SLOT_FIELD = r"(?m)^[ \t]*#{1,6}[^\n#]{1,40}:[ \t]*\[[^\]\n]*\][ \t]*$"
# The question's closing command (its last clause) and closing question (its last sentence), and
# the same of an answer, to find the one copied to the end of the other.
_LAST_CLAUSE = r"([^，,;；:：。.!?！？\n]{6,})[。.!！]?\s*$"
_LAST_QUESTION = r"([^。.!?！？\n]{6,}[?？])\s*$"
_ECHO = "the question's closing command or question copied into the answer"
_MORE = 4  # characters an answer holds besides the copy, so that it is not the question itself
_MIN_COPY = 6  # characters a copied clause holds at least (the {6,} of the two patterns above)
_END = " \t\n。.!！"  # what may follow a copied clause
_TAIL = 300  # characters of a turn's end that hold its closing clause (a longer one is no copied command)
# An input given on the question's own line ("…合并成一个句子。输入：这是一个例子。请提供你自己的意见。"): what
# follows it is material, as what follows a first line is
_INLINE_INPUT = r"(?i)(?:^|[\s。.!?！？])(?:input|输入)\s*[:：]"
# Where a system prompt casts the assistant as a name ("You are Jigsaw.", "play the role of Paul
# Vitti", "your name is Sam"), a few words of the cast name allowed before it ("You are Antonio
# Salieri" casts "Salieri"); a user turn that opens by calling it ("Jigsaw, what drives you?")
_CAST_BEFORE = r"(?i:you are|you're|play|playing|role of|persona of|character of|voice of|name is|named|called)\s+(?:[^.,;:!?\n]{0,40}\s)?"
# A line that opens with a speaker's label: a turn that holds one past its first line is a dialogue
_LABEL_LINE = r"\n[ \t]*[A-Z][\w.'-]*( [A-Z][\w.'-]*){0,3}[ \t]*:\s"


class ArtefactCategory(NamedTuple):
    label: str
    pattern: str
    roles: tuple[str, ...]  # the turns it looks at
    start: bool
    prose_only: bool
    echoes_system: bool  # the system prompt's words are what it echoes: only the user's own words pass
    cast: bool  # it matches a name: residue only where the system prompt casts the assistant as it


def load_categories(pack: dict) -> list[ArtefactCategory]:
    out = []
    for name, (table, pattern) in pack_categories(pack, PACK).items():
        base = f"categories.{name}"
        turns = pack_value(pack, f"{base}.turns", PACK, str, default="assistant")
        where = pack_value(pack, f"{base}.where", PACK, str, default="anywhere")
        if turns not in ("assistant", "user", "all") or where not in ("anywhere", "start"):
            raise ConfigError(
                f"rule pack '{PACK}': '{base}': 'turns' must be \"assistant\", \"user\" or \"all\" and 'where' "
                f'"anywhere" or "start" (got turns={turns!r}, where={where!r})'
            )
        if pattern is not None:
            out.append(
                ArtefactCategory(
                    label=pack_value(table, "label", PACK, str, default=name),
                    pattern=pattern,
                    roles=("user", "assistant") if turns == "all" else (turns,),
                    start=where == "start",
                    prose_only=pack_value(pack, f"{base}.prose-only", PACK, bool, default=False),
                    echoes_system=pack_value(pack, f"{base}.echoes-system", PACK, bool, default=False),
                    cast=pack_value(pack, f"{base}.cast", PACK, bool, default=False),
                )
            )
    return out


def _where_named(spans: pl.DataFrame, cast: pl.Expr) -> pl.Series:
    """``cast`` (whether the system prompt casts the assistant as ``span``, or a user turn opens by
    calling it) for every row of ``spans``, evaluated only where the name can be found at all.

    ``cast`` is a pattern made of each row's name, which polars compiles for every row (about half
    a millisecond each): a name that must match as it is written (one in capitals matches in any
    case) is first looked for literally in the system prompt and the user's turns."""
    span = pl.col("span")
    literal = pl.col("_system").str.contains(span, literal=True) | pl.col("_said").str.contains(span, literal=True)
    maybe = (span == span.str.to_uppercase()) | literal
    rows = spans.select(maybe.fill_null(True)).to_series().arg_true()
    found = pl.repeat(False, spans.height, eager=True)
    return found.scatter(rows, spans[rows].select(cast).to_series()) if len(rows) else found


class GeneratorArtefact(RecordRule):
    """Looks in every turn, Markdown code left out, for the categories of the `artefacts` rule
    pack: snake_case pseudo-words in prose ("a rich taste of caramelize_kale"), a tool or template
    name set off as a marker or called like a function in prose ("*advice_maker*"), a template's
    field name opening an answer ("Output:", "### Response:", "输出："), the name the system prompt
    casts the assistant as set over its answer as a speaker's label ("Jigsaw: ..." for "You are
    Jigsaw."; a script of several labelled lines passes), a bracketed label the
    generator set over an answer ("【来自AI助手的营销建议】", "[Assistant's response]"), chat template tokens
    inside an answer ("<|im_end|>", "[INST]"), a tokenizer's unknown token in an answer ("修饰了<UNK>曲线":
    the word it stands for is lost), notes of the generator in an answer or a question
    it wrote ("(Rewritten sentence: ...)", "(No change needed ...)"), half-translated words
    ("色less"), template markers in the question (an empty input written "noinput", a
    "### 输入：" header), an answer that repeats the generator's own instructions ("Here's a
    detailed and long answer:", "thinking step-by-step and justifying my steps", which a system
    prompt gave, whether or not the record kept it), and an answer that ends with its question's
    closing command or question copied word for word ("…漫步，将形容词改为更令人兴奋的同义词。").

    Precision first. Pseudo-words and markers count only in prose: a turn that otherwise looks
    like code or names things of the trade (a file name, "the read_csv method", "your username"),
    a question about code (a Python answer that talks about `my_function`), and tool-use data (a
    `tools` field or tool turns, where function names are the topic) pass; so do identifiers in
    quotes or code spans, hashtags, e-mail addresses and URLs. In answers, a match the question,
    the system prompt or the tools already hold is the user's own word ("Output:" for "what is the
    output of this code?"), except for the generator's instructions, which only the user's turns
    make the user's own. Each finding names its turn and quotes what matched. A warning by
    default."""

    code = "DQ205"
    name = "generator-artefact"
    summary = "generator residue: snake_case pseudo-words and markers in prose, leaked field names, template tokens"
    why = (
        "Residue of the generating pipeline is learned like any text: a model trained on "
        "'a taste of caramelize_kale' writes identifiers into prose, one trained on answers opening "
        "'Output:' or holding '<|im_end|>' reproduces the template instead of answering."
    )
    example = (
        '{"instruction": "Describe your new candy.", "output": "It has a rich taste of caramelize_kale and '
        "zesty_honey_raindrops.\"} warns: 'snake_case pseudo-word in prose in answer: caramelize_kale, "
        "zesty_honey_raindrops'."
    )
    severity = "warning"
    Options = RuleOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        pack = context.pack(PACK)
        self.categories = load_categories(pack)
        self.code_like = marker_pattern(pack, "code", "patterns", PACK)
        self.about_code = marker_pattern(pack, "about-code", "patterns", PACK)
        self.commands = marker_pattern(pack, "echo", "commands", PACK)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        turns = (
            turn_texts(batch)
            .with_row_index("_t")
            .with_columns(_text=without_code(pl.col("text")).str.replace_all(_SLOT_FIELD, ""))
        )
        if not self.categories:
            return worst_exchange(
                batch, turns.clear().select("_r", "turn", passed=True, score=1.0, message=None, evidence=None)
            )
        # One scan per category, over the turns of its roles only (polars keeps a few dozen compiled
        # patterns: no new combinations of them), then the candidates alone are looked at closely.
        found = {}
        for i, c in enumerate(self.categories):
            own = turns.filter(pl.col("role").is_in(c.roles))
            found[f"_c{i}"] = own.filter(self._scanned(c.start).str.contains(c.pattern))["_t"].implode()
        hits = turns.with_columns(**{name: pl.col("_t").is_in(ids) for name, ids in found.items()}).filter(
            pl.any_horizontal(list(found))
        )
        context = self._context(batch, hits)
        found = []
        for i, c in enumerate(self.categories):
            rows = hits.filter(pl.col(f"_c{i}")).join(context, on="_r", how="left")
            source = pl.col("_text").str.slice(0, _HEAD) if c.start else pl.col("_text")
            if c.prose_only:
                # the turn without its snake_case names (not the marks around them: "table_name;"
                # keeps its semicolon), for the signs of code
                rest = pl.col("_text").str.replace_all(_SNAKE, " ")
                code = rest.str.contains(self.code_like) if self.code_like is not None else pl.lit(False)
                about = (
                    pl.col("question").str.contains(self.about_code) if self.about_code is not None else pl.lit(False)
                )
                rows = rows.filter(~(code | about | pl.col("_tools")))
            spans = (
                rows.select(
                    "_r",
                    "turn",
                    "role",
                    "final",
                    "_context",
                    "_users",
                    "_system",
                    "_said",
                    "_text",
                    span=source.str.extract_all(c.pattern),
                )
                .explode("span")
                .drop_nulls("span")
                .with_columns(
                    # a match of punctuation alone (the colon a role label left) is quoted as it is
                    span=pl.coalesce(
                        pl.col("span")
                        .str.strip_chars_start(" \t\n(")
                        .str.strip_chars_end(" \t\n,;:!?.：，。；！？")
                        .replace("", None),
                        pl.col("span").str.strip_chars(),
                    )
                )
                .with_columns(
                    span=pl.when(pl.col("span").str.contains("(", literal=True))
                    .then(pl.col("span"))
                    .otherwise(pl.col("span").str.strip_chars_end(")"))
                )
            )
            if c.cast:
                # The name the assistant was cast as, opening a turn that is no dialogue of labels.
                # a name in capitals is a script's speaker ("VITTI:" for "You are Paul Vitti.")
                name = pl.col("span").str.escape_regex()
                name = (
                    pl.when(pl.col("span") == pl.col("span").str.to_uppercase())
                    .then(pl.concat_str(pl.lit("(?i:"), name, pl.lit(")")))
                    .otherwise(name)
                )
                called = pl.concat_str(pl.lit(_CAST_BEFORE), name, pl.lit(r"(?-u:\b)"))
                addressed = pl.concat_str(pl.lit(r"(?m:^)[ \t]*"), name, pl.lit(r"[ \t]*,"))
                cast = pl.col("_system").str.contains(called) | pl.col("_said").str.contains(addressed)
                spans = spans.filter(pl.lit(_where_named(spans, cast)) & ~pl.col("_text").str.contains(_LABEL_LINE))
            elif c.roles == ("assistant",):
                # The user's own word, or a name the tools define, is not residue.
                words = pl.col("span").str.replace_all(_WORDS, " ").str.strip_chars().str.to_lowercase()
                said = pl.col("_users" if c.echoes_system else "_context")
                spans = spans.filter((words == "") | ~said.str.contains(words, literal=True))
            found.append(
                spans.group_by("_r", "turn", "role", "final", maintain_order=True)
                .agg(pl.lit(i).alias("_c"), pl.col("span").unique(maintain_order=True).head(_SHOWN).alias("_s"))
                .with_columns(_note=pl.lit(_PROSE if c.prose_only else ""))
            )
        if self.commands is not None:
            found.append(self._echo(turns, len(self.categories)))
        per_category = pl.concat(found).sort("_r", "turn", "_c")
        names = [c.label for c in self.categories] + [_ECHO]
        labels = pl.col("_c").replace_strict(list(range(len(names))), names)
        described = per_category.select(
            "_r", "turn", "role", "final", "_note", _label=labels, _spans=pl.col("_s").list.join(", ")
        )
        judged = described.group_by("_r", "turn", maintain_order=True).agg(
            pl.col("role").first(),
            pl.col("final").first(),
            pl.col("_label").first(),
            pl.col("_spans").first(),
            _evidence=pl.format('{}: "{}"{}', "_label", snippet(pl.col("_spans"), 100), "_note").str.join("; "),
        )
        judged = judged.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("{} in {}: {}", "_label", turn_name(), "_spans"),
            evidence="_evidence",
        )
        return worst_exchange(batch, judged)

    def _echo(self, turns: pl.DataFrame, index: int) -> pl.DataFrame:
        """Answers that end with what ended their question, word for word: its closing command
        (a clause that opens with one of the pack's ``echo`` commands: "…，将形容词改为更令人兴奋的
        同义词。" rewritten with the command kept) or its closing question ("What is the total
        number of seeds?" after the working), when the answer holds more than the copy and the
        question is one line."""
        # A question of one line: what follows a first line, or an input given on it, is material
        # (an Alpaca input, a list of questions to sort), which an answer may well end with.
        # Only answers that end as their question does (end punctuation aside) are read closely.
        answers = turns.filter(
            (pl.col("role") == "assistant")
            & (
                pl.col("_text").str.strip_chars_end(_END).str.tail(_MIN_COPY)
                == pl.col("question").str.strip_chars_end(_END).str.tail(_MIN_COPY)
            )
            & ~pl.col("question").str.strip_chars().str.contains("\n")
            & ~pl.col("question").str.contains(_INLINE_INPUT)
        )
        question, answer = pl.col("question").str.tail(_TAIL), pl.col("_text").str.tail(_TAIL)
        clause = question.str.extract(_LAST_CLAUSE, 1).str.strip_chars()
        asked = question.str.extract(_LAST_QUESTION, 1).str.strip_chars()
        longer = pl.col("_text").str.strip_chars().str.len_chars() - _MORE
        copied = pl.when(
            clause.str.contains(f"^(?:{self.commands})")
            & (answer.str.extract(_LAST_CLAUSE, 1).str.strip_chars() == clause)
            & (longer > clause.str.len_chars())
        ).then(clause)
        copied = copied.when(
            (answer.str.extract(_LAST_QUESTION, 1).str.strip_chars() == asked) & (longer > asked.str.len_chars())
        ).then(asked)
        return (
            answers.select("_r", "turn", "role", "final", _copy=copied)
            .drop_nulls("_copy")
            .select(
                "_r",
                "turn",
                "role",
                "final",
                _c=pl.lit(index, dtype=pl.Int32),
                _s=pl.concat_list("_copy"),
                _note=pl.lit(""),
            )
        )

    @staticmethod
    def _scanned(start: bool) -> pl.Expr:
        return pl.col("_text").str.slice(0, _HEAD) if start else pl.col("_text")

    def _context(self, batch: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
        """Per record with a hit: ``_tools`` (tool-use data), ``_context`` (the lower-cased text a
        match may echo: every user turn, the system prompt, the tools), ``_users`` (the user's
        turns alone, lower-cased), and as written ``_system`` and ``_said`` (the user's turns)."""
        rows = hits["_r"].unique().sort()
        records = batch.select("system", "tools", "turns")[rows.to_list()]
        roles = pl.col("turns").list.eval(pl.element().struct.field("role"))
        users = pl.col("turns").list.eval(
            pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content")
        )
        said = users.list.join("\n")
        return records.select(
            _r=rows,
            _tools=(pl.col("tools").is_not_null() | roles.list.contains("tool_call") | roles.list.contains("tool")),
            _context=pl.concat_str(
                [said, pl.col("system").fill_null(""), pl.col("tools").fill_null("")], separator="\n"
            ).str.to_lowercase(),
            _users=said.str.to_lowercase(),
            _system=pl.col("system").fill_null(""),
            _said=said,
        )


@hookimpl
def dqe_register_rules(register):
    register(GeneratorArtefact)
