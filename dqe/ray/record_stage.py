"""The record stage: dqe's per-batch half (``BatchProcessor``) in Ray actors.

Each actor loads the plugins and builds the engine once, so the tokenizer, rule packs,
classifiers and plugins load once per actor, not per batch. It checks that it loaded the same
plugins as the driver (a node without a package, with another version, or with
``DQE_DISABLE_PLUGINS`` set would check other rules: fail closed, naming both lists). A failure
to set up is kept and raised with the first batch, so that the run stops with its reason.

A block is one task of the local engine's: ``TASK_BATCHES`` of its reader's batches, which one
call of the processor checks joined, each batch still apart for what data-set rules collect
(``BatchProcessor``'s windows), so the results are those of a batch at a time, for less of the
fixed cost of each polars call. Each task is written as Parquet shards in the run's folder
(``dqe.ray.shards``): its kept columns, for the
data-set stage (``dqe.ray.dataset_stage``); the columns a report reads of each record
(``Engine.record_columns``: ids, labels, token counts, quality); its findings; its invalid items.
None of them reaches the driver. Each task comes back as one row, its first ``_idx`` and,
pickled, how many invalid items each file had, the ``BatchResult`` without rows or findings (its
counts, rule errors and timings), whether an item held dqe's annotation field and how many items
carry `dqe augment`'s provenance: what the driver adds up, whatever the input's size.
"""

from __future__ import annotations

import os
import pickle
import time
from collections import Counter
from typing import Any

import polars as pl
import pyarrow as pa

from dqe.engine.config import LoadedConfig
from dqe.engine.engine import FINDINGS_SCHEMA, Engine
from dqe.engine.plugins import Registry, load_plugins
from dqe.engine.workers import TASK_BATCHES, joined, keep_freed_memory
from dqe.errors import PluginError
from dqe.io.inputs import ANNOTATION, is_generated
from dqe.io.reader import Batch, FileInfo
from dqe.ray.plan import LayoutSpec
from dqe.ray.shards import INVALID_SCHEMA, shard

RESULT_SCHEMA = pa.schema([("first", pa.uint64()), ("items", pa.uint64()), ("result", pa.binary())])


def plugin_fingerprint(registry: Registry) -> list[tuple[str, str, str, bool, str]]:
    """What must be equal on every node: each plugin's name, package, version, and whether it
    is disabled or failed to load."""
    return sorted((p.name, p.package or "", p.version or "", bool(p.disabled), p.error or "") for p in registry.plugins)


def set_up(
    engine: type[Engine],
    loaded: LoadedConfig,
    disabled: list[str],
    files: list[FileInfo],
    fingerprint: list[tuple[str, str, str, bool, str]],
) -> tuple[Engine, Registry]:
    """The driver's engine made again on a worker, after checking that the worker loaded the
    same plugins (fail closed, naming both lists)."""
    registry = load_plugins(disabled=disabled)
    mine = plugin_fingerprint(registry)
    if mine != fingerprint:
        raise PluginError(
            f"the plugins on Ray worker {os.uname().nodename} differ from the driver's: worker {mine}, "
            f"driver {fingerprint}; install the same packages (and versions) on every node"
        )
    checker = engine(loaded, registry)
    checker.context.files = files
    return checker, registry


