"""DQ102 length-bounds: neither too short nor too long, each question and each answer, by task."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
from pydantic import Field, model_validator

from dqe import (
    CODE_LINE,
    TRACED,
    WORD_UNIT,
    ConfigError,
    RecordRule,
    RuleOptions,
    blank,
    exchanges,
    hookimpl,
    marker_pattern,
    pack_languages,
    pack_value,
    pattern_list,
    picked_choice,
    snippet,
    without_trace,
    worst_exchange,
)

BOUNDS = ("min-question-tokens", "max-question-tokens", "min-answer-tokens", "max-answer-tokens")

# A call such as ``wikipedia('French Revolution')`` or ``calculator(400/1.5)``: with its name
# declared in the prompt (``wikipedia(query)``), the tool does the work and the answer may be short.
_CALL = r"[A-Za-z_][A-Za-z0-9_.]*\("
_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
# A first line longer than this is a passage, not a request, when the pack does not say.
_PASSAGE_CHARS = 300
# The last sentence of a question is looked for in this many of its last characters.
_SENTENCE_CHARS = 400
# A fragment's few words take no more tokens or bytes than these: longer questions are not looked at.
_FRAGMENT_TOKENS, _FRAGMENT_BYTES = 24, 64


class LengthBoundsOptions(RuleOptions):
    min_question_tokens: int = Field(1, ge=0, description="fewest tokens in a question (empty ones are DQ001's)")
    max_question_tokens: int | None = Field(
        None,
        ge=1,
        description="most tokens in a question, its input included; none by default: a long question is its "
        "material (a passage, a document), and DQ101 judges whether the record fits the context",
    )
    min_answer_tokens: int = Field(
        1, ge=0, description="fewest tokens in an answer; long-form tasks (the `length` pack) need 10"
    )
    max_answer_tokens: int = Field(
        2048, ge=1, description="most tokens in an answer; a how-to (the `length` pack's guide task) allows 4096"
    )
    scene_tasks: list[str] = Field(
        default_factory=lambda: ["role-play"],
        description="task categories that play a scene: a 'why' asked there is put to a character, who gives a "
        "motive (the pack's motive task), not an explanation ('我们为什么不去找他？' '我们不能去。')",
    )
    scene_confidence: float = Field(
        0.4, ge=0.0, le=1.0, description="the category confidence from which scene-tasks are believed"
    )

    @model_validator(mode="after")
    def _ordered(self) -> LengthBoundsOptions:
        for part in ("question", "answer"):
            low, high = getattr(self, f"min_{part}_tokens"), getattr(self, f"max_{part}_tokens")
            if high is not None and low > high:
                raise ValueError(f"min-{part}-tokens ({low}) is larger than max-{part}-tokens ({high})")
        return self


class Task(NamedTuple):
    key: str  # unique: the task's name, or "name.lang" for a language table with bounds of its own
    name: str  # what messages call it
    pattern: str
    bounds: dict[str, int]
    closing: bool = False  # found in the closing sentence, it decides over the opening's task ("... Answer yes or no.")


def _bounds(table: dict, where: str, pack_name: str) -> dict[str, int]:
    bounds = {}
    for key in BOUNDS:
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(
                    f"rule pack '{pack_name}': '{where}.{key}' must be a whole number >= 0, got {value!r}"
                )
            bounds[key] = value
    return bounds


def _markers(name: str, tables: dict, pack_name: str) -> str | None:
    """The combined marker pattern of some of a task's language tables (errors name the task)."""
    return marker_pattern({"tasks": {name: tables}}, f"tasks.{name}", "markers", pack_name)


def load_tasks(pack: dict, pack_name: str = "length") -> list[Task]:
    """The pack's tasks in file order, each with its combined marker pattern and bounds. A
    language table may set bounds of its own (tokens per word differ between scripts): its
    markers then make a task of their own, with the task's name, just before the task."""
    tasks = pack.get("tasks", {})
    if not isinstance(tasks, dict):
        raise ConfigError(f"rule pack '{pack_name}': 'tasks' must be a table of tasks")
    out = []
    for name, table in tasks.items():
        if not isinstance(table, dict):
            raise ConfigError(f"rule pack '{pack_name}': 'tasks.{name}' must be a table")
        tables = pack_languages(pack, f"tasks.{name}", pack_name)
        unknown = set(table) - set(BOUNDS) - {"closing"} - set(tables)
        if unknown:
            raise ConfigError(
                f"rule pack '{pack_name}': 'tasks.{name}' has unknown keys {sorted(unknown)}; "
                f"a task has language tables of markers, 'closing' and any of {', '.join(BOUNDS)}"
            )
        closes = table.get("closing", False)
        if not isinstance(closes, bool):
            raise ConfigError(f"rule pack '{pack_name}': 'tasks.{name}.closing' must be true or false, got {closes!r}")
        bounds = _bounds(table, f"tasks.{name}", pack_name)
        shared = []
        for lang, lang_table in tables.items():
            own = _bounds(lang_table, f"tasks.{name}.{lang}", pack_name)
            if not own:
                shared.append(lang)
                continue
            pattern = _markers(name, {lang: lang_table}, pack_name)
            if pattern:
                out.append(Task(f"{name}.{lang}", name, pattern, {**bounds, **own}, closes))
        pattern = _markers(name, {lang: tables[lang] for lang in shared}, pack_name)
        if pattern:
            out.append(Task(name, name, pattern, bounds, closes))
    return out


