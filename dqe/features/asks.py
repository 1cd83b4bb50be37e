"""The words a task turns on: the words of a question that its own answer repeats.

Tasks written on one frame ("Write a function to perform the bitwise xor of the given tuples" and
"... the exponentiation of the given two tuples"; "set all even bits" and "set all odd bits") share
most of their shingles, and so do their answers, written on one frame too. What tells them from a
question asked again is what they do not share: the word the ask turns on ("xor") is in the
question and in its answer (``bitwise_xor``), and the other record never uses it, while the other
record's ask ("exponentiation") is in its own answer (``find_exponentio``) and not in the first.
A rewording changes words the answer does not follow ("find" / "calculate"), or the other record's
answer still holds the word its question dropped; a copy keeps its words. Each record keeps the
words its answer repeats, and a 256-bit mask of all the words it uses, so that only what is read
of each record travels, not its text.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dqe.features.minhash import Sets, distinct
from dqe.features.text import TURN_SEPARATOR

# A question's ask and the head of its answer: where the words a task turns on are (a function's
# name, the opening sentence). Words further on are read for the mask only, so that a word an edit
# moves a little later in the other record is still found there.
ASK_WORDS = 16  # words of each side whose repeats count
MASK_CHARS = 160  # characters of each side whose words are in the mask
STEM = 5  # letters a word is compared by: "exponentiation" is "exponentio", "tuples" is "tuple"
MASK_BITS = 256
_WORD = r"[a-z]{3,}"  # letters only: "bitwise_xor(test_tup1," holds "bitwise", "xor", "test", "tup"
_SEED = 0x41534B
# the head of a program: braces, an assignment or comparison between names, a Python definition
_PROGRAM = r"[{}]|\w ?==? ?[\w(\[\"']|\bdef \w+\("


def _words(texts: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stems of the words in the head of each text (lower case already): their hashes, the
    text of each and its place among the text's words."""
    found = texts.fill_null("").str.slice(0, MASK_CHARS).str.extract_all(_WORD)
    counts = found.list.len().to_numpy().astype(np.int64)
    hashes = found.explode().drop_nulls().str.slice(0, STEM).hash(seed=_SEED).to_numpy()
    rows = np.repeat(np.arange(counts.size), counts)
    place = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32), rows, place


def _mask(hashes: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """The words ``hashes`` of each of ``n`` records (``rows``) as a mask of ``MASK_BITS`` bits:
    bit ``b`` is bit ``b % 64`` of word ``b // 64``."""
    present = np.zeros((n, MASK_BITS), dtype=bool)
    present[rows, hashes % MASK_BITS] = True
    return np.packbits(present, axis=1, bitorder="little").view("<u8").astype(np.uint64)


def asked_words(asks: pl.Series, texts: pl.Series, answers: pl.Series) -> tuple[Sets, np.ndarray]:
    """For each record (``asks``, the first line of its question: what it asks, before the data it
    asks it of, which a program's names follow too; ``texts``, its turns joined by
    ``TURN_SEPARATOR``; ``answers``, its answer, null where it has none) whose answer is a program:
    the words among the first ``ASK_WORDS`` of its ask that its answer also has among its first
    ``ASK_WORDS`` (hashes of their stems), and the mask of every word in the head of its question
    (the first turn) and of its answer; no words and an empty mask for the others.

    Programs only: two programs of one frame share it whatever each computes, so their similarity
    cannot tell the tasks apart, and a program's names and operators follow its ask word for word.
    Two prose answers to different asks differ in what they say, which the similarity sees; and
    prose follows a rewording of its question as well ("Why did the French attempt fail?" answered
    "The French attempt failed", "... effort ..." answered "... effort ..."), which is a copy."""
    n = texts.len()
    rows = np.flatnonzero(answers.fill_null("").str.slice(0, MASK_CHARS).str.contains(_PROGRAM).to_numpy())
    mask = np.zeros((n, MASK_BITS // 64), dtype=np.uint64)
    if rows.size == 0:
        return Sets.of(np.zeros(0, dtype=np.uint32), np.zeros(n, dtype=np.int64)), mask
    question = (
        texts.gather(rows)
        .fill_null("")
        .str.slice(0, MASK_CHARS)
        .str.split_exact(TURN_SEPARATOR, 1)
        .struct.field("field_0")
    )
    heard, heard_rows, _ = _words(question)
    said, said_rows, said_place = _words(answers.gather(rows))
    mask[rows] = _mask(np.concatenate((heard, said)), np.concatenate((heard_rows, said_rows)), rows.size)
    asked, asked_rows, asked_place = _words(asks.gather(rows))
    head = asked_place < ASK_WORDS
    mine = (rows[asked_rows[head]].astype(np.uint64) << np.uint64(32)) | asked[head]
    head = said_place < ASK_WORDS
    theirs = (rows[said_rows[head]].astype(np.uint64) << np.uint64(32)) | said[head]
    mine, theirs = distinct(mine), distinct(theirs)
    both = (
        mine[theirs[np.minimum(np.searchsorted(theirs, mine), max(theirs.size - 1, 0))] == mine]
        if theirs.size
        else theirs
    )
    return Sets.of(
        (both & np.uint64(0xFFFFFFFF)).astype(np.uint32), np.bincount(both >> np.uint64(32), minlength=n)
    ), mask


def asks_apart(echoes: Sets, masks: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Which pairs of records (``left``, ``right``; ``asked_words``' ``echoes`` and ``masks``) ask
    different things: each record's question turns on a word its answer repeats that the other
    record does not use at all, in its question or in its answer ("xor" and "exponentiation",
    "even" and "odd"). One side is not enough: a program names its variables after the question's
    words, so a rewording ("a given number" for "a non-negative integer") is repeated by its answer
    (``$number``) too, while the other side's words are all still there."""
    out = np.ones(left.size, dtype=bool)
    for mine, theirs in ((left, right), (right, left)):
        at = echoes.positions(mine)
        pair = np.repeat(np.arange(mine.size), echoes.sizes[mine])
        bit = (echoes.values[at] % MASK_BITS).astype(np.int64)
        held = masks[theirs[pair], bit >> 6] & (np.uint64(1) << (bit & 63).astype(np.uint64))
        out &= np.bincount(pair[held == 0], minlength=mine.size) > 0
    return out
