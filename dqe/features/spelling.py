"""Misspelled words in every answer, looked up in pyspellchecker's word lists.

pyspellchecker (pure Python, no dependencies) ships word-frequency lists for twelve languages
(ar, de, en, es, eu, fa, fr, it, lv, nl, pt, ru) built from subtitles and Wikipedia, with common
misspellings ("recieve", "teh") left out; wordfreq keeps them (it counts the web as written) and
symspellpy's English list has half the words. Only the lists are used: a word is misspelled when
its language's list lacks it. Every distinct word of a batch is looked up once, in a few polars
lookups that hash the batch's words, not the list; a list is read the first time a batch holds
a turn in its language, and kept as Arrow in dqe's disk cache (a third of a second to parse the
JSON, a few milliseconds to read the cache).

Words are judged only where a misspelling is a mistake of the writer: assistant turns in a
language with a list (a turn too short to tell takes its question's language, or the record's),
Markdown code, lines of code outside fences, quoted strings and reasoning traces left out, and only words of
lower-case letters (an apostrophe allowed): names and sentence openings (capitalised), acronyms,
identifiers (``snake_case``, ``camelCase``, digits), URLs, paths, e-mail addresses and numbers
are not looked up. A word the record says more often than this answer's prose does (in the
question, the system prompt, another turn or the answer's own code) is a term of the record, not
a slip. The `spelling` pack adds words a domain uses, prefixes, the rewrites that map a spelling
variant to the listed one (British "colour", "organise" to "color", "organize") and the endings
taken off before a lookup.

Columns, per record: ``spelling_turns`` (per judged assistant turn: ``turn``, ``final``, ``language``,
``words`` looked up, ``misspelled``: each misspelled word as often as it occurs), and
``spelling_words`` / ``spelling_misspelled`` (their sums), kept for the data set's share.
"""

from __future__ import annotations

import gzip
import io
import json
from functools import cache
from importlib import metadata, resources
from typing import Any

import polars as pl

from dqe import (
    UNDETERMINED_LANGUAGE,
    ConfigError,
    Feature,
    check_regex,
    diskcache,
    exchanges,
    pack_languages,
    pack_value,
    string_list,
    without_code,
    without_trace,
)
from dqe.hookspecs import hookimpl

PACK = "spelling"
_LIBRARY = "pyspellchecker"

# What is not prose: URLs, e-mail addresses, paths, @handles and #tags, and quoted strings.
# Quoted strings: what a text quotes is not its own spelling. URLs, paths, e-mail addresses and
# handles need no pattern: a word with "://", "/", "@" or a dot inside is no word of letters.
_QUOTED = (
    r"\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|‘[^’\n]{1,200}’|«[^»\n]{1,200}»"
    r"|(?:^|\s)'[^\n]{1,200}?'(?:\s|[.,;:!?)]|$)"
)
# A line of code outside Markdown fences: a statement's end or a brace, a keyword opening the line,
# a call, an operator of code, a shell variable, a block's closing keyword alone on its line.
_CODE_LINE = (
    r"[;{}][ \t]*$|^[ \t]*(?:#include|//|/\*|#!|\$ |>>> |import |from \S+ import|def |class |return\b|elif\b|"
    r"print\(|console\.|function\b|public |private |static |const |var |let |int |void |std::)|"
    r"[A-Za-z_]\w+\(|==|::|->|=>|</?\w+>|\$[A-Za-z_{(@#?]|^[ \t]*(?:do|done|fi|then|esac|end|else|elsif)[ \t]*$"
)
_PUNCTUATION = ".,;:!?()[]{}<>\"'“”‘’«»…*_~|=+"
_WORD = r"^\p{Ll}+(?:'\p{Ll}+)*$"  # lower-case letters, an apostrophe inside: "don't"
_MIN_LETTERS = 3  # "a", "an", "of": too short to be told from an abbreviation
_MIN_STEM = 4  # an ending off or a word split, what is left is a word only this long: "sir" of "siral" is not
_ABBREVIATION = r"^[^aeiouy]{3,4}$"  # "tbsp", "hrs": a short word without vowels