class Fragment(NamedTuple):
    max_words: int
    max_cjk_chars: int
    requests: str | None  # verbs that open a request, at the start of a question
    pieces: str | None  # signs of text cut out of something else: "B)", "隐喻 / 不是"


def load_fragment(pack: dict, pack_name: str = "length") -> Fragment | None:
    """The pack's ``[fragment]`` table: how short an opening question without a request may be,
    the verbs that make it a request and the signs of a piece cut out of other text; None when
    the pack has none."""
    if "fragment" not in pack:
        return None
    where = f"rule pack '{pack_name}': 'fragment"
    sizes = []
    for key in ("max-words", "max-cjk-chars"):
        value = pack_value(pack, f"fragment.{key}", pack_name, int)
        if value < 0:
            raise ConfigError(f"{where}.{key}' must be a whole number >= 0, got {value!r}")
        sizes.append(value)
    return Fragment(
        *sizes,
        marker_pattern(pack, "fragment", "requests", pack_name),
        pattern_list(pack, "fragment.pieces", pack_name),
    )


class Size(NamedTuple):
    share: float  # of the words (or characters) asked, the fewest answer tokens
    asked: str  # a length asked for: "a 500-word essay", "写一篇800字的作文"; its first number is the size
    exempt: str | None  # no minimum: a length not to pass ("in under 300 words"), a word problem ("how many words")


def load_size(pack: dict, pack_name: str = "length") -> Size | None:
    """The pack's ``[size]`` table: the lengths a request may ask for in words or characters, and
    the share of them an answer needs; None when the pack has none."""
    if "size" not in pack:
        return None
    share = pack_value(pack, "size.share", pack_name, (int, float))
    if not 0 < share <= 1:
        raise ConfigError(f"rule pack '{pack_name}': 'size.share' must be above 0 and at most 1, got {share!r}")
    asked = marker_pattern(pack, "size", "asked", pack_name)
    if asked is None:
        raise ConfigError(f"rule pack '{pack_name}': 'size' needs 'asked' markers in a language table")
    return Size(float(share), asked, marker_pattern(pack, "size", "exempt", pack_name))


# A quoted text of more than one word: what the user asks about, not what the user asks ("I received
# the questions "Why does ..." and "What ...". Are they duplicates?"). Doubled quotes (CSV-style) too.
_QUOTED = r'"[^"\n]*\s[^"\n]*"|“[^”\n]*”|「[^」\n]*」|『[^』\n]*』'


class Request(NamedTuple):
    passage_chars: int  # a first line longer than this is material (a passage, a review), not a request
    material: str | None  # a first line that opens with a label of material ("Premise:", "短文：") is no request


def load_request(pack: dict, pack_name: str = "length") -> Request:
    """The pack's ``[request]`` table: when a question's first line is material rather than a request."""
    if "request" not in pack:
        return Request(_PASSAGE_CHARS, None)
    chars = pack_value(pack, "request.passage-chars", pack_name, int)
    if chars < 1:
        raise ConfigError(
            f"rule pack '{pack_name}': 'request.passage-chars' must be a whole number >= 1, got {chars!r}"
        )
    return Request(chars, marker_pattern(pack, "request", "material", pack_name))


class Cut(NamedTuple):
    """The pack's ``[cut]`` table: how an answer cut off mid-sentence ends."""

    min_words: int
    words: str  # the words no sentence ends on, as one pattern anchored at the end of the text


def load_cut(pack: dict, pack_name: str = "length") -> Cut | None:
    """The pack's ``[cut]`` table, or None when the pack has none or lists no word."""
    if "cut" not in pack:
        return None
    words = marker_pattern(pack, "cut", "words", pack_name)
    if words is None:
        return None
    least = pack_value(pack, "cut.min-words", pack_name, int)
    if least < 1:
        raise ConfigError(f"rule pack '{pack_name}': 'cut.min-words' must be a whole number >= 1, got {least!r}")
    # as written: the pack's patterns are case-insensitive, a last word is judged as it stands
    return Cut(least, "(?-i:" + words.removeprefix("(?i)") + r")\s*\z")


def load_program(pack: dict, pack_name: str = "length") -> str | None:
    """The pack's ``[program]`` markers, one pattern, or None when the pack lists none."""
    return marker_pattern(pack, "program", "asked", pack_name) if "program" in pack else None


class Promise(NamedTuple):
    """The pack's ``[promise]`` table: answers that only take the task on, and the questions that
    ask for no more."""

    answers: str
    invited: str | None


def load_promise(pack: dict, pack_name: str = "length") -> Promise | None:
    """The pack's ``[promise]`` table, or None when the pack has none or lists no answer."""
    answers = marker_pattern(pack, "promise", "answers", pack_name) if "promise" in pack else None
    if answers is None:
        return None
    return Promise(answers, marker_pattern(pack, "promise", "invited", pack_name))


