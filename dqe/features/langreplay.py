"""langdetect's seeded sampling, replayed step for step, for the texts whose scores are close.

``detect()`` does not compute the naive-Bayes decision that ``dqe.features.langid`` computes: it runs
7 trials, each multiplying per-language probabilities of n-grams drawn at random from the
text until one language holds 99.999% of the mass, and averages the trials. Where one
language leads by many nats the two agree; where two are close, the draws decide, and they
decide the same way every time with ``DetectorFactory.seed = 0``, the seed langdetect tells
its users to set for reproducible answers. FastChat's "You too!" is Somali to langdetect
under every seed tried and English by 0.3 nats to the exact sum.

So the identifier hands its close texts here, and this module replays what ``detect()``
does to them with seed 0, for all of them at once: the stream of 32-bit words
``random.Random(0)`` yields, the same for every text as each ``detect()`` reseeds, read at
each text's own position (``choice`` takes ``bit_length(len(ngrams))`` top bits of a word and
draws again above the length; ``gauss`` takes four words on even trials and keeps its second
value for the odd ones); the same float64 products in the same order, normalized every five
draws by a sum added left to right. Up to Python 3.11 that is langdetect's arithmetic bit for
bit; 3.12's ``sum`` compensates, which can change a last bit, and an answer only where a
convergence check lands within that bit of its threshold.

The texts step together, eight checks (40 draws) a step; a text leaves after its seventh
trial. Close texts draw about 1,500 times each, and one that never converges 7,007 times,
which bounds a batch's steps at about 180: some 80 ms for a batch of 20,000 texts.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

import numpy as np


class Probabilities(NamedTuple):
    """p(n-gram | language) as langdetect's DetectorFactory computes it, per row of
    ``Profiles.weights``: row r's languages are ``column[start[r]:start[r + 1]]``, its
    probabilities ``prob`` beside them (a few MB; ``weights`` holds sums of logs)."""

    start: np.ndarray
    column: np.ndarray
    prob: np.ndarray

    def dense(self, rows: np.ndarray, languages: int) -> np.ndarray:
        """A (rows, languages) float64 table of these rows, zero where a language lacks one."""
        first, sizes = self.start[rows], self.start[rows + 1] - self.start[rows]
        owner = np.repeat(np.arange(rows.size), sizes)
        at = np.repeat(first - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
        table = np.zeros((rows.size, languages))
        table[owner, self.column[at]] = self.prob[at]
        return table


_TRIALS = 7  # Detector.n_trial
_LIMIT = 1000  # Detector.ITERATION_LIMIT
_CONVERGED = 0.99999  # Detector.CONV_THRESHOLD
_FLOOR = 0.1  # Detector.PROB_THRESHOLD: the answer needs more than this
_ALPHA, _WIDTH, _BASE = 0.5, 0.05, 10000  # ALPHA_DEFAULT, ALPHA_WIDTH, BASE_FREQ
_CHECK = 5  # draws between convergence checks (after the first draw, then every fifth)
_CHECKS = 8  # checks a step makes (a trial that ends early in a step ignores the rest)
_SPAN = _CHECK * _CHECKS  # draws a step reads per text
# A trial's first check has one draw: its step reads picks 0, 1-4 (filler), 1-5, 6-10, ...
_COLUMNS = np.arange(_SPAN)
_FIRST_COLUMNS = _COLUMNS - np.where(_COLUMNS < _CHECK, 0, _CHECK - 1)
_TWOPI = 2.0 * math.pi
_SEED = 0


class SeededReplay:
    """``detect()`` with ``DetectorFactory.seed = 0``, for texts given as their n-gram lists."""

    def __init__(self, probabilities: Probabilities, languages: int):
        self._probabilities = probabilities
        self._languages = languages
        self._random = random.Random(_SEED)
        self._words = np.zeros(0, dtype=np.uint32)

    def detect(self, rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """The column of langdetect's answer for each text, -1 where it has none ("unknown").

        Text ``t`` is the n-gram rows ``rows[offsets[t]:offsets[t + 1]]`` in the order
        langdetect's ``_extract_ngrams`` lists them; each text has at least one.
        """
        count = offsets.size - 1
        answer = np.full(count, -1, dtype=np.int64)
        if count == 0:
            return answer
        unique, local = np.unique(rows, return_inverse=True)
        table = self._probabilities.dense(unique, self._languages)
        draws = _Draws(self, np.diff(offsets))
        state = _State(count, self._languages, offsets[:-1])
        self._start_trials(state, draws, np.arange(count))
        while state.text.size:
            ended, used = self._step(state, draws, table, local)
            state.next += used
            state.drawn += used
            if not ended.size:
                continue
            state.trial[ended] += 1
            finished = ended[state.trial[ended] == _TRIALS]
            if finished.size:
                langprob = state.langprob[finished]
                best = langprob.argmax(axis=1)  # the first of equals, as langdetect's stable sort
                answer[state.text[finished]] = np.where(langprob[np.arange(best.size), best] > _FLOOR, best, -1)
                keep = np.ones(state.text.size, dtype=bool)
                keep[finished] = False
                state.keep(keep)
                ended = (np.cumsum(keep) - 1)[ended[keep[ended]]]
            self._start_trials(state, draws, ended)
        return answer

    def _step(
        self, state: _State, draws: _Draws, table: np.ndarray, local: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``_CHECKS`` convergence checks' worth of draws for every text at once. A text whose
        trial ends at a check adds its probabilities to ``langprob`` there and ignores the rest
        of the step. Returns the texts whose trial ended and the draws each used."""
        first = state.drawn == 0  # a trial's first draw is checked alone: its block has one
        picks = draws.take(state, first)
        factors = table[local[state.start + picks.T]]  # alpha / BASE_FREQ + p, per draw
        factors += state.weight[:, None]
        if first.any():
            factors[1:_CHECK, first] = 1.0
        drawn = state.drawn + np.where(first, 1, _CHECK)  # at the step's first check
        near_limit = int(drawn.max()) + _CHECK * (_CHECKS - 1) > _LIMIT
        ended_at = np.full(state.text.size, _CHECKS)  # the check that ended each trial
        prob = state.prob
        for check in range(_CHECKS):
            for factor in factors[check * _CHECK : (check + 1) * _CHECK]:
                prob *= factor
            # Python's sum adds left to right (3.12 compensates: its last bit can differ,
            # which would matter only to a check within 1e-16 of the threshold).
            prob /= np.cumsum(prob, axis=1)[:, -1:]
            ended = prob.max(axis=1) > _CONVERGED
            if near_limit:
                ended |= drawn + _CHECK * check > _LIMIT
            if check and (ended_at < _CHECKS).any():
                ended &= ended_at == _CHECKS
            if ended.any():
                state.langprob[ended] += prob[ended] / _TRIALS
                ended_at[ended] = check
        used = drawn - state.drawn + _CHECK * np.minimum(ended_at, _CHECKS - 1)
        return np.flatnonzero(ended_at < _CHECKS), used

    def _start_trials(self, state: _State, draws: _Draws, which: np.ndarray) -> None:
        """A new trial for texts ``which``: uniform probabilities, alpha from the next Gaussian."""
        state.prob[which] = 1.0 / self._languages
        state.drawn[which] = 0
        even = which[state.trial[which] % 2 == 0]
        for at in even.tolist():  # random.gauss: two uniforms make two normal values
            word = draws.position_after(state, at)
            a, b, c, d = (int(w) for w in self.ensure(word + 4)[word : word + 4])
            x2pi = ((a >> 5) * 67108864.0 + (b >> 6)) * (1.0 / 9007199254740992.0) * _TWOPI
            g2rad = math.sqrt(-2.0 * math.log(1.0 - ((c >> 5) * 67108864.0 + (d >> 6)) * (1.0 / 9007199254740992.0)))
            state.weight[at] = (_ALPHA + math.cos(x2pi) * g2rad * _WIDTH) / _BASE
            state.spare[at] = math.sin(x2pi) * g2rad
            draws.seek(state, at, word + 4)
        odd = which[state.trial[which] % 2 == 1]
        state.weight[odd] = (_ALPHA + state.spare[odd] * _WIDTH) / _BASE

    def ensure(self, words: int) -> np.ndarray:
        """The seeded stream, read at least this far."""
        if words > self._words.size:
            more = max(words - self._words.size, 1 << 15)
            fresh = self._random.getrandbits(32 * more).to_bytes(4 * more, "little")
            self._words = np.concatenate([self._words, np.frombuffer(fresh, dtype="<u4")])
        return self._words


