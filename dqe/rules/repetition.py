"""DQ202 repetition: answers that loop, repeat lines or say the same phrase over and over."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dqe import (
    WORD_UNIT,
    RecordRule,
    RuleOptions,
    bare_code,
    exchanges,
    hookimpl,
    listed_options,
    marker_pattern,
    snippet,
    without_code,
    without_urls,
    worst_exchange,
)

PACK = "repetition"

_CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
_CJK_SPACE = r"([\p{Han}\p{Hiragana}\p{Katakana}]) "  # spaces joined into CJK n-grams, for messages
# a list item's marker: "1. ", "2) ", "- ", "a) ": items that differ only in their numbers repeat
_MARKER = r"^(?:[-*•+]|\d{1,3}[.)、]|[a-zA-Z][.)])\s+"
# a line that gives an item its label: "咽痛：已有症状疾病", "Review 3: positive" (the label is group 2)
_LABELLED = r"^(\s*[^:：\n]{1,40}[:：])\s*(.*?)\s*[。.;；]?\s*$"
# LaTeX math, inline or displayed, that holds a command, a script or an equation ("$x_{1}+x_{2}$",
# "$$\\frac{1}{2}$$", "\\(...\\)", "\\[...\\]"): a derivation restates its expressions by design, as
# code repeats its lines (GAOKAO-Bench's worked solutions, unseen), so its n-grams are counted without
# it; its lines keep it ("If $p = 1,$ then ..." and "If $p = 2,$ then ..." are two cases, not one
# line twice: MATH's solutions, unseen); "$5 and $10" is no math.
_MATH = (
    r"\$\$[^$]*?[\\^_{}=][^$]*?\$\$|\$[^$\n]*?[\\^_{}=][^$\n]*?\$"
    r"|\\\((?s:.)*?\\\)|\\\[(?s:.)*?\\\]"
)
_PROSE = pl.col("text").str.replace_all(_MATH, " ")  # what n-grams are counted in
_WEIGHTS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5) * 5


def _lines_of(texts: pl.DataFrame) -> pl.DataFrame:
    """Each line of each turn of ``texts`` (``_t``, ``text``), stripped, its list marker left out."""
    return (
        texts.select("_t", line=pl.col("text").str.split("\n"))
        .explode("line")
        .with_columns(pl.col("line").str.strip_chars().str.replace(_MARKER, ""))
    )


def _labels_left_out(turns: pl.DataFrame) -> pl.DataFrame:
    """``turns`` with the labels left out of each line that gives an item one of the options its
    question lists ("咽痛：已有症状疾病或者假设未来可能发生的疾病等" keeps "咽痛："): a label the question
    offers comes back once per item by design, and the items are what could loop."""
    options = turns.select("_t", "text", _opts=listed_options(pl.col("question"))).filter(
        pl.col("_opts").list.len() >= 2
    )
    if options.height == 0:
        return turns
    line = pl.col("line")
    label = line.str.extract(_LABELLED, 2)
    kept = (
        options.with_columns(line=pl.col("text").str.split("\n"))
        .explode("line")
        .with_columns(
            line=pl.when(pl.col("_opts").list.contains(label)).then(line.str.extract(_LABELLED, 1)).otherwise(line)
        )
        .group_by("_t", maintain_order=True)
        .agg(text=line.str.join("\n"))
    )
    return turns.update(kept, on="_t")


class RepetitionOptions(RuleOptions):
    ngram: int = Field(5, ge=2, le=20, description="length of the n-grams compared, in words (characters for CJK)")
    max_ngram_ratio: float = Field(
        0.4, gt=0.0, le=1.0, description="largest share of an answer's n-grams that may repeat an earlier one"
    )
    min_run: int = Field(
        12,
        ge=1,
        description="repeated n-grams count only in runs of this many in a row (a span said again, not a "
        "parallel item's frame)",
    )
    min_count: int = Field(
        8, ge=2, description="an n-gram said this many times counts in any run (a list of one item, looped)"
    )
    min_ngrams: int = Field(20, ge=1, description="answers with fewer n-grams are judged by their lines only")
    max_line_ratio: float = Field(
        0.5, gt=0.0, le=1.0, description="largest share of an answer's lines that may repeat an earlier line"
    )
    min_repeated_lines: int = Field(3, ge=1, description="fewest repeated lines that can fail an answer")
    min_line_chars: int = Field(8, ge=1, description="shorter lines, and lines without letters, are not compared")
    max_line_run: int = Field(
        8,
        ge=2,
        description="an answer that ends on one line said this many times in a row (blank lines aside) fails, code "
        "included: the import or the list item a generation repeated until it was cut off",
    )
    form_max_ratio: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="both limits for an answer to a song, a poem or a plan asked for (the `repetition` pack's forms), "
        "which repeat by design",
    )


class Repetition(RecordRule):
    """Looks at every assistant turn, Markdown code and web addresses left out (code repeats lines
    and a source cited after every sentence its address, by design; so does a program asked for and
    answered without fences, most of its lines code), and measures two ratios: the share of its
    word n-grams (character n-grams for Chinese and Japanese; LaTeX math left out, since a
    derivation restates its expressions by design) that repeat an n-gram
    seen earlier in the same turn in a loop, and the share of its lines that repeat an earlier
    line (a line the question holds, a format it sets such as "[ANSWER]:", is no repeat). A
    repeat is in a loop when it is part of a span said again
    (16 units or more in a row, by default) or when its n-gram is said 8 times or more: the frame
    that a list's parallel items share ("It is priced at around $999") is neither. A turn fails
    when either ratio is above its limit: the loops of a generation that never stopped, a
    paragraph pasted twice, a list of one item ten times. A worked example's parallel steps stay
    under the limits; a song, a poem or a plan asked for (the `repetition` pack's forms) repeats
    by design and is held to form-max-ratio instead; repetition the question asks for ("repeat this
    sentence five times") is the answer and is not judged. A label the question's options line
    offers, given to each item ("咽痛：已有症状疾病"), is left out before loops are counted."""

    code = "DQ202"
    name = "repetition"
    needs = ("category",)
    summary = "answer repeats n-grams or lines (looping text)"
    why = (
        "Repetition loops are the classic defect of generated data: a model trained on them "
        "learns to loop. Repeated lines and phrases also waste tokens and overweight one "
        "phrase in the loss."
    )
    example = (
        '"The answer is 4. The answer is 4. The answer is 4. ..." fails: '
        "'answer loops: 91% of its 5-grams repeat earlier ones (most: \"4 The answer is 4\")'."
    )
    Options = RepetitionOptions

    def __init__(self, options, context):
        super().__init__(options, context)
        self.forms = marker_pattern(context.pack(PACK), "forms", "patterns", PACK)
        self.asked = marker_pattern(context.pack(PACK), "asked", "patterns", PACK)

    def _turns(self, batch: pl.DataFrame) -> pl.DataFrame:
        form = pl.col("question").str.contains(self.forms) if self.forms else pl.lit(False)
        repeat = pl.col("question").str.contains(self.asked) if self.asked else pl.lit(False)
        turns = exchanges(batch).with_row_index("_t")
        # a program asked for and given without fences is code as much as a fenced one
        # (read only where a program was asked for)
        code = (batch["category_pred"].gather(turns["_r"]) == "programming").fill_null(False)
        if code.any():
            bare = turns.filter(code).select(bare_code(pl.col("answer"))).to_series().fill_null(False)
            code = code.scatter(code.arg_true(), bare)
        text = pl.when(code).then(pl.lit("")).otherwise(without_urls(without_code(pl.col("answer"))))
        # what code-stripping hid: the whole answer, read for a line said again and again in a row
        coded = pl.when(code | pl.col("answer").str.contains("```|~~~")).then(pl.col("answer"))
        return _labels_left_out(
            turns.select("_r", "_t", "turn", "final", "question", text=text, form=form, repeat=repeat, coded=coded)
        )

    @staticmethod
    def _units(turns: pl.DataFrame) -> pl.DataFrame:
        """The hash of every unit of every turn, in order (``_t``, ``h``): words split at spaces,
        or the letters and digits one by one for text with CJK characters (punctuation, rules of
        dashes and spaces left out)."""
        cjk = turns["text"].str.contains(_CJK)
        words = _PROSE.str.split(" ").list.eval(pl.element().filter(pl.element() != "").hash())
        spaced = turns.filter(~cjk).select("_t", h=words).explode("h")
        if not cjk.any():
            return spaced.drop_nulls("h")
        chars = _PROSE.str.replace_all(r"[^\p{L}\p{N}]+", "").str.split("").list.eval(pl.element().hash())
        return pl.concat([spaced, turns.filter(cjk).select("_t", h=chars).explode("h")]).drop_nulls("h")

    def _grams(self, turns: pl.DataFrame) -> pl.DataFrame:
        """Every n-gram of every turn, in order: ``_t``, its hash ``g`` and whether it ``repeat``s
        one earlier in the turn."""
        n = self.options.ngram
        hashed = self._units(turns)
        # An n-gram's hash: its units' hashes weighted by odd constants (u64, wrapping).
        gram = pl.col("h")
        for k in range(1, n):
            gram = gram + pl.col("h").shift(-k) * pl.lit(_WEIGHTS[k - 1], dtype=pl.UInt64)
        same_turn = pl.col("_t").shift(-(n - 1)) == pl.col("_t")
        grams = hashed.select("_t", g=pl.when(same_turn).then(gram)).drop_nulls("g")
        return grams.with_columns(repeat=~pl.col("g").is_first_distinct().over("_t"))

    def _looped(self, grams: pl.DataFrame) -> pl.DataFrame:
        """The repeats of each turn of ``grams`` that are in a loop (``_t``, ``repeats``)."""
        o = self.options
        # A repeat counts inside a run of repeats (a span of n + min_run - 1 units said again), not
        # alone: the frame of parallel items ("It is priced at around $999") repeats only briefly.
        starts = (pl.col("repeat") != pl.col("repeat").shift(1)) | (pl.col("_t") != pl.col("_t").shift(1))
        runs = grams.with_columns(run=starts.fill_null(True).cum_sum())
        counted = pl.col("repeat") & ((pl.len().over("run") >= o.min_run) | (pl.len().over("_t", "g") >= o.min_count))
        # a column first, then summed: windows inside a group_by's aggregation run group by group (4x slower)
        return runs.with_columns(counted=counted).group_by("_t").agg(repeats=pl.col("counted").sum())

    def _lines(self, turns: pl.DataFrame) -> pl.DataFrame:
        lines = (
            _lines_of(turns)
            .filter(
                (pl.col("line").str.len_chars() >= self.options.min_line_chars) & pl.col("line").str.contains(r"\p{L}")
            )
            .join(turns.select("_t", "question"), on="_t", how="left")
        )
        # a line the question holds is a format it sets ("[API_REQUEST]:" before each request): it
        # may come back before every item, and is no repeat
        own = lines.filter(~pl.col("question").fill_null("").str.contains(pl.col("line"), literal=True))
        return (
            lines.group_by("_t")
            .len("lines")
            .join(own.group_by("_t").agg(repeated=pl.len() - pl.col("line").n_unique()), on="_t", how="left")
            .with_columns(pl.col("repeated").fill_null(0))
        )

    def _runs(self, turns: pl.DataFrame) -> pl.DataFrame:
        """The run of one line said again and again in a row that ends each turn's code, if the
        turn ends in one (``_t``, ``run``, ``run_line``; a last line cut off mid-way, a prefix of
        the run's, is part of it): ``import javax.servlet.annotation.WebServlet;`` forty times
        until the answer stops is a generation that never ended. A run that the program goes on
        after (a grid's twelve cells, then the closing tags) is what was asked for."""
        lines = (
            turns.filter(pl.col("coded").is_not_null())
            .select("_t", line=pl.col("coded").str.split("\n"))
            .explode("line")
            .with_columns(pl.col("line").str.strip_chars())
            .filter(pl.col("line") != "")
        )
        starts = (pl.col("line") != pl.col("line").shift(1)) | (pl.col("_t") != pl.col("_t").shift(1))
        ends = (
            lines.with_columns(run=starts.fill_null(True).cum_sum())
            .group_by("_t", "run", maintain_order=True)
            .agg(line=pl.col("line").first(), length=pl.len())
            .group_by("_t", maintain_order=True)
            .agg(
                last=pl.col("line").last(),
                last_length=pl.col("length").last(),
                before=pl.col("line").get(-2, null_on_oob=True),
                before_length=pl.col("length").get(-2, null_on_oob=True),
            )
        )
        cut = (pl.col("last_length") == 1) & pl.col("before").str.starts_with(pl.col("last")).fill_null(False)
        line = pl.when(cut).then(pl.col("before")).otherwise(pl.col("last"))
        # short lines and lines without letters ("}", "0, 0, 0,") are not compared
        compared = (line.str.len_chars() >= self.options.min_line_chars) & line.str.contains(r"\p{L}")
        return ends.select(
            "_t",
            run=pl.when(compared).then(pl.when(cut).then(pl.col("before_length")).otherwise(pl.col("last_length"))),
            run_line=line,
        )

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        o = self.options
        turns = self._turns(batch)
        # a song, a poem or a plan asked for repeats by design: held to form-max-ratio; repetition
        # asked for ("repeat it five times") is the answer: never a loop
        limit = {
            kind: pl.when(pl.col("repeat"))
            .then(1.0)
            .when(pl.col("form"))
            .then(max(o.form_max_ratio, value))
            .otherwise(value)
            for kind, value in (("ngram_limit", o.max_ngram_ratio), ("line_limit", o.max_line_ratio))
        }
        grams = self._grams(turns)
        counts = (
            turns.select("_r", "_t", "turn", "final", **limit)
            .join(grams.group_by("_t").agg(ngrams=pl.len(), repeats=pl.col("repeat").sum()), on="_t", how="left")
            .join(self._lines(turns), on="_t", how="left")
            .join(self._runs(turns), on="_t", how="left")
            .with_columns(pl.col("ngrams", "repeats", "lines", "repeated", "run").fill_null(0))
        )
        # Loops are looked for only in the turns whose repeats of any kind reach half their limit
        # or whose lines fail (their evidence gives the n-grams too): in the others fewer repeats
        # are in a loop still, and the turn passes with a score of 1 either way.
        near = (pl.col("ngrams") >= o.min_ngrams) & (pl.col("repeats") >= pl.col("ngrams") * pl.col("ngram_limit") / 2)
        lines_fail = (pl.col("repeated") >= o.min_repeated_lines) & (
            pl.col("repeated") / pl.col("lines") > pl.col("line_limit")
        )
        looked = counts.filter(near | lines_fail)["_t"]
        looped = self._looped(grams.filter(pl.col("_t").is_in(looked.implode())))
        counts = counts.update(looped, on="_t") if looped.height else counts
        stats = counts.with_columns(
            ngram_ratio=pl.when(pl.col("ngrams") >= o.min_ngrams)
            .then(pl.col("repeats") / pl.col("ngrams"))
            .otherwise(0.0),
            line_ratio=pl.when(pl.col("repeated") >= o.min_repeated_lines)
            .then(pl.col("repeated") / pl.col("lines"))
            .otherwise(0.0),
        ).with_columns(
            bad_ngrams=pl.col("ngram_ratio") > pl.col("ngram_limit"),
            bad_lines=pl.col("line_ratio") > pl.col("line_limit"),
            # a run asked for ("print it ten times") is the answer; a song's refrain is never eight lines in a row
            bad_run=(pl.col("run") >= o.max_line_run) & (pl.col("ngram_limit") < 1.0),
            score=pl.min_horizontal(
                (1.0 - pl.col("ngram_ratio") + pl.col("ngram_limit")).clip(0.0, 1.0),
                (1.0 - pl.col("line_ratio") + pl.col("line_limit")).clip(0.0, 1.0),
            ),
        )
        stats = stats.with_columns(score=pl.when(pl.col("bad_run")).then(0.0).otherwise(pl.col("score")))
        failing = pl.col("bad_ngrams") | pl.col("bad_lines") | pl.col("bad_run")
        bad = stats.filter(failing)
        judged = stats.select("_r", "_t", "turn", "score", passed=~failing).join(
            self._findings(turns, bad), on="_t", how="left"
        )
        return worst_exchange(batch, judged)

    def _findings(self, turns: pl.DataFrame, bad: pl.DataFrame) -> pl.DataFrame:
        """Why each failing turn fails (``message``) and what decided (``evidence``: both ratios
        against their limits, the n-gram and the line repeated most, with their counts)."""
        schema = {"_t": pl.UInt32, "message": pl.String, "evidence": pl.String}
        if bad.height == 0:
            return pl.DataFrame(schema=schema)
        o = self.options
        n = o.ngram
        texts = turns.join(bad.select("_t"), on="_t", how="semi")
        # one CJK character is one unit: Chinese and Japanese n-grams are n-grams of characters
        units = texts.select("_t", u=_PROSE.str.extract_all(WORD_UNIT)).explode("u").drop_nulls("u")
        gram = pl.concat_str([pl.col("u").shift(-k) for k in range(n)], separator=" ").str.replace_all(
            _CJK_SPACE, "${1}"
        )
        top_gram = (
            units.with_columns(g=pl.when(pl.col("_t").shift(-(n - 1)) == pl.col("_t")).then(gram))
            .drop_nulls("g")
            .group_by("_t", "g")
            .len()
            .sort("len", "g", descending=[True, False])
            .group_by("_t", maintain_order=True)
            .first()
            .select("_t", top_gram="g", gram_count="len")
        )
        top_line = (
            _lines_of(texts)
            .filter(pl.col("line").str.len_chars() >= o.min_line_chars)
            .group_by("_t", "line")
            .len()
            .sort("len", "line", descending=[True, False])
            .group_by("_t", maintain_order=True)
            .first()
            .select("_t", top_line="line", line_count="len")
        )
        where = (
            pl.when(pl.col("final")).then(pl.lit("answer")).otherwise(pl.format("assistant turn {}", pl.col("turn")))
        )
        return (
            bad.join(top_gram, on="_t", how="left")
            .join(top_line, on="_t", how="left")
            .select(
                "_t",
                message=pl.when(pl.col("bad_run") & ~pl.col("bad_ngrams") & ~pl.col("bad_lines"))
                .then(
                    pl.format(
                        '{} ends repeating a line {} times in a row ("{}")',
                        where,
                        pl.col("run"),
                        snippet(pl.col("run_line"), 50),
                    )
                )
                .when(pl.col("bad_ngrams"))
                .then(
                    pl.format(
                        '{} loops: {}% of its {}-grams repeat earlier ones (most: "{}")',
                        where,
                        _percent("ngram_ratio"),
                        pl.lit(n),
                        pl.col("top_gram"),
                    )
                )
                .otherwise(
                    pl.format(
                        '{} repeats lines: {} of {} lines repeat earlier ones ("{}" {} times)',
                        where,
                        pl.col("repeated"),
                        pl.col("lines"),
                        snippet(pl.col("top_line"), 50),
                        pl.col("line_count"),
                    )
                ),
                evidence=pl.concat_str(
                    pl.format(
                        "{}-grams: {} of {} repeat in a loop {}; lines: {} of {} repeat {}",
                        pl.lit(n),
                        "repeats",
                        "ngrams",
                        pl.when(pl.col("ngrams") >= o.min_ngrams)
                        .then(pl.format("({}%, limit {}%)", _percent("ngram_ratio"), _percent("ngram_limit")))
                        .otherwise(pl.lit(f"(under {o.min_ngrams} {n}-grams: not judged)")),
                        "repeated",
                        "lines",
                        pl.when(pl.col("repeated") >= o.min_repeated_lines)
                        .then(
                            pl.format(
                                "({}%, limit {}%)",
                                _percent("line_ratio"),
                                _percent("line_limit"),
                            )
                        )
                        .otherwise(pl.lit(f"(under {o.min_repeated_lines} repeats: not judged)")),
                    ),
                    pl.when(pl.col("gram_count") > 1).then(
                        pl.format(
                            'most repeated {}-gram "{}" x{}', pl.lit(n), snippet(pl.col("top_gram"), 40), "gram_count"
                        )
                    ),
                    pl.when(pl.col("line_count") > 1).then(
                        pl.format('most repeated line "{}" x{}', snippet(pl.col("top_line"), 40), "line_count")
                    ),
                    pl.when(pl.col("run") > 1).then(
                        pl.format(
                            'ends on a run, code included: "{}" {} times in a row (limit {})',
                            snippet(pl.col("run_line"), 40),
                            "run",
                            pl.lit(o.max_line_run),
                        )
                    ),
                    separator="; ",
                    ignore_nulls=True,
                ),
            )
        )


def _percent(column: str) -> pl.Expr:
    return (pl.col(column) * 100).round(0).cast(pl.Int64)


@hookimpl
def dqe_register_rules(register):
    register(Repetition)