TURN = pl.Struct(
    {"turn": pl.Int32, "final": pl.Boolean, "language": pl.String, "words": pl.UInt32, "misspelled": pl.List(pl.String)}
)


def languages() -> list[str]:
    """The languages pyspellchecker has a word list for, as ISO 639-1 codes."""
    folder = resources.files("spellchecker") / "resources"
    return sorted(p.name.removesuffix(".json.gz") for p in folder.iterdir() if p.name.endswith(".json.gz"))


@cache
def dictionary(language: str) -> pl.Series:
    """Every word of ``language``'s list, lower case (read once per process, cached on disk)."""
    key = f"{language}:{metadata.version(_LIBRARY)}:{pl.__version__}"
    cached = diskcache.load("spelling", key)
    if cached is not None:
        try:
            return pl.read_ipc(io.BytesIO(cached))["word"]
        except (OSError, pl.exceptions.PolarsError):
            pass  # made again below
    raw = (resources.files("spellchecker") / "resources" / f"{language}.json.gz").read_bytes()
    words = pl.Series("word", list(json.loads(gzip.decompress(raw)))).str.to_lowercase().unique().sort()
    out = io.BytesIO()
    words.to_frame().write_ipc(out)
    diskcache.store("spelling", key, out.getvalue())
    return words


def lines_of(frame: pl.DataFrame, text: str) -> pl.DataFrame:
    """A row per line of ``frame[text]``, Markdown code left out (``line``; the other columns
    kept), and whether it reads as ``code``: one regex scan a line, no line found in whole texts."""
    return (
        frame.with_columns(line=without_code(pl.col(text)).str.split("\n"))
        .drop(text)
        .explode("line")
        .filter(pl.col("line").str.strip_chars() != "")
        .with_columns(code=pl.col("line").str.contains(_CODE_LINE))
    )


def words_of(lines: pl.DataFrame) -> pl.DataFrame:
    """A row per word of the prose ``lines`` (``lines_of``) that is looked up (``word``): quoted
    strings left out, split at spaces and hyphens, punctuation around a word stripped, lower-case
    letters only (a word holding a digit, "_", "/", "@" or an inner dot is not one)."""
    spaced = pl.col("line").str.replace_all(_QUOTED, " ").str.replace_all("’", "'").str.replace_all(r"[-\t]", " ")
    word = pl.col("word").str.strip_chars(" \t\r\n" + _PUNCTUATION)
    return (
        lines.filter(~pl.col("code"))
        .with_columns(word=spaced.str.split(" "))
        .drop("line", "code")
        .explode("word")
        .with_columns(word=word.str.replace(r"'s$|s'$", ""))
        .filter(pl.col("word").str.contains(_WORD) & (pl.col("word").str.len_chars() >= _MIN_LETTERS))
    )


def _listed(values: pl.Series, known: pl.Series) -> pl.Series:
    """The words of ``known`` that ``values`` holds, as a list to look up in: the few values are
    hashed, not the whole word list, so a lookup costs a scan of the list."""
    return known.filter(known.is_in(values.unique().implode())).implode()


def _language_of(turn: pl.Expr) -> pl.Expr:
    return pl.col("_lang").list.get(turn - 1, null_on_oob=True)


def _user_words(text: pl.Expr) -> pl.Expr:
    """Every word the user wrote, lower-cased: terms an answer may repeat however they are spelt."""
    words = text.str.to_lowercase().str.replace_all("’", "'").str.extract_all(r"\p{L}+(?:'\p{L}+)*")
    return words.list.eval(pl.element().str.replace(r"'s$|s'$", ""))


def _rewrites(pack: dict[str, Any], path: str) -> list[tuple[str, str]]:
    """The ``[pattern, replacement]`` pairs at ``path`` of the pack, each pattern checked."""
    pairs = pack_value(pack, path, PACK, list, default=[])
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs):
        raise ConfigError(f"rule pack '{PACK}': '{path}' must be a list of [pattern, replacement] pairs")
    for p, _r in pairs:
        check_regex(p, f"rule pack '{PACK}', '{path}'")
    return [(p, r) for p, r in pairs]