class RecordStage:
    """A Ray Data callable class: ``map_batches(RecordStage, compute=ActorPoolStrategy(...))``."""

    def __init__(
        self,
        engine: type,
        loaded: LoadedConfig,
        disabled: list[str],
        files: list[FileInfo],
        layouts: list[LayoutSpec | None],
        fingerprint: list[tuple[str, str, str, bool, str]],
        batch_size: int,
        folder: str,
    ):
        from dqe.engine import batch, tokenizers
        from dqe.guard import describe
        from dqe.io.formats.base import Layout
        from dqe.io.reader import BatchBuilder, format_labels

        keep_freed_memory()  # as the local engine's workers: each task's arrays reuse the last one's pages
        tokenizers.THREADS = batch.THREADS = 1  # the actors are the parallelism
        self.batch_size = batch_size
        self.folder = folder
        self.error: str | None = None
        try:
            checker, registry = set_up(engine, loaded, disabled, files, fingerprint)
            self.processor = checker.processor()
            self.reported = checker.record_columns()
            self.layouts = [
                None if spec is None else Layout(registry.formats[spec.format], spec.columns, spec.tags)
                for spec in layouts
            ]
            self.builder = BatchBuilder(files, format_labels(registry.formats, registry.owner))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # kept for the first batch: the run stops with the reason
            self.error = str(exc) if isinstance(exc, Exception) and str(exc) else describe(exc)

    def __call__(self, block: pa.Table) -> pa.Table:
        """One row per task in ``block``: ``TASK_BATCHES`` of the local reader's batches, joined
        in one call of the processor as the local engine's workers join them (a block is a task,
        or several that Ray Data bundled)."""
        if self.error is not None:
            raise PluginError(f"a Ray worker could not set up the rules: {self.error}")
        idx = block.column("_idx").to_numpy()
        cuts = [0, *(int(i) for i in (idx % self.batch_size == 0).nonzero()[0] if i > 0), len(idx)]
        batches = [block.slice(a, b - a) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
        tasks = [batches[i : i + TASK_BATCHES] for i in range(0, len(batches), TASK_BATCHES)]
        return pa.Table.from_pylist([self._task(task) for task in tasks], schema=RESULT_SCHEMA)

    def _built(self, batch: pa.Table) -> tuple[Batch, bool, int]:
        """The reader's batch of ``batch``'s rows, whether an item held dqe's annotation field,
        and how many carry `dqe augment`'s provenance."""
        from dqe.io.files import jsonl_items

        cols = batch.to_pydict()
        annotated = False
        generated = 0
        for idx, file, line, raw, item in zip(
            cols["_idx"], cols["_file"], cols["_line"], cols["raw"], cols["item"], strict=True
        ):
            parsed = next(jsonl_items([(line, raw)])) if raw is not None else pickle.loads(item)
            if parsed.obj is not None and ANNOTATION in parsed.obj:
                annotated = True
                generated += is_generated(parsed.obj)
            self.builder.add(idx, file, parsed, self.layouts[file])
        return self.builder.build(), annotated, generated

    def _task(self, batches: list[pa.Table]) -> dict[str, Any]:
        clock = time.perf_counter()
        built = [self._built(batch) for batch in batches]
        task, windows = joined([b for b, _, _ in built])
        invalid = task.invalid
        read = time.perf_counter() - clock
        result = self.processor(task.frame, windows)
        result.timings["read"] = result.timings.get("read", 0.0) + read
        first = batches[0].column("_idx")[0].as_py()
        result.kept.write_parquet(shard(self.folder, "kept", first), compression="lz4")
        report = result.kept.select(c for c in self.reported if c in result.kept.columns)
        report.write_parquet(shard(self.folder, "report", first), compression="lz4")
        found = pl.concat(result.findings) if result.findings else pl.DataFrame(schema=FINDINGS_SCHEMA)
        found.write_parquet(shard(self.folder, "findings", first), compression="lz4")
        if invalid:
            unread = [(r.idx, r.file, r.line, r.reason) for r in invalid]
            rows = pl.DataFrame(unread, schema=INVALID_SCHEMA, orient="row")
            rows.write_parquet(shard(self.folder, "invalid", first), compression="lz4")
        # what the driver adds up: the findings and every record's row stay in the shards
        result.kept, result.findings = report.clear(), []
        annotated = any(a for _, a, _ in built)
        generated = sum(g for _, _, g in built)
        payload = (Counter(r.file for r in invalid), result, annotated, generated)
        return {
            "first": first,
            "items": sum(batch.num_rows for batch in batches),
            "result": pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL),
        }
