"""How records are compared for near-duplicates, in one data set (DQ402) or against an
evaluation set (DQ403): the options both rules take, a batch shingled, and the lines that recur
in many records (boilerplate) left out of each record's set. Both rules use this module; neither
imports the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from dqe import RuleOptions, is_options_line
from dqe.features.minhash import (
    ANSWER,
    LINE_BREAK,
    NUMBER,
    Bands,
    Sets,
    distinct,
    jaccard,
    line_keys,
    numbers_masked,
    prefix_set_sizes,
    ranges,
    shingle_sets,
)
from dqe.features.text import TURN_SEPARATOR, user_lines

RECALL_WEIGHTS = (0.05, 0.95)  # datasketch's (false positive, false negative) weights for the bands
SENTENCE = np.uint64(1 << 63)  # the bit that marks a key as a sentence of a line, not a whole line
# A sentence of a line ends at a question mark, a colon or a semicolon, or is quoted: a template's
# frame ("这是关于哪方面的新闻：", "并且它们有相同的意思？") and what it is filled with part there.
_SENTENCES = r"[^。？！?!：:；;“”「」]+[。？！?!：:；;]?"
_BREAKS = r"[。？！?!：:；;“”「」]."
# A frame that no punctuation ends, such as a list of labels run into the text each record asks
# about ("银行，社区，电商，…，民宿一个有史以来最容易上瘾的驾驶游戏"), is the longest opening the
# sentences of a batch share when at least this many characters of it are shared.
OPENING_CHARS = 40
BLOCK = 1 << 16  # records per pass when boilerplate is taken out of their sets
_NUMBERS_SEED = 0x4E55
NUMBERS_SHARED = 0.5  # the share of their numbers two short records with masked numbers must share
TEMPLATE_NUMBERS = 2  # distinct numbers each record needs for its numbers to be a template's arguments
FAMILY_RECORDS = 10  # the fewest records sharing a boilerplate piece whose likeness by chance is measured
CHANCE_PAIRS = 64  # pairs of those records compared to measure it, at most


class SimilarityOptions(RuleOptions):
    """How records are shingled, searched and compared (near-duplicates and contamination)."""

    threshold: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="Jaccard similarity of the shingle sets (boilerplate left out, verified exactly) at or "
        "above which two records are near-duplicates",
    )
    shingle_size: int = Field(2, ge=1, le=16, description="words per shingle, for text in spaced scripts")
    char_shingle_size: int = Field(
        2, ge=1, le=16, description="characters per shingle, for text mostly in Chinese or Japanese"
    )
    num_perm: int = Field(
        80,
        ge=16,
        le=1024,
        description="MinHash values per signature (bins of one hash), among which the LSH bands are chosen: more "
        "miss fewer pairs near the threshold and cost more time; the similarity reported is exact either way",
    )
    bands: int | None = Field(
        None,
        ge=2,
        description="LSH bands of num-perm / bands rows each; default: chosen by datasketch "
        "for the threshold, favouring recall",
    )
    boilerplate_share: float = Field(
        0.0001,
        ge=0.0,
        le=1.0,
        description="a line of the user turns found in at least this share of the records (and in "
        "boilerplate-min-records of them) is boilerplate, a tool description or a header: its shingles "
        "are left out of the similarity",
    )
    boilerplate_min_records: int = Field(
        3, ge=2, description="the fewest records a line must recur in to count as boilerplate"
    )
    boilerplate_sentence_share: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="a sentence of a user line (it ends at a question mark, a colon or a semicolon, or is quoted) "
        "found in at least this share of the records (and in boilerplate-sentence-min-records of them) is "
        "boilerplate too: a template's frame around what each record asks ('Is this review positive? Options: ...')",
    )
    boilerplate_sentence_min_records: int = Field(
        10, ge=2, description="the fewest records a sentence must recur in to count as boilerplate"
    )
    short_shingles: int = Field(
        40,
        ge=0,
        description="a pair whose smaller set holds fewer shingles than this is short: a few words "
        "make the difference between two short requests ('draw a woman with wings' and 'draw a woman "
        "in a green headband') that share a stock reply, so it must reach short-threshold",
    )
    short_threshold: float = Field(
        0.7, gt=0.0, le=1.0, description="the similarity a short pair must reach (see short-shingles)"
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> SimilarityOptions:
        if self.bands is not None and self.bands > self.num_perm // 2:
            rows = f"fewer than 2 rows per band with num-perm = {self.num_perm}"
            raise ValueError(f"bands = {self.bands} leaves {rows}")
        return self

    def banding(self) -> Bands:
        return Bands(self.threshold, self.num_perm, self.bands, weights=RECALL_WEIGHTS)

    def close(
        self, sims: np.ndarray, smaller: np.ndarray, context: np.ndarray, numbers_differ: np.ndarray
    ) -> np.ndarray:
        """Which pairs of these exact similarities are near-duplicates: at the threshold, or at
        short-threshold for a short pair: the smaller of its sets without boilerplate (``smaller``)
        and the boilerplate the two share (``context``: a tool description both put before their
        question) under short-shingles. A short question behind a long description is a long
        record beside another behind the same description, and a short one beside a record behind
        another. A pair short without its boilerplate whose masked numbers differ
        (``numbers_differ``) is two records, the same template with other numbers."""
        short = smaller < self.short_shingles
        close = (sims >= self.threshold) & (~(smaller + context < self.short_shingles) | (sims >= self.short_threshold))
        return close & ~(short & numbers_differ)

    def context(
        self, sims: np.ndarray, smaller: np.ndarray, shared: np.ndarray, whole: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """The boilerplate shingles each pair shares, where it decides (a short pair between the
        two thresholds; 0 elsewhere): ``whole(pairs)`` is how many shingles the pairs ``pairs``
        share with their boilerplate, ``shared`` without."""
        out = np.zeros(sims.size, dtype=np.int64)
        pick = np.flatnonzero(
            (smaller < self.short_shingles) & (sims >= self.threshold) & (sims < self.short_threshold)
        )
        if pick.size:
            out[pick] = whole(pick) - shared[pick]
        return out

    def boilerplate_floor(self, records: int) -> int:
        """How many records a line must recur in, among ``records``, to be boilerplate."""
        return max(self.boilerplate_min_records, math.ceil(self.boilerplate_share * records))

    def sentence_floor(self, records: int) -> int:
        """How many records a sentence of a line must recur in, among ``records``, to be
        boilerplate: more than a line, since a sentence recurs by chance more often."""
        share = math.ceil(self.boilerplate_sentence_share * records)
        return max(self.boilerplate_floor(records), self.boilerplate_sentence_min_records, share)

    def boilerplate(self, keys: np.ndarray, records: int) -> np.ndarray:
        """The sorted distinct keys of ``keys`` (the distinct line and sentence keys of each of
        ``records`` records, one after another) that are boilerplate."""
        sentence = is_sentence(keys)
        lines = boilerplate_lines(keys[~sentence], self.boilerplate_floor(records))
        return np.union1d(lines, boilerplate_lines(keys[sentence], self.sentence_floor(records)))


@dataclass
class Shingled:
    """A batch of records as near-duplicate checks compare them: each record's shingle set and
    shingle size, and the distinct lines of its user turns and the sentences of those lines that
    hold several (``line_rows``: the record of each, in record order; ``line_keys``: same key,
    same text and shingle size; a sentence's key has the ``SENTENCE`` bit)."""

    sets: Sets
    size: np.ndarray
    mask: np.ndarray
    numbers: Sets
    lines: pl.Series
    line_rows: np.ndarray
    line_keys: np.ndarray
    asks: pl.Series  # the first line of each record's user turns ("" for none): what it asks, before its data

    def line_sets(self, which: np.ndarray, options: SimilarityOptions) -> Sets:
        """The shingle sets of lines ``which``, cut like their records."""
        rows = self.line_rows[which]
        lines = self.lines.gather(which)
        return shingle_sets(lines, options.shingle_size, options.char_shingle_size, self.size[rows], self.mask[rows])[0]


def number_sets(texts: pl.Series, mask: np.ndarray) -> Sets:
    """The distinct numbers of each text whose numbers were masked, as a set of 32-bit hashes;
    empty for a text whose numbers were not masked or that has none.

    Numbers are masked by the length of the whole text, but a record that is long only for its
    boilerplate (a tool description) compares on a short remainder, where the numbers are what it
    asks: "Calculate 5% of 200" behind a toolformer preamble is not "Calculate 35% of 120". These
    sets tell such pairs apart (``numbers_differ``) without keeping a second shingle set."""
    counts = np.zeros(texts.len(), dtype=np.int64)
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return Sets.of(np.zeros(0, dtype=np.uint32), counts)
    found = texts.gather(rows).fill_null("").str.extract_all(NUMBER)
    counts[rows] = found.list.len().to_numpy()
    hashes = found.explode().drop_nulls().hash(seed=_NUMBERS_SEED).to_numpy()
    keys = np.repeat(np.arange(texts.len(), dtype=np.uint64), counts) << np.uint64(32)
    keys = distinct(keys | (hashes & np.uint64(0xFFFFFFFF)))
    values = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return Sets.of(values, np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=texts.len()))