class SpellingFeature(Feature):
    name = "spelling"
    summary = "misspelled words per assistant turn (pyspellchecker's word lists), and their share of the words"
    needs = ("language",)
    columns = ("spelling_turns", "spelling_words", "spelling_misspelled")
    keep = ("spelling_words", "spelling_misspelled")

    def __init__(self, context):
        super().__init__(context)
        pack = context.pack(PACK)
        self.languages = languages()
        self.extra: dict[str, list[str]] = {}
        self.prefixes: dict[str, list[str]] = {}
        self.rewrites: dict[str, list[tuple[str, str]]] = {}
        self.endings: dict[str, list[tuple[str, str]]] = {}
        for lang in pack_languages(pack, "words", PACK):
            self.extra[lang] = [w.lower() for w in string_list(pack, f"words.{lang}.words", PACK)]
            self.prefixes[lang] = [w.lower() for w in string_list(pack, f"words.{lang}.prefixes", PACK)]
            self.rewrites[lang] = _rewrites(pack, f"words.{lang}.variants")
            self.endings[lang] = _rewrites(pack, f"words.{lang}.endings")

    def _known(self, language: str) -> pl.Series:
        words = dictionary(language)
        extra = self.extra.get(language)
        return pl.concat([words, pl.Series("word", extra)]) if extra else words

    def _misspelled(self, words: pl.DataFrame) -> pl.DataFrame:
        """The distinct (``language``, ``word``) pairs of ``words`` that no list holds in any
        form: rewritten to a listed variant ("colour"), cut at its apostrophe ("they'd"), an
        ending taken off ("datasets", "tokenizing"), a known prefix or a known word before a
        known word ("preprocessing", "wellbeing"); short words without vowels ("tbsp") are
        abbreviations."""
        distinct = words.select("language", "word").unique()
        unknown = []
        for (language,), group in distinct.group_by("language"):
            known = self._known(language)
            candidates = group.filter(
                ~pl.col("word").is_in(_listed(group["word"], known)) & ~pl.col("word").str.contains(_ABBREVIATION)
            )
            if candidates.height == 0:
                continue
            rewrites = [*self.rewrites.get(language, []), *self.endings.get(language, []), ("'.*$", "")]
            forms = (
                candidates.select("word", form=pl.concat_list([pl.col("word").str.replace(p, r) for p, r in rewrites]))
                .explode("form")
                .filter((pl.col("form") != pl.col("word")) & (pl.col("form").str.len_chars() >= _MIN_STEM))
                .unique()
            )
            listed = forms.filter(pl.col("form").is_in(_listed(forms["form"], known))).select("word")
            parts = pl.concat([candidates.select("word", form="word"), forms]).join(listed, on="word", how="anti")
            unknown.append(
                candidates.join(listed, on="word", how="anti").join(
                    self._compounds(parts, known, language), on="word", how="anti"
                )
            )
        return pl.concat(unknown) if unknown else distinct.clear()

    def _compounds(self, forms: pl.DataFrame, known: pl.Series, language: str) -> pl.DataFrame:
        """The ``word``s of ``forms`` (``word``, ``form``) with a form made of a known word or
        prefix and a known word, both of _MIN_STEM letters or more."""
        length = pl.col("form").str.len_chars().cast(pl.Int32)
        splits = (
            forms.filter(length >= 2 * _MIN_STEM - 1)
            .with_columns(k=pl.int_ranges(2, length - _MIN_STEM + 1))
            .explode("k")
            .drop_nulls("k")
            .select("word", head=pl.col("form").str.slice(0, pl.col("k")), tail=pl.col("form").str.slice(pl.col("k")))
        )
        listed = _listed(pl.concat([splits["head"], splits["tail"]]), known)
        prefixes = pl.Series(self.prefixes.get(language, []), dtype=pl.String).implode()
        head = pl.col("head")
        whole = ((head.str.len_chars() >= _MIN_STEM) & head.is_in(listed)) | head.is_in(prefixes)
        return splits.filter(whole & pl.col("tail").is_in(listed)).select("word").unique()

    def compute(self, batch: pl.DataFrame) -> pl.DataFrame:
        rows = pl.int_range(pl.len(), dtype=pl.UInt32)
        pairs = exchanges(batch)
        context = batch.select(
            _r=rows,
            _user=pl.concat_str(
                pl.col("system").fill_null(""),
                pl.col("turns").list.eval(pl.element().struct.field("content")).list.join("\n"),
                separator="\n",
            ),
        )
        turns = (
            pairs.join(batch.select(_r=rows, _lang="language_turns"), on="_r", how="left")
            .select(
                "_r",
                "turn",
                "final",
                "answer",
                # an answer too short to tell ("und") is in the language of its question, or of the record
                language=pl.coalesce(
                    _language_of(pl.col("turn")).replace(UNDETERMINED_LANGUAGE, None),
                    _language_of(pl.col("question_turn")).replace(UNDETERMINED_LANGUAGE, None),
                    pl.col("_lang").list.eval(pl.element().filter(pl.element() != UNDETERMINED_LANGUAGE)).list.first(),
                ),
            )
            .filter(pl.col("language").is_in(self.languages))
        )
        # the reply only: a reasoning trace is scratch (variables, units, half-words of a cut
        # generation) that the lists lack, written by a model, which does not misspell
        lines = lines_of(turns.select("_r", "turn", "language", answer=without_trace(pl.col("answer"))), "answer")
        words = words_of(lines)
        wrong = self._misspelled(words)
        hits = words.join(wrong, on=["language", "word"], how="semi")
        if hits.height:
            # a word any turn of the record holds other than this answer is the user's (or an earlier answer's) term
            said = (
                context.join(hits.select("_r").unique(), on="_r", how="semi")
                .select("_r", word=_user_words(pl.col("_user")))
                .explode("word")
                .group_by("_r", "word")
                .len()
            )
            own = hits.group_by("_r", "word").len()
            # the user's: said more often in the record than this answer says it
            users = own.join(said, on=["_r", "word"], suffix="_all").filter(pl.col("len_all") > pl.col("len"))
            hits = hits.join(users.select("_r", "word"), on=["_r", "word"], how="anti")
        per_turn = (
            turns.select("_r", "turn", "final", "language")
            .join(words.group_by("_r", "turn").agg(words=pl.len().cast(pl.UInt32)), on=["_r", "turn"], how="left")
            .join(hits.group_by("_r", "turn").agg(misspelled="word"), on=["_r", "turn"], how="left")
            .with_columns(
                pl.col("words").fill_null(0), pl.col("misspelled").fill_null(pl.lit([], dtype=pl.List(pl.String)))
            )
            .filter(pl.col("words") > 0)
        )
        by_record = per_turn.group_by("_r").agg(
            spelling_turns=pl.struct("turn", "final", "language", "words", "misspelled"),
            spelling_words=pl.col("words").sum().cast(pl.UInt32),
            spelling_misspelled=pl.col("misspelled").list.len().sum().cast(pl.UInt32),
        )
        return (
            batch.select(_r=rows)
            .join(by_record, on="_r", how="left", maintain_order="left")
            .select(
                spelling_turns=pl.col("spelling_turns").fill_null(pl.lit([], dtype=pl.List(TURN))).cast(pl.List(TURN)),
                spelling_words=pl.col("spelling_words").fill_null(0),
                spelling_misspelled=pl.col("spelling_misspelled").fill_null(0),
            )
        )

    def summarize(self, table: pl.DataFrame) -> dict[str, Any]:
        words = int(table["spelling_words"].sum()) if table.height else 0
        wrong = int(table["spelling_misspelled"].sum()) if table.height else 0
        return {
            "spelling": {
                "words": words,
                "misspelled": wrong,
                "share": round(wrong / words, 6) if words else None,
                "records_judged": int((table["spelling_words"] > 0).sum()) if table.height else 0,
            }
        }


@hookimpl
def dqe_register_features(register):
    register(SpellingFeature)
