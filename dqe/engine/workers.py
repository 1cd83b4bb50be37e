"""Batches in worker processes, for data sets big enough to repay starting them.

Each worker builds the same engine from the same config and plugins once, then runs the
per-batch half (features, record rules, collection) on the batches the reader hands it; the
engine keeps reading, merges results in input order and runs the dataset rules itself. Workers
are started with ``spawn`` (polars' threads do not survive ``fork``), and at most two tasks
per worker are in flight, so memory stays bounded. A task is ``TASK_BATCHES`` of the reader's
batches joined (``BatchProcessor``: the same results, less of the fixed cost of each polars call).
"""

from __future__ import annotations

import ctypes
import io
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from itertools import islice
from multiprocessing.reduction import ForkingPickler
from typing import TYPE_CHECKING, Protocol

from dqe.errors import PluginError

if TYPE_CHECKING:
    import polars as pl

    from dqe.engine.batch import BatchProcessor, BatchResult
    from dqe.engine.config import LoadedConfig
    from dqe.engine.plugins import Registry
    from dqe.io.inputs import Inputs
    from dqe.io.reader import Batch, Reader

# A worker takes about a second to start (it imports dqe and loads its tokenizer and profiles);
# it repays that when the rest of the input, after the first batch, holds this many batches for
# each worker. Where a reader cannot tell how far into a file it is (Parquet, Arrow), an input of
# AUTO_MIN_BYTES or more is taken to hold them.
POOL_MIN_BATCHES = 2
# Reader batches joined into one call of the processor: 22% less CPU for the default rules at
# two (10,000-record batches, one process), about 80 MB more memory for each process.
TASK_BATCHES = 2
AUTO_MIN_BYTES = 64 << 20
AUTO_MAX_WORKERS = 8

# Freed memory kept for the next batch (``keep_freed_memory``, ``worker_environment``): glibc's
# mallopt parameters, and polars' jemalloc and threads, set from the environment a process starts with.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP_FROM = 1 << 30  # bytes: blocks below this come from the heap, and the heap is not trimmed
_JEMALLOC_CONF = "_RJEM_MALLOC_CONF"
_POLARS_JEMALLOC = "dirty_decay_ms:500,muzzy_decay_ms:1000"  # what polars' import writes, unless told otherwise
_JEMALLOC_KEEP = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
_POLARS_THREADS = "POLARS_MAX_THREADS"
_BLAS_THREADS = "OPENBLAS_NUM_THREADS"  # numpy's OpenBLAS, read when numpy is imported

_PROCESSOR: BatchProcessor | None = None
_START_ERROR: str | None = None  # why this worker could not build its engine


def choose_workers(setting: int, inputs: Inputs, portable: bool) -> int:
    """``setting`` when it is set (>= 1); else one per core for file inputs, which the first
    batch may still keep in this process (``run_batches``: cheap rules, or too little input left).

    Plugins registered from code (``plugins=[...]`` in the Python API) live only in this
    process, so their runs stay in it.
    """
    if setting:
        return setting if portable else 1
    cores = os.cpu_count() or 1
    if not portable or cores < 2 or len(inputs.files) != len(inputs.sources):  # in-memory inputs stay here
        return 1
    return min(cores, AUTO_MAX_WORKERS)


def _repays_a_pool(reader: Reader, workers: int) -> bool:
    """Whether the input left after the first batch holds ``POOL_MIN_BATCHES`` batches for each
    worker, by the bytes the first batch took. In one process polars' own threads keep only part
    of the cores busy (about 1.35 of 2 for the default rules); a 100,000-record file (60 MB) stayed
    there when only inputs over 64 MB were shared."""
    done, total = reader.bytes_read(), reader.bytes_total or 0
    if not done:  # no position in the file (Parquet, Arrow): by the input's size
        return total >= AUTO_MIN_BYTES
    return total - done >= POOL_MIN_BATCHES * workers * done


class _Processes(Protocol):
    def processor(self) -> BatchProcessor: ...


# the class of the engine that runs the pool (``dqe.engine.engine.Engine``), which imports this module
EngineClass = Callable[["LoadedConfig", "Registry"], _Processes]


def _start(engine: EngineClass, loaded: LoadedConfig, disabled: list[str]) -> None:
    """Build this worker's engine (of the class that runs the pool, passed in: this module is
    below the engine, which imports it). What it raises is kept and raised with the first batch: an
    initializer that raises breaks the pool, and the run would end in a traceback that does not
    say why. stdout goes to stderr here: a worker never owns the report on stdout."""
    from dqe.engine import batch, tokenizers
    from dqe.engine.plugins import load_plugins
    from dqe.guard import describe

    os.dup2(2, 1)
    sys.stdout = sys.stderr
    keep_freed_memory()
    _frames_as_ipc()
    tokenizers.THREADS = batch.THREADS = 1  # the workers are the parallelism
    global _PROCESSOR, _START_ERROR
    try:
        _PROCESSOR = engine(loaded, load_plugins(disabled=disabled)).processor()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        _START_ERROR = str(exc) if isinstance(exc, Exception) and str(exc) else describe(exc)


