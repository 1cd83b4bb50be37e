"""``RayEngine``: the local engine with its record stage on a Ray cluster.

The driver validates the config and plugins (a problem costs nothing), plans the read ranges
(``dqe.ray.plan``), and runs read tasks and ``RecordStage`` actors through Ray Data. The actors
write each batch's kept columns, report columns, findings and invalid items as shards in the
run's folder (``dqe.ray.shards``); only counts and timings come back, in input order. The
data-set half of the run (summaries, data-set rules) runs in one Ray task on the shards
(``dqe.ray.dataset_stage``), with the local engine's code, and only its metrics and the run's
totals come back. The driver holds no row per record: the result's frames stay in the shards
(``dqe.ray.frames``), counted by the task and sampled shard by shard for the report, read whole
only for a per-record view. The gate, report and outputs are the local engine's code, so its
report, outputs and manifest are the local engine's (see docs/ray.md for what is not distributed
yet).
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl

from dqe.engine.batch import BatchResult
from dqe.engine.engine import FINDINGS_SCHEMA, DatasetStage, Engine, RuleErrorInfo, RunProgress, RunResult
from dqe.engine.rule import DatasetResult, DatasetRule
from dqe.engine.workers import TASK_BATCHES, worker_environment
from dqe.errors import ConfigError, InputError, PluginError
from dqe.io.inputs import InputFile, Inputs, resolve_inputs
from dqe.io.reader import Batch, Reader
from dqe.ray import cluster
from dqe.ray.dataset_stage import run_dataset_stage
from dqe.ray.exact_duplicates import exact_duplicates
from dqe.ray.frames import ShardFrames
from dqe.ray.plan import RANGE_BYTES, parts, plan
from dqe.ray.record_stage import RecordStage, plugin_fingerprint
from dqe.ray.shards import shards
from dqe.ray.source import PartSource
from dqe.rules.duplicates import ExactDuplicate

ACTOR_CPUS = 0.9  # an actor per CPU, a little under one each: the read tasks need CPU too (0.2 each)
READ_CPUS = 0.2
DATASET_CPUS = 1  # the data-set stage's task: one core, once the record stage's actors are done


class RayEngine(Engine):
    """An ``Engine`` whose batches run on Ray; everything else is the local engine's."""

    range_bytes: int = RANGE_BYTES
    folder: str | None = None  # the run's folder of shards (dqe.ray.shards), while it runs

    def run(self, inputs: Any, progress: Callable[[RunProgress], None] | None = None) -> RunResult:
        """The local engine's run, its batches and data-set half on the cluster. The result's
        per-record frames stay in the run's shards (``ShardFrames``), which go with it; the kept
        columns go at the run's end."""
        inputs = resolve_inputs(inputs, self.loaded.config.exclude)
        self._refuse(inputs)
        # on a cluster of several nodes the temporary folder must be shared by them, as the inputs are
        folder = self.folder = tempfile.mkdtemp(prefix="dqe-ray-run-")
        try:
            with cluster.connected(self.loaded.config.ray_address, progress_bars=progress is not None):
                # Ray's own progress bars show the record stage; dqe's would wait on it
                result = super().run(inputs, None)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            self.folder = None
        if not isinstance(result.frames, ShardFrames):  # nothing was distributed: the frames are held
            shutil.rmtree(folder, ignore_errors=True)
        for path in shards(folder, "kept"):
            path.unlink()
        return result

    def _refuse(self, inputs: Inputs) -> None:
        """What the Ray engine cannot do yet: an error (exit code 2), never a different result."""
        if not self.registry.portable:
            raise ConfigError(
                "engine = 'ray': plugins registered from code (plugins=[...]) cannot be loaded on Ray workers; "
                "install them as packages (entry points) or use the local engine"
            )
        if self.loaded.config.workers:
            raise ConfigError(
                "--workers / workers has no meaning with --engine ray: the Ray cluster's CPUs are the workers"
            )
        if not all(isinstance(source, InputFile) for _, source in inputs.sources):
            raise ConfigError("engine = 'ray' reads files: records, lists or frames in memory need the local engine")

    def batches(self, reader: Reader, inputs: Inputs, timings: dict[str, float]) -> Iterator[tuple[Batch, BatchResult]]:
        import ray.data

        layouts, ranges = plan(reader, self.range_bytes)
        timings["workers"] = cluster.cpus()
        size = self.loaded.config.batch_size
        total = sum(r.items for r in ranges)
        if total == 0:  # nothing to distribute: the local engine's one empty batch, for the same report
            yield from super().batches(reader, inputs, timings)
            return
        work = parts(ranges, size)
        # as many blocks as parts, so that Ray Data does not slice a part's blocks for parallelism
        read = ray.data.read_datasource(PartSource(work, size), num_cpus=READ_CPUS, override_num_blocks=len(work))
        with warnings.catch_warnings():  # Ray 2.60 names no parameter for these two yet
            warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated", category=DeprecationWarning)
            stage = self._record_stage(read, reader, layouts, size, actors=min(cluster.cpus(), len(work)))
        invalid = [0] * len(reader.files)
        expected = 0
        try:
            for row in stage.iter_rows():
                end = row["first"] + row["items"]  # a task ends at a batch's end (or the input's)
                whole = end % size == 0 or end == total
                if row["first"] != expected or not 0 < row["items"] <= TASK_BATCHES * size or not whole:
                    raise PluginError(
                        f"the Ray engine got records {row['first']}-{end - 1} as a task where it expected whole "
                        f"batches of {size} from {expected}: Ray Data split a task's block"
                    )
                expected = end
                unread, result, annotated, generated = pickle.loads(row["result"])
                for file, count in unread.items():
                    invalid[file] += count
                inputs.annotation_taken |= annotated
                reader.generated += generated
                yield Batch(result.kept.select("_idx"), []), result
        except Exception as exc:  # noqa: BLE001 - a worker's error reaches here wrapped by Ray
            raise _unwrapped(exc) from None
        for info, bad in zip(reader.files, invalid, strict=True):
            info.invalid = bad

    def _record_stage(self, read: Any, reader: Reader, layouts: list, size: int, actors: int) -> Any:
        """``read`` through ``actors`` ``RecordStage`` actors (one per cluster CPU, or per part when
        there are fewer), each started as the local engine's workers are (``worker_environment``:
        polars keeps the memory it frees, polars and OpenBLAS on the actor's one core): no actor
        restarted and no task retried (a plugin that fails to load would fail again, and only
        delay the stop)."""
        import ray.data

        return read.map_batches(
            RecordStage,
            fn_constructor_kwargs={
                **self._engine_kwargs(reader.files),
                "layouts": layouts,
                "batch_size": size,
                "folder": self.folder,
            },
            batch_format="pyarrow",
            batch_size=None,  # blocks whole: a block is a task of the local engine's (or several, bundled)
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=ACTOR_CPUS,
            runtime_env={"env_vars": worker_environment(1)},
            max_restarts=0,
            max_task_retries=0,
        )

    def _engine_kwargs(self, files: list) -> dict[str, Any]:
        """What a worker needs to make this engine again and check its plugins."""
        return {
            "engine": Engine,
            # a config's relative paths (rule packs, --against) are relative to its folder, wherever the worker runs
            "loaded": self.loaded.model_copy(update={"path": self.loaded.path and self.loaded.path.resolve()}),
            "disabled": self.registry.disabled,
            "files": files,
            "fingerprint": plugin_fingerprint(self.registry),
        }

    def dataset_stage(self, table: pl.DataFrame, rejected: pl.Series, errors: list[RuleErrorInfo]) -> DatasetStage:
        """The local engine's data-set half, in one Ray task on the shards the record stage wrote
        (``table`` and ``rejected`` are empty here: every record's row and finding is in the
        shards); on the driver when no batch was distributed (an input without records). The
        per-record frames stay in the shards: ``ShardFrames``, with the task's totals."""
        import ray

        if self.folder is None or not shards(self.folder, "kept"):
            return super().dataset_stage(table, rejected, errors)
        task = ray.remote(run_dataset_stage).options(num_cpus=DATASET_CPUS, max_retries=0)
        try:
            given = self._distributed()
            dataset, counts, raised, totals = ray.get(
                task.remote(**self._engine_kwargs(self.context.files), folder=self.folder, given=given)
            )
        except Exception as exc:  # noqa: BLE001 - a worker's error reaches here wrapped by Ray
            raise _unwrapped(exc) from None
        errors.extend(raised)
        by_code = {a.code: a for a in self.rules}
        for code, evaluated, failed, n_errors, skipped in counts:
            active = by_code[code]
            active.evaluated, active.failed, active.errors, active.skipped = evaluated, failed, n_errors, skipped
        return DatasetStage(pl.DataFrame(schema=FINDINGS_SCHEMA), dataset, table, ShardFrames(self.folder, totals))

    def _distributed(self) -> dict[str, DatasetResult]:
        """What the data-set rules with a distributed form found, run as Ray Data operations on
        the shards: DQ401 (the built-in class itself, not a subclass), when it is the first
        data-set rule to run, so that it sees only what the record rules rejected."""
        ordered = sorted(
            (a for a in self.rules if isinstance(a.rule, DatasetRule) and not a.skipped),
            key=lambda a: (a.rule.stage, a.code),  # type: ignore[attr-defined]
        )
        if not ordered or type(ordered[0].rule) is not ExactDuplicate or self.folder is None:
            return {}
        first = ordered[0]
        return {first.code: exact_duplicates(first.rule, self.folder, cluster.cpus())}


def _unwrapped(exc: BaseException) -> Exception:
    """dqe's own error inside what Ray raised (a worker's ``PluginError``), else a
    ``PluginError`` with Ray's message: exit code 2 either way, with the reason."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConfigError | InputError | PluginError):
            return current
        current = getattr(current, "cause", None) or current.__cause__
    text = str(exc).strip()
    for line in text.splitlines():  # a worker's PluginError, as Ray's text carries it
        if "PluginError: " in line:
            return PluginError(line.split("PluginError: ", 1)[1].strip())
    return PluginError(f"the Ray engine stopped: {text.splitlines()[-1] if text else type(exc).__name__}")