def numbers_differ(left: Sets, left_rows: np.ndarray, right: Sets, right_rows: np.ndarray) -> np.ndarray:
    """Which pairs of records both have masked numbers (``number_sets``), at least
    ``TEMPLATE_NUMBERS`` distinct ones each, and share fewer than half of them: the same template
    filled with other numbers, not a copy with a number edited. A lone number is as often part of
    a name ("GPT-3", "Windows 11") as an argument."""
    some = (left.sizes[left_rows] >= TEMPLATE_NUMBERS) & (right.sizes[right_rows] >= TEMPLATE_NUMBERS)
    return some & (jaccard(left, left_rows, right, right_rows)[0] < NUMBERS_SHARED)


def chance_likeness(sets: Sets, rows: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """How alike each record of ``sets`` is by chance to the others that share a piece of
    boilerplate with it (``rows``, ``keys``: each record's boilerplate lines and sentences): for
    each piece held by ``FAMILY_RECORDS`` records or more, the median similarity of up to
    ``CHANCE_PAIRS`` pairs of them, each record paired with the one half the family further in
    record order; for each record, the most of its pieces' (0 for a record without boilerplate).

    Records behind a tool description ask unrelated things and are alike by chance at about 0.
    Puzzles of one task template (the same frame sentences, each filled with a few names, numbers
    or orderings from one small pool) share most of what is left by chance: two of them at 0.6
    are no closer than any two of their task."""
    out = np.zeros(len(sets), dtype=np.float64)
    keep = sets.sizes[rows] > 0
    families = (
        pl.DataFrame({"key": keys[keep], "row": rows[keep]})
        .unique()
        .sort(["key", "row"])
        .group_by("key", maintain_order=True)
        .agg("row")
        .filter(pl.col("row").list.len() >= FAMILY_RECORDS)
    )
    if families.is_empty():
        return out
    members = families["row"].explode().to_numpy().astype(np.int64)
    size = families["row"].list.len().to_numpy().astype(np.int64)
    pairs = np.minimum(size, CHANCE_PAIRS)
    family = np.repeat(np.arange(size.size), pairs)
    start, m = np.repeat(np.cumsum(size) - size, pairs), np.repeat(size, pairs)
    first = (np.arange(pairs.sum()) - np.repeat(np.cumsum(pairs) - pairs, pairs)) * m // np.repeat(pairs, pairs)
    second = (first + m // 2) % m
    sims = jaccard(sets, members[start + first], sets, members[start + second])[0]
    median = pl.DataFrame({"family": family, "sim": sims}).group_by("family").agg(pl.col("sim").median()).sort("family")
    np.maximum.at(out, members, np.repeat(median["sim"].to_numpy(), size))
    return out


def pieces(batch: pl.DataFrame, lines: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """Each record's text as it is shingled, and which of its turns is the answer, its last
    assistant turn (the earlier ones are the conversation it continues: two replies to one
    conversation are two records, however much they share of it): its turns in
    order, joined by ``TURN_SEPARATOR``, each user turn its lines (``lines``, from ``user_lines``)
    joined by ``LINE_BREAK``, which no shingle spans. Boilerplate is left out a line at a time: a
    shingle across two lines of a tool description would be the description's without being any
    line's, and would stay in every record behind it. Only records with a user turn of several
    lines are rebuilt; one whose turns cannot be told apart in its text (a turn holding the
    separator itself) keeps its text."""
    roles = _roles(batch)
    said = pl.element() == "assistant"
    answers = pl.select(roles.list.eval(said & (said.cum_sum() == said.sum()))).to_series()
    texts = batch["text"]
    several = lines.group_by(["row", "turn"]).len().filter(pl.col("len") > 1)["row"].unique().sort()
    if several.len() == 0:
        return texts, answers
    rows = several.to_numpy().astype(np.int64)
    turns = pl.DataFrame(
        {"row": several, "role": roles.gather(rows), "piece": texts.gather(rows).str.split(TURN_SEPARATOR)}
    )
    aligned = turns.select(pl.col("role").list.len() == pl.col("piece").list.len()).to_series()
    asked = lines.group_by(["row", "turn"], maintain_order=True).agg(pl.col("line").str.join(f" {LINE_BREAK} "))
    said = (
        turns.filter(aligned)
        .with_columns(turn=pl.col("role").list.eval(pl.int_range(pl.len(), dtype=pl.UInt32)))
        .explode(["role", "piece", "turn"])
        .join(asked, on=["row", "turn"], how="left", maintain_order="left")
        .select(
            "row",
            piece=pl.when(pl.col("role") == "user").then(pl.col("line").fill_null("")).otherwise(pl.col("piece")),
        )
        .group_by("row", maintain_order=True)
        .agg(pl.col("piece").str.join(TURN_SEPARATOR))
    )
    return texts.scatter(said["row"].to_numpy().astype(np.int64), said["piece"]), answers


def shingled(batch: pl.DataFrame, options: SimilarityOptions) -> Shingled:
    mask = numbers_masked(batch["text"])
    lines = user_lines(batch["turns"])
    # a line that lists the options to pick from is the task's frame, however its options are
    # ordered or chosen: two records asking to classify different texts share it, and differ in
    # what they classify
    framed = lines.with_columns(line=pl.when(is_options_line(pl.col("line"))).then(pl.lit("")).otherwise("line"))
    texts, answers = pieces(batch, framed)
    sets, size = shingle_sets(texts, options.shingle_size, options.char_shingle_size, mask=mask, answers=answers)
    rows = lines["row"].to_numpy().astype(np.int64)
    first = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1]))) if rows.size else rows
    asks = pl.Series([""] * batch.height, dtype=pl.String).scatter(rows[first], lines["line"].gather(first))
    keys = line_keys(lines["line"], size[rows], mask[rows]) & ~SENTENCE
    lines = lines.select("row", "line").with_columns(key=keys)
    # the sentences of a line no other record of the batch repeats: a repeated line is judged whole
    alone = lines.select(pl.col("row").n_unique().over("key") == 1).to_series()
    sentences = (
        lines.filter(alone & pl.col("line").str.contains(_BREAKS))
        .select("row", sentence=pl.col("line").str.extract_all(_SENTENCES))
        .filter(pl.col("sentence").list.len() > 1)
        .explode("sentence")
        .select("row", line=pl.col("sentence").str.strip_chars())
        .filter(pl.col("line").str.len_chars() > 1)
    )
    openings = shared_openings(
        pl.concat([lines.filter(alone).select("row", "line"), sentences]), options.boilerplate_sentence_min_records
    )
    sentences = pl.concat([sentences, openings])
    at = sentences["row"].to_numpy().astype(np.int64)
    sentences = sentences.with_columns(key=line_keys(sentences["line"], size[at], mask[at]) | SENTENCE)
    parts = pl.concat([lines, sentences]).sort("row", maintain_order=True)
    distinct = parts.with_row_index("i").unique(["row", "key"], maintain_order=True)
    which = distinct["i"].to_numpy()
    rows, keys = parts["row"].to_numpy().astype(np.int64), parts["key"].to_numpy()
    numbers = number_sets(batch["text"], mask)
    return Shingled(sets, size, mask, numbers, parts["line"].gather(which), rows[which], keys[which], asks)


