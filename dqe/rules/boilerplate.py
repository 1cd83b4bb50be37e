"""DQ203 boilerplate: AI disclaimers, refusals, apologies, hedges without content and requests for
input given instead of an answer, judged on every assistant turn."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
from pydantic import Field

from dqe import (
    ConfigError,
    RecordRule,
    RuleOptions,
    check_regex,
    exchanges,
    hookimpl,
    marker_pattern,
    marker_patterns,
    pack_languages,
    pack_value,
    selected_names,
    snippet,
    string_list,
    without_trace,
    worst_exchange,
)

PACK = "boilerplate"
_KEYS = {
    "label",
    "where",
    "turns",
    "short-only",
    "no-content",
    "other-voice",
    "self-question",
    "harmful-request",
    "in-tool-use",
    "cast-character",
    "in-scene",
}
_CHOICES = {
    "where": ("anywhere", "start"),
    "turns": ("all", "final"),
    "other-voice": ("check", "first-sentence", "skip"),
    "self-question": ("check", "skip"),
    "harmful-request": ("check", "skip"),
    "in-tool-use": ("check", "skip", "unless-tool-reason"),
    "cast-character": ("check", "first-sentence"),
    "in-scene": ("check", "skip"),
}
_STRUCTURE = ("subject", "inability", "task")
# How far into a turn a category with `unanswered` patterns matches anyway: a greeting and a
# sentence ("I'd be glad to help, but there is no text to summarize."), not an answer.
LEAD_CHARS = 80
_HOW = {"phrase": "phrase", "structure": "first person + inability + task"}
_FIRST_SENTENCE = r"^[^.!?。！？\n]*[.!?。！？]?"
# The text a question gives to work on: what it quotes, what follows its first line (an Alpaca
# input) and what follows the colon of a one-line task ("Translate: ..."). A category that matches
# there is the material of a rewrite, a translation or a summary.
# The name a system prompt gives the assistant: "whose name is MOSS", "你名叫小智".
_GIVEN_NAME = (
    r"(?i)(?:your name is|whose name is|you are called|you are named|you're called|名叫|名字是|名字叫|你叫|叫做)"
    r"\s*[\"“'「]?([a-z][\w-]{1,24}|\p{Han}{2,8})"
)
# The character a system prompt casts ("Answer in Dr. Hannibal Lecter's voice", "你是李白。",
# "扮演孙悟空"), and the words of its name a question speaks to it by ("Dr. Lecter, ...", "Po, ...").
_CAST_NAMES = (
    r"(?i)\b(?:in|with) ([^!?\n]{1,40}?)'s? (?:own )?(?:voice|persona)",
    r"你是([^，。！？,\s]{1,12}?)[。，,！!]",
    r"扮演([^，。！？,\s]{1,12}?)[。，,！!]",
)
_NAME_WORD = r"\p{Lu}[\w'-]+|\p{Han}{2,}"
_QUOTED = r"\"[^\"\n]{8,}\"|“[^”\n]{8,}”|‘[^’\n]{8,}’|「[^」\n]{8,}」|『[^』\n]{8,}』|'[^\n]{8,}?'(?:[\s.,;:!?)]|$)"
_WORDS = r"[a-zA-Z\u00C0-\u024F\u0370-\u04FF]{3,}"  # Latin, Greek, Cyrillic words; two Chinese characters make one
_HAN = r"[\u4E00-\u9FFF]"


def _has_han(word: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in word)


_STEP = r"(?m)^\s*(?:\d+[.)、]|[-*•])\s*\S"
_NO_TOOLS = ("", "[]", "{}", "null")
_CONTENT_CHARS = 600  # a turn this long holds content by any measure: no hedge without content
_JUDGED = {
    "_r": pl.UInt32,
    "turn": pl.Int32,
    "passed": pl.Boolean,
    "score": pl.Float64,
    "message": pl.String,
    "evidence": pl.String,
}


class BoilerplateOptions(RuleOptions):
    skip_categories: list[str] = Field(
        default_factory=list,
        description="categories of the `boilerplate` pack not to check: disclaimer, refusal, apology, hedge, "
        "asks-for-input",
    )
    head_chars: int = Field(200, ge=1, description="how far into a turn a 'start' category looks, in characters")
    short_chars: int = Field(
        300, ge=1, description="turns shorter than this count as short (for 'short-only' categories)"
    )
    min_content_words: int = Field(
        5,
        ge=1,
        description="a 'no-content' category (hedge) fails a turn only when, its matches and filler words left "
        "out, fewer words than this remain (two Chinese characters count one word), no number and no list of steps",
    )


class Part(NamedTuple):
    how: str  # what the evidence says matched: a fixed phrase, or the refusal's structure
    pattern: str
    scans: tuple[str, ...]  # the pattern of each language: a turn matches one exactly when it matches ``pattern``
    needs: str | None = None  # a small pattern every match holds, to scan the large one less


class BoilerplateCategory(NamedTuple):
    name: str
    label: str
    parts: tuple[Part, ...]
    idioms: str | None  # removed from a turn before the parts are matched
    invited: str | None  # a question that asks for this category's words: "ask me three questions"
    filler: tuple[str, ...]  # words without content, for 'no-content' categories (plain words, lower case)
    start: bool
    # what a turn says before a request when it gives no answer ("not possible without more
    # context"): a match past the turn's first LEAD_CHARS counts only after it
    unanswered: str | None
    final_only: bool
    short_only: bool
    no_content: bool
    other_voice: str
    # as other_voice's "first-sentence", for a question to the character a system prompt casts
    cast_first_sentence: bool
    self_question: bool  # looks at answers to questions about the assistant itself
    harmful_request: bool  # looks at answers to requests for harm (a crime, a weapon, hurting someone)
    in_tool_use: str
    in_scene: bool  # looks at a cast character's lines in a scene the other characters speak

    @property
    def pattern(self) -> str:
        return "|".join(f"(?:{p.pattern})" for p in self.parts)


def _structure(pack: dict, base: str, pack_name: str) -> Part | None:
    """One pattern for the subject + inability + task sequences of a category's language tables,
    with the alternation of their inabilities as what every match needs."""
    found, inabilities = [], []
    for lang, table in pack_languages(pack, base, pack_name).items():
        present = [key for key in _STRUCTURE if key in table]
        if not present:
            continue
        if len(present) < len(_STRUCTURE):
            raise ConfigError(
                f"rule pack '{pack_name}': '{base}.{lang}' needs all of subject, inability and task "
                f"(it has {', '.join(present)})"
            )
        lists = {key: string_list(pack, f"{base}.{lang}.{key}", pack_name) for key in (*_STRUCTURE, "adverbs")}
        for key, entries in lists.items():
            for entry in entries:
                check_regex(entry, f"rule pack '{pack_name}', '{base}.{lang}.{key}'")
        adverbs = "|".join(f"(?:{a})" for a in lists["adverbs"])
        gap = r"\s*" + (rf"(?:(?:{adverbs})\s*){{0,2}}" if adverbs else "")
        body = gap.join("(?:" + "|".join(f"(?:{e})" for e in lists[key]) + ")" for key in _STRUCTURE)
        if pack_value(pack, f"{base}.{lang}.boundaries", pack_name, bool, default=False):
            body = rf"(?-u:\b{{start-half}}){body}(?-u:\b{{end-half}})"
        found.append(body)
        inabilities += lists["inability"]
    if not found:
        return None
    pattern = check_regex("(?i)" + "|".join(found), f"rule pack '{pack_name}', '{base}.*' subject + inability + task")
    scans = tuple(f"(?i){body}" for body in found)
    return Part(_HOW["structure"], pattern, scans, "(?i)" + "|".join(f"(?:{e})" for e in inabilities))


def _choice(pack: dict, base: str, key: str, default: str, pack_name: str) -> str:
    value = pack_value(pack, f"{base}.{key}", pack_name, str, default=default)
    if value not in _CHOICES[key]:
        allowed = " or ".join(f'"{c}"' for c in _CHOICES[key])
        raise ConfigError(f"rule pack '{pack_name}': '{base}': '{key}' must be {allowed}, got {value!r}")
    return value


def load_categories(pack: dict, pack_name: str = PACK) -> list[BoilerplateCategory]:
    """The pack's categories in file order; keys and patterns checked."""
    out = []
    for name, table in pack_value(pack, "categories", pack_name, dict).items():
        base = f"categories.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"rule pack '{pack_name}': '{base}' must be a table")
        unknown = sorted(k for k, v in table.items() if not isinstance(v, dict) and k not in _KEYS)
        if unknown:
            raise ConfigError(
                f"rule pack '{pack_name}': unknown key '{base}.{unknown[0]}' (keys: {', '.join(sorted(_KEYS))})"
            )
        phrase = marker_pattern(pack, base, "patterns", pack_name)
        phrases = phrase and Part(_HOW["phrase"], phrase, tuple(marker_patterns(pack, base, "patterns", pack_name)))
        parts = [p for p in (phrases, _structure(pack, base, pack_name)) if p]
        if not parts:
            continue
        out.append(
            BoilerplateCategory(
                name=name,
                label=pack_value(pack, f"{base}.label", pack_name, str, default=name),
                parts=tuple(parts),
                idioms=marker_pattern(pack, base, "idioms", pack_name),
                invited=marker_pattern(pack, base, "invited", pack_name),
                filler=tuple(
                    word.lower()
                    for lang in pack_languages(pack, base, pack_name)
                    for word in string_list(pack, f"{base}.{lang}.filler", pack_name)
                ),
                start=_choice(pack, base, "where", "anywhere", pack_name) == "start",
                unanswered=marker_pattern(pack, base, "unanswered", pack_name),
                final_only=_choice(pack, base, "turns", "all", pack_name) == "final",
                short_only=pack_value(pack, f"{base}.short-only", pack_name, bool, default=False),
                no_content=pack_value(pack, f"{base}.no-content", pack_name, bool, default=False),
                other_voice=_choice(pack, base, "other-voice", "check", pack_name),
                cast_first_sentence=_choice(pack, base, "cast-character", "check", pack_name) == "first-sentence",
                self_question=_choice(pack, base, "self-question", "check", pack_name) == "check",
                harmful_request=_choice(pack, base, "harmful-request", "check", pack_name) == "check",
                in_tool_use=_choice(pack, base, "in-tool-use", "check", pack_name),
                in_scene=_choice(pack, base, "in-scene", "check", pack_name) == "check",
            )
        )
    return out


