"""DQ401 exact-duplicate and DQ402 near-duplicate: of each cluster of duplicates one record is kept.

Records are compared on their conversation text (``dqe.features.text``). Exact duplicates share
the hash of the normalized text. Near-duplicates are compared on their shingle sets
(``dqe.features.minhash``: numbers count as one token) with boilerplate left out: a line of the user turns
that recurs in many records (a tool description, a header) is context those records share, not
what each asks, so its shingles do not count. Boilerplate is found from what ``collect`` keeps of
every record: the keys of its user lines, and the shingles of each line once per batch; so no
text is held for the whole data set, only each record's shingle set (4 bytes a distinct word
pair). MinHash signatures of the sets and LSH bands find candidate pairs, and every candidate is
verified with the exact Jaccard similarity of the two sets: that is the similarity reported.

Clusters are stars around the record kept: records are visited best first (one that no other
rule rejected, then the highest quality score, then the first seen), and each record not yet
taken keeps the records within the threshold of it that are not taken either. So every
record removed is within the threshold of the record it names, not merely linked to it
through a chain of neighbours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import Field

from dqe import (
    Buckets,
    DatasetResult,
    DatasetRule,
    GateMetric,
    Sets,
    SimilarityOptions,
    agreement,
    answer_openings,
    asked_words,
    asks_apart,
    chance_likeness,
    hookimpl,
    is_sentence,
    jaccard,
    last_answers,
    numbers_differ,
    opening_only,
    ragged,
    shingled,
    stock_openings,
    without,
)

LARGEST_CLUSTERS = 5
EXAMPLES_PER_CLUSTER = 3
PARTNERS = 16  # candidates read for an item at a time, and bucket-mates looked at per band and read
MOST_READS = 16  # reads of more candidates for an item, at most
ESTIMATE_SIGMAS = 3.0  # a candidate is verified unless its estimate is this many deviations under the threshold

DUPLICATE_RATE = GateMetric(
    name="duplicate-rate",
    key="duplicates.rate",
    description="share of records that repeat a kept record, exactly or nearly (DQ401, DQ402)",
    direction="max",
    fail=0.10,
    warn=0.02,
    bounds=(0, 1),
    n_key="duplicates.records",
)


def preference(table: pl.DataFrame) -> np.ndarray:
    """Row positions, best first: not rejected by another rule, highest quality, first seen."""
    return (
        table.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.col("rejected") if "rejected" in table.columns else pl.lit(False).alias("rejected"),
            pl.col("quality") if "quality" in table.columns else pl.lit(0.0).alias("quality"),
            "_idx",
        )
        .sort(["rejected", "quality", "_idx"], descending=[False, True, False])["_row"]
        .to_numpy()
    )


def among(values: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Which ``values`` are in ``ordered`` (sorted, distinct: a few hundred boilerplate lines
    looked up from millions of lines, where ``np.isin`` sorts them all)."""
    if ordered.size == 0:
        return np.zeros(values.size, dtype=bool)
    return ordered[np.minimum(np.searchsorted(ordered, values), ordered.size - 1)] == values