# An answer's openings: its first sentences, at most this many, cut where a sentence ends (an
# answer's text has its line breaks collapsed, so a full stop followed by more counts too).
OPENING_SENTENCES = 6
OPENING_SCAN = 400  # the longest opening, in characters: a stock passage is a few sentences
STOCK_RECORDS = 3  # answers (one per text) that must open with a passage for it to be a stock one
DIFFERENT = 0.5  # two questions sharing less of their shingles than this ask different things
_CODE_CHARS = r"[{}<>=;]"
_ANSWER_SENTENCES = r"[^。？！?!；;.]+[。？！?!；;.]*|[。？！?!；;.]+"


def _roles(batch: pl.DataFrame) -> pl.Series:
    """Each record's roles, system turns left out: the turns its text joins, in order."""
    role = pl.element().struct.field("role")
    return pl.select(pl.lit(batch["turns"]).list.eval(role.filter(role != "system"))).to_series()


def last_answers(batch: pl.DataFrame) -> pl.Series:
    """Each record's answer, its last assistant turn, as its text (``text``) holds it: null where
    it has none, or where its turns cannot be told apart in its text (a turn holding the separator
    itself)."""
    roles = _roles(batch)
    frame = pl.DataFrame(
        {
            "at": roles.list.eval(pl.int_range(pl.len()).filter(pl.element() == "assistant").last()).list.first(),
            "turns": roles.list.len(),
            "pieces": batch["text"].str.split(TURN_SEPARATOR),
        }
    )
    return frame.select(
        pl.when(pl.col("turns") == pl.col("pieces").list.len())
        .then(pl.col("pieces").list.get(pl.col("at"), null_on_oob=True))
        .alias("answer")
    ).to_series()


