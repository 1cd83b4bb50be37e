"""MinHash signatures of many texts at once, and LSH bands that turn them into candidate pairs.

Shingles: a text is cut into tokens, words (runs between spaces) for spaced scripts and single
characters for Chinese and Japanese (which have no spaces); a shingle is ``n`` consecutive
tokens, ``n`` being the word size or, for a text written mostly in Han or kana, the character
size. A text shorter than ``n`` tokens is one shingle.

Signatures follow datasketch's ``affine32`` scheme exactly (the same permutations, drawn by
datasketch from the seed, the same pre-mix and arithmetic), so a signature here equals
``datasketch.MinHash(scheme="affine32")`` fed the same shingle hashes, but is computed for a
whole batch in a few numpy passes instead of one ``update`` per shingle.

Bands: ``datasketch.MinHashLSH`` picks the banding (b bands of r rows) that balances false
positives and false negatives at the threshold; records whose signatures agree on every row
of a band share a bucket and become a candidate pair. The buckets are built with a sort per
band rather than in MinHashLSH's own storage, which costs about 5 KB and 0.2 ms per record in
Python objects (6 GB and minutes for a million records); candidates are then checked against
the threshold with the estimated Jaccard similarity, like MinHashLSH's documentation advises.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from datasketch import MinHash, MinHashLSH

from dqe.features.text import TURN_SEPARATOR

CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
TOKEN_PATTERN = rf"[{CJK}]|[^\s{CJK}]+"  # one CJK character, or a run of other non-space characters
EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's value for a set with no element
_TOKEN_SEED = 0x70CE
_CHUNK = 1 << 16  # shingles per numpy pass: bounds the temporary arrays to a few hundred KB
_MIX = np.uint64(0x9E3779B97F4A7C15)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: every input bit moves every output bit."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before its permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def tokens(texts: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token hashes of every text (flat, text after text), the number of tokens and the number
    of Chinese or Japanese characters of each text.

    A token is a run of characters between spaces (turn separators count as spaces), except
    that every Han or kana character is a token of its own. Splitting on spaces is what makes
    this fast; only texts with CJK characters go through a regular expression.
    """
    texts = texts.fill_null("").str.replace_all(TURN_SEPARATOR, " ", literal=True)
    n = texts.len()
    parts = texts.str.split(" ")
    lengths = parts.list.len().to_numpy().astype(np.int64)
    flat = parts.explode()
    token_hash = flat.hash(seed=_TOKEN_SEED).to_numpy()
    cjk = np.zeros(n, dtype=np.int64)
    cjk_rows = texts.str.contains(f"[{CJK}]").to_numpy()
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
    return token_hash, lengths, cjk


