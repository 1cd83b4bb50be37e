"""Shingle sets of many texts at once, MinHash signatures of them, LSH bands that turn the
signatures into candidate pairs, and the exact Jaccard similarity that verifies the candidates.

Shingles: a text is cut into tokens, words (runs between spaces) for spaced scripts and single
characters for Chinese and Japanese (which have no spaces); in a text of ``NUMBERS_MASKED_FROM``
bytes or more every run of digits is the same token, so that a copy whose numbers were changed
is still a copy, while in a shorter one numbers stay what they are, as they are often all a
short record asks ("Convert 45 km to meters" and "Convert 8 km to meters" are two questions);
a shingle is ``n`` consecutive
tokens, ``n`` being the word size or, for a text written mostly in Han or kana, the character
size. A text shorter than ``n`` tokens is one shingle. A text's shingles are kept as a sorted
array of distinct 32-bit hashes (``Sets``): about 4 bytes a word, enough to compute the exact
Jaccard similarity of any two texts later without their text.

Signatures: one-permutation hashing (Li, Owen and Zhang, 2012). The hash range is cut into
``bins`` equal bins and a text's value in a bin is its smallest hash there, read off its sorted
array for a whole batch in a few numpy passes; a bin a text has no hash in borrows the value of
the next filled bin to its right, shifted by the distance (rotation densification, Shrivastava
and Li, 2014). Two texts agree in a bin with probability close to their Jaccard similarity, as
with k-permutation MinHash, at the cost of one hash per shingle instead of k.

Bands: ``datasketch.MinHashLSH`` picks the banding (b bands of r rows) that balances false
positives and false negatives at the threshold; texts whose signatures agree on every row of a
band share a bucket and become a candidate pair. The buckets are built with a sort per band
rather than in MinHashLSH's own storage, which costs about 5 KB and 0.2 ms per record in Python
objects (6 GB and minutes for a million records). Signatures only choose the candidates (with
their estimate of the similarity, the share of equal values): each candidate worth it is
verified with the exact Jaccard similarity of the two sets (``jaccard``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from dqe import diskcache
from dqe.features.text import TURN_SEPARATOR

CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
TOKEN_PATTERN = rf"[{CJK}]|[^\s{CJK}]+"  # one CJK character, or a run of other non-space characters
NUMBER = r"\d+"  # every number is this one token: "0", in texts of NUMBERS_MASKED_FROM bytes or more
NUMBERS_MASKED_FROM = 200  # bytes: about 35 English words, 65 Chinese characters
EMPTY = np.uint32(0xFFFFFFFF)  # the signature value of a set without any element
_TOKEN_SEED = 0x70CE
_LINE_SEED = 0x11E5
_ROWS = 1 << 14  # sets per numpy pass over signatures: bounds the temporary arrays to a few MB
_SKETCH_THREADS = 4  # passes over signatures at once, at most
_PAIRS = 1 << 22  # set elements gathered per pass when pairs are compared
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = 0x9E3779B9  # added per bin of distance to a borrowed value (densification)
LINE_BREAK = "\x1f"  # between two lines of a user turn in a text to shingle, spaced: no shingle spans it
_SEPARATOR_HASH = pl.Series([TURN_SEPARATOR]).hash(seed=_TOKEN_SEED)[0]  # a turn separator, as a token
_BREAK_HASH = pl.Series([LINE_BREAK]).hash(seed=_TOKEN_SEED)[0]  # a line break, as a token
ANSWER = np.uint32(1)  # the lowest bit of a set's value: the shingle is found in an answer turn


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: every input bit moves every output bit."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def numbers_masked(texts: pl.Series) -> np.ndarray:
    """Which texts are long enough for their numbers to be masked."""
    return (texts.fill_null("").str.len_bytes() >= NUMBERS_MASKED_FROM).to_numpy()


def masked(texts: pl.Series, mask: np.ndarray | None = None, turns: bool = False) -> pl.Series:
    """Texts as they are shingled: turn separators as spaces (or, with ``turns``, as tokens of
    their own between spaces), and every number as ``0`` in the texts ``mask`` marks (default:
    the long ones, ``numbers_masked``). A ``LINE_BREAK`` is written between spaces already."""
    texts = texts.fill_null("").str.replace_all(TURN_SEPARATOR, f" {TURN_SEPARATOR} " if turns else " ", literal=True)
    mask = numbers_masked(texts) if mask is None else np.asarray(mask, dtype=bool)
    if not mask.any():
        return texts
    if mask.all():
        return texts.str.replace_all(NUMBER, "0")
    return pl.select(pl.when(pl.Series(mask)).then(texts.str.replace_all(NUMBER, "0")).otherwise(texts)).to_series()


def _wide(texts: pl.Series) -> np.ndarray:
    """Which texts hold a character beyond ASCII (more bytes than characters)."""
    return (texts.str.len_bytes() != texts.str.len_chars()).to_numpy()


def tokens(
    texts: pl.Series, mask: np.ndarray | None = None, answers: pl.Series | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Token hashes of every text (flat, text after text), the number of tokens and the number
    of Chinese or Japanese characters of each text, which tokens are in an answer (a turn
    ``answers`` marks: a ``List(Boolean)``, one per turn of each text; none when not given), the
    number of tokens of each part (a text, cut at its ``LINE_BREAK``s when ``answers`` are given;
    parts that have some, in order) and of each answer turn (``(text, first token, tokens)``).

    A token is a run of characters between spaces (turn separators count as spaces; numbers are
    ``0`` in the texts ``mask`` marks, see ``masked``), except that every Han or kana character is a token of its own. Splitting on spaces is
    what makes this fast; only texts with CJK characters go through a regular expression.
    """
    texts = masked(texts, mask, turns=answers is not None)
    n = texts.len()
    parts = texts.str.split(" ")
    lengths = parts.list.len().to_numpy().astype(np.int64)
    flat = parts.explode()
    token_hash = flat.hash(seed=_TOKEN_SEED).to_numpy()
    cjk = np.zeros(n, dtype=np.int64)
    cjk_rows = _wide(texts)  # only text beyond ASCII can hold CJK characters
    if cjk_rows.any():
        cjk_rows[cjk_rows] = texts.filter(cjk_rows).str.contains(f"[{CJK}]").to_numpy()
    # Drop empty tokens (an empty text, an empty turn) and the split of texts with CJK characters,
    # which are tokenized again below.
    drop = (flat == "").to_numpy() | np.repeat(cjk_rows, lengths)
    if drop.any():
        lengths -= np.bincount(np.repeat(np.arange(n), lengths)[drop], minlength=n)
        token_hash = token_hash[~drop]
    if cjk_rows.any():
        rows = np.flatnonzero(cjk_rows)
        subset = texts.gather(rows)
        cjk[rows] = subset.str.count_matches(f"[{CJK}]").to_numpy()
        found = subset.str.extract_all(TOKEN_PATTERN)
        lengths[rows] = found.list.len().to_numpy()
        merged = np.empty(int(lengths.sum()), dtype=np.uint64)
        from_cjk = np.repeat(cjk_rows, lengths)  # texts stay in order within each source
        merged[from_cjk] = found.explode().drop_nulls().hash(seed=_TOKEN_SEED).to_numpy()
        merged[~from_cjk] = token_hash
        token_hash = merged
    if answers is None:
        none = np.zeros(0, dtype=np.int64)
        return token_hash, lengths, cjk, np.zeros(token_hash.size, dtype=bool), lengths[lengths > 0], (none, none, none)
    return _sided(token_hash, lengths, cjk, answers)