def unquoted(text: pl.Expr) -> pl.Expr:
    """``text`` with its quoted passages of more than one word replaced by an empty quote."""
    return text.str.replace_all(_QUOTED, '""')


def with_request(frame: pl.DataFrame, shape: Request) -> pl.DataFrame:
    """``frame`` with ``_request``, what its ``question`` asks at its opening: its first line,
    quotes aside. The lines after it are the material the request works on (an Alpaca input, a
    pasted text, a list of options), whose words ("explain", "why", "essay") say nothing about the
    answer wanted; so is a quoted text, and a first line that is a passage (longer than
    ``shape.passage_chars``: only its first sentence is read, which in Chinese ends at 。 with no
    space after it) or opens with a label of material
    ("Premise: ...", "短文：...")."""
    line = pl.col("_request")
    frame = frame.with_columns(
        _request=unquoted(
            pl.col("question").str.strip_chars_start().str.split_exact("\n", 1).struct.field("field_0").fill_null("")
        )
    ).with_columns(
        _request=pl.when(line.str.len_chars() > shape.passage_chars)
        .then(line.str.extract(r"^(.*?(?:[.!?](?:\s|$)|[。！？]))", 1).str.strip_chars_end().fill_null(""))
        .otherwise(line)
    )
    if shape.material:
        frame = frame.with_columns(_request=pl.when(line.str.contains(shape.material)).then(pl.lit("")).otherwise(line))
    return frame


def closing(question: pl.Expr) -> pl.Expr:
    """The question's last sentence where it asks (a question mark or a colon ends it), quotes
    aside: where passage-first data (T0, reading comprehension) asks ("... Did the reviewer enjoy
    the movie?", "Review rating:"); "" where the question ends in a statement."""
    # a sentence is read from the last characters only: reversing a whole passage costs more than judging it
    # quotes go first: a question mark inside one ('the question "What next?"') ends no sentence
    tail = (
        unquoted(question.str.strip_chars_end().str.tail(_SENTENCE_CHARS))
        .str.reverse()
        .str.extract(r"^([?？:：][.!?。！？:：]*[^.!?。！？\n]*)", 1)
    )
    return tail.str.reverse().str.strip_chars().fill_null("")