def shingle_hashes(texts: pl.Series, word_size: int, char_size: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every shingle of every text (flat, text after text) and the number of
    shingles of each text."""
    token_hash, lengths, cjk = tokens(texts)
    size = np.where(2 * cjk > lengths, char_size, word_size).astype(np.int64)
    counts = np.where(lengths > 0, np.maximum(lengths - size + 1, 1), 0)
    n = token_hash.size
    if n == 0:
        return np.zeros(0, dtype=np.uint32), counts
    # The shingle starting at token i hashes as ((t[i] * M + t[i+1]) * M + t[i+2]) ..., over
    # slices of the whole batch; it counts where it ends inside its own text.
    starts = np.cumsum(lengths) - lengths
    combined = np.zeros(n, dtype=np.uint64)
    keep = np.zeros(n, dtype=bool)
    for k in np.unique(size[lengths > 0]).tolist():
        texts_k = np.flatnonzero((size == k) & (lengths >= k))
        if texts_k.size == 0:
            continue
        window = token_hash[: n - k + 1].copy()
        for t in range(1, k):
            window = window * _MIX + token_hash[t : n - k + 1 + t]
        edges = np.bincount(starts[texts_k], minlength=n + 1) - np.bincount(
            starts[texts_k] + lengths[texts_k] - k + 1, minlength=n + 1
        )
        valid = np.cumsum(edges[: window.size]) > 0
        combined[: window.size][valid] = window[valid]
        keep[: window.size] |= valid
    # A text shorter than its shingle size is one shingle of all its tokens.
    short = np.flatnonzero((lengths > 0) & (lengths < size))
    if short.size:
        first = starts[short]
        h = token_hash[first].copy()
        for t in range(1, int(lengths[short].max())):
            h = np.where(t < lengths[short], h * _MIX + token_hash[np.minimum(first + t, n - 1)], h)
        combined[first] = h
        keep[first] = True
    folded = combined[keep]
    return (folded ^ (folded >> np.uint64(32))).astype(np.uint32), counts


class MinHasher:
    """Signatures of ``num_perm`` 32-bit values per text; word and character shingle sizes."""

    def __init__(self, num_perm: int = 256, word_size: int = 2, char_size: int = 2, seed: int = 1):
        self.num_perm = num_perm
        self.word_size = word_size
        self.char_size = char_size
        self.seed = seed
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)

    def signatures(self, texts: pl.Series) -> np.ndarray:
        """A (texts, num_perm) uint32 matrix; a text without any word has all values ``EMPTY``."""
        hashes, counts = shingle_hashes(texts, self.word_size, self.char_size)
        return self.from_shingles(hashes, counts)

    def from_shingles(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        out = np.full((counts.size, self.num_perm), EMPTY, dtype=np.uint32)
        rows = np.flatnonzero(counts)
        if rows.size == 0:
            return out
        mixed = fmix32(hashes)
        sizes = counts[rows]
        ends = np.cumsum(sizes)
        starts = ends - sizes
        # Chunks of whole texts holding about _CHUNK shingles (a longer text is a chunk alone).
        cuts = np.unique(np.searchsorted(ends, np.arange(_CHUNK, int(ends[-1]), _CHUNK), side="left") + 1)
        bounds = np.concatenate(([0], cuts[cuts < rows.size], [rows.size]))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            s0, s1 = int(starts[lo]), int(ends[hi - 1])
            chunk = mixed[s0:s1]
            offsets = starts[lo:hi] - s0
            tmp = np.empty(s1 - s0, dtype=np.uint32)
            block = np.empty((hi - lo, self.num_perm), dtype=np.uint32)
            for p in range(self.num_perm):
                np.multiply(chunk, self._a[p], out=tmp)
                tmp += self._b[p]
                block[:, p] = np.minimum.reduceat(tmp, offsets)
            out[rows[lo:hi]] = block
        return out


def similarity(
    left: np.ndarray,
    left_rows: np.ndarray,
    right: np.ndarray,
    right_rows: np.ndarray,
    chunk: int = 1 << 14,
) -> np.ndarray:
    """Estimated Jaccard similarity of pairs of signatures, ``left[left_rows[i]]`` with
    ``right[right_rows[i]]``: the share of equal values."""
    out = np.empty(left_rows.size, dtype=np.float64)
    for lo in range(0, out.size, chunk):
        equal = left[left_rows[lo : lo + chunk]] == right[right_rows[lo : lo + chunk]]
        out[lo : lo + chunk] = equal.mean(axis=1)
    return out


def compact(signatures: np.ndarray) -> np.ndarray:
    """The low 16 bits of each value (b-bit MinHash, b = 16): half the memory, and two records
    agree on a value with probability J + (1 - J) / 65536 instead of J, a negligible bias. So
    256 permutations cost what 128 full ones do, with the estimate's error down by a third."""
    return signatures.astype(np.uint16)


def is_empty(signatures: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which ``rows`` stand for a text without any word (every value EMPTY, or its low bits)."""
    full = np.iinfo(signatures.dtype).max
    empty = signatures[rows, 0] == full
    maybe = np.flatnonzero(empty)
    empty[maybe] = (signatures[rows[maybe]] == full).all(axis=1)
    return empty


class Bands:
    """LSH banding for a Jaccard threshold: ``b`` bands of ``r`` rows, chosen by datasketch's
    ``MinHashLSH`` for the threshold and its (false positive, false negative) weights, unless
    ``bands`` is given."""

    def __init__(
        self,
        threshold: float,
        num_perm: int,
        bands: int | None = None,
        weights: tuple[float, float] = (0.5, 0.5),
    ):
        params = None if bands is None else (bands, num_perm // bands)
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights, params=params)
        self.b, self.r = lsh.b, lsh.r
        self.ranges = list(lsh.hashranges)

    def keys(self, signatures: np.ndarray, rows: np.ndarray | None = None, chunk: int = 1 << 16) -> np.ndarray:
        """A (rows, b) uint64 matrix: the hash of each band of each signature (of ``rows``)."""
        count = signatures.shape[0] if rows is None else rows.size
        out = np.empty((count, self.b), dtype=np.uint64)
        for lo in range(0, count, chunk):
            part = signatures[lo : lo + chunk] if rows is None else signatures[rows[lo : lo + chunk]]
            part = part.astype(np.uint64)
            for i, (start, end) in enumerate(self.ranges):
                h = np.full(part.shape[0], i, dtype=np.uint64)
                for j in range(start, end):
                    h = h * _MIX + part[:, j]
                out[lo : lo + chunk, i] = fmix64(h)
        return out


NONE = np.iinfo(np.int64).max  # "no partner" in a partner matrix


def merge_partners(best: np.ndarray, rows: np.ndarray, new: np.ndarray) -> None:
    """Merge candidate partners ``new`` (one row per ``rows``, ``NONE``-padded) into
    ``best[rows]``: each row keeps its smallest distinct partners, as many as ``best`` has columns."""
    merged = np.sort(np.concatenate((best[rows], new), axis=1), axis=1)
    merged[:, 1:][merged[:, 1:] == merged[:, :-1]] = NONE
    merged.sort(axis=1)
    best[rows] = merged[:, : best.shape[1]]


def bucket_partners(keys: np.ndarray, partners: int = 16) -> np.ndarray:
    """For each row, the best rows (smallest, hence better: rows come best first) that share a
    bucket with it in some band, at most ``partners`` of them, ``NONE``-padded.

    Clusters are stars around the best rows, so a row's best bucket-mates are the candidates
    that decide its cluster. Capping them keeps work and memory linear in the number of rows
    even on degenerate data (a template filled a million times, where every record shares
    every bucket), at a small cost in recall there.
    """
    n = keys.shape[0]
    best = np.full((n, partners), NONE, dtype=np.int64)
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")  # stable: rows keep their order in a bucket
        k = keys[order, band]
        new_run = np.concatenate(([True], k[1:] != k[:-1]))
        run_id = np.cumsum(new_run) - 1
        run_start = np.flatnonzero(new_run)
        pos = np.arange(n) - run_start[run_id]
        members = np.flatnonzero(pos > 0)  # rows with a better row in their bucket
        if members.size == 0:
            continue
        start, pos = run_start[run_id[members]], pos[members]
        found = np.full((members.size, partners), NONE, dtype=np.int64)
        for q in range(min(partners, int(pos.max()))):
            pick = pos > q
            found[pick, q] = order[start[pick] + q]
        merge_partners(best, order[members], found)
    return best


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
        best = np.full((n, partners), NONE, dtype=np.int64)
        for band, (indexed, items) in enumerate(zip(self._keys, self._items, strict=True)):
            lo = np.searchsorted(indexed, keys[:, band], side="left")
            count = np.minimum(np.searchsorted(indexed, keys[:, band], side="right") - lo, partners)
            rows = np.flatnonzero(count)
            if rows.size == 0:
                continue
            found = np.full((rows.size, partners), NONE, dtype=np.int64)
            for q in range(int(count.max())):
                pick = count[rows] > q
                found[pick, q] = items[lo[rows[pick]] + q]
            merge_partners(best, rows, found)
        query, column = np.nonzero(best != NONE)
        return query, best[query, column]