def answer_openings(
    batch: pl.DataFrame, shingled: Shingled, options: SimilarityOptions, answers: pl.Series | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The openings of each record's answer (its last assistant turn; ``shingled``: the batch as
    its records are shingled) as two (records, ``OPENING_SENTENCES``) matrices: the key of its
    first one, two, ... sentences, where they hold ``OPENING_CHARS`` characters or more and the
    answer goes on after them, and how many shingles they hold (0 and 0 elsewhere). Two answers
    with a key in common open with the same text, such as a stock disclaimer before each drug's
    dosage ("注意：同种药品可由于不同的包装规格有不同的用法或用量。本文只供参考。…"), and both sets
    hold its shingles. ``answers``: the batch's ``last_answers``, where the caller has them."""
    texts = last_answers(batch) if answers is None else answers
    size, mask = shingled.size, shingled.mask
    n = texts.len()
    keys = np.zeros((n, OPENING_SENTENCES), dtype=np.uint64)
    sizes = np.zeros((n, OPENING_SENTENCES), dtype=np.uint16)
    ends = (
        pl.DataFrame({"text": texts.fill_null("")})
        .select(
            row=pl.int_range(pl.len(), dtype=pl.UInt32),
            whole=pl.col("text").str.len_chars(),
            # only the head is read: a sentence that ends past it ends no opening
            end=pl.col("text")
            .str.slice(0, OPENING_SCAN)
            .str.extract_all(_ANSWER_SENTENCES)
            .list.head(OPENING_SENTENCES)
            .list.eval(pl.element().str.len_chars().cum_sum()),
        )
        .with_columns(which=pl.col("end").list.eval(pl.int_range(pl.len(), dtype=pl.UInt32)))
        .explode(["end", "which"])
        .filter(
            (pl.col("end") >= OPENING_CHARS) & (pl.col("end") < pl.col("whole") - 1) & (pl.col("end") < OPENING_SCAN)
        )
    )
    if ends.is_empty():
        return keys, sizes
    openings = texts.gather(ends["row"]).str.slice(0, ends["end"]).str.strip_chars()
    # prose only: the head of a program is the task's own code, which every answer to the task opens with
    prose = ~openings.str.contains(_CODE_CHARS).to_numpy()
    rows = ends["row"].to_numpy().astype(np.int64)[prose]
    which = ends["which"].to_numpy().astype(np.int64)[prose]
    openings = openings.filter(pl.Series(prose))
    if openings.is_empty():
        return keys, sizes
    keys[rows, which] = line_keys(openings, size[rows], mask[rows])
    # a record's openings are each a prefix of the next: its longest is shingled, the others counted in it
    sizes[rows, which] = prefix_set_sizes(
        openings, rows, options.shingle_size, options.char_shingle_size, size[rows], mask[rows]
    )
    return keys, sizes