def exact_keep(text_hash: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For each row, the row kept among the rows with its text: the first in ``order``."""
    ranked = pl.DataFrame({"row": order, "hash": text_hash[order]})
    first = ranked.select(pl.col("row").first().over("hash"))["row"].to_numpy()
    keep = np.empty_like(order)
    keep[order] = first
    return keep


def walk(
    n: int, owner: np.ndarray, mate: np.ndarray, sims: np.ndarray, threshold: float, more: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One walk of the star clustering with what is known: ``owner``, ``mate`` are the candidate
    pairs (sorted by owner, then mate: best first), ``sims`` their similarity (NaN: not verified),
    ``more`` which items may have candidates not read yet.

    Visiting items best first, an item joins its first candidate within the threshold that is not
    taken; it stops at a candidate not verified yet (the pair is needed) or, when it runs out of
    candidates while it may have more, asks for them. Items are decided in rounds, all at once,
    each round deciding those whose candidates before the deciding one are all decided; an item
    that needs something stays a centre for now, and so do the items waiting on it.

    Returns the centre of each item, the pairs needed and the items asking for candidates."""
    center = np.arange(n)
    if owner.size == 0:
        return center, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    known = ~np.isnan(sims)
    close = known & (sims >= threshold)
    starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
    items = owner[starts]
    decided = np.ones(n, dtype=bool)
    decided[items] = False
    taken = np.zeros(n, dtype=bool)
    order = np.arange(owner.size)
    need, ask = [], []
    while True:
        skip = (known & ~close) | (close & decided[mate] & taken[mate])
        first = np.minimum.reduceat(np.where(skip, owner.size, order), starts)
        open_ = ~decided[items]
        ran_out = open_ & (first == owner.size)
        at = np.minimum(first, owner.size - 1)
        joins = open_ & ~ran_out & close[at] & decided[mate[at]]
        blocked = open_ & ~ran_out & ~known[at]
        done = (ran_out & ~more[items]) | joins
        if not done.any():
            need = at[blocked]
            ask = items[ran_out & more[items]]
            break
        decided[items[done]] = True
        taken[items[joins]] = True
        center[items[joins]] = mate[at[joins]]
    return center, need, ask


def star_clusters(
    buckets: Buckets,
    keep: Callable[[np.ndarray, np.ndarray], np.ndarray],
    verify: Callable[[np.ndarray, np.ndarray], np.ndarray],
    threshold: float,
) -> np.ndarray:
    """The centre of each item (items in order of preference): visited best first, an item joins
    the best of its candidates (its better bucket-mates that ``keep`` keeps) that is within the
    threshold and not itself taken; else it stays, a centre. The same stars as letting the best
    item not yet taken take its neighbours.

    ``verify(items, candidates)`` gives the similarity of pairs. Only what a walk reaches is
    verified or read: the first walk verifies the first candidate of each item; then each walk's
    needy items get all their candidates verified, and more read while none is within the
    threshold (up to ``MOST_READS`` reads); walks repeat until one needs nothing. As each only adds
    knowledge, the last decides as a walk knowing every similarity would."""
    n = buckets.size
    owner, mate, complete, more = buckets.partners(np.arange(n), np.full(n, -1), keep, PARTNERS)
    sims = np.full(owner.size, np.nan)
    frontier = np.where(more, complete, -1)  # -1: nothing more to read
    reads = np.ones(n, dtype=np.int64)

    def check(pairs: np.ndarray) -> None:
        if pairs.size:
            sims[pairs] = verify(owner[pairs], mate[pairs])

    def read(ask: np.ndarray) -> np.ndarray:
        """Read more candidates for ``ask``: the items that got some."""
        nonlocal owner, mate, sims
        new_owner, new_mate, complete, again = buckets.partners(ask, frontier[ask], keep, PARTNERS)
        new_owner = ask[new_owner]
        key = np.concatenate((owner * n + mate, new_owner * n + new_mate))
        merged, first = np.unique(key, return_index=True)  # sorted; a pair read twice keeps its similarity
        grew = np.zeros(n, dtype=bool)
        fresh = first >= owner.size
        grew[merged[fresh] // n] = True
        sims = np.concatenate((sims, np.full(new_owner.size, np.nan)))[first]
        owner, mate = merged // n, merged % n
        reads[ask] += 1
        # A read that found nothing worth verifying was in buckets of records that only share
        # common shingles (numbers, "of the"): the rest of them will not do better.
        frontier[ask] = np.where(again & grew[ask] & (reads[ask] < MOST_READS), complete, -1)
        return np.flatnonzero(grew)

    deep = False  # the first walk asks for first candidates only: most decide on them
    while True:
        center, need, ask = walk(n, owner, mate, sims, threshold, frontier >= 0)
        if need.size == 0 and ask.size == 0:
            return center
        if not deep:
            check(need)
            deep = True
            continue
        needy = np.union1d(owner[need], read(ask) if ask.size else np.zeros(0, dtype=np.int64))
        while needy.size:
            mine = np.isin(owner, needy)
            check(np.flatnonzero(mine & np.isnan(sims)))
            has_close = np.zeros(n, dtype=bool)
            has_close[owner[mine & (sims >= threshold)]] = True
            hungry = needy[~has_close[needy] & (frontier[needy] >= 0)]
            needy = read(hungry) if hungry.size else hungry


class NearDuplicateOptions(SimilarityOptions):
    """DQ402's options: those of every similarity check, how much of their answers two
    near-duplicates must share, and how alike by chance a template's records may be."""

    answer_threshold: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="a pair whose answers (the assistant turns) share less than this Jaccard similarity of their "
        "shingles is two records however alike the rest: two completions of one prompt (KTO or preference "
        "pairs), or different questions behind a preamble too few records share to be boilerplate",
    )
    template_chance: float = Field(
        0.25,
        gt=0.0,
        le=1.0,
        description="records sharing a line or sentence of boilerplate (a template's frame) that are alike by "
        "chance at least this much (the median similarity of pairs of them) are fillings of one template from "
        "a small pool (names, numbers, orderings): two of them must be that much more alike than chance, "
        "(similarity - chance) / (1 - chance) >= threshold, and short-threshold at most",
    )


class DuplicateRule(DatasetRule):
    """What DQ401 and DQ402 share: the cluster report and the gate metric."""

    needs: ClassVar[tuple[str, ...]] = ("text",)
    gate_metrics: ClassVar[tuple[GateMetric, ...]] = (DUPLICATE_RATE,)

    def sources(self, table: pl.DataFrame, rows: np.ndarray) -> list[str]:
        return self.context.sources(table["_file"].to_numpy()[rows].tolist(), table["_line"].to_numpy()[rows].tolist())

    def report(
        self,
        table: pl.DataFrame,
        kept: np.ndarray,
        exact: np.ndarray,
        near: np.ndarray | None,
        order: np.ndarray,
    ) -> dict[str, Any]:
        """The ``duplicates`` section: counts, rate and the largest clusters with examples.

        ``kept`` is the row kept for each row's cluster; ``exact`` and ``near`` mark the rows
        removed as exact or near duplicates (``near`` None: not measured); ``order`` is the
        order of preference."""
        n = table.height
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        sizes = np.bincount(kept, minlength=n)
        multi = np.flatnonzero(sizes > 1)
        largest = multi[np.lexsort((rank[multi], -sizes[multi]))][:LARGEST_CLUSTERS]
        clusters = []
        if largest.size:
            members = np.flatnonzero(np.isin(kept, largest))
            members = members[np.argsort(rank[members], kind="stable")]
            ids = table["_id"].to_list()
            previews = table["text_preview"].to_list()
            for head in largest:
                shown = members[kept[members] == head][:EXAMPLES_PER_CLUSTER]
                shown = np.concatenate(([head], shown[shown != head]))[:EXAMPLES_PER_CLUSTER]
                clusters.append(
                    {
                        "id": ids[head],
                        "size": int(sizes[head]),
                        "examples": [
                            {"source": src, "text": previews[row]}
                            for row, src in zip(shown, self.sources(table, shown), strict=True)
                        ],
                    }
                )
        return self.section(n, int(exact.sum()), None if near is None else int(near.sum()), int(multi.size), clusters)

    @staticmethod
    def section(n: int, exact: int, near: int | None, clusters: int, largest: list[dict]) -> dict[str, Any]:
        """The ``duplicates`` section from its counts: ``n`` records, ``exact`` and ``near``
        removed (``near`` None: not measured), ``clusters`` with more than one record and the
        ``largest`` of them."""
        removed = exact + (near or 0)
        section: dict[str, Any] = {"records": n, "rate": round(removed / n, 6) if n else 0.0, "exact": exact}
        if near is not None:
            section["near"] = near
        return {"duplicates": {**section, "clusters": clusters, "largest": largest}}

    @staticmethod
    def rejections(idx: np.ndarray, messages: list[str], scores: np.ndarray, evidence: list[str]) -> pl.DataFrame:
        """The failing records ``idx`` (their ``_idx``) as ``evaluate`` returns them."""
        return pl.DataFrame(
            {"_idx": idx, "score": scores, "message": messages, "evidence": evidence},
            schema={"_idx": pl.UInt64, "score": pl.Float64, "message": pl.String, "evidence": pl.String},
        )


class ExactDuplicate(DuplicateRule):
    """Hashes each record's conversation text (every turn but the system prompt, history and
    tool calls included; Unicode NFKC, lowercased, whitespace collapsed) and keeps one record
    per hash: the best by quality score (one no other rule rejected first; ties: the first
    seen). The others fail and name the record kept."""

    code = "DQ401"
    name = "exact-duplicate"
    summary = "the same conversation text as another record (ignoring case and whitespace)"
    why = (
        "Repeated examples are trained on several times per epoch: the model memorizes them and "
        "their share of the data set is silently larger than it looks. A copy also makes the "
        "data set look bigger than the knowledge in it."
    )
    example = (
        'Two records {"instruction": "Name a primary color.", "output": "Red."} and '
        '{"instruction": "name a  primary color.", "output": "red."}: the second fails with '
        "'exact duplicate of data.jsonl:1'."
    )

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        if table.height == 0:
            return DatasetResult()
        order = preference(table)
        kept = exact_keep(table["text_hash"].to_numpy(), order)
        exact = kept != np.arange(table.height)
        rows = np.flatnonzero(exact)
        files, lines = table["_file"].to_numpy(), table["_line"].to_numpy()
        failed = self.failures(table["_idx"].to_numpy()[rows], files[kept[rows]], lines[kept[rows]])
        return DatasetResult(failed=failed, metrics=self.report(table, kept, exact, None, order))

    def failures(self, idx: np.ndarray, files: np.ndarray, lines: np.ndarray) -> pl.DataFrame:
        """The records ``idx`` removed, each naming the record kept (its ``_file`` and ``_line``):
        what ``evaluate`` fails, and what a distributed engine fails from its group-by."""
        sources = self.context.sources(files.tolist(), lines.tolist())
        messages = [f"exact duplicate of {src}" for src in sources]
        evidence = [f"kept {src}; the same text once normalized (NFKC, lowercase, whitespace)" for src in sources]
        return self.rejections(idx, messages, np.zeros(idx.size), evidence)


class NearDuplicate(DuplicateRule):
    """Cuts each record's conversation text into shingles (2 words, or 2 characters for text
    mostly in Chinese or Japanese; every number is the same word) and keeps each record's set of
    shingles (none across two lines of a user turn). A line of the user turns that recurs in at
    least boilerplate-share of the records (and boilerplate-min-records of them), such as a tool
    description or a header, is boilerplate, and so are a line's sentences and the longest opening
    they share where no punctuation ends a template's frame (see docs/rules.md): its shingles are left out of the sets of the records that have it;
    so are those of a line that lists the options to pick from between commas, however each record
    orders them. MinHash
    signatures of what is left and LSH bands find candidate pairs; each candidate is verified
    with the exact Jaccard similarity of the two sets, and pairs at or above the threshold are
    near-duplicates. Records are visited best first (quality score, then first seen); each one
    not yet taken keeps the near-duplicates of it that are not taken either, which fail naming
    it and the similarity; their evidence gives the shingles shared and the boilerplate left out. Copies with the very
    same text are DQ401's: this rule reports one record per text, so a text and its copies fail
    only once each. A record with nothing but boilerplate has nothing to compare: only DQ401
    can find its copies. Each shingle is the question's or the answer's (the last assistant turn:
    the earlier ones are the conversation it continues), by the turn it starts in, and an answer
    shorter than a shingle ("Steve") is a shingle of its own too; a pair with as many assistant
    turns whose answers share less than answer-threshold (boilerplate kept: an answer may quote
    the passage) is two records (two completions of one prompt or of one conversation, two
    questions asked of one passage, two questions behind a preamble only they share); a
    conversation with one more exchange than its copy ends on another answer and is still a copy.
    Different questions whose answers open with a stock passage (the same prose opening at least
    three answers share, a disclaimer) and are under the threshold without it are two records.
    A pair of short records (the smaller set, boilerplate included, under short-shingles) must
    reach short-threshold; a pair
    short once its boilerplate is left out whose masked numbers share less than half of them is
    the same template filled with other numbers (a tool call, a sum): another example. Records
    that share a piece of boilerplate and are alike by chance (the puzzles of one template, filled
    from one small pool of names and orderings; ``chance_likeness``), at template-chance or more,
    must be the threshold more alike than chance, (similarity - chance) / (1 - chance), up to
    short-threshold. Tasks written on one frame whose asks differ in the word that matters ("bitwise
    xor" and "exponentiation" of two tuples) are two records: one question has a word its own answer
    repeats (``bitwise_xor``) that the other record does not use at all (``asked_words``)."""

    code = "DQ402"
    name = "near-duplicate"
    summary = "nearly the same text as a better record (Jaccard similarity of the shingles >= threshold)"
    why = (
        "Near-duplicates (the same answer with a word changed, the same template filled the same "
        "way) weigh a data set towards a few examples as much as exact copies do, and they "
        "survive exact deduplication. Keeping the best of each cluster keeps the knowledge and "
        "drops the repetition. Records that only share a long preamble (a tool description "
        "before different questions) are different records, and are not counted."
    )
    example = (
        "'What is the capital of France?' answered 'The capital of France is Paris, which is also "
        "its largest city and its cultural centre.' in data.jsonl:1 and with 'biggest' for "
        "'largest' in data.jsonl:2: the second fails with 'near-duplicate of data.jsonl:1 "
        "(similarity 0.81, cluster 5310d012338c62b0)', its evidence 'kept data.jsonl:1; exact "
        "Jaccard 0.8095 = 17 shared / 21 distinct shingles; boilerplate left out: 0 shingles of 0 "
        "lines or sentences here, 0 of 0 in the kept record'."
    )
    Options = NearDuplicateOptions

    def collect(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Each record's shingle set and the keys of its user lines; the shingles of each line
        are kept once per batch, by the first record that has it."""
        s = shingled(batch, self.options)
        n = batch.height
        # a sentence's shingles are kept where it recurs in the batch: a template's frame does
        keys, first, records = np.unique(s.line_keys, return_index=True, return_counts=True)
        first = np.sort(first[~is_sentence(keys) | (records > 1)])
        held = s.line_sets(first, self.options)
        stored = np.zeros(s.line_keys.size, dtype=np.uint32)
        stored[first] = held.sizes
        lines = np.bincount(s.line_rows, minlength=n)
        held_by = np.bincount(s.line_rows[first], weights=held.sizes, minlength=n).astype(np.int64)
        answers = last_answers(batch)
        openings, opening_sizes = answer_openings(batch, s, self.options, answers)
        echoes, masks = asked_words(s.asks, batch["text"], answers)
        return pl.DataFrame(
            {
                "shingles": s.sets.column(),
                "numbers": s.numbers.column(),
                "replies": batch.select(
                    pl.col("turns").list.eval(pl.element().struct.field("role") == "assistant").list.sum().fill_null(0)
                )
                .to_series()
                .cast(pl.UInt16),
                "lines": ragged(s.line_keys, lines, pl.UInt64),
                "line_sizes": ragged(stored, lines, pl.UInt32),
                "line_shingles": ragged(held.values, held_by, pl.UInt32),
                "openings": openings,
                "opening_sizes": opening_sizes,
                "echoes": echoes.column(),
                "words": masks,
            }
        )

    def discount(
        self, table: pl.DataFrame, sets: Sets, reps: np.ndarray
    ) -> tuple[Sets, np.ndarray, dict[str, int], tuple[np.ndarray, np.ndarray]]:
        """``sets`` with the shingles of boilerplate lines taken out, how many boilerplate lines
        each record has, the report's account of them, and the record and key of each boilerplate
        line or sentence of the texts (``reps``). Lines are counted once per text, so that exact
        copies do not make a line boilerplate."""
        n = table.height
        keys = table["lines"].explode(empty_as_null=False).to_numpy()
        rows = np.repeat(np.arange(n), table["lines"].list.len().to_numpy())
        counted = np.zeros(n, dtype=bool)
        counted[reps] = True
        counted = counted[rows]
        floor = self.options.boilerplate_floor(reps.size)
        heavy = self.options.boilerplate(keys[counted], reps.size)
        found = among(keys, heavy)
        stored = table["line_sizes"].explode(empty_as_null=False).to_numpy().astype(np.int64)
        holders = np.flatnonzero(found & (stored > 0))
        holder_keys, first = np.unique(keys[holders], return_index=True)
        occurrences = np.flatnonzero(found & counted)
        occurrences = occurrences[among(keys[occurrences], holder_keys)]
        # a sentence is counted where no whole line is left out: a preamble's lines hold its sentences
        sentence = is_sentence(keys[occurrences])
        by_lines = np.bincount(rows[occurrences[~sentence]], minlength=n)
        by_sentences = np.bincount(rows[occurrences[sentence]], minlength=n)
        lines_out = np.where(by_lines > 0, by_lines, by_sentences)
        sentences = int(is_sentence(heavy).sum())
        account = {
            "lines": int(heavy.size) - sentences,
            "sentences": sentences,
            "records": int((lines_out > 0).sum()),
            "min_records": floor,
        }
        frames = (rows[occurrences], keys[occurrences])
        if occurrences.size == 0:
            return sets, lines_out, account, frames
        held = table["line_shingles"].explode(empty_as_null=False).to_numpy()
        line = holders[first][np.searchsorted(holder_keys, keys[occurrences])]
        keep = without(sets, rows[occurrences], (np.cumsum(stored) - stored)[line], stored[line], held)
        return sets.keeping(keep), lines_out, account | {"shingles": int((~keep).sum())}, frames

    def cluster(
        self,
        compared: Sets,
        items: np.ndarray,
        numbers: Sets,
        sets: Sets,
        replies: np.ndarray,
        openings: tuple[np.ndarray, np.ndarray],
        chance: np.ndarray,
        asked: tuple[Sets, np.ndarray],
    ) -> np.ndarray:
        """The centre of each of ``items`` (sets of ``compared``, best first; ``numbers``, the
        masked numbers of every record; ``sets``, its shingles with the boilerplate, for the
        context two records share and their answers: an answer quoting the passage it was asked
        about is still that answer; ``replies``, the assistant turns of every record;
        ``openings``, the keys and shingle counts of their answers' openings; ``chance``, how
        alike by chance every record is to its template's, see ``bar``; ``asked``, the words each
        question turns on and every word each record uses, see ``asked_words``), as positions in ``items``."""
        threshold, bands = self.options.threshold, self.options.banding()
        keys, compact = bands.sketch(compared, items)
        buckets = Buckets(keys)
        del keys
        sizes = compared.sizes[items]

        def keep(v: np.ndarray, u: np.ndarray) -> np.ndarray:
            # The estimate's deviation is about sqrt(J (1 - J) / n), n the bins either set fills.
            n = np.minimum(np.minimum(sizes[v], sizes[u]), bands.bins)
            return agreement(compact, v, u) >= threshold - ESTIMATE_SIGMAS * np.sqrt(threshold * (1 - threshold) / n)

        def verify(v: np.ndarray, u: np.ndarray) -> np.ndarray:
            # the exact similarity, or none for a pair that is two records however alike
            sims, shared = jaccard(compared, items[v], compared, items[u])
            smaller = np.minimum(sizes[v], sizes[u])
            context = self.options.context(
                sims, smaller, shared, lambda p: jaccard(sets, items[v[p]], sets, items[u[p]])[1]
            )
            differ = numbers_differ(numbers, items[v], numbers, items[u])
            close = self.options.close(sims, smaller, context, differ)
            close &= sims >= self.bar(np.minimum(chance[items[v]], chance[items[u]]))
            # the answers must be alike too, where both records have one after as many exchanges
            # (read only where it decides): a conversation with one more exchange ends on another
            # answer, but it is the same conversation
            pick = np.flatnonzero(close)
            if pick.size:
                left, right = items[v[pick]], items[u[pick]]
                mine, theirs = sets.answer_part(left), sets.answer_part(right)
                both = (mine.sizes > 0) & (theirs.sizes > 0)
                pairs = np.arange(pick.size)
                apart = both & (jaccard(mine, pairs, theirs, pairs)[0] < self.options.answer_threshold)
                apart &= replies[left] == replies[right]
                apart |= opening_only(compared, left, right, shared[pick], (mine, theirs), openings, threshold)
                apart |= asks_apart(*asked, left, right)
                close[pick[apart]] = False
            return np.where(close | (sims < threshold), sims, 0.0)

        return star_clusters(buckets, keep, verify, threshold)

    def chance(self, compared: Sets, frames: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """How alike each record is by chance to the records of its template (``chance_likeness``
        of its boilerplate ``frames``), where that is at least template-chance; 0 elsewhere."""
        alike = chance_likeness(compared, *frames)
        return np.where(alike >= self.options.template_chance, alike, 0.0)

    def bar(self, chance: np.ndarray) -> np.ndarray:
        """The similarity pairs alike by ``chance`` (the lesser of their two records': a copy
        of a template's puzzle is a copy wherever it is found) must reach: the threshold above
        chance, (similarity - chance) / (1 - chance) >= threshold; the threshold at chance 0, and
        never more than short-threshold: records all alike by chance may all be copies (an
        identity set's "Who made you?" and "Who created you?" answered in other words), and a pair
        as alike as two short records must be is close whatever its template."""
        ceiling = max(self.options.threshold, self.options.short_threshold)
        return np.minimum(chance + self.options.threshold * (1.0 - chance), ceiling)

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        if table.height == 0:
            return DatasetResult()
        n = table.height
        order = preference(table)
        exact_of = exact_keep(table["text_hash"].to_numpy(), order)
        reps = order[exact_of[order] == order]  # one row per text, best first
        sets = Sets.from_column(table["shingles"])
        compared, lines_out, account, frames = self.discount(table, sets, reps)
        chance = self.chance(compared, frames)
        # A record with nothing left to compare matches exactly or not at all.
        items = reps[compared.sizes[reps] > 0]
        center = np.arange(n)
        if items.size > 1:
            numbers = Sets.from_column(table["numbers"])
            replies = table["replies"].to_numpy()
            openings = stock_openings((table["openings"].to_numpy(), table["opening_sizes"].to_numpy()), reps)
            asked = (Sets.from_column(table["echoes"]), table["words"].to_numpy())
            center[items] = items[self.cluster(compared, items, numbers, sets, replies, openings, chance, asked)]
        kept = center[exact_of]
        exact = exact_of != np.arange(n)
        near = ~exact & (kept != np.arange(n))
        rows = np.flatnonzero(near)
        sim, shared = jaccard(compared, rows, compared, kept[rows])
        union = compared.sizes[rows] + compared.sizes[kept[rows]] - shared
        left_out = sets.sizes - compared.sizes
        alike = np.minimum(chance[rows], chance[kept[rows]])
        sources = self.sources(table, kept[rows])
        ids = table["_id"].to_numpy()[kept[rows]].tolist()
        messages, evidence = [], []
        for src, s, cluster, common, total, mine, theirs, my_lines, their_lines, c in zip(
            sources,
            sim.tolist(),
            ids,
            shared.tolist(),
            union.tolist(),
            left_out[rows].tolist(),
            left_out[kept[rows]].tolist(),
            lines_out[rows].tolist(),
            lines_out[kept[rows]].tolist(),
            alike.tolist(),
            strict=True,
        ):
            messages.append(f"near-duplicate of {src} (similarity {s:.2f}, cluster {cluster})")
            evidence.append(
                f"kept {src}; exact Jaccard {s:.4f} = {common} shared / {total} distinct shingles; "
                f"boilerplate left out: {mine} shingles of {my_lines} lines or sentences here, "
                f"{theirs} of {their_lines} in the kept record"
                + (
                    f"; records of their template alike by chance: {c:.4f}, so the pair must reach {self.bar(c):.4f}"
                    if c
                    else ""
                )
            )
        failed = self.rejections(table["_idx"].to_numpy()[rows], messages, np.round(1.0 - sim, 4), evidence)
        metrics = self.report(table, kept, exact, near, order)
        metrics["duplicates"]["boilerplate"] = {"shingles": 0} | account
        return DatasetResult(failed=failed, metrics=metrics)


@hookimpl
def dqe_register_rules(register):
    register(ExactDuplicate)
    register(NearDuplicate)