class _Draws:
    """Per text, the picks ``random.choice`` makes along the stream: a word's top
    ``bit_length(n)`` bits, refused from ``n`` up. Each text's accepted words and their values
    are found ahead, a stretch of the stream at a time, so that a step only reads the next
    ones (flat arrays, text ``t`` at ``offset[t]``)."""

    _FIRST = 2048  # words read ahead at first (the median close text draws about 1,500 times)
    _SOON = 16 * _SPAN  # picks left that make a text read further when another runs out

    def __init__(self, replay: SeededReplay, length: np.ndarray):
        self._replay = replay
        self._length = length
        self._shift = (32 - np.array([int(n).bit_length() for n in length])).astype(np.uint32)
        self._read_to = np.zeros(length.size, dtype=np.int64)
        self._values: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * length.size
        self._positions: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * length.size
        self._read(np.arange(length.size))

    def _read(self, texts: np.ndarray) -> None:
        """The next stretch of the stream for each of these texts: as far again as read."""
        ends = np.maximum(2 * self._read_to[texts], self._FIRST)
        stream = self._replay.ensure(int(ends.max()))
        for text, end in zip(texts.tolist(), ends.tolist(), strict=True):
            begin = int(self._read_to[text])
            candidates = stream[begin:end] >> self._shift[text]
            where = np.flatnonzero(candidates < self._length[text])
            self._values[text] = np.concatenate([self._values[text], candidates[where].astype(np.int64)])
            self._positions[text] = np.concatenate([self._positions[text], where + begin])
            self._read_to[text] = end
        self.count = np.array([p.size for p in self._positions])
        self.offset = np.cumsum(self.count) - self.count
        self.value = np.concatenate(self._values)

    def take(self, state: _State, first: np.ndarray) -> np.ndarray:
        """A step's picks per text, ``_CHECK`` per check (see ``_FIRST_COLUMNS``)."""
        left = self.count[state.text] - state.next
        if (left < _SPAN).any():
            self._read(state.text[left < self._SOON])
        at = (self.offset[state.text] + state.next)[:, None] + np.where(first[:, None], _FIRST_COLUMNS, _COLUMNS)
        return self.value[at]

    def position_after(self, state: _State, at: int) -> int:
        """The stream word after text ``at``'s last pick."""
        text, taken = state.text[at], int(state.next[at])
        return int(self._positions[text][taken - 1]) + 1 if taken else 0

    def seek(self, state: _State, at: int, word: int) -> None:
        """Text ``at`` goes on from stream word ``word``: its next pick is the first accepted there."""
        text = state.text[at]
        while self._read_to[text] <= word + _SPAN:
            self._read(np.array([text]))
        state.next[at] = np.searchsorted(self._positions[text], word)


class _State:
    """Per text still replaying (compacted as texts finish): where it is in the stream, its
    trial, and its probabilities."""

    def __init__(self, count: int, languages: int, start: np.ndarray):
        self.text = np.arange(count)
        self.start = start.astype(np.int64)  # offset of its n-grams
        self.next = np.zeros(count, dtype=np.int64)  # its next pick (see _Draws)
        self.trial = np.zeros(count, dtype=np.int64)
        self.drawn = np.zeros(count, dtype=np.int64)
        self.spare = np.zeros(count)  # random.gauss's second value, for the odd trial
        self.weight = np.zeros(count)  # alpha / BASE_FREQ of its trial
        self.prob = np.zeros((count, languages))
        self.langprob = np.zeros((count, languages))

    def keep(self, keep: np.ndarray) -> None:
        for name, value in vars(self).items():
            setattr(self, name, value[keep])