def stock_openings(openings: tuple[np.ndarray, np.ndarray], reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``answer_openings``' matrices with only the openings at least ``STOCK_RECORDS`` answers
    share (``reps``: one record per text, so that copies do not make one stock): a passage many
    answers open with before saying their own (a disclaimer), not the start two answers happen to
    share."""
    keys, sizes = openings
    counted = np.unique(keys[reps][keys[reps] != 0], return_counts=True)
    stock = counted[0][counted[1] >= STOCK_RECORDS]
    held = (keys != 0) & np.isin(keys, stock)
    return np.where(held, keys, 0), np.where(held, sizes, 0)


def opening_only(
    compared: Sets,
    left: np.ndarray,
    right: np.ndarray,
    shared: np.ndarray,
    answers: tuple[Sets, Sets],
    openings: tuple[np.ndarray, np.ndarray],
    threshold: float,
) -> np.ndarray:
    """Which pairs of records (``left`` and ``right``, rows of ``compared`` and of
    ``answer_openings``' ``openings``; ``shared``, the elements of ``compared`` each pair shares;
    ``answers``, the shingles of their answers, pair by pair)
    are alike only by a stock passage their answers open with: different questions (sharing
    under ``DIFFERENT`` of their shingles), each answer saying something past the opening, and
    the pair under ``threshold`` once the opening is left out, as boilerplate is. A disclaimer
    before each drug's own dosage, asked of each drug, makes two records; one reply given to two
    wordings of a question does not (nothing follows it), nor does a copy (it asks the same)."""
    keys, sizes = openings
    same = (keys[left] == keys[right]) & (keys[left] != 0)
    opening = np.where(same, sizes[left], 0).max(axis=1, initial=0).astype(np.int64)
    pick = np.flatnonzero(opening > 0)
    out = np.zeros(left.size, dtype=bool)
    if pick.size == 0:
        return out
    o = opening[pick]
    told = (answers[0].sizes[pick] > o) & (answers[1].sizes[pick] > o)
    asked = [compared.subset(rows[pick]) for rows in (left, right)]
    asked = [a.keeping((a.values & ANSWER) == 0) for a in asked]
    pairs = np.arange(pick.size)
    questions = jaccard(asked[0], pairs, asked[1], pairs)[0]
    common = shared[pick]
    union = compared.sizes[left[pick]] + compared.sizes[right[pick]] - common
    rest = (common - o) / np.maximum(union - o, 1)
    out[pick] = told & (questions < DIFFERENT) & (rest < threshold)
    return out


def shared_openings(units: pl.DataFrame, least: int) -> pl.DataFrame:
    """For the ``units`` (``row``, ``line``) that open with the same ``OPENING_CHARS`` characters as
    ``least`` others at least, the longest opening each shares with another (its neighbours in
    sorted order), as a sentence of its own: counted and left out as boilerplate like any sentence,
    where the frame's end has no punctuation to cut it at. Units twice that long at least, so that
    what each fills the frame with is left."""
    long = units.filter(pl.col("line").str.len_chars() >= 2 * OPENING_CHARS).with_columns(
        head=pl.col("line").str.slice(0, OPENING_CHARS)
    )
    framed = long.filter(pl.len().over("head") >= least).sort("line")
    if framed.is_empty():
        return pl.DataFrame(schema={"row": units.schema["row"], "line": pl.String})
    lines = framed["line"].to_list()
    shared = [_common(a, b) for a, b in zip(lines, lines[1:], strict=False)]
    longest = [max(before, after) for before, after in zip([0, *shared], [*shared, 0], strict=True)]
    openings = pl.Series([line[:n] for line, n in zip(lines, longest, strict=True)], dtype=pl.String)
    keep = (pl.Series(longest) >= OPENING_CHARS) & (openings.str.len_chars() < framed["line"].str.len_chars())
    return framed.select("row", line=openings).filter(keep)


def _common(a: str, b: str) -> int:
    """The length of the longest prefix ``a`` and ``b`` share (by halving: each step one C compare)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def leave_out(s: Shingled, lines: np.ndarray, options: SimilarityOptions) -> Sets:
    """``s.sets`` with the shingles of its lines ``lines`` (sorted) taken out of their records."""
    if lines.size == 0:
        return s.sets
    taken = s.line_sets(lines, options)
    return s.sets.keeping(without(s.sets, s.line_rows[lines], taken.offsets[:-1], taken.sizes, taken.values))


def is_sentence(keys: np.ndarray) -> np.ndarray:
    """Which of ``keys`` are a sentence of a line's, not a whole line's."""
    return (keys & SENTENCE) != 0


def boilerplate_lines(keys: np.ndarray, floor: int) -> np.ndarray:
    """The sorted distinct line keys found in at least ``floor`` records (``keys``: the distinct
    line keys of each record, one after another)."""
    distinct, records = np.unique(keys, return_counts=True)
    return distinct[records >= floor]


def without(sets: Sets, rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which elements of ``sets`` stay when ``values[starts[i]:starts[i] + lengths[i]]`` are taken
    out of set ``rows[i]``.

    Records that take out the same pieces (the lines of one tool description) are a group with
    one union of them, so every element of those records is looked up once, as ``group << 32 |
    value``, in a hash set of the groups' unions: a few hundred unions for a million records
    behind a few hundred preambles, not a search per piece and record."""
    keep = np.ones(sets.values.size, dtype=bool)
    if rows.size == 0:
        return keep
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    piece = starts * (int(lengths.max()) + 1) + lengths  # the same piece, the same number
    lists = (
        pl.DataFrame({"row": rows, "piece": piece})
        .group_by("row")
        .agg(pl.col("piece").unique().sort())
        .sort("row")
        .with_columns(group=pl.col("piece").rank("dense").cast(pl.Int64) - 1)
    )
    records, group = lists["row"].to_numpy(), lists["group"].to_numpy()
    # each group's pieces, read off its first record
    first = lists.group_by("group").agg(pl.col("piece").first()).explode("piece")
    of, taken = first["group"].to_numpy().astype(np.uint64), first["piece"].to_numpy()
    taken_starts, taken_lengths = taken // (int(lengths.max()) + 1), taken % (int(lengths.max()) + 1)
    union = (np.repeat(of, taken_lengths) << np.uint64(32)) | (
        values[ranges(taken_starts, taken_lengths)] & ~ANSWER
    ).astype(np.uint64)
    union = pl.Series(distinct(union)).implode()
    sizes = sets.sizes
    for lo in range(0, records.size, BLOCK):
        part = records[lo : lo + BLOCK]
        at = sets.positions(part)  # a shingle is taken out wherever it was found, question or answer
        tags = np.repeat(group[lo : lo + BLOCK].astype(np.uint64), sizes[part]) << np.uint64(32)
        found = pl.Series(tags | (sets.values[at] & ~ANSWER).astype(np.uint64)).is_in(union).to_numpy()
        keep[at[found]] = False
    return keep