def keep_freed_memory() -> None:
    """Let this process keep the memory it frees, for the next batch to reuse.

    glibc hands a freed block of more than a few MB back to the system (and trims the heap's
    top), so each batch's arrays are fresh pages again: a page fault and a page cleared per 4 KB,
    a quarter of the CPU of a 1M-record deduplication spent in the kernel. With blocks up to
    ``_KEEP_FROM`` kept, the process stays at its peak, which it reaches anyway. Only glibc has
    ``mallopt``; elsewhere this does nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc: musl has a mallopt that does nothing
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _KEEP_FROM)
    mallopt(_M_TRIM_THRESHOLD, 2 * _KEEP_FROM - 1)
    mallopt(_M_TOP_PAD, 64 << 20)


def worker_environment(threads: int) -> dict[str, str]:
    """What a worker process is started with beside this process's environment, running on
    ``threads`` cores.

    It keeps the memory polars frees too: its jemalloc reads its settings from the environment
    when a process starts, and polars' own (which its import writes there) hand pages back half a
    second after they are freed (``madvise``), to fault them in again for the next batch; a later
    setting of the same name wins. And polars and numpy's OpenBLAS in it run on its share of the
    cores: the workers are the parallelism, and more threads than cores only wait on each other
    (OpenBLAS's threads spin a while after each product, the category model's and langid's, on
    the cores the other workers need). What the user set is left as it is. The local engine's
    workers and the Ray engine's record-stage actors start with it."""
    changed: dict[str, str] = {}
    if os.environ.get(_JEMALLOC_CONF) in (None, _POLARS_JEMALLOC):
        changed[_JEMALLOC_CONF] = f"{_POLARS_JEMALLOC},{_JEMALLOC_KEEP}"
    for name in (_POLARS_THREADS, _BLAS_THREADS):
        if os.environ.get(name) is None:
            changed[name] = str(max(1, threads))
    return changed


@contextmanager
def _worker_environment(workers: int) -> Iterator[None]:
    """The environment the workers started inside are started with (``worker_environment``, on
    their share of this machine's cores), restored after."""
    changed = worker_environment((os.cpu_count() or 1) // workers)
    before = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _frame(data: bytes) -> pl.DataFrame:
    import polars as pl

    return pl.read_ipc(io.BytesIO(data))


def _reduce_frame(frame: pl.DataFrame) -> tuple:
    """A frame crossing to or from a worker, as Arrow IPC: polars' own pickling (its serde
    format) took 4x the CPU, in the feeder thread of the process that reads. A frame IPC
    cannot hold (an Object column) is pickled as before."""
    data = io.BytesIO()
    try:
        frame.write_ipc(data, compression="uncompressed")
    except Exception:  # noqa: BLE001 - polars' own pickling says what it cannot hold, as before
        return frame.__reduce_ex__(2)
    return _frame, (data.getvalue(),)


def _frames_as_ipc() -> None:
    """Frames sent between the processes of the pool go as Arrow IPC (in this process)."""
    import polars as pl

    ForkingPickler.register(pl.DataFrame, _reduce_frame)


def _work(frame: pl.DataFrame, windows: list[int]) -> BatchResult:

    if _PROCESSOR is None:
        raise PluginError(f"a worker process could not set up the rules: {_START_ERROR}")
    return _PROCESSOR(frame, windows)


def joined(batches: list[Batch]) -> tuple[Batch, list[int]]:
    """One batch of ``batches``, and the size of each (what data-set rules collect from apart):
    a task of the local engine's workers, and of the Ray engine's record stage."""
    windows = [batch.frame.height for batch in batches]
    if len(batches) == 1:
        return batches[0], windows
    import polars as pl

    from dqe.io.reader import Batch

    frame = pl.concat([batch.frame for batch in batches], how="vertical")
    return Batch(frame, [record for batch in batches for record in batch.invalid]), windows


def run_batches(
    engine: EngineClass,
    reader: Reader,
    processor: Callable[[], BatchProcessor],
    workers: int,
    loaded: LoadedConfig,
    disabled: list[str],
    timings: dict[str, float],
    auto: bool = False,
) -> Iterator[tuple[Batch, BatchResult]]:
    """Each task of ``reader``'s batches (``TASK_BATCHES`` joined) with its result, in input order.

    With ``auto``, the first batch runs here alone and the pool starts only when its features and
    rules took longer than reading it (the pool takes that work off this process, but this
    process still reads everything, so cheap rules, a regex or two, gain nothing from it) and
    the rest of the input repays starting the workers (``_repays_a_pool``). Then the last task
    runs here too, while the workers finish theirs: this process has nothing left to read and
    would only wait, and of an odd number of tasks the last would run on one core while the
    other idles.
    """
    batches = iter(reader)

    def read(n: int = TASK_BATCHES) -> tuple[Batch, list[int]] | None:
        clock = time.perf_counter()
        taken = list(islice(batches, n))
        timings["read"] += time.perf_counter() - clock
        return joined(taken) if taken else None

    process: BatchProcessor | None = None
    if workers > 1 and auto:
        if (task := read(1)) is None:
            return
        process = processor()
        clock = time.perf_counter()
        result = process(task[0].frame, task[1])
        if time.perf_counter() - clock < timings["read"] or not _repays_a_pool(reader, workers):
            workers = 1
            timings["workers"] = 1
        yield task[0], result
    if workers <= 1:
        process = process or processor()
        while (task := read()) is not None:
            yield task[0], process(task[0].frame, task[1])
        return
    context = multiprocessing.get_context("spawn")
    _frames_as_ipc()
    try:
        with (
            _worker_environment(workers),
            ProcessPoolExecutor(
                workers, mp_context=context, initializer=_start, initargs=(engine, loaded, disabled)
            ) as pool,
        ):
            pending: deque = deque()
            last = None
            task = read()
            while task is not None:
                following = read()
                if following is None and process is not None:
                    last = task[0], process(task[0].frame, task[1])
                    break
                pending.append((task[0], pool.submit(_work, task[0].frame, task[1])))
                if len(pending) >= 2 * workers:
                    done, future = pending.popleft()
                    yield done, future.result()
                task = following
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
            if last is not None:
                yield last
    except BrokenProcessPool as exc:
        raise PluginError(
            f"a worker process died while checking ({exc}); plugin code may have ended it (os._exit) or "
            "crashed the interpreter: run with --workers 1 to see which rule"
        ) from None
