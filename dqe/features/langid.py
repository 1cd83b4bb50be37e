"""Language identification with langdetect's own profiles, a whole batch of texts at a time.

langdetect's ``detect()`` multiplies per-language probabilities of n-grams it draws at random
from a text until one language dominates: a noisy estimate of a naive-Bayes posterior, about
4 ms a call in pure Python, and random unless seeded. This module reads the same profiles
(``langdetect/profiles/*``, 55 languages) and computes that naive-Bayes decision
deterministically, for every text of a batch at once, with numpy:

1. each text is cleaned as langdetect cleans it (URLs and e-mail addresses removed, Vietnamese
   combining marks composed, the first 10,000 characters kept, Latin letters dropped from text
   mostly in another script) and its characters normalized by langdetect's own
   ``NGram.normalize`` (one lookup table for the Basic Multilingual Plane);
2. the 1-, 2- and 3-grams langdetect extracts (word-padded, none inside all-capital words)
   are packed into integer keys and looked up in a hash table of the profiles' n-grams; as
   the 1-, 2- and 3-gram ending at a character always come together, one row per character
   position holds the sum of those that are profiled;
3. a text's score for a language is the sum of ``log(p(n-gram | language) + 0.5 / 10000)``
   over its n-grams (langdetect's smoothing); the best score wins.

Like langdetect, which stops drawing n-grams once one language dominates, the texts are
scored in rounds of character positions spread evenly over each text (16, then 24, 32, ...
up to 1,024): a text leaves once its best language leads the second by ``DECISIVE`` nats, so
that a clear sentence costs 16 to 32 positions and only an ambiguous text costs more. Texts
whose letters are all in a script only one profiled language writes (kana, hangul, Thai,
Greek, Hebrew, the Indic scripts but Devanagari) are decided by the script alone; texts in a
script several languages write (Latin, Cyrillic, Arabic, Devanagari, Han: the profiles tell
which) are scored against those languages only, mixed ones against all. A text with no profiled
n-gram (digits, punctuation, symbols, empty) is ``und``.

Where the best two languages are within ``REPLAY`` nats (one text in 200 of generated
data), langdetect's draws can settle on the other one, and do so every time once seeded
("You too!" is Somali to it). For those texts ``identify`` replays langdetect's seeded sampling
exactly (``dqe.features.langreplay``), so that ``detect`` answers what ``detect()`` answers with
``DetectorFactory.seed = 0``; ``identify(..., replay=False)`` keeps the exact scores' best.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from dqe import diskcache
from dqe.features.langreplay import Probabilities, SeededReplay

UNDETERMINED_LANGUAGE = "und"
DECISIVE = 20.0  # nats between the best and second-best language that end a text's scoring
REPLAY = 1.0  # nats: texts whose best two languages are closer get langdetect's seeded answer

_BMP = 0x10000
_SPACE = 0x20
_SMOOTHING = 0.5 / 10_000  # langdetect's ALPHA_DEFAULT / BASE_FREQ
_MAX_CHARS = 10_000  # langdetect's max_text_length
# Character positions scored per text, cumulative, round after round.
_ROUNDS = (16, 24, 32, 48, 64, 96, 128, 256, 1024)
_GOLDEN = (5**0.5 - 1) / 2  # a step of golden * length spreads any first positions evenly
_BLOCK = 1 << 22  # floats gathered at once when scoring (16 MB)
_CHUNK = 4096  # texts cleaned and scored at once (bounds the per-character arrays)
_SCRIPT_SHARE = 0.01  # share of a profile's characters that makes a script its own
# langdetect's Detector.URL_RE and MAIL_RE, applied by polars' regex engine (same matches).
_URL = r"https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}"
_MAIL = r"[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}"
_VI_MARKS = "[\u0300\u0301\u0303\u0309\u0323]"

# Letters by Unicode range: (first, last, script). Letters elsewhere are of script "other".
_SCRIPT_RANGES = (
    (0x0041, 0x005A, "latin"),
    (0x0061, 0x007A, "latin"),
    (0x00C0, 0x024F, "latin"),
    (0x1E00, 0x1EFF, "latin"),
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0A00, 0x0A7F, "gurmukhi"),
    (0x0A80, 0x0AFF, "gujarati"),
    (0x0B80, 0x0BFF, "tamil"),
    (0x0C00, 0x0C7F, "telugu"),
    (0x0C80, 0x0CFF, "kannada"),
    (0x0D00, 0x0D7F, "malayalam"),
    (0x0E00, 0x0E7F, "thai"),
    (0x1100, 0x11FF, "hangul"),
    (0x3040, 0x30FF, "kana"),
    (0x3100, 0x312F, "han"),  # bopomofo
    (0x3130, 0x318F, "hangul"),
    (0x31A0, 0x31BF, "han"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xF900, 0xFAFF, "han"),
)
# Character classes: 0 not a letter, 1 a letter of no script above, then the scripts.
_SCRIPTS = ("none", "other", *dict.fromkeys(name for _, _, name in _SCRIPT_RANGES))
# A text's script group: the class of all its letters, "none" without letters, or "mixed".
_GROUPS = (*_SCRIPTS, "mixed")
_NONE, _MIXED = 0, len(_SCRIPTS)
_SPACE_CODE = 1 << 1  # Profiles.code of a space: id 1, not upper case
# Per character, two 16-bit counters in one integer, so that one sum over a text counts both
# (texts are at most 10,001 characters): A-z as langdetect counts Latin letters (brackets
# included), and U+0300 and above (langdetect's non-Latin characters).
_FLAGS = np.zeros(_BMP, dtype=np.uint32)
_FLAGS[0x41:0x7B] = 1
_FLAGS[0x300:] = 1 << 16
_SCANNED = 0xC0  # characters from here on are classed one by one (see _groups)


def profiles_dir() -> str:
    """langdetect's shipped profiles, found without importing langdetect (a small check's
    profiles come from dqe's cache, and the import costs more than the lookup)."""
    spec = importlib.util.find_spec("langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("dqe's language identification needs langdetect's profiles: pip install langdetect")
    return os.path.join(spec.submodule_search_locations[0], "profiles")


class _KeyIndex:
    """An open-addressing hash table from packed n-gram keys to row numbers, queried in bulk.

    Each slot holds ``key << 20 | row`` in one word, so a probe is one memory access.
    """

    _MIX = np.uint64(0x9E3779B97F4A7C15)
    _EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
    _ROW_BITS = np.uint64(20)
    _ROW_MASK = np.uint64((1 << 20) - 1)
    _ONE = np.uint64(1)

    def __init__(self, keys: np.ndarray):
        if keys.size >= 1 << 20 or (keys.size and int(keys.max()) >= 1 << 44):
            raise ValueError("too many or too long n-grams for a packed index")
        bits = max(8, int(np.ceil(np.log2(max(keys.size, 1) * 3))))
        self._mask = np.uint64((1 << bits) - 1)
        self._shift = np.uint64(64 - bits)
        self.missing = keys.size  # the row number of an absent key
        self._slots = np.full(1 << bits, self._EMPTY, dtype=np.uint64)
        pending = np.arange(keys.size)
        slots = self._slot(keys)
        while pending.size:  # linear probing, inserted in rounds
            wanted = slots[pending]
            free = self._slots[wanted] == self._EMPTY
            taken, first = np.unique(wanted[free], return_index=True)
            winners = pending[free][first]
            self._slots[taken] = (keys[winners] << self._ROW_BITS) | winners.astype(np.uint64)
            placed = np.zeros(keys.size, dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slots[pending] = (slots[pending] + self._ONE) & self._mask

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        return (keys * self._MIX) >> self._shift

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """Row of each query key; ``missing`` where the key is absent."""
        slots = self._slot(queries)
        found = self._slots[slots]
        hit = (found >> self._ROW_BITS) == queries
        out = np.where(hit, (found & self._ROW_MASK).astype(np.int64), self.missing)
        active = np.flatnonzero(~hit & (found != self._EMPTY))
        slots = slots[active]
        while active.size:
            slots = (slots + self._ONE) & self._mask
            found = self._slots[slots]
            hit = (found >> self._ROW_BITS) == queries[active]
            out[active[hit]] = (found[hit] & self._ROW_MASK).astype(np.int64)
            going = ~hit & (found != self._EMPTY)
            active, slots = active[going], slots[going]
        return out


@dataclass
class Profiles:
    """langdetect's profiles as arrays: what the identifier needs, built once per process."""

    languages: tuple[str, ...]  # in langdetect's order (its folder's listing): ties fall alike
    # (n-grams + 1, languages) float32: per profiled n-gram, log(p + smoothing) - log(smoothing)
    # summed with the rows of its profiled suffixes (a 3-gram's 2-gram and 1-gram), which
    # langdetect extracts at the same position; the last row, all 0, is for no n-gram.
    weights: np.ndarray
    counts: np.ndarray  # int64[n-grams + 1]: profiled n-grams each row of ``weights`` sums
    index: _KeyIndex  # packed n-gram key -> row of ``weights``
    unigram: np.ndarray  # int64[base]: row of each character's 1-gram (``index.missing``: none)
    code: np.ndarray  # uint32[65536]: of each character normalized (langdetect's
    #   NGram.normalize), its id in packed n-gram keys times 2, plus 1 if it is upper case
    base: int  # radix of packed keys: ids run from 0 (no character) to base - 1 (unprofiled)
    script: np.ndarray  # uint8[65536]: class of each character, an index into _SCRIPTS
    script_columns: dict[int, np.ndarray]  # script class -> the languages it may be written in
    probabilities: Probabilities  # the profiles' own probabilities, for the seeded replay
    _group_weights: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def group_weights(self, group: int) -> np.ndarray:
        """``weights`` restricted to a script's languages (contiguous, made on first use; ``np.take``
        copies the columns of Latin script's 44 languages in 2 ms, indexing them in 18)."""
        if group not in self._group_weights:
            columns = self.script_columns.get(group)
            self._group_weights[group] = self.weights if columns is None else np.take(self.weights, columns, axis=1)
        return self._group_weights[group]


@lru_cache(maxsize=4)
def load_profiles(directory: str | None = None) -> Profiles:
    """langdetect's JSON profiles (``directory``: another profile folder) as arrays; kept between
    runs (dqe.diskcache), since building them is half a second of every check."""
    folder = directory or profiles_dir()
    made_by = Path(__file__)
    key = repr((folder, os.stat(folder).st_mtime_ns, made_by.stat().st_mtime_ns, made_by.stat().st_size))
    cached = diskcache.load("langid", key)
    if cached is not None:
        try:
            return pickle.loads(cached)
        except Exception:  # a cache written by another numpy or dqe: made again
            pass
    profiles = _build_profiles(folder)
    diskcache.store("langid", key, pickle.dumps(profiles, protocol=pickle.HIGHEST_PROTOCOL))
    return profiles


def _build_profiles(directory: str) -> Profiles:
    languages, grams, column, prob = _read_profiles(directory)
    # Pack each n-gram into one integer, (first * base + second) * base + third, where a
    # character's id is 0 for "none" (shorter n-grams), 1 for space, 2.. for profiled ones.
    chars = np.frombuffer("".join(g.rjust(3, "\0") for g in grams).encode("utf-32-le"), dtype=np.uint32).reshape(-1, 3)
    del grams
    profiled = np.unique(chars)
    profiled = profiled[(profiled != 0) & (profiled != _SPACE) & (profiled < _BMP)]
    base = profiled.size + 3
    char_id = np.full(_BMP, base - 1, dtype=np.uint64)
    char_id[0], char_id[_SPACE] = 0, 1
    char_id[profiled] = np.arange(2, profiled.size + 2, dtype=np.uint64)
    ids = char_id[np.minimum(chars, _BMP - 1)]
    b = np.uint64(base)
    keys, rows = np.unique((ids[:, 0] * b + ids[:, 1]) * b + ids[:, 2], return_inverse=True)
    code, script = _character_tables(char_id)
    # The languages a script may be: those whose profile gives the script's letters at least
    # 1% of its single characters (Korean, for one, writes some Han).
    single = (ids[:, 0] == 0) & (ids[:, 1] == 0)
    mass = np.zeros((len(_SCRIPTS), len(languages)))
    np.add.at(mass, (script[np.minimum(chars[single, 2], _BMP - 1)], column[single]), prob[single])
    del chars, ids
    index = _KeyIndex(keys)
    weights, counts, unigram = _position_rows(keys, rows, column, prob, index, base, len(languages))
    return Profiles(
        languages=tuple(languages),
        weights=weights,
        counts=counts,
        index=index,
        unigram=unigram,
        code=code,
        base=base,
        script=script,
        script_columns={s: np.flatnonzero(mass[s] >= _SCRIPT_SHARE) for s in range(2, len(_SCRIPTS))},
        probabilities=_probabilities(rows, column, prob, keys.size),
    )


def _probabilities(rows: np.ndarray, column: np.ndarray, prob: np.ndarray, keys: int) -> Probabilities:
    order = np.argsort(rows, kind="stable")
    start = np.searchsorted(rows[order], np.arange(keys + 1))
    return Probabilities(start, column[order].astype(np.int8), prob[order])


def _read_profiles(directory: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Languages, and for every (n-gram, language) pair of the profiles: the n-gram, the
    language's column and the n-gram's probability in it, as langdetect's DetectorFactory
    computes it (count over the language's n-grams of that length). In langdetect's order:
    the folder's listing, not sorted."""
    languages: list[str] = []
    grams: list[str] = []
    columns: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    for name in (f for f in os.listdir(directory) if not f.startswith(".")):
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            profile = json.load(handle)
        totals = np.array([0, *profile["n_words"]], dtype=np.float64)
        kept = {g: c for g, c in profile["freq"].items() if 1 <= len(g) <= 3 and totals[len(g)]}
        sizes = np.fromiter((len(g) for g in kept), dtype=np.int64, count=len(kept))
        grams += kept
        probs.append(np.fromiter(kept.values(), dtype=np.float64, count=len(kept)) / totals[sizes])
        columns.append(np.full(len(kept), len(languages)))
        languages.append(profile["name"])
    return languages, grams, np.concatenate(columns), np.concatenate(probs)


def _character_tables(char_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per BMP character: its code (id of its normalized form times 2, plus 1 if upper case)
    and its script class."""
    from langdetect.utils.ngram import NGram

    bmp = [chr(c) for c in range(_BMP)]
    normalize = np.array([ord(NGram.normalize(ch)) for ch in bmp], dtype=np.int64)
    upper = np.array([ch.isupper() for ch in bmp], dtype=np.uint64)[normalize]
    code = ((char_id[normalize] << np.uint64(1)) | upper).astype(np.uint32)
    letters = np.array([ch.isalpha() for ch in bmp], dtype=bool)
    script = np.where(letters, _SCRIPTS.index("other"), 0).astype(np.uint8)
    for low, high, name in _SCRIPT_RANGES:
        span = slice(low, high + 1)
        script[span] = np.where(letters[span], _SCRIPTS.index(name), script[span])
    return code, script


def _position_rows(
    keys: np.ndarray,
    rows: np.ndarray,
    column: np.ndarray,
    prob: np.ndarray,
    index: _KeyIndex,
    base: int,
    languages: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weights table (see ``Profiles.weights``), the n-grams each row sums, and the row of
    each character's 1-gram."""
    # Shifted by -log(smoothing) so that an absent n-gram (the last row) scores 0 everywhere;
    # a constant per n-gram changes no decision. Built in place: the table is 20 MB.
    weights = np.zeros((keys.size + 1, languages), dtype=np.float32)
    weights[rows, column] = prob
    weights += np.float32(_SMOOTHING)
    np.log(weights, out=weights)
    weights -= np.float32(np.log(_SMOOTHING))
    # Where langdetect extracts a 3-gram it extracts its last 2-gram and 1-gram too, and a
    # 2-gram comes with its last 1-gram (a space has none): one row can stand for all. The
    # 2-grams take their 1-gram first; a 3-gram then takes its 2-gram's row (or, without a
    # profiled 2-gram, its 1-gram's).
    b = np.uint64(base)
    head, rest, last = keys // (b * b), keys % (b * b), keys % b
    tail = np.where((rest >= b) & (last != 1), index.lookup(last), index.missing)
    suffix = np.where(head > 0, index.lookup(rest), index.missing)
    counts = np.ones(keys.size + 1, dtype=np.int64)
    counts[-1] = 0
    for longer in ((head == 0) & (rest >= b), head > 0):
        targets = np.flatnonzero(longer)
        sources = np.where(suffix[targets] != index.missing, suffix[targets], tail[targets])
        counts[targets] += counts[sources]
        for first in range(0, targets.size, 8192):  # in blocks: no second 20 MB table
            weights[targets[first : first + 8192]] += weights[sources[first : first + 8192]]
    unigram = np.full(base, index.missing, dtype=np.int64)
    alone = keys < b
    unigram[keys[alone].astype(np.int64)] = np.flatnonzero(alone)
    return weights, counts, unigram


class _Grams(NamedTuple):
    """Per position: which of its 1-, 2- and 3-gram langdetect extracts, and their keys."""

    one: np.ndarray
    two: np.ndarray
    three: np.ndarray
    ids: np.ndarray  # the character's id (its 1-gram key)
    bigram: np.ndarray  # the 2-gram key
    code2: np.ndarray  # the code of the character two back
    base: int

    def trigram(self, where: np.ndarray) -> np.ndarray:
        """The 3-gram keys at these positions (a mask)."""
        high = (self.code2[where] >> 1).astype(np.uint64) * np.uint64(self.base * self.base)
        return high + self.bigram[where]


class _Part(NamedTuple):
    """A chunk's detection, and the n-grams of its texts to replay (see ``_sequence``)."""

    found: Detection
    close: np.ndarray
    rows: np.ndarray
    offsets: np.ndarray


_NO_REPLAY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64))


class Detection(NamedTuple):
    """What the identifier found, per text (arrays in the order of the texts)."""

    language: list[str]  # langdetect's code (its seeded answer where replayed), "und": nothing to detect
    script: list[str]  # the script of all its letters ("latin", "han", ...), "mixed" or "none"
    letters: np.ndarray  # (texts, script classes) letters of each class, before cleaning
    ngrams: np.ndarray  # profiled n-grams scored (0 when the script alone decided)
    margin: np.ndarray  # lead of the best score over the second, in nats (inf: by script)
    scores: np.ndarray  # (texts, languages) float32 sums of n-gram weights; -inf: ruled out
    languages: tuple[str, ...]  # the columns of ``scores``

    def close(self) -> np.ndarray:
        """Texts whose best two languages are within ``REPLAY`` nats (those ``identify`` replays)."""
        return (self.ngrams > 0) & (self.margin < REPLAY)

    def count(self, script: str) -> np.ndarray:
        """Letters of ``script`` ("latin", "han", "kana", "hangul", ...) in each text."""
        return self.letters[:, _SCRIPTS.index(script)]


def _clean(texts: pl.Series) -> pl.Series:
    """langdetect's ``Detector.append``: URLs and e-mail addresses out, Vietnamese combining
    marks composed, the first 10,000 characters kept."""
    texts = texts.cast(pl.String).fill_null("")
    if texts.str.contains("http", literal=True).any():
        texts = texts.str.replace_all(_URL, " ")
    if texts.str.contains("@", literal=True).any():
        texts = texts.str.replace_all(_MAIL, " ")
    marked = texts.str.contains(_VI_MARKS)
    if marked.any():
        from langdetect.utils.ngram import NGram

        composed = [NGram.normalize_vi(t) if m else t for t, m in zip(texts, marked, strict=True)]
        texts = pl.Series(composed, dtype=pl.String)
    return texts.str.slice(0, _MAX_CHARS)


class LanguageIdentifier:
    """Detects the language of many texts at once; see the module docstring for how."""

    def __init__(self, profiles: Profiles | None = None):
        self.profiles = profiles or load_profiles()
        self._codes = np.array([*self.profiles.languages, UNDETERMINED_LANGUAGE], dtype=object)
        self._group_names = np.array(_GROUPS, dtype=object)
        self._strides = _strides(np.arange(_MAX_CHARS + 1)).astype(np.int32)
        self._replay = SeededReplay(self.profiles.probabilities, len(self.profiles.languages))

    def detect(self, texts: Sequence[str | None] | pl.Series, replay: bool = True) -> list[str]:
        """The language of each text: langdetect's codes (``en``, ``zh-cn``, ...) or ``und``."""
        return self.identify(texts, replay).language

    def identify(
        self, texts: Sequence[str | None] | pl.Series, replay: bool = True, decisive: float = DECISIVE
    ) -> Detection:
        """Everything found about each text (see ``Detection``). ``replay``: texts whose two
        best languages are within ``REPLAY`` nats get langdetect's own seeded answer
        (``dqe.features.langreplay``); without it, every text gets the exact scores' best. ``decisive``:
        the lead that ends a text's scoring; ``float("inf")`` scores every position (up to
        1,024), for the few texts whose verdict matters more than its cost."""
        series = texts if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
        # In chunks, so that the per-character arrays stay small whatever the batch.
        parts = [
            self._identify(series.slice(i, _CHUNK), replay, decisive) for i in range(0, max(series.len(), 1), _CHUNK)
        ]
        found = parts[0].found
        if len(parts) > 1:
            found = Detection(
                [code for part in parts for code in part.found.language],
                [name for part in parts for name in part.found.script],
                np.concatenate([part.found.letters for part in parts]),
                np.concatenate([part.found.ngrams for part in parts]),
                np.concatenate([part.found.margin for part in parts]),
                np.concatenate([part.found.scores for part in parts]),
                self.profiles.languages,
            )
        close = np.concatenate([part.close + i * _CHUNK for i, part in enumerate(parts)])
        if close.size:  # one replay for every chunk: its time goes mostly on the slowest text
            shifts = np.cumsum([0, *(part.offsets[-1] for part in parts[:-1])])
            offsets = np.concatenate([[0], *(part.offsets[1:] + s for part, s in zip(parts, shifts, strict=True))])
            chosen = self._replay.detect(np.concatenate([part.rows for part in parts]), offsets)
            for text, code in zip(close.tolist(), self._codes[chosen].tolist(), strict=True):
                found.language[text] = code  # -1, langdetect's "unknown", is the last: "und"
        return found

    def _identify(self, series: pl.Series, replay: bool, decisive: float) -> _Part:
        n = len(series)
        p = self.profiles
        languages = len(p.languages)
        if n == 0:
            empty = np.zeros((0, languages), dtype=np.float32)
            nothing = np.zeros((0, len(_SCRIPTS)), dtype=np.int64)
            found = Detection([], [], nothing, np.zeros(0, dtype=np.int64), np.zeros(0), empty, p.languages)
            return _Part(found, *_NO_REPLAY)
        cleaned = _clean(series)
        # One array of characters, each text after a space (langdetect's initial state);
        # astral characters become U+FFFF, which no profile has either.
        lengths = cleaned.str.len_chars().to_numpy().astype(np.int64) + 1
        starts = np.cumsum(lengths) - lengths
        joined = np.frombuffer(cleaned.str.join(" ").item().encode("utf-32-le"), dtype=np.uint32)
        bmp = np.empty(joined.size + 1, dtype=np.uint16)
        bmp[0] = _SPACE
        np.minimum(joined, _BMP - 1, out=bmp[1:], casting="unsafe")

        # Text mostly in another script loses its Latin letters (langdetect's cleaning_text,
        # which counts every character from U+0300 on as non-Latin).
        counted = np.add.reduceat(_FLAGS[bmp], starts).astype(np.int64)
        latin_count, other_count = counted & 0xFFFF, counted >> 16
        drop = (latin_count > 0) & (2 * latin_count < other_count)
        if drop.any():
            bmp = _drop_latin(bmp, starts[drop], lengths[drop])
            lengths = lengths - np.where(drop, latin_count, 0)
            starts = np.cumsum(lengths) - lengths
        group, letters = self._groups(bmp, starts, np.where(drop, 0, latin_count), latin_count)

        language = np.full(n, languages, dtype=np.int64)  # "und" until decided
        margin = np.zeros(n)
        ngrams = np.zeros(n, dtype=np.int64)
        scores = np.full((n, languages), -np.inf, dtype=np.float32)
        for g in np.unique(group):
            members = np.flatnonzero(group == g)
            columns = p.script_columns.get(g, np.arange(languages))
            if columns.size == 1:  # the script decides
                language[members], margin[members] = columns[0], np.inf
                scores[members, columns[0]] = 0.0
                continue
            sums, counts = self._score(bmp, starts[members] + 1, lengths[members] - 1, p.group_weights(g), decisive)
            scores[np.ix_(members, columns)] = sums
            ngrams[members] = counts
            found = counts > 0
            top2 = np.partition(sums[found], -2, axis=1)[:, -2:]
            language[members[found]] = columns[sums[found].argmax(axis=1)]
            margin[members[found]] = top2[:, 1] - top2[:, 0]
        found = Detection(
            self._codes[language].tolist(),
            self._group_names[group].tolist(),
            letters,
            ngrams,
            margin,
            scores,
            p.languages,
        )
        if not replay:
            return _Part(found, *_NO_REPLAY)
        close = np.flatnonzero(found.close())
        return _Part(found, close, *self._sequence(bmp, starts[close] + 1, lengths[close] - 1))

    def _groups(
        self, bmp: np.ndarray, starts: np.ndarray, ascii_kept: np.ndarray, ascii_all: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each text's script group: the class of all its letters after cleaning (kana with
        Han counts as kana: Japanese), ``_MIXED`` for several scripts, ``_NONE`` for none; and
        its letters per script class before cleaning. ASCII letters come counted (as langdetect
        counts them, A-z): ``ascii_kept`` after cleaning, ``ascii_all`` before."""
        n = starts.size
        at = np.flatnonzero(bmp >= _SCANNED)
        owner = np.searchsorted(starts, at, side="right") - 1
        classes = self.profiles.script[bmp[at]].astype(np.int64)
        counts = np.bincount(owner * len(_SCRIPTS) + classes, minlength=n * len(_SCRIPTS)).reshape(n, len(_SCRIPTS))
        counts[:, 0] = 0
        latin = _SCRIPTS.index("latin")
        present = counts[:, 1:] > 0
        present[:, latin - 1] |= ascii_kept > 0
        present[:, _SCRIPTS.index("han") - 1] &= ~present[:, _SCRIPTS.index("kana") - 1]
        scripts = present.sum(axis=1)
        group = np.where(scripts == 1, present.argmax(axis=1) + 1, np.where(scripts == 0, _NONE, _MIXED))
        counts[:, latin] += ascii_all
        return group, counts

    def _score(
        self, bmp: np.ndarray, first: np.ndarray, body: np.ndarray, weights: np.ndarray, decisive: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores of texts (starting at ``first``, ``body`` characters long) against the
        columns of ``weights``, in rounds of spread positions until each text is decided, and
        the number of profiled n-grams each was scored on."""
        sums = np.zeros((body.size, weights.shape[1]), dtype=np.float32)
        counts = np.zeros(body.size, dtype=np.int64)
        stride = self._strides[body]
        first, body = first.astype(np.int32), body.astype(np.int32)
        active = np.ones(body.size, dtype=bool)
        done = 0
        for upto in _ROUNDS:
            active &= body > done
            now = np.flatnonzero(active)
            if not now.size:
                break
            rows = self._rows(bmp, first[now], body[now], stride[now], done, upto)
            counts[now] += self.profiles.counts[rows].sum(axis=1)
            sums[now] += _sum_rows(weights, rows)
            top2 = np.partition(sums[now], -2, axis=1)[:, -2:]
            active[now[top2[:, 1] - top2[:, 0] >= decisive]] = False
            done = upto
        return sums, counts

    def _rows(
        self,
        bmp: np.ndarray,
        first: np.ndarray,
        body: np.ndarray,
        stride: np.ndarray,
        done: int,
        upto: int,
    ) -> np.ndarray:
        """Rows of ``weights`` for the ``done``-th to ``upto``-th positions of each text in
        spread order (texts start at ``first``, are ``body`` characters long and are walked by
        ``stride``): a (texts, positions) array, ``index.missing`` where no n-gram is."""
        p = self.profiles
        k = np.arange(done, upto, dtype=np.int32)
        valid = k < body[:, None]
        at = first[:, None] + k * stride[:, None] % body[:, None]
        g = self._grams(bmp, at, valid)
        # The longest profiled one's row stands for all (see Profiles.weights).
        rows = np.full(at.shape, p.index.missing, dtype=np.int64)
        wanted = g.three
        rows[wanted] = p.index.lookup(g.trigram(wanted))
        wanted = (rows == p.index.missing) & g.two
        rows[wanted] = p.index.lookup(g.bigram[wanted].astype(np.uint64))
        wanted = (rows == p.index.missing) & g.one
        rows[wanted] = p.unigram[g.ids[wanted]]
        return rows

    def _grams(self, bmp: np.ndarray, at: np.ndarray, valid: np.ndarray) -> _Grams:
        """What langdetect's NGram emits at each position ``at``: a word's characters emit
        their 1-, 2- and (from the second letter on) 3-grams, padded by the space before; the
        space after emits the closing 2- and 3-gram; nothing is emitted inside a word of
        capitals."""
        p = self.profiles
        code, code1, code2 = p.code[bmp[at]], p.code[bmp[at - 1]], p.code[bmp[at - 2]]
        space = code == _SPACE_CODE
        after_space = code1 == _SPACE_CODE
        letter = valid & ~space & (code & code1 & 1 == 0)
        closing = valid & space & ~after_space
        ids, ids1 = code >> 1, code1 >> 1
        return _Grams(
            one=letter,
            two=letter | closing,
            three=(letter & ~after_space) | closing,
            ids=ids,
            bigram=ids1 * np.uint32(p.base) + ids,  # below 2**24
            code2=code2,
            base=p.base,
        )

    def _sequence(self, bmp: np.ndarray, first: np.ndarray, body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the n-grams langdetect's ``_extract_ngrams`` lists for each text, in
        its order (by position; 1-, 2-, then 3-gram), and each text's offset into them."""
        p = self.profiles
        body = body.astype(np.int64)
        at = np.repeat(first - np.cumsum(body) + body, body) + np.arange(body.sum())
        g = self._grams(bmp, at, np.ones(at.size, dtype=bool))
        rows = np.full((at.size, 3), p.index.missing, dtype=np.int64)
        rows[g.one, 0] = p.unigram[g.ids[g.one]]
        rows[g.two, 1] = p.index.lookup(g.bigram[g.two].astype(np.uint64))
        rows[g.three, 2] = p.index.lookup(g.trigram(g.three))
        found = rows != p.index.missing
        owner = np.repeat(np.arange(body.size), body)
        per_text = np.bincount(owner, weights=found.sum(axis=1), minlength=body.size).astype(np.int64)
        return rows[found], np.concatenate([[0], np.cumsum(per_text)])


def _drop_latin(bmp: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``bmp`` without the A-z characters of the texts at ``starts`` (``lengths`` long)."""
    inside = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    latin = inside[(bmp[inside] >= 0x41) & (bmp[inside] <= 0x7A)]
    keep = np.ones(bmp.size, dtype=bool)
    keep[latin] = False
    return bmp[keep]


def _strides(body: np.ndarray) -> np.ndarray:
    """Per text, a step coprime with its length near length * 0.618: position k * step mod
    length visits every character once, and any first few are spread over the whole text."""
    stride = np.maximum(np.rint(body * _GOLDEN).astype(np.int64), 1)
    shared = np.gcd(stride, body) > 1
    while shared.any():
        stride[shared] += 1
        shared = np.gcd(stride, body) > 1
    return stride


def _sum_rows(weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per text (row of ``rows``), the sum of the ``weights`` rows it lists, a block at a time."""
    texts, width = rows.shape
    out = np.empty((texts, weights.shape[1]), dtype=np.float32)
    ones = np.ones(width, dtype=np.float32)
    step = max(1, _BLOCK // max(width * weights.shape[1], 1))
    for first in range(0, texts, step):
        block = np.take(weights, rows[first : first + step], axis=0)
        out[first : first + step] = ones @ block
    return out