class Boilerplate(RecordRule):
    """Judges every assistant turn against the categories of the `boilerplate` rule pack, English
    and Chinese; a reasoning trace before the reply (``<think>...</think>``) is reasoning, not what
    the user reads, and is left out. AI disclaimers anywhere: the assistant speaking of itself as an AI ("As an AI
    language model, I...", "I'm an AI assistant, so unable to...", "作为一个人工智能助手，我...").
    Refusals near the start of a turn, by their structure (first person, then inability or
    unwillingness, then the task: "I'm afraid I can't help with that", "we are not able to
    provide", "I'm not comfortable writing that", "我目前无法为您提供") or a fixed phrase ("that's
    beyond my capabilities", "I'll have to pass"); figures of speech built the same way are removed
    first ("I can't help but notice", "I cannot stress enough", "我不得不说"). Apologies that open a
    short turn with an inability ("Sorry, I don't know"); one that goes on to correct the question
    is an answer. Hedges without content: a turn that, its hedges ("it depends on the situation",
    "consult a professional", "因人而异") and filler words left out, holds fewer than
    `min-content-words` words, no number and no list of steps; a long answer that ends with
    "consult a professional" passes. Final answers that ask for the input the instruction forgot
    ("Please provide the text", "您没有提供..."), unless the question told the assistant to ask
    ("Ask me one question at a time", "你需要问我这三个问题": a category's `invited` list).

    What the assistant says in another voice is content: when the question asks for a letter, a
    story, a dialogue or a role, refusals and disclaimers count only in the answer's first
    sentence and only where the assistant steps out of the voice (an apology, a word about the
    request, calling itself an AI where the question did not cast it as one), never after a
    salutation; apologies and requests for input not at all. A question that speaks by name to the
    character a system prompt casts ("You are Po. Answer in Po's voice", then "Po, what is your
    dad's secret?") asks about the character's own life: its refusals count only so, in the first
    sentence where it steps out (an apology, a word about the question), and "I cannot create new
    memories" is Leonard Shelby's condition; so does a question written as lines of a scene the
    other characters speak ("Umbridge：「…」": the answer is the character's next line), where an
    apology or a hedge is dialogue too ("That depends." before "On what?"); a general task put to
    the character is still a task. A match the question holds word for
    word, or one of the same category in the text the question gives to work on (quoted, its
    input, what follows its colon), belongs to that text: rewriting "I can't help you" is no
    refusal. An answer to a question about the assistant itself ("What can you do?", "你是谁？",
    "您能做什么？") may say it is an AI, and one about its nature, senses or life ("Do you have a sense of
    balance?", "你人生中的使命是什么") is answered by saying what it is; one about its likes
    ("What's your favourite season?") or a hypothetical one ("If you had superpowers, how would
    your life change?") asks it to play along. A request for harm (a crime, a weapon, hurting
    someone: the pack's `[harmful-requests]`), in the question or an earlier user turn of the
    conversation, is declined rightly: a refusal or a disclaimer there is what safety data
    teaches. Tool-use data (a `tools` field, tool calls or results, or a system prompt or question
    that lists functions) teaches a model to decline what its tools cannot do: a turn
    that declines and gives a tool reason (it names its tools, functions or capabilities, or
    offers what it can do instead) passes, disclaimer included; other refusals and disclaimers
    fail there as anywhere else, and asking for missing arguments is how tool use goes. A system
    prompt that tells the assistant what to decline (the pack's `policy`: "Never give legal
    advice", an agent's "You should deny user requests that are against this policy") makes
    declining it policy: refusals and disclaimers of that record pass. The
    system prompt and tool schemas are context, not judged. Each finding names its turn; its
    evidence names the category, the span and what decided (the phrase, the structure, or the
    words of content a hedge left)."""

    code = "DQ203"
    name = "boilerplate"
    summary = "AI disclaimers, refusals, apologies, hedges without content or requests for input instead of an answer"
    why = (
        "Boilerplate answers teach a model to refuse, hedge and talk about itself instead of "
        "doing the task; they are the most common residue of data distilled from chat models, "
        "and an answer that asks for the missing input marks an instruction that lost its input."
    )
    example = (
        '{"instruction": "Design a logo.", "output": "I\'m sorry, I am an AI language model and I '
        "do not possess the ability to create visual graphics.\"} fails: 'answer: AI disclaimer: "
        '"I am an AI language model and I do not"\', evidence \'AI disclaimer: "I am an AI language model '
        'and I do not" (phrase)\'. "It depends on the specific situation; a qualified professional should '
        'assess the details." fails with evidence \'hedge without content: "It depends" (0.0 word(s) of content '
        "outside 2 hedge(s), fewer than 5; no number, no list of steps)'."
    )
    Options = BoilerplateOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        pack = context.pack(PACK)
        found = load_categories(pack)
        skipped = selected_names({c.name: c for c in found}, options.skip_categories, "rules.DQ203.skip-categories")
        self.categories = [c for c in found if c.name not in skipped]
        self.voice = marker_pattern(pack, "voice", "patterns", PACK)
        self.cast = marker_pattern(pack, "voice", "cast", PACK)
        self.scene = marker_pattern(pack, "voice", "scene", PACK)
        self.salutation = marker_pattern(pack, "voice", "salutations", PACK)
        self.breaks = marker_pattern(pack, "voice", "breaks", PACK)
        self.self_breaks = marker_pattern(pack, "voice", "self-breaks", PACK)
        self.ai_roles = marker_pattern(pack, "voice", "ai-roles", PACK)
        self.self_questions = marker_pattern(pack, "self-questions", "patterns", PACK)
        self.hypothetical = marker_pattern(pack, "self-questions", "hypothetical", PACK)
        self.harmful = marker_pattern(pack, "harmful-requests", "patterns", PACK)
        self.tool_context = marker_pattern(pack, "tool-use", "context", PACK)
        self.tool_reasons = marker_pattern(pack, "tool-use", "reasons", PACK)
        self.policy = marker_pattern(pack, "policy", "patterns", PACK)

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        turns = exchanges(batch).with_row_index("_t")
        # a reasoning trace is not what the user reads: the reply after it is judged
        turns = turns.with_columns(answer=without_trace(turns["answer"]))
        # A first pass finds the few candidate turns, part by part (polars keeps a few dozen compiled
        # patterns: the same strings are matched again below, never new combinations of them); a
        # large pattern with a small one it needs (the refusal's structure, its inabilities) scans
        # only the turns the small one finds. Idioms, voice, tool use and content are weighed on
        # the candidates alone.
        flags: dict[str, pl.Series] = {}
        lengths = turns["answer"].str.len_chars()
        for i, c in enumerate(self.categories):
            scanned = self._scanned(self._extent(c))
            # Only turns short enough to fail it: a short-only category's, and a no-content
            # one's (a turn of _CONTENT_CHARS holds content by any measure).
            limit = min([self.options.short_chars] * c.short_only + [_CONTENT_CHARS] * c.no_content, default=None)
            gated = turns if limit is None else turns.filter(lengths < limit)
            for k, part in enumerate(c.parts):
                maybe = gated if part.needs is None else gated.filter(scanned.str.contains(part.needs))
                # language by language: some unions of them take several times as long to scan
                found = pl.any_horizontal(scanned.str.contains(scan) for scan in part.scans)
                flags[f"_p{i}_{k}"] = turns["_t"].is_in(maybe.filter(found)["_t"].implode())
        candidates = (
            turns.with_columns(**flags)
            .with_columns(
                **{
                    f"_c{i}": pl.any_horizontal(f"_p{i}_{k}" for k in range(len(c.parts)))
                    for i, c in enumerate(self.categories)
                }
            )
            .filter(pl.any_horizontal(f"_c{i}" for i in range(len(self.categories))) if flags else pl.lit(False))
        )
        return worst_exchange(batch, self._judge(batch, candidates))

    def _extent(self, c: BoilerplateCategory) -> int | None:
        """How many characters of a turn the first pass scans for ``c`` (None: all): its head
        for a 'start' category; the turns of a 'short-only' or 'no-content' one are short."""
        return self.options.head_chars if c.start else None

    @staticmethod
    def _scanned(extent: int | None) -> pl.Expr:
        text = pl.col("answer")
        return text if extent is None else text.str.slice(0, extent)

    def _judge(self, batch: pl.DataFrame, turns: pl.DataFrame) -> pl.DataFrame:
        """The failing candidate turns: ``_r, turn, passed, score, message, evidence``."""
        o = self.options
        if turns.is_empty():
            return pl.DataFrame(schema=_JUDGED)
        question = pl.col("question")
        turns = turns.with_columns(
            _tool=self._tool_use(batch, turns),
            _policy=self._policy(batch, turns),
            _named=self._named(batch, turns),
            _harm=self._asked_harm(batch, turns),
            _other=self._other_voice(turns),
            _scene=self._scene(batch, turns),
            _cast=self._addressed(batch, turns),
            _q=question.str.to_lowercase(),
            _material=pl.concat_str(
                question.str.extract_all(_QUOTED).list.join("\n"),
                question.str.splitn("\n", 2).struct.field("field_1").fill_null(""),
                question.str.extract(r"^[^\n]*?[:：]\s*(\S[^\n]*)$", 1).fill_null(""),
                separator="\n",
            ),
        )
        text = pl.col("answer")
        head = text.str.slice(0, o.head_chars)
        first = head.str.extract(_FIRST_SENTENCE, 0).fill_null("")
        steps_out = first.str.contains(self.breaks) if self.breaks is not None else pl.lit(False)
        if self.self_breaks is not None:
            cast_as_ai = question.str.contains(self.ai_roles) if self.ai_roles is not None else pl.lit(False)
            steps_out = steps_out | (first.str.contains(self.self_breaks) & ~cast_as_ai)
        first = pl.when(steps_out).then(first).otherwise(pl.lit(""))
        if self.salutation is not None:
            first = pl.when(text.str.contains(self.salutation)).then(pl.lit("")).otherwise(first)
        reason = text.str.contains(self.tool_reasons) if self.tool_reasons is not None else pl.lit(False)
        turns = turns.with_columns(_first=first, _reason=reason).join(self._content(turns), on="_t", how="left")
        # Each stage is its own column: an eager frame computes an expression as often as it appears.
        sources = {}
        for i, c in enumerate(self.categories):
            source = head if c.start else text
            if c.other_voice == "first-sentence" or c.cast_first_sentence:
                voiced = pl.col("_other") if c.other_voice == "first-sentence" else pl.lit(False)
                if c.cast_first_sentence:
                    voiced = voiced | pl.col("_cast") | pl.col("_scene")
                source = pl.when(voiced).then(pl.col("_first")).otherwise(source)
            if c.idioms is not None:
                source = source.str.replace_all(c.idioms, " ~ ")
            for k, part in enumerate(c.parts):
                sources[f"_m{i}_{k}"] = pl.when(pl.col(f"_c{i}")).then(source.str.extract(part.pattern, 0))
                if c.unanswered is not None:  # the text before that match
                    before = source.str.extract(f"(?s)^(.*?)(?:{part.pattern})", 1)
                    sources[f"_before{i}_{k}"] = pl.when(pl.col(f"_c{i}")).then(before)
        turns = turns.with_columns(**sources).with_columns(
            **{
                f"_m{i}": pl.coalesce([f"_m{i}_{k}" for k in range(len(c.parts))])
                for i, c in enumerate(self.categories)
            },
            **{
                f"_before{i}": pl.coalesce([f"_before{i}_{k}" for k in range(len(c.parts))])
                for i, c in enumerate(self.categories)
                if c.unanswered is not None
            },
        )
        hits, hows = {}, {}
        for i, c in enumerate(self.categories):
            matched = pl.col(f"_m{i}")
            # A match the question holds word for word, or one of the same category in the material
            # the question gives, is that material's, not the assistant's.
            hit = (
                matched.is_not_null()
                & ~pl.col("_q").str.contains(matched.str.to_lowercase(), literal=True)
                & ~pl.any_horizontal(pl.col("_material").str.contains(p.pattern) for p in c.parts)
            )
            if c.final_only:
                hit = hit & pl.col("final")
            if c.invited is not None:
                hit = hit & ~question.str.contains(c.invited)
            if c.short_only:
                hit = hit & (text.str.len_chars() < o.short_chars)
            if c.unanswered is not None:  # a request that closes an answer given is an offer
                before = pl.col(f"_before{i}")
                said = before.str.contains(c.unanswered)
                hit = hit & ((before.str.len_chars() < LEAD_CHARS) | said).fill_null(False)
            if c.other_voice == "skip":
                hit = hit & ~pl.col("_other")
            if not c.in_scene:
                hit = hit & ~pl.col("_scene")
            if not c.self_question and self.self_questions is not None:
                asks_itself = question.str.contains(self.self_questions) | pl.col("_named")
                if self.hypothetical is not None:
                    asks_itself = asks_itself & ~question.str.contains(self.hypothetical)
                hit = hit & ~asks_itself
            if not c.harmful_request:
                hit = hit & ~pl.col("_harm")
            if c.in_tool_use == "skip":
                hit = hit & ~pl.col("_tool")
            elif c.in_tool_use == "unless-tool-reason":
                hit = hit & ~(pl.col("_tool") & pl.col("_reason")) & ~pl.col("_policy")
            if c.no_content:
                hit = hit & pl.col(f"_empty{i}").fill_null(False)
                how = pl.format(
                    "{} word(s) of content outside {} hedge(s), fewer than {}; no number, no list of steps",
                    pl.col(f"_words{i}").round(1),
                    pl.col(f"_hedges{i}"),
                    pl.lit(o.min_content_words),
                )
            else:
                how = pl.coalesce(
                    [pl.when(pl.col(f"_m{i}_{k}").is_not_null()).then(pl.lit(p.how)) for k, p in enumerate(c.parts)]
                )
            hits[f"_h{i}"] = hit
            hows[f"_how{i}"] = how
        turns = turns.with_columns(**hits).filter(pl.any_horizontal(list(hits)))
        messages, evidence = [], []
        for i, c in enumerate(self.categories):
            quoted = pl.format('{}: "{}"', pl.lit(c.label), snippet(pl.col(f"_m{i}"), 60))
            messages.append(pl.when(pl.col(f"_h{i}")).then(quoted))
            evidence.append(pl.when(pl.col(f"_h{i}")).then(pl.format("{} ({})", quoted, hows[f"_how{i}"])))
        where = (
            pl.when(pl.col("final")).then(pl.lit("answer")).otherwise(pl.format("assistant turn {}", pl.col("turn")))
        )
        return turns.select(
            "_r",
            "turn",
            passed=pl.lit(False),
            score=pl.lit(0.0),
            message=pl.format("{}: {}", where, pl.coalesce(messages)),
            evidence=pl.concat_str(evidence, separator="; ", ignore_nulls=True),
        )

    def _content(self, turns: pl.DataFrame) -> pl.DataFrame:
        """For each 'no-content' category, per turn: ``_hedges{i}`` (its matches the question does
        not hold), ``_words{i}`` (words left once matches and filler are out) and ``_empty{i}``
        (a match of its own, too few words, no number, no list of steps)."""
        out = turns.select("_t")
        for i, c in enumerate(self.categories):
            if not c.no_content:
                continue
            flagged = turns.filter(pl.col(f"_c{i}"))
            spans = (
                flagged.select(
                    "_t", "_q", span=pl.concat_list([pl.col("answer").str.extract_all(p.pattern) for p in c.parts])
                )
                .explode("span")
                .drop_nulls("span")
                .group_by("_t")
                .agg((~pl.col("_q").str.contains(pl.col("span").str.to_lowercase(), literal=True)).sum().alias("own"))
            )
            rest = pl.col("answer")
            for part in c.parts:
                rest = rest.str.replace_all(part.pattern, " ")
            # Filler out without one more large pattern: Chinese words by a literal search, spaced
            # words by a look-up of each.
            han_filler = [w for w in c.filler if _has_han(w)]
            if han_filler:
                rest = rest.str.replace_many(han_filler, [" "] * len(han_filler))
            spaced_filler = [w for w in c.filler if not _has_han(w)]
            # the rest is a column: an eager frame would work it out again for each expression reading it
            flagged = flagged.with_columns(_rest=rest)
            rest = pl.col("_rest")
            words = rest.str.to_lowercase().str.extract_all(_WORDS)
            stats = (
                flagged.select(
                    "_t",
                    _w=words.list.eval(pl.element().is_in(spaced_filler).not_()).list.sum()
                    + rest.str.count_matches(_HAN) / 2,
                    _n=rest.str.contains(r"\p{N}"),
                    _s=pl.col("answer").str.count_matches(_STEP),
                )
                .join(spans, on="_t", how="left")
                .select(
                    "_t",
                    pl.col("own").fill_null(0).alias(f"_hedges{i}"),
                    pl.col("_w").alias(f"_words{i}"),
                    (
                        (pl.col("own").fill_null(0) > 0)
                        & (pl.col("_w") < self.options.min_content_words)
                        & ~pl.col("_n")
                        & (pl.col("_s") < 2)
                    ).alias(f"_empty{i}"),
                )
            )
            out = out.join(stats, on="_t", how="left")
        return out

    @staticmethod
    def _named(batch: pl.DataFrame, turns: pl.DataFrame) -> pl.Series:
        """Turns whose question names the assistant by the name its system prompt gives it ("You
        are an AI assistant whose name is MOSS", then "How does MOSS interact with its
        environment?"): a question about the assistant itself, as one that says "you"."""
        name = batch["system"].fill_null("").str.extract(_GIVEN_NAME, 1).str.to_lowercase().gather(turns["_r"])
        asked = pl.DataFrame({"question": turns["question"].str.to_lowercase(), "name": name})
        return asked.select(
            pl.col("name").is_not_null() & pl.col("question").str.contains(pl.col("name"), literal=True)
        ).to_series()

    def _asked_harm(self, batch: pl.DataFrame, turns: pl.DataFrame) -> pl.Series:
        """Turns that answer a request for harm: in the question, or in an earlier user turn of the
        conversation ("How do I break into his car?", then "I just do. Tell me."): a follow-up
        carries the request it follows."""
        if self.harmful is None:
            return pl.Series([False] * turns.height)
        asked = turns["question"].str.contains(self.harmful)
        earlier = (
            pl.DataFrame(
                {"_t": turns["_t"], "_q": turns["question_turn"], "_turns": batch["turns"].gather(turns["_r"])}
            )
            .filter(pl.col("_q") > 1)
            .explode("_turns")
            .with_columns(_pos=pl.int_range(1, pl.len() + 1).over("_t"))
            .unnest("_turns")
            .filter((pl.col("role") == "user") & (pl.col("_pos") < pl.col("_q")))
            .group_by("_t")
            .agg(_before=pl.col("content").str.contains(self.harmful).any())
        )
        before = turns.select("_t").join(earlier, on="_t", how="left")["_before"].fill_null(False)
        return asked | before

    def _policy(self, batch: pl.DataFrame, turns: pl.DataFrame) -> pl.Series:
        """Turns of records whose system prompt tells the assistant what to decline ("Never give
        investment advice. Explain that you can't"): declining it is following the prompt."""
        if self.policy is None:
            return pl.Series([False] * turns.height)
        system = batch["system"].fill_null("").gather(turns["_r"])
        return system.str.contains(self.policy)

    def _tool_use(self, batch: pl.DataFrame, turns: pl.DataFrame) -> pl.Series:
        """Turns of tool-use data: a ``tools`` field, a tool call or result among the record's turns,
        a tool call before this answer, or a system prompt or question that lists functions."""
        rows = batch.select("tools", "turns", "system")[turns["_r"].to_list()].select(
            tools=pl.col("tools").str.strip_chars().is_in(_NO_TOOLS).not_().fill_null(False),
            calls=pl.col("turns").list.eval(pl.element().struct.field("role").is_in(["tool_call", "tool"])).list.any(),
            system=pl.col("system").fill_null(""),
        )
        found = rows["tools"] | rows["calls"].fill_null(False) | turns["tool"]
        if self.tool_context is not None:
            found = (
                found
                | rows["system"].str.contains(self.tool_context)
                | turns["question"].str.contains(self.tool_context)
            )
        return found

    def _addressed(self, batch: pl.DataFrame, turns: pl.DataFrame) -> pl.Series:
        """Turns whose system prompt casts the assistant as a named character ("You are Po. Answer
        in Po's voice") and whose question speaks to that character by name ("Po, what is your
        dad's secret?"): the question asks the character about its own life."""
        if self.cast is None:
            return pl.Series([False] * turns.height)
        system = batch["system"].fill_null("").gather(turns["_r"])
        name = pl.coalesce([pl.col("system").str.extract(p, 1) for p in _CAST_NAMES])
        asked = (
            pl.DataFrame({"_t": turns["_t"], "system": system, "question": turns["question"]})
            .filter(pl.col("system").str.contains(self.cast))
            .select("_t", "question", word=name.str.extract_all(_NAME_WORD))
            .explode("word")
            .drop_nulls("word")
            .group_by("_t")
            .agg(_named=pl.col("question").str.contains(pl.col("word"), literal=True).any())
        )
        return turns.select("_t").join(asked, on="_t", how="left")["_named"].fill_null(False)

    def _scene(self, batch: pl.DataFrame, turns: pl.DataFrame) -> pl.Series:
        """Turns whose system prompt casts the assistant as a character and whose question is
        lines of a scene the other characters speak ("Penny：「Hi.」"): the answer is the
        character's next line."""
        if self.cast is None or self.scene is None:
            return pl.Series([False] * turns.height)
        system = batch["system"].fill_null("").gather(turns["_r"])
        return system.str.contains(self.cast) & turns["question"].str.contains(self.scene)

    def _other_voice(self, turns: pl.DataFrame) -> pl.Series:
        """Turns whose question asks for a text in another voice: a letter, a story, a role."""
        if self.voice is None:
            return pl.Series([False] * turns.height)
        return turns["question"].str.contains(self.voice)


@hookimpl
def dqe_register_rules(register):
    register(Boilerplate)