class LengthBounds(RecordRule):
    """Fails a question or an answer with fewer or more tokens than the bounds allow (tokens as
    the `tokens` feature counts them, with the configured tokenizer), in every exchange of a
    conversation: each user turn, and the reply to it (every assistant turn up to the next user
    turn; the turn named is the reply's last; a reasoning trace before it, ``<think>...</think>``,
    is not the reply and is left out). The bounds of a reply depend on what its question
    asks: the `length` rule pack lists kinds of task by their markers (English and Chinese), with
    bounds of their own; the first kind that matches decides. The request is the question's first
    line, quoted text aside (a why in a quoted question is no why asked); a first line that is
    material (a passage, "Premise: ...") asks nothing, and then the closing question does ("...
    Did the reviewer enjoy the movie?"); a closing sentence that fixes the answer's form ("Review
    rating:", "Answer yes or no") decides over the opening. A long-form task (write an essay,
    describe, explain, 写一篇, 一段话...) needs an answer of ten tokens (fifteen in Chinese) and a
    "why" five (ten); a label, a translation, a yes or no may be one token, and chit-chat ("hi",
    "thanks", 你好) may be asked in one, even where a config raises the minimums; a few words asked
    ("in one word") allow 100 tokens and a word asked about (a synonym) 300, and a how-to ("How to
    cook corn?", 如何...) 4096, a whole guide. A length the request
    asks for ("a 500-word essay", "写一篇800字的作文") needs half of it in tokens, and so does a
    persona's standing one ("you write 2000-word essays" in the system prompt) for the replies that
    do its task (not a greeting, a clarifying question or a question of another kind); a length not
    to pass ("in under 300 words"), one set up for the replies to come ("You will answer all my
    questions in 2000-word essays") or words counted in a word problem set no minimum. A reply that
    calls a tool (a tool call turn, or a call such as ``wikipedia('...')`` to a tool the prompt
    declares) may be short whatever was asked: the tool did the work. An answer that is an option
    the question lists, in any layout ("B. 检查结果", "(3). 不够信息", "He is careless ." among
    bullets, "yes" among "- yes / - no"), was picked, not written, and is never too short, nor cut
    off ("their masses and how far apart they are" among ARC's bulleted options); a
    one-line answer that stops at a colon ("Here is the list:") announces what it does not give
    (a line of code, "def gcd(x, y):", does not), and an answer whose last line of prose ends on a word no sentence ends on ("... a reminder of
    the importance of", "...以及"; the `[cut]` table of the pack) was cut off mid-sentence. A program
    asked for ("Write a program to ...", "Implement a Python function ..."; the `[program]` table)
    is not given by an answer without any code, only prose or steps about it, and an answer that
    ends the conversation by only taking the task on ("I can do that!", "Sure. Let's get started!";
    the `[promise]` table) gives nothing, unless the question asked for no more ("Reply OK when
    you are ready").
    An opening question of a few words that asks nothing and is cut out of other text ("B) Nile
    River", "隐喻 / 不是") or only repeated by its answer is a fragment; a bare term ("友谊") is a
    topic. A question has no maximum unless one is configured: its length is its material, and
    DQ101 judges whether the record fits. Empty questions and answers are DQ001's."""

    code = "DQ102"
    name = "length-bounds"
    summary = "question or answer too short or too long for what the question asks"
    why = (
        "An answer of two tokens to 'write an essay' teaches the model to stop early, and a "
        "question cut out of other text ('B) Nile River') teaches it to answer what nobody asked. "
        "Very long questions or answers dominate a batch's memory and loss. But short answers "
        "are often right: 'Positive' is the whole answer to a sentiment label, so the minimum "
        "depends on the task."
    )
    example = (
        '{"instruction": "Write a short story about a dragon.", "output": "Once upon a time."} '
        "fails: 'answer has 5 tokens, fewer than 10 (long-form task)'; "
        '{"instruction": "Classify the sentiment: I love it.", "output": "Positive"} passes.'
    )
    Options = LengthBoundsOptions
    needs = ("tokens", "category")

    def __init__(self, options, context):
        super().__init__(options, context)
        pack = context.pack("length")
        self.tasks = load_tasks(pack)
        self.fragment = load_fragment(pack)
        self.size = load_size(pack)
        self.shape = load_request(pack)
        self.cut = load_cut(pack)
        self.program = load_program(pack)
        self.promise = load_promise(pack)

    def _asked(self, text: str = "_request") -> pl.Expr:
        """The fewest answer tokens a length asked for in ``text`` needs ("a 500-word essay":
        250), or null: none asked, only a length not to pass ("in under 300 words"), or words
        counted in a word problem ("She types 40 words a minute. How long ...?")."""
        if self.size is None:
            return pl.lit(None, dtype=pl.Int64)
        r = pl.col(text)
        n = r.str.extract(self.size.asked, 0).str.extract(r"([0-9]+)", 1).cast(pl.Int64, strict=False)
        exempt = r.str.contains(self.size.exempt) if self.size.exempt else pl.lit(False)
        return pl.when(~exempt).then((n.cast(pl.Float64) * self.size.share).ceil().cast(pl.Int64))

    def _size(self, text: str = "_request") -> pl.Expr:
        """The words of ``text`` that asked for a length, for messages."""
        return pl.col(text).str.extract(self.size.asked, 0) if self.size else pl.lit(None, dtype=pl.String)

    def _standing(self, batch: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
        """A persona's standing length request ("You write 2000-word essays" in the system prompt)
        as ``_asked`` and ``_size`` of the replies that carry out that task: a request with no
        length of its own that is a long-form task or none a task knows ("The French
        Revolution."), answered without a tool and not with a question (a greeting that asks how
        to help, a clarifying question). Other replies keep their own."""
        if self.size is None:
            return frame
        system = batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32), _system=pl.col("system").fill_null(""))
        system = system.filter(pl.col("_system").str.contains(self.size.asked))
        if not system.height:
            return frame
        system = system.select("_r", _sys_asked=self._asked("_system"), _sys_size=self._size("_system"))
        carries = (
            pl.col("_asked").is_null()
            & (pl.col("_name").is_null() | (pl.col("_name") == "long-form"))
            & ~pl.col("tool")
            & ~pl.col("answer").str.strip_chars_end().str.contains(r"[?？]$")
        )
        return (
            frame.join(system, on="_r", how="left", maintain_order="left")
            .with_columns(
                _asked=pl.when(carries).then(pl.coalesce("_asked", "_sys_asked")).otherwise("_asked"),
                _size=pl.when(carries & pl.col("_sys_asked").is_not_null()).then("_sys_size").otherwise("_size"),
            )
            .drop("_sys_asked", "_sys_size")
        )

    def _task(self) -> pl.Expr:
        """The key of the first task whose markers the request matches, or null."""
        task = pl.lit(None, dtype=pl.String)
        for t in reversed(self.tasks):
            task = pl.when(pl.col("_request").str.contains(t.pattern)).then(pl.lit(t.key)).otherwise(task)
        return task

    def _closing_task(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The question's last sentence, where it asks (a question mark or a colon ends it), is the
        request when the opening asks nothing a task knows (material first: a passage, "Premise:
        ...", "Information: ...": "... Did the reviewer enjoy the movie?", "问题：为什么...？"), or
        when it fixes the answer's form (a `closing` task: "... Review rating:", "Answer yes or no?")."""
        frame = frame.with_row_index("_k")
        closers = [t.key for t in self.tasks if t.closing]
        asked = (
            frame.filter(pl.col("question").str.strip_chars_end().str.tail(1).is_in(["?", "？", ":", "："]))
            .select("_k", _opening=pl.col("_task"), _request=closing(pl.col("question")))
            .with_columns(_task=self._task())
            .filter(pl.col("_task").is_not_null() & (pl.col("_opening").is_null() | pl.col("_task").is_in(closers)))
            .drop("_opening")
        )
        if asked.height:
            frame = frame.update(asked, on="_k")
        return frame.drop("_k")

    def _in_scene(self, batch: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
        """A why asked inside a scene (a record the category model places among ``scene-tasks``,
        role-play) is put to a character: the motive task's bounds, not an explanation's."""
        motive = next((t.key for t in self.tasks if t.name == "motive"), None)
        why = [t.key for t in self.tasks if t.name == "explanation"]
        o = self.options
        if motive is None or not why or not o.scene_tasks:
            return frame
        scene = batch.select(
            _r=pl.int_range(pl.len(), dtype=pl.UInt32),
            _scene=(
                pl.col("category_pred").is_in(o.scene_tasks) & (pl.col("category_confidence") >= o.scene_confidence)
            ).fill_null(False),
        )
        return (
            frame.join(scene, on="_r", how="left", maintain_order="left")
            .with_columns(
                _task=pl.when(pl.col("_scene") & pl.col("_task").is_in(why)).then(pl.lit(motive)).otherwise("_task")
            )
            .drop("_scene")
        )

    def _name(self) -> pl.Expr:
        return pl.col("_task").replace_strict({t.key: t.name for t in self.tasks}, default=None, return_dtype=pl.String)

    def _bound(self, key: str) -> pl.Expr:
        default = getattr(self.options, key.replace("-", "_"))
        by_task = {t.key: t.bounds[key] for t in self.tasks if key in t.bounds}
        return pl.col("_task").replace_strict(by_task, default=default, return_dtype=pl.Int64)

    def _marker(self) -> pl.Expr:
        """The words of the request that matched its task, for the evidence."""
        found = pl.lit(None, dtype=pl.String)
        for t in self.tasks:
            hit = pl.col("_request").str.extract(t.pattern, 0)
            found = pl.when(pl.col("_task") == t.key).then(hit).otherwise(found)
        return found

    def _fragments(self, frame: pl.DataFrame) -> pl.Series:
        """Which questions are fragments: the conversation's first, a few words long, with no
        question mark, no end of sentence, no task and no request verb, that are a piece cut
        out of other text (an option "B) Nile River", words joined by a slash) or that the
        answer only repeats. A bare term ("友谊", "greenhouse effect") is a topic, answered as
        such. Only short questions are looked at: a few words are a few tokens."""
        f = self.fragment
        if f is None:
            return pl.Series("_fragment", [False] * frame.height, dtype=pl.Boolean)
        first = pl.col("question_turn") == pl.col("question_turn").min().over("_r")
        short = (pl.col("q_tokens") <= _FRAGMENT_TOKENS) & (pl.col("question").str.len_bytes() <= _FRAGMENT_BYTES)
        candidates = frame.with_row_index("_k").filter(short & pl.col("_task").is_null() & first)
        q = pl.col("question").str.strip_chars()
        words = q.str.count_matches(r"[\p{L}\p{N}]+")
        few = (words > 0) & (words <= f.max_words) & (q.str.count_matches(_CJK) <= f.max_cjk_chars)
        asks = q.str.contains(r"[.?!。？！…]")
        if f.requests:
            asks = asks | q.str.contains(f.requests)
        echoed = pl.col("answer").str.strip_chars().str.to_lowercase() == q.str.to_lowercase()
        cut = (q.str.contains(f.pieces) if f.pieces else pl.lit(False)) | echoed
        found = candidates.filter(few & ~asks & cut)["_k"]
        return pl.int_range(frame.height, eager=True, dtype=pl.UInt32).is_in(found.implode()).alias("_fragment")

    def _replies(self, batch: pl.DataFrame) -> pl.DataFrame:
        """One row per question and the reply to it: the reply's last assistant turn (``turn``),
        its text and tokens (every assistant turn of the reply), whether a tool was called, and
        the question's tokens. Records of one exchange need no grouping. A reasoning trace before
        a reply (``<think>...</think>``) is not the reply: its text and tokens are left out (DQ101
        judges the whole)."""
        ex = exchanges(batch)
        counts = batch.select(_r=pl.int_range(pl.len(), dtype=pl.UInt32), _counts="tokens_turns")
        ex = ex.join(counts, on="_r", how="left", maintain_order="left").select(
            "_r",
            "turn",
            "question",
            "question_turn",
            "answer",
            "tool",
            "final",
            a_tokens=pl.col("_counts").list.get(pl.col("turn") - 1, null_on_oob=True).cast(pl.Int64),
            q_tokens=pl.col("_counts").list.get(pl.col("question_turn") - 1, null_on_oob=True).cast(pl.Int64),
        )
        traced = ex["answer"].str.contains(TRACED).fill_null(False)
        if traced.any():
            rows = traced.arg_true()
            replies = without_trace(ex["answer"].gather(rows)).str.strip_chars()
            counted = pl.Series(self.context.tokenizer.count(replies.to_list()), dtype=pl.Int64)
            ex = ex.with_columns(
                answer=ex["answer"].scatter(rows, replies), a_tokens=ex["a_tokens"].scatter(rows, counted)
            )
        if not ex["_r"].is_duplicated().any():
            return ex
        return ex.group_by("_r", "question_turn", maintain_order=True).agg(
            pl.col("turn").last(),
            pl.col("question").first(),
            pl.col("answer").str.join("\n"),
            pl.col("tool").last(),
            pl.col("final").last(),
            pl.col("a_tokens").sum(),
            pl.col("q_tokens").first(),
        )

    @staticmethod
    def _calls_declared_tool(batch: pl.DataFrame, replies: pl.DataFrame) -> pl.Series:
        """Replies that call a tool the question, system prompt or tool schemas declare
        (``wikipedia('...')`` where the prompt shows ``wikipedia(query)``)."""
        context = batch.select(
            _r=pl.int_range(pl.len(), dtype=pl.UInt32),
            _declared=pl.concat_str([pl.col("system").fill_null(""), pl.col("tools").fill_null("")], separator="\n"),
        )
        calls = (
            replies.with_row_index("_k")
            .filter(pl.col("answer").str.contains(_CALL))
            .join(context, on="_r", how="left")
            .select("_k", "question", "_declared", name=pl.col("answer").str.extract_all(_CALL).list.unique())
            .explode("name")
            .filter(
                pl.col("question").str.contains(pl.col("name"), literal=True)
                | pl.col("_declared").str.contains(pl.col("name"), literal=True)
            )
        )
        return pl.int_range(replies.height, eager=True).is_in(calls["_k"].implode())

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        replies = self._replies(batch)
        frame = with_request(
            replies.with_columns(tool=pl.col("tool") | self._calls_declared_tool(batch, replies)), self.shape
        ).with_columns(_task=self._task())
        frame = self._in_scene(batch, self._closing_task(frame)).with_columns(_name=self._name())
        frame = (
            self._standing(
                batch,
                frame.with_columns(
                    **{key: self._bound(key) for key in BOUNDS}, _asked=self._asked(), _size=self._size()
                ),
            )
            .with_columns(
                # A length asked for raises the task's minimum ("a 500-word essay"), never above its maximum.
                pl.max_horizontal(
                    "min-answer-tokens", pl.col("_asked").clip(upper_bound=pl.col("max-answer-tokens"))
                ).alias("min-answer-tokens")
            )
            .with_columns(
                # A tool did the work: the reply may be as short as the options allow, whatever was asked.
                pl.when(pl.col("tool"))
                .then(pl.lit(self.options.min_answer_tokens, dtype=pl.Int64))
                .otherwise(pl.col("min-answer-tokens"))
                .alias("min-answer-tokens")
            )
        )
        flags, scores = {}, []
        for part in ("question", "answer"):
            n = pl.col(f"{part[0]}_tokens")
            low, high = pl.col(f"min-{part}-tokens"), pl.col(f"max-{part}-tokens")
            # empty ones, invisible characters included, are DQ001's
            flags[f"_{part}_short"] = n.is_not_null() & (n > 0) & (n < low) & ~blank(pl.col(part))
            if part == "answer":
                # a question back before the conversation goes on ("好的，你想写什么?") is how it goes
                # on, not an answer cut short; as the last turn it is judged (DQ203 reads it too), and
                # so is a "why don't you..." that deflects the question instead of asking what it needs
                asks_back = pl.col("answer").str.contains(r"[?？]\s*\z") & ~pl.col("answer").str.contains(
                    r"(?i)\bwhy\b|为什么|为何|干嘛"
                )
                flags["_answer_short"] = flags["_answer_short"] & (pl.col("final") | ~asks_back)
            flags[f"_{part}_long"] = (n > high).fill_null(False)
            scores.append(
                pl.when(flags[f"_{part}_short"])
                .then(n / low)
                .when(flags[f"_{part}_long"])
                .then(high / n)
                .otherwise(pl.lit(1.0))
            )
        # a one-line answer that ends at a colon announces what it does not give ("Here is the list:"),
        # unless it is a line of code ("def gcd(x, y):", a signature asked for) or the colon closes an
        # emoji shortcode (":smiley_cat: :heart:")
        # (its costly tests read only on the few answers the cheap end test finds)
        cut = (
            ~pl.col("tool") & pl.col("answer").str.contains(r"[:：]\s*\z"),  # an end-anchored pattern: cheap
            ~pl.col("answer").str.contains(r"(?:^|\s):[A-Za-z0-9_+-]+:\s*\z")
            & ~pl.col("answer").str.strip_chars().str.contains("\n", literal=True)
            & ~pl.col("answer").str.strip_chars().str.contains(CODE_LINE),
        )
        frame = frame.with_columns(self._fragments(frame)).with_columns(**flags)
        frame = self._where(frame, "_answer_cut", *cut)
        frame = self._where(frame, "_answer_stops", *self._stops())
        frame = self._where(frame, "_answer_no_code", *self._no_code())
        frame = self._where(frame, "_answer_promise", *self._promises())
        # an answer that is one of the question's options was picked ("B. 检查结果" to a passage
        # whose "why" made it an explanation task), not written: never too short, and an option that
        # ends on "are" or "was" is not cut off; read only where it is short or stops
        short = frame.with_row_index("_k").filter(pl.col("_answer_short") | pl.col("_answer_stops"))
        if short.height:
            picked = short.filter(picked_choice(pl.col("question"), pl.col("answer"))).get_column("_k")
            unpicked = ~pl.col("_k").is_in(picked.implode())
            frame = (
                frame.with_row_index("_k")
                .with_columns(
                    _answer_short=pl.col("_answer_short") & unpicked, _answer_stops=pl.col("_answer_stops") & unpicked
                )
                .drop("_k")
            )
        scores.append(pl.when(pl.col("_fragment")).then(pl.lit(0.5)).otherwise(pl.lit(1.0)))
        scores.append(
            pl.when(
                pl.col("_answer_cut") | pl.col("_answer_stops") | pl.col("_answer_no_code") | pl.col("_answer_promise")
            )
            .then(pl.lit(0.5))
            .otherwise(pl.lit(1.0))
        )
        question_at_fault = pl.col("_fragment") | pl.col("_question_short") | pl.col("_question_long")
        answer_at_fault = (
            pl.col("_answer_short")
            | pl.col("_answer_long")
            | pl.col("_answer_cut")
            | pl.col("_answer_stops")
            | pl.col("_answer_no_code")
            | pl.col("_answer_promise")
        )
        judged = frame.with_columns(
            score=pl.min_horizontal(scores).cast(pl.Float64),
            passed=~(question_at_fault | answer_at_fault),
            turn=pl.when(question_at_fault).then(pl.col("question_turn")).otherwise(pl.col("turn")),
        )
        # Messages and evidence for the failing exchanges only: formatting every row costs more than judging it.
        failing = judged.filter(~pl.col("passed")).select(
            "_r", "turn", message=self._message(), evidence=self._evidence()
        )
        judged = judged.select("_r", "turn", "passed", "score").join(failing, on=["_r", "turn"], how="left")
        return worst_exchange(batch, judged)

    def _stops(self) -> tuple[pl.Expr, pl.Expr]:
        """Whether the answer was cut off mid-sentence (the pack's ``[cut]``): its last line is
        prose of ``min-words`` words or more (no list item, heading, table row or formula), outside
        code, that ends on a word no sentence ends on. As the rows to judge (the end test, cheap:
        an end-anchored pattern is read from the end) and the verdict on them (``_where``)."""
        if self.cut is None:
            return pl.lit(False), pl.lit(False)
        answer = pl.col("answer")
        last = answer.str.strip_chars().str.extract(r"([^\n]*)\z", 1)
        return (
            ~pl.col("tool") & answer.str.contains(self.cut.words),
            (last.str.count_matches(WORD_UNIT) >= self.cut.min_words)
            & ~last.str.contains(r"^\s*([-*•+#|>]|[0-9]{1,3}[.)、])|=")  # a list item, heading, table row or formula
            & (answer.str.count_matches("```", literal=True) % 2 == 0),
        )

    def _no_code(self) -> tuple[pl.Expr, pl.Expr]:
        """Whether a program was asked for (the pack's ``[program]``: "Implement a Python function
        ...", "Write a program to ...") and the answer holds no code at all: no fence, no inline
        code, no line of code (``CODE_LINE``, its line breaks also read where they are written as
        \\n: a text escaped twice still holds its program), only prose or steps about it. A reply
        after a tool call, and a question back before the conversation goes on, are not judged. As
        the rows to look at and the verdict on them: ``CODE_LINE`` is read only where a program was
        asked."""
        if self.program is None:
            return pl.lit(False), pl.lit(False)
        answer = pl.col("answer")
        asks_back = answer.str.contains(r"[?？]\s*\z") & ~pl.col("final")
        # "Please write the Excel function name for each description" asks for names, not a program
        names = "(?i)(?:" + self.program.removeprefix("(?i)") + r")\s+names?(?-u:\b)"
        request = pl.col("_request")
        asked = request.str.contains(self.program) & ~request.str.contains(names)
        asked = asked & ~pl.col("tool") & ~asks_back & ~blank(answer)
        lines = answer.str.replace_all("\\n", "\n", literal=True)
        return asked, ~answer.str.contains("`", literal=True) & ~lines.str.contains(CODE_LINE)

    def _promises(self) -> tuple[pl.Expr, pl.Expr]:
        """Whether the answer, the conversation's last, only takes the task on ("I can do that!",
        "Sure. Let's get started with your content!"; the pack's ``[promise]``), where the question
        did not ask for no more than that ("Reply OK when you are ready"). As the rows to look at
        (the anchored answer pattern fails fast) and the verdict on them."""
        if self.promise is None:
            return pl.lit(False), pl.lit(False)
        taken = (
            pl.col("final") & ~pl.col("tool") & pl.col("answer").str.strip_chars().str.contains(self.promise.answers)
        )
        invited = self.promise.invited
        return taken, ~pl.col("question").str.contains(invited) if invited else pl.lit(True)

    @staticmethod
    def _where(frame: pl.DataFrame, name: str, rows: pl.Expr, verdict: pl.Expr) -> pl.DataFrame:
        """``frame`` with the flag ``name``: ``verdict`` judged on the ``rows`` only."""
        frame = frame.with_row_index("_k")
        found = frame.filter(rows.fill_null(False))
        if found.height:
            found = found.filter(verdict.fill_null(False))
        return frame.with_columns(pl.col("_k").is_in(found.get_column("_k").implode()).alias(name)).drop("_k")

    def _message(self) -> pl.Expr:
        """Why an exchange fails: 'answer has 3 tokens, fewer than 10 (long-form task)'."""
        kind = pl.when(pl.col("_name").is_not_null()).then(pl.format(" ({} task)", "_name")).otherwise(pl.lit(""))
        # the length asked for decided the answer's minimum: say so
        sized = pl.col("_asked").is_not_null() & (pl.col("_asked") == pl.col("min-answer-tokens")) & ~pl.col("tool")
        named = pl.when(pl.col("_name").is_not_null()).then(pl.format("{} task, ", "_name")).otherwise(pl.lit(""))
        sized_kind = pl.when(sized).then(pl.format(' ({}"{}" asked)', named, "_size")).otherwise(kind)
        parts = []
        for part in ("question", "answer"):
            kind = sized_kind if part == "answer" else kind
            n = pl.col(f"{part[0]}_tokens")
            unit = pl.when(n == 1).then(pl.lit("token")).otherwise(pl.lit("tokens"))
            bound = pl.when(pl.col(f"_{part}_short"))
            problem = bound.then(
                pl.format("{} has {} {}, fewer than {}{}", pl.lit(part), n, unit, pl.col(f"min-{part}-tokens"), kind)
            ).when(pl.col(f"_{part}_long"))
            parts.append(
                problem.then(
                    pl.format("{} has {} {}, more than {}{}", pl.lit(part), n, unit, pl.col(f"max-{part}-tokens"), kind)
                )
            )
        fragment = pl.format(
            "question is a fragment: {} word(s), no request", pl.col("question").str.count_matches(r"[\p{L}\p{N}]+")
        )
        parts[0] = pl.when(pl.col("_fragment")).then(fragment).otherwise(parts[0])
        cut = pl.format("answer has {} tokens and stops at a colon: it announces what it does not give", "a_tokens")
        stops = pl.format(
            'answer stops mid-sentence ("{}"): it was cut off',
            pl.col("answer").str.strip_chars().str.extract(r"((?:\S+\s+){0,4}\S+)\z", 1).str.slice(-40),
        )
        no_code = pl.format(
            'a program is asked for ("{}"), the answer holds no code',
            pl.col("_request").str.extract(self.program or "$^", 0).str.slice(0, 60),
        )
        parts[1] = (
            pl.when(pl.col("_answer_short") | pl.col("_answer_long"))
            .then(parts[1])
            .when("_answer_cut")
            .then(cut)
            .when("_answer_stops")
            .then(stops)
            .when("_answer_no_code")
            .then(no_code)
            .when("_answer_promise")
            .then(pl.format('answer only takes the task on ("{}"): it gives nothing', snippet(pl.col("answer"), 60)))
        )
        return pl.concat_str(parts, separator="; ", ignore_nulls=True)

    def _evidence(self) -> pl.Expr:
        """What decided: the task and the words that matched it, each count against its bounds,
        and whether a tool did the work: 'long-form task ("Describe"); answer 3 tokens, bounds
        10-4096; question 9 tokens, bounds 1-any'."""
        task = (
            pl.when(pl.col("_task").is_not_null())
            .then(pl.format('{} task ("{}")', "_name", snippet(self._marker(), 40)))
            .otherwise(pl.lit("no task matched"))
        )
        tool = pl.when(pl.col("tool")).then(pl.lit(", a tool did the work")).otherwise(pl.lit(""))
        fragment = pl.format(
            'opening question "{}": {} word(s), {} CJK character(s) (a fragment has at most {} and {}), '
            "no question mark or end of sentence, no task, no request verb; {}",
            snippet(pl.col("question"), 40),
            pl.col("question").str.count_matches(r"[\p{L}\p{N}]+"),
            pl.col("question").str.count_matches(_CJK),
            pl.lit(self.fragment.max_words if self.fragment else 0),
            pl.lit(self.fragment.max_cjk_chars if self.fragment else 0),
            pl.when(
                pl.col("answer").str.strip_chars().str.to_lowercase()
                == pl.col("question").str.strip_chars().str.to_lowercase()
            )
            .then(pl.lit("the answer only repeats it"))
            .otherwise(pl.lit("a piece of other text")),
        )
        counts = pl.format(
            "{}{}; answer {} tokens, bounds {}-{}; question {} tokens, bounds {}-{}",
            task,
            tool,
            pl.col("a_tokens").fill_null(0),
            "min-answer-tokens",
            "max-answer-tokens",
            pl.col("q_tokens").fill_null(0),
            "min-question-tokens",
            pl.col("max-question-tokens").cast(pl.String).fill_null("any"),
        )
        return pl.when(pl.col("_fragment")).then(fragment).otherwise(counts)


@hookimpl
def dqe_register_rules(register):
    register(LengthBounds)
