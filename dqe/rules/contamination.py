"""DQ403 contamination: training records that are in an evaluation set, exactly or nearly.

The evaluation sets come from ``--against`` (config key ``against``) and are read with the same
reader, formats and column mapping as the training data. They are indexed once (text hashes,
shingle sets, LSH buckets); each batch of training records is looked up as it streams by, so
only the match of each record is kept for the end. Records are compared as DQ402 compares them
(``dqe.rules.duplicates``): shingle sets with boilerplate left out, here the lines that recur
across the evaluation set (a shared header or few-shot preamble), candidates verified with the
exact Jaccard similarity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dqe import (
    BucketIndex,
    DatasetResult,
    DatasetRule,
    Feature,
    FileInfo,
    GateMetric,
    Reader,
    Sets,
    SimilarityOptions,
    hookimpl,
    jaccard,
    leave_out,
    loaded_dir,
    new_feature,
    numbers_differ,
    shingled,
)

EXAMPLES = 5


def asks_only(frame: pl.DataFrame) -> pl.Series:
    """Per record, whether it holds questions and no answer (MT-Bench's turns, a prompt alone)."""
    roles = frame["turns"].list.eval(pl.element().struct.field("role") == "assistant")
    return ~roles.list.any().fill_null(False)


def questions(frame: pl.DataFrame, text: Feature) -> pl.DataFrame:
    """Each user turn of ``frame`` as a record of its own (``_row``: the record it is of), with
    its text: a question of an evaluation set of questions alone (MT-Bench holds two per
    record) is compared with each question of a training record."""
    asked = (
        frame.with_row_index("_row")
        .with_columns(
            turns=pl.col("turns").list.eval(pl.element().filter(pl.element().struct.field("role") == "user")),
            system=pl.lit(None, dtype=pl.String),
            answer=pl.lit(""),
        )
        .explode("turns")
        .filter(pl.col("turns").is_not_null())
        .with_columns(pl.concat_list("turns").alias("turns"))
    )
    columns = text.compute(asked)
    return asked.with_columns(columns["text"], columns["text_hash"])


class AgainstSet:
    """Records of the evaluation sets, indexed for lookups: those with answers, or (``asked``)
    those that are questions alone, each compared with a training record's questions."""

    def __init__(self, reader: Reader, text: Feature, options: SimilarityOptions, *, asked: bool = False):
        self.options = options
        self.bands = options.banding()
        self.asked = asked
        self.text = text
        self.reader = reader
        self.records = 0  # evaluation records (a record of questions is indexed question by question)
        self._hashes: list[np.ndarray] = []
        self._parts: list[Any] = []
        self._files: list[np.ndarray] = []
        self._lines: list[np.ndarray] = []

    @classmethod
    def read(cls, reader: Reader, text: Feature, options: SimilarityOptions) -> tuple[AgainstSet, AgainstSet]:
        """The evaluation sets, read once: (the records with answers, those of questions alone)."""
        answered, asked = cls(reader, text, options), cls(reader, text, options, asked=True)
        for batch in reader:
            only = asks_only(batch.frame)
            answered.add(batch.frame.filter(~only))
            asked.add(batch.frame.filter(only))
        answered.build()
        asked.build()
        return answered, asked

    def add(self, frame: pl.DataFrame) -> None:
        """A batch of this set's records, shingled."""
        self.records += frame.height
        if frame.height and self.asked:
            frame = questions(frame, self.text)
        if frame.height == 0:
            return
        columns = self.text.compute(frame)
        self._hashes.append(columns["text_hash"].to_numpy())
        self._parts.append(shingled(frame.with_columns(columns["text"]), self.options))
        self._files.append(frame["_file"].to_numpy())
        self._lines.append(frame["_line"].to_numpy())

    def build(self) -> None:
        """The index of the records added."""
        options = self.options
        hashes, parts, files, lines = self._hashes, self._parts, self._files, self._lines
        self.files: list[FileInfo] = self.reader.files
        self.size = sum(h.size for h in hashes)
        self.hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        self._file = np.concatenate(files) if files else np.zeros(0, dtype=np.uint32)
        self._line = np.concatenate(lines) if lines else np.zeros(0, dtype=np.uint32)
        self._hash_order = np.argsort(self.hashes, kind="stable")
        self._sorted_hashes = self.hashes[self._hash_order]
        keys = np.concatenate([p.line_keys for p in parts]) if parts else np.zeros(0, dtype=np.uint64)
        self.boilerplate = options.boilerplate(keys, self.size)
        compared = [leave_out(p, np.flatnonzero(np.isin(p.line_keys, self.boilerplate)), options) for p in parts]
        self.sets = Sets.of(
            np.concatenate([c.values for c in compared]) if compared else np.zeros(0, dtype=np.uint32),
            np.concatenate([c.sizes for c in compared]) if compared else np.zeros(0, dtype=np.int64),
        )
        self.whole = Sets.of(  # with their boilerplate: the context a pair shares
            np.concatenate([p.sets.values for p in parts]) if parts else np.zeros(0, dtype=np.uint32),
            np.concatenate([p.sets.sizes for p in parts]) if parts else np.zeros(0, dtype=np.int64),
        )
        self.numbers = Sets.of(
            np.concatenate([p.numbers.values for p in parts]) if parts else np.zeros(0, dtype=np.uint32),
            np.concatenate([p.numbers.sizes for p in parts]) if parts else np.zeros(0, dtype=np.int64),
        )
        self.left_out = (
            np.concatenate([p.sets.sizes - c.sizes for p, c in zip(parts, compared, strict=True)])
            if parts
            else np.zeros(0, dtype=np.int64)
        )
        items = np.flatnonzero(self.sets.sizes)
        self.buckets = BucketIndex(self.bands.sketch(self.sets, items)[0], items)
        self._hashes, self._parts, self._files, self._lines = [], [], [], []  # indexed: the parts go

    def source(self, item: int) -> str:
        return f"{self.files[int(self._file[item])].path}:{int(self._line[item])}"

    def lookup(self, batch: pl.DataFrame) -> pl.DataFrame:
        """For each record of ``batch``, the evaluation record it matches (-1: none), the
        similarity (1.0 for the same text, else the highest exact Jaccard similarity at or above
        the threshold) and what decided it."""
        n = batch.height
        match = np.full(n, -1, dtype=np.int64)
        sim = np.zeros(n)
        evidence: list[str | None] = [None] * n
        if self.size and n:
            text_hash = batch["text_hash"].to_numpy()
            pos = np.minimum(np.searchsorted(self._sorted_hashes, text_hash), self.size - 1)
            exact = self._sorted_hashes[pos] == text_hash
            match[exact] = self._hash_order[pos[exact]]
            sim[exact] = 1.0
            for row in np.flatnonzero(exact).tolist():
                evidence[row] = f"against {self.source(int(match[row]))}; the same text once normalized"
            self._near(batch, exact, match, sim, evidence)
        return pl.DataFrame(
            {
                "match": match,
                "similarity": sim,
                "evidence": evidence,
                "against": [self.source(int(m)) if m >= 0 else None for m in match.tolist()],
                "asked": [self.asked] * n,
            },
            schema={
                "match": pl.Int64,
                "similarity": pl.Float64,
                "evidence": pl.String,
                "against": pl.String,
                "asked": pl.Boolean,
            },
        )

    def _near(
        self, batch: pl.DataFrame, exact: np.ndarray, match: np.ndarray, sim: np.ndarray, evidence: list[str | None]
    ) -> None:
        """Fill in the near matches of the records that are not exact copies."""
        s = shingled(batch, self.options)
        compared = leave_out(s, np.flatnonzero(np.isin(s.line_keys, self.boilerplate)), self.options)
        rows = np.flatnonzero(~exact & (compared.sizes > 0))
        if rows.size == 0:
            return
        query, items = self.buckets.candidates(self.bands.sketch(compared, rows)[0])
        if query.size == 0:
            return
        estimate, shared = jaccard(compared, rows[query], self.sets, items)
        smaller = np.minimum(compared.sizes[rows[query]], self.sets.sizes[items])
        context = self.options.context(
            estimate, smaller, shared, lambda p: jaccard(s.sets, rows[query[p]], self.whole, items[p])[1]
        )
        close = self.options.close(
            estimate, smaller, context, numbers_differ(s.numbers, rows[query], self.numbers, items)
        )
        best = (
            pl.DataFrame(
                {"row": rows[query[close]], "item": items[close], "sim": estimate[close], "shared": shared[close]}
            )
            .sort(["row", "sim", "item"], descending=[False, True, False])
            .unique("row", keep="first")
        )
        found = best["row"].to_numpy()
        match[found] = best["item"].to_numpy()
        sim[found] = best["sim"].to_numpy()
        left_out = s.sets.sizes - compared.sizes
        for row, item, similarity, common in best.select("row", "item", "sim", "shared").iter_rows():
            total = compared.sizes[row] + self.sets.sizes[item] - common
            evidence[row] = (
                f"against {self.source(item)}; exact Jaccard {similarity:.4f} = {common} shared / {total} distinct "
                f"shingles; boilerplate left out: {left_out[row]} shingles here, {self.left_out[item]} there"
            )


class Contamination(DatasetRule):
    """With --against eval.jsonl (config key 'against'), looks each training record up in
    the evaluation sets: a record with the same normalized conversation text as an evaluation
    record, or an exact Jaccard similarity at or above the threshold (shingles, boilerplate left
    out, one-permutation signatures and bands to find the candidates, all as in DQ402), fails and
    names the evaluation record; its evidence gives the shingles shared and left out. Without an
    evaluation set the rule does nothing."""

    code = "DQ403"
    name = "contamination"
    summary = "a training record that is also in the --against evaluation set, exactly or nearly"
    why = (
        "A model trained on its test questions scores well on them without having learnt the "
        "skill: the evaluation then measures memory, and every decision taken on it is wrong. "
        "Near copies leak too: a reworded question with the same answer is still the answer key."
    )
    example = (
        "dqe check train.jsonl --against eval.jsonl: a training record whose question and answer "
        "match eval.jsonl:7 with two words changed fails with "
        "'near-duplicate of eval.jsonl:7 (against set, similarity 0.83)'."
    )
    Options = SimilarityOptions
    needs = ("text",)
    gate_metrics = (
        GateMetric(
            name="contaminated-records",
            key="contamination.records",
            description="training records found in the --against evaluation sets (DQ403)",
            direction="max",
            warn=0,
            bounds=(0, None),
        ),
    )

    def __init__(self, options: SimilarityOptions, context):
        super().__init__(options, context)
        paths = [loaded_dir(context.loaded) / p for p in context.config.against]
        # Built now so that a missing file stops the run before any data is read.
        self._reader = (
            Reader(
                [str(p) for p in paths],
                context.registry.formats,
                input_format=context.config.input_format,
                columns=context.config.columns,
                tags=context.config.tags,
                batch_size=context.config.batch_size,
            )
            if paths
            else None
        )
        self._against: AgainstSet | None = None
        self._asked: AgainstSet | None = None  # the evaluation records that are questions alone
        self._text = new_feature(context, "text")

    def _index(self, reader: Reader) -> AgainstSet:
        """The evaluation sets, read and indexed on first use."""
        if self._against is None:
            self._against, asked = AgainstSet.read(reader, self._text, self.options)
            self._asked = asked if asked.size else None
        return self._against

    def collect(self, batch: pl.DataFrame) -> pl.DataFrame | None:
        if self._reader is None:
            return None
        found = self._index(self._reader).lookup(batch)
        if self._asked is None:
            return found
        # a question of an evaluation set of questions alone, asked again in training: the best
        # match of any of a record's questions
        split = questions(batch, self._text)
        asked = (
            self._asked.lookup(split)
            .with_columns(split["_row"])
            .sort(["_row", "similarity"], descending=[False, True])
            .unique("_row", keep="first")
        )
        asked = (
            pl.DataFrame({"_row": range(batch.height)}, schema={"_row": pl.UInt32})
            .join(asked, on="_row", how="left")
            .with_columns(pl.col("match").fill_null(-1), pl.col("similarity").fill_null(0.0), asked=pl.lit(True))
        )
        use = (found["match"] < 0) & (asked["match"] >= 0)
        return found.select(pl.when(use).then(asked[c]).otherwise(found[c]).alias(c) for c in found.columns)

    def evaluate(self, table: pl.DataFrame) -> DatasetResult:
        if self._reader is None:
            return DatasetResult(skipped="no --against")
        against = self._index(self._reader)
        hit = table.filter(pl.col("match") >= 0)
        where = hit["against"].to_list()
        sims = hit["similarity"].to_list()
        messages = [
            (f"same question as {src}" if asked else f"same text as {src}") + " (against set)"
            if s >= 1.0
            else f"near-duplicate of {'the question ' if asked else ''}{src} (against set, similarity {s:.2f})"
            for src, s, asked in zip(where, sims, hit["asked"].to_list(), strict=True)
        ]
        failed = pl.DataFrame(
            {
                "_idx": hit["_idx"],
                "score": [round(1.0 - s, 4) for s in sims],
                "message": messages,
                "evidence": hit["evidence"],
            },
            schema={"_idx": pl.UInt64, "score": pl.Float64, "message": pl.String, "evidence": pl.String},
        )
        exact = sum(1 for s in sims if s >= 1.0)
        shown = hit.head(EXAMPLES)
        sources = self.context.sources(shown["_file"].to_list(), shown["_line"].to_list())
        section: dict[str, Any] = {
            "against": [_describe(f, against.reader.sha256(i)) for i, f in enumerate(against.files)],
            "against_records": against.records + (self._asked.records if self._asked else 0),
            "records": hit.height,
            "exact": exact,
            "near": hit.height - exact,
            "rate": round(hit.height / table.height, 6) if table.height else 0.0,
            "examples": [
                {"source": src, "against": other, "similarity": round(s, 4)}
                for src, other, s in zip(sources, where[:EXAMPLES], sims[:EXAMPLES], strict=True)
            ],
        }
        return DatasetResult(failed=failed, metrics={"contamination": section})


def _describe(info: FileInfo, sha256: str | None) -> dict[str, Any]:
    """An evaluation file as the report and the gate manifest record it."""
    return {
        "path": info.path,
        "sha256": sha256 if info.container else None,
        "records": info.records,
        "invalid": info.invalid,
    }


@hookimpl
def dqe_register_rules(register):
    register(Contamination)