def _sided(
    token_hash: np.ndarray, lengths: np.ndarray, cjk: np.ndarray, answers: pl.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The tokens without the turn separators and line breaks among them, which are in an answer
    turn (a text's k-th turn follows its k-th separator), the tokens of each part (cut at line
    breaks) and where each answer turn's tokens are: ``(text, first token, tokens)``."""
    n = lengths.size
    separator = token_hash == _SEPARATOR_HASH
    cut = token_hash == _BREAK_HASH
    owner = np.repeat(np.arange(n), lengths)
    before = np.cumsum(separator) - separator  # separators before each token, over the batch
    starts = np.cumsum(lengths) - lengths
    turn = before - before[np.minimum(starts, max(before.size - 1, 0))][owner] if before.size else before
    turns = answers.list.len().fill_null(0).to_numpy().astype(np.int64)
    flat = np.append(answers.explode(empty_as_null=False).fill_null(False).to_numpy().astype(bool), False)
    first = np.cumsum(turns) - turns
    # a token past the last turn marked (or of a text without turns) is in no answer
    at = np.where(turn < turns[owner], first[owner] + turn, flat.size - 1)
    keep = ~(separator | cut)
    lengths = lengths - np.bincount(owner[~keep], minlength=n)
    owner, turn, side = owner[keep], turn[keep], flat[at][keep]
    # a part starts at a text's first token or after a line break; a turn's tokens are a run too
    parts = np.diff(np.append(_starts(owner, np.cumsum(cut)[keep]), owner.size))
    begin = _starts(owner, turn)
    size = np.diff(np.append(begin, owner.size))
    answer = side[begin]
    return token_hash[keep], lengths, cjk, side, parts, (owner[begin[answer]], begin[answer], size[answer])


def _starts(*keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values of ``keys`` (read together) starts."""
    change = np.zeros(keys[0].size, dtype=bool)
    change[:1] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


def shingle_hashes(
    texts: pl.Series,
    word_size: int,
    char_size: int,
    size: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    answers: pl.Series | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """32-bit hashes of every shingle of every text (flat, text after text), the number of
    shingles of each text, the shingle size each text was cut with (``size``, when given, sets it
    per text instead of its script; ``mask``, which texts have their numbers masked instead of
    their length: the lines of a record are cut as the record is) and which shingles start in an
    answer turn (``answers``, see ``tokens``).

    With ``answers``, shingles run across turns but not across the line breaks of a user turn
    (``LINE_BREAK``); a part shorter than the shingle size is one shingle, and so is an answer
    turn shorter than it (a one-word answer: "Steve", "negative"), so that every answer has a
    shingle of its own to be compared by."""
    token_hash, lengths, cjk, side, parts, (answer_text, answer_start, answer_len) = tokens(texts, mask, answers)
    if size is None:
        size = np.where(2 * cjk > lengths, char_size, word_size)
    size = np.asarray(size, dtype=np.int64)
    n = token_hash.size
    part_owner = np.repeat(np.arange(lengths.size), lengths)[np.cumsum(parts) - parts]
    part_size = size[part_owner]
    starts = np.cumsum(parts) - parts
    # The shingle starting at token i hashes as ((t[i] * M + t[i+1]) * M + t[i+2]) ..., over
    # slices of the whole batch; it counts where it ends inside its own part.
    combined = np.zeros(n, dtype=np.uint64)
    keep = np.zeros(n, dtype=bool)
    for k in np.unique(part_size).tolist():
        parts_k = np.flatnonzero((part_size == k) & (parts >= k))
        if parts_k.size == 0:
            continue
        window = token_hash[: n - k + 1].copy()
        for t in range(1, k):
            window = window * _MIX + token_hash[t : n - k + 1 + t]
        edges = np.bincount(starts[parts_k], minlength=n + 1) - np.bincount(
            starts[parts_k] + parts[parts_k] - k + 1, minlength=n + 1
        )
        valid = np.cumsum(edges[: window.size]) > 0
        combined[: window.size][valid] = window[valid]
        keep[: window.size] |= valid
    # A part shorter than its shingle size is one shingle of all its tokens, in its place; so is
    # an answer turn, after the shingle that starts where it does.
    short = parts < part_size
    combined[starts[short]] = _run(token_hash, starts[short], parts[short])
    keep[starts[short]] = True
    short = answer_len < size[answer_text]
    into = np.repeat(np.arange(lengths.size), lengths)
    counts = np.bincount(into[keep], minlength=lengths.size) + np.bincount(answer_text[short], minlength=lengths.size)
    at = np.searchsorted(np.flatnonzero(keep), answer_start[short], side="right")
    folded = np.insert(combined[keep], at, _run(token_hash, answer_start[short], answer_len[short]))
    sides = np.insert(side[keep], at, True)
    return (folded ^ (folded >> np.uint64(32))).astype(np.uint32), counts.astype(np.int64), size, sides


def _run(token_hash: np.ndarray, first: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The hash of the run of ``length[i]`` tokens from ``first[i]``, as a shingle of that many."""
    h = token_hash[first].copy()
    for t in range(1, int(length.max(initial=1))):
        h = np.where(t < length, h * _MIX + token_hash[np.minimum(first + t, token_hash.size - 1)], h)
    return h


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (by sorting: numpy's ``unique`` hashes, many times slower here)."""
    values = sorted_values(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


def sorted_values(values: np.ndarray) -> np.ndarray:
    """``values`` sorted, by polars: half numpy's CPU on a million random 64-bit keys, and on
    more than one thread (numpy's stable sort is as fast where the values are runs already)."""
    return pl.Series(values).sort().to_numpy(writable=True)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + lengths[i] - 1`` of every i, one after another."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.repeat(np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths) + np.arange(total)


def ragged(values: np.ndarray, counts: np.ndarray, dtype: pl.DataType) -> pl.Series:
    """A list column from flat ``values`` and how many of them each row has."""
    n = counts.size
    rows = pl.Series("r", np.repeat(np.arange(n, dtype=np.uint32), counts)).set_sorted()
    grouped = pl.DataFrame({"r": rows, "v": pl.Series(values, dtype=dtype)}).group_by("r", maintain_order=True).agg("v")
    return (
        pl.DataFrame({"r": np.arange(n, dtype=np.uint32)})
        .join(grouped, on="r", how="left", maintain_order="left")
        .select(pl.col("v").fill_null(pl.lit([], dtype=pl.List(dtype))))
        .to_series()
    )


@dataclass(frozen=True)
class Sets:
    """The shingle sets of many texts, flat: set ``i`` is ``values[offsets[i]:offsets[i + 1]]``,
    sorted distinct 32-bit hashes."""

    values: np.ndarray  # uint32
    offsets: np.ndarray  # int64, one more than there are sets

    @classmethod
    def of(cls, values: np.ndarray, counts: np.ndarray) -> Sets:
        return cls(values, np.concatenate(([0], np.cumsum(counts, dtype=np.int64))))

    @classmethod
    def from_column(cls, column: pl.Series) -> Sets:
        """From a ``List(UInt32)`` column written by ``column``."""
        values = column.explode(empty_as_null=False).to_numpy()
        return cls.of(values.astype(np.uint32, copy=False), column.list.len().to_numpy())

    def column(self) -> pl.Series:
        return ragged(self.values, self.sizes, pl.UInt32)

    def __len__(self) -> int:
        return self.offsets.size - 1

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Where the elements of ``rows`` (in that order) are in ``values``."""
        return ranges(self.offsets[rows], self.offsets[rows + 1] - self.offsets[rows])

    def keeping(self, keep: np.ndarray) -> Sets:
        """The sets with only the elements ``keep`` marks."""
        counts = np.zeros(len(self), dtype=np.int64)
        filled = np.flatnonzero(self.sizes > 0)  # a segment of reduceat runs to the next one's start
        if filled.size:
            counts[filled] = np.add.reduceat(keep.view(np.uint8), self.offsets[filled], dtype=np.int64)
        return Sets.of(self.values[keep], counts)

    def subset(self, rows: np.ndarray) -> Sets:
        """The sets ``rows``, in that order, as sets of their own."""
        return Sets.of(self.values[self.positions(rows)], self.offsets[rows + 1] - self.offsets[rows])

    def answer_part(self, rows: np.ndarray | None = None) -> Sets:
        """The sets (or only ``rows`` of them, in that order) with only their answer's shingles
        (values tagged ``ANSWER``)."""
        part = self if rows is None else self.subset(rows)
        return part.keeping((part.values & ANSWER) == ANSWER)

    def keys(self, rows: np.ndarray) -> np.ndarray:
        """``k << 32 | value`` for every element of the k-th of ``rows``, the ``ANSWER`` bit left out
        (a shingle is the same whichever turns it is in): sorted when ``rows`` are."""
        sizes = self.offsets[rows + 1] - self.offsets[rows]
        tags = np.repeat(np.arange(rows.size, dtype=np.uint64), sizes) << np.uint64(32)
        return tags | (self.values[self.positions(rows)] & ~ANSWER).astype(np.uint64)


def shingle_sets(
    texts: pl.Series,
    word_size: int,
    char_size: int,
    size: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    answers: pl.Series | None = None,
) -> tuple[Sets, np.ndarray]:
    """The shingle set of every text and the shingle size it was cut with (see ``shingle_hashes``).
    Hashes are mixed once more, so that a set's smallest values are a uniform sample of it; the
    lowest bit of a value is ``ANSWER`` for a shingle found in an answer turn (``answers``) at
    least once, so that a set tells its answer's shingles (``answer_part``) at no cost, and a
    shingle is still one element however many turns it is found in."""
    hashes, counts, size, side = shingle_hashes(texts, word_size, char_size, size, mask, answers)
    values = (fmix32(hashes) & ~ANSWER) | side.astype(np.uint32)
    keys = np.repeat(np.arange(counts.size, dtype=np.uint64), counts) << np.uint64(32)
    keys = np.sort(keys | values.astype(np.uint64), kind="stable")  # sorted by text already: runs merge
    # of the values of one shingle, the last sorted is the answer's when it has one
    shingle = keys >> np.uint64(1)
    keys = keys[np.append(shingle[1:] != shingle[:-1], True)] if keys.size else keys
    return Sets.of(
        (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), np.bincount(keys >> np.uint64(32), minlength=counts.size)
    ), size


def prefix_set_sizes(
    texts: pl.Series,
    group: np.ndarray,
    word_size: int,
    char_size: int,
    size: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """The size of each text's shingle set (``shingle_sets``' ``sizes``, with ``size`` and ``mask``)
    where the texts of a ``group`` (a run of equal values) are each a prefix of the next, shorter
    first, as an answer's openings are: only a group's last text is shingled, and a shorter text
    that ends where one of its tokens does and is tokenized the same way (both split at spaces,
    or both holding Chinese or Japanese) counts the distinct shingles among the first of them. The
    others (cut inside a token: "3." of "3.5") are shingled apart. The same sizes as shingling
    every text, for the text of the longest only."""
    n = texts.len()
    out = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out
    last = np.flatnonzero(np.append(group[1:] != group[:-1], True))
    owner = np.repeat(np.arange(last.size), np.diff(np.append(-1, last)))
    longest = texts.gather(last)
    hashes, counts, shingle, _ = shingle_hashes(longest, word_size, char_size, size[last], mask[last])
    # distinct values as shingle_sets keeps them, counted where each is first seen in its text
    keys = (np.repeat(np.arange(last.size, dtype=np.uint64), counts) << np.uint64(32)) | (
        fmix32(hashes) & ~ANSWER
    ).astype(np.uint64)
    seen = np.concatenate(([0], np.cumsum(pl.Series(keys).is_first_distinct().to_numpy())))
    start = np.cumsum(counts) - counts
    out[last] = seen[start + counts] - seen[start]
    shorter = np.setdiff1d(np.arange(n), last, assume_unique=True)
    if shorter.size == 0:
        return out
    # how tokens() cuts each longest text: at spaces, or by the pattern where it holds CJK characters
    cjk = _wide(longest)
    if cjk.any():
        cjk[cjk] = longest.filter(cjk).str.contains(f"[{CJK}]").to_numpy()
    plain = ~longest.str.contains(TURN_SEPARATOR, literal=True).to_numpy()
    g = owner[shorter]
    prefixes = texts.gather(shorter)
    follows = longest.gather(g).str.slice(prefixes.str.len_chars(), 1)
    spaced = plain[g] & ~cjk[g] & (follows == " ").to_numpy()
    wide = plain[g] & cjk[g]
    if wide.any():
        mine = prefixes.filter(wide)
        boundary = follows.filter(wide).str.contains(rf"^[\s{CJK}]") | mine.str.contains(rf"[{CJK}]$")
        wide[wide] = (boundary & mine.str.contains(f"[{CJK}]")).to_numpy()
    words = np.zeros(shorter.size, dtype=np.int64)
    words[spaced] = prefixes.filter(spaced).str.count_matches("[^ ]+").to_numpy()
    words[wide] = prefixes.filter(wide).str.count_matches(TOKEN_PATTERN).to_numpy()
    fast = spaced | wide
    k = shingle[g]
    whole = seen[start[g] + np.clip(words - k + 1, 0, None)] - seen[start[g]]
    out[shorter[fast]] = np.where(words >= k, whole, np.minimum(words, 1))[fast]
    if not fast.all():
        slow = shorter[~fast]
        held, _ = shingle_sets(texts.gather(slow), word_size, char_size, size=size[slow], mask=mask[slow])
        out[slow] = held.sizes
    return out


def line_keys(lines: pl.Series, size: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A 64-bit key per line (its text as shingled, numbers masked where ``mask`` says) and the
    shingle size it is cut with: lines with the same key have the same shingles."""
    h = masked(lines, mask).hash(seed=_LINE_SEED).to_numpy()
    return fmix64(h ^ np.asarray(size, dtype=np.uint64))


def signatures(sets: Sets, rows: np.ndarray, bins: int) -> np.ndarray:
    """A (rows, bins) uint32 matrix: the one-permutation MinHash signature of each set of
    ``rows``, densified; ``EMPTY`` throughout for an empty set."""
    n = rows.size
    sizes = sets.offsets[rows + 1] - sets.offsets[rows]
    values = sets.values[_span(sets, rows)] & ~ANSWER
    # (set, bin) as one number, ascending: a set's hashes are sorted, so the first of each run
    # is the bin's smallest
    cell = np.repeat(np.arange(0, n * bins, bins, dtype=np.int64), sizes)
    cell += ((values.astype(np.uint64) * np.uint64(bins)) >> np.uint64(32)).astype(np.int64)
    first = np.ones(values.size, dtype=bool)
    first[1:] = cell[1:] != cell[:-1]
    cell, values = cell[first], values[first]
    out = np.full(n * bins, EMPTY, dtype=np.uint32)
    out[cell] = values
    # An empty bin takes the next filled bin to its right (wrapping around), shifted by the
    # distance: two sets agree there when they agree on the bin borrowed from. The bins of a band
    # are far apart (``Bands``), so that a band of a small set is not one borrowed value repeated.
    # Each filled bin lends to the empty ones since the filled bin before it (for a set's first,
    # its last, one turn of the bins back).
    column = cell % bins
    before = np.empty_like(cell)
    before[1:] = cell[:-1]
    owner = cell // bins
    start = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1]))) if cell.size else cell
    last = np.append(start[1:], cell.size) - 1
    before[start] = cell[last] - bins
    gap = cell - before - 1
    lenders = np.flatnonzero(gap)
    distance = ranges(np.ones(lenders.size, dtype=np.int64), gap[lenders])
    lender = np.repeat(lenders, gap[lenders])
    out[owner[lender] * bins + (column[lender] - distance) % bins] = values[lender] + distance.astype(
        np.uint32
    ) * np.uint32(_SHIFT)
    return out.reshape(n, bins)


def _span(sets: Sets, rows: np.ndarray) -> slice | np.ndarray:
    """Where the elements of ``rows`` are in ``sets.values``: for rows in ascending order, the span
    they cover less the sets between them, cheaper to read than the positions one by one."""
    if rows.size == 0 or (rows[1:] <= rows[:-1]).any():
        return sets.positions(rows)
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    span = slice(int(sets.offsets[lo]), int(sets.offsets[hi]))
    if hi - lo == rows.size:
        return span
    inside = np.zeros(hi - lo, dtype=bool)
    inside[rows - lo] = True
    return np.flatnonzero(np.repeat(inside, np.diff(sets.offsets[lo : hi + 1]))) + span.start


def _banding(threshold: float, bins: int, bands: int | None, weights: tuple[float, float]) -> tuple[int, int]:
    """(bands, rows) as datasketch's MinHashLSH chooses them, kept between runs: choosing them
    imports scipy, about a second of a small check."""
    key = repr((threshold, bins, bands, weights))
    cached = diskcache.load("bands", key)
    if cached is not None:
        b, r = map(int, cached.split())
        return b, r
    from datasketch import MinHashLSH

    params = None if bands is None else (bands, bins // bands)
    lsh = MinHashLSH(threshold=threshold, num_perm=bins, weights=weights, params=params)
    diskcache.store("bands", key, f"{lsh.b} {lsh.r}".encode())
    return lsh.b, lsh.r


class Bands:
    """LSH banding for a Jaccard threshold: ``b`` bands of ``r`` rows of ``bins`` values, chosen by
    datasketch's ``MinHashLSH`` for the threshold and its (false positive, false negative)
    weights, unless ``bands`` is given."""

    def __init__(
        self,
        threshold: float,
        bins: int,
        bands: int | None = None,
        weights: tuple[float, float] = (0.5, 0.5),
    ):
        self.bins = bins
        self.b, self.r = _banding(threshold, bins, bands, weights)
        # Band i holds bins i, i + step, i + 2 step ...: far apart, so that a small set's band is
        # not a run of bins that all borrowed the same value.
        step = bins // self.r
        self.rows = [[i + j * step for j in range(self.r)] for i in range(self.b)]

    def keys(self, signatures: np.ndarray) -> np.ndarray:
        """A (rows, b) uint64 matrix: the hash of each band of each signature."""
        part = signatures.astype(np.uint64)
        out = np.empty((part.shape[0], self.b), dtype=np.uint64)
        for i, rows in enumerate(self.rows):
            h = np.full(part.shape[0], i, dtype=np.uint64)
            for j in rows:
                h = h * _MIX + part[:, j]
            out[:, i] = fmix64(h)
        return out

    def sketch(self, sets: Sets, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band keys of the sets ``rows`` and their signatures cut to 8 bits (b-bit MinHash:
        two sets agree on a value with probability J + (1 - J) / 256, enough to tell which
        candidates are worth verifying, at a byte a value)."""
        keys = np.empty((rows.size, self.b), dtype=np.uint64)
        compact = np.empty((rows.size, self.bins), dtype=np.uint8)
        order = np.argsort(rows, kind="stable")  # in the order they are stored: read a span at a time

        def sketch_part(lo: int) -> None:
            at = order[lo : lo + _ROWS]
            part = signatures(sets, rows[at], self.bins)
            keys[at] = self.keys(part)
            compact[at] = part.astype(np.uint8)

        # Passes write rows of their own, and numpy lets go of the interpreter in each step, so
        # they run on the cores at once: at the end of a run, the data-set rules have them alone.
        starts = range(0, rows.size, _ROWS)
        with ThreadPoolExecutor(min(_SKETCH_THREADS, os.cpu_count() or 1, len(starts) or 1)) as pool:
            list(pool.map(sketch_part, starts))
        return keys, compact


def agreement(signatures: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 1 << 14) -> np.ndarray:
    """The share of equal values of the signatures ``[left[i]]`` and ``[right[i]]``: an estimate
    of the Jaccard similarity of the sets."""
    out = np.empty(left.size, dtype=np.float64)
    for lo in range(0, left.size, chunk):
        out[lo : lo + chunk] = (signatures[left[lo : lo + chunk]] == signatures[right[lo : lo + chunk]]).mean(axis=1)
    return out


def overlap(left: Sets, left_rows: np.ndarray, right: Sets, right_rows: np.ndarray) -> np.ndarray:
    """How many elements the pairs of sets ``left[left_rows[i]]``, ``right[right_rows[i]]`` share."""
    n = left_rows.size
    shared = np.zeros(n, dtype=np.int64)
    work = np.cumsum(
        (left.offsets[left_rows + 1] - left.offsets[left_rows])
        + (right.offsets[right_rows + 1] - right.offsets[right_rows])
    )
    if n == 0 or work[-1] == 0:
        return shared
    # Passes of whole pairs holding about _PAIRS elements (a larger pair is a pass alone).
    cuts = distinct(np.searchsorted(work, np.arange(_PAIRS, int(work[-1]), _PAIRS), side="right"))
    edges = np.concatenate(([0], cuts[(cuts > 0) & (cuts < n)], [n]))
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        # Both halves are sorted by (pair, hash): a stable sort merges the two runs in one pass,
        # and a hash two sets share ends up next to itself.
        both = np.concatenate((left.keys(left_rows[lo:hi]), right.keys(right_rows[lo:hi])))
        both.sort(kind="stable")
        hit = both[1:][both[1:] == both[:-1]] >> np.uint64(32)
        shared[lo:hi] = np.bincount(hit.astype(np.int64), minlength=hi - lo)
    return shared


def jaccard(left: Sets, left_rows: np.ndarray, right: Sets, right_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact Jaccard similarity of pairs of sets and the shared elements behind it (two
    empty sets: 0, nothing to compare)."""
    shared = overlap(left, left_rows, right, right_rows)
    union = (
        (left.offsets[left_rows + 1] - left.offsets[left_rows])
        + (right.offsets[right_rows + 1] - right.offsets[right_rows])
        - shared
    )
    return np.where(union > 0, shared / np.maximum(union, 1), 0.0), shared


NO_PARTNER = np.iinfo(np.int64).max  # "no partner" in a partner matrix


def merge_partners(best: np.ndarray, rows: np.ndarray, new: np.ndarray) -> None:
    """Merge candidate partners ``new`` (one row per ``rows``, ``NO_PARTNER``-padded) into
    ``best[rows]``: each row keeps its smallest distinct partners, as many as ``best`` has columns."""
    merged = np.sort(np.concatenate((best[rows], new), axis=1), axis=1)
    merged[:, 1:][merged[:, 1:] == merged[:, :-1]] = NO_PARTNER
    merged.sort(axis=1)
    best[rows] = merged[:, : best.shape[1]]


class Buckets:
    """The LSH buckets of items (one row of band keys per item, the best item first), for reading
    each item's better bucket-mates a few at a time.

    Per band, only items that share their bucket with another are kept, ordered by bucket and
    then by item, so an item's better bucket-mates are the items before it in its bucket's run.
    ``partners`` reads the best of them after a given item, merged over the bands: a caller asks
    for more only for the items whose first candidates did not decide, so that work stays linear
    even on degenerate data (a template filled a million times, where every record shares every
    bucket and the first candidate decides), and no candidate is crowded out by better-ranked ones
    (data where every record is a little like every other, and a record's copy ranks far down).
    """

    def __init__(self, keys: np.ndarray):
        self.size = n = keys.shape[0]
        bits = max(1, int(n - 1).bit_length())
        self._bands: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for band in range(keys.shape[1]):
            # Sorting the (mixed) key's top bits with the item below them keeps items in order
            # within a bucket at the cost of a plain sort (2^(64 - bits) buckets: collisions are
            # negligible).
            mixed = fmix64(keys[:, band]) >> np.uint64(bits) << np.uint64(bits)
            tagged = sorted_values(mixed | np.arange(n, dtype=np.uint64))
            order = (tagged & np.uint64((1 << bits) - 1)).astype(np.int64)
            k = tagged >> np.uint64(bits)
            run = np.cumsum(np.concatenate(([True], k[1:] != k[:-1]))) - 1
            shared = np.bincount(run)[run] > 1
            if not shared.any():
                continue
            order, run = order[shared], run[shared]
            where = np.full(n, -1, dtype=np.int64)
            where[order] = np.arange(order.size)
            members = np.flatnonzero(where >= 0)
            first = np.flatnonzero(np.concatenate(([True], run[1:] != run[:-1])))
            start = first[np.cumsum(np.concatenate(([True], run[1:] != run[:-1]))) - 1]
            # (items sorted, their position in order, order, run * size + item: ascending, where
            # each position's run starts)
            self._bands.append((members, where[members], order, run * n + order, start))

    def partners(
        self,
        items: np.ndarray,
        after: np.ndarray,
        keep: Callable[[np.ndarray, np.ndarray], np.ndarray],
        width: int = 16,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The bucket-mates of ``items`` (all of them, or a few) that are better than the item, worse than ``after``
        (-1: from the first) and that ``keep(items, mates)`` keeps, as distinct pairs (position
        in ``items``, mate) sorted by both; and, for each item, the bucket-mate up to which every
        band was read (``after`` for the next read) and whether there may be more.

        At most ``width`` bucket-mates of each band are looked at per read, so that a bucket
        holding thousands (records that share nothing but common shingles) costs a few reads of
        the items that need them, not every pair, and does not hide what the other bands give."""
        found: list[np.ndarray] = []
        complete = np.full(items.size, NO_PARTNER, dtype=np.int64)
        everyone = items.size == self.size  # every item (in order): its own position is its place
        for members, where, order, rank, start in self._bands:
            if everyone:
                rows, position = members, where
            else:
                at = np.minimum(np.searchsorted(members, items), members.size - 1)
                rows = np.flatnonzero(members[at] == items)
                position = where[at[rows]]
            if rows.size == 0:
                continue
            if everyone and (after == -1).all():
                lo = start[position]
            else:
                lo = np.searchsorted(rank, rank[position] - order[position] + after[rows] + 1)
            left = position - lo
            full = left > width
            complete[rows[full]] = np.minimum(complete[rows[full]], order[lo[full] + width - 1])
            count = np.minimum(left, width)
            rows, lo, count = rows[count > 0], lo[count > 0], count[count > 0]
            if rows.size == 0:
                continue
            row, q = np.nonzero(np.arange(width) < count[:, None])
            mate = order[lo[row] + q]
            kept = keep(items[rows[row]], mate)
            found.append(rows[row[kept]] * self.size + mate[kept])
        pairs = distinct(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        return pairs // self.size, pairs % self.size, complete, complete != NO_PARTNER


class BucketIndex:
    """The LSH buckets of a fixed set of signatures (one sorted array per band), for finding
    which of them share a bucket with other signatures: an evaluation set against training data."""

    def __init__(self, keys: np.ndarray, items: np.ndarray):
        self._keys: list[np.ndarray] = []
        self._items: list[np.ndarray] = []
        for band in range(keys.shape[1]):
            order = np.argsort(keys[:, band], kind="stable")
            self._keys.append(keys[order, band])
            self._items.append(items[order])

    def candidates(self, keys: np.ndarray, partners: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """Unique pairs (query row, indexed item) that share a bucket in some band: for each
        query row its first ``partners`` items (the smallest), so that work stays linear."""
        n = keys.shape[0]
        best = np.full((n, partners), NO_PARTNER, dtype=np.int64)
        for band, (indexed, items) in enumerate(zip(self._keys, self._items, strict=True)):
            lo = np.searchsorted(indexed, keys[:, band], side="left")
            count = np.minimum(np.searchsorted(indexed, keys[:, band], side="right") - lo, partners)
            rows = np.flatnonzero(count)
            if rows.size == 0:
                continue
            found = np.full((rows.size, partners), NO_PARTNER, dtype=np.int64)
            for q in range(int(count.max())):
                pick = count[rows] > q
                found[pick, q] = items[lo[rows[pick]] + q]
            merge_partners(best, rows, found)
        query, column = np.nonzero(best != NO_PARTNER)
        return query, best[query, column]
