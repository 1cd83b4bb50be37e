"""Batches in worker processes give exactly the report the engine gives on its own."""

from __future__ import annotations

import json
import os

import polars as pl
import pytest

import dqe
from dqe.engine import workers
from dqe.engine.workers import AUTO_MIN_BYTES, _worker_environment, choose_workers
from dqe.io.inputs import resolve_inputs
from tests.support import real


@pytest.mark.slow  # two real files, twice; test_in_memory_input_works_with_workers_too starts a pool too
def test_workers_give_the_same_report(tmp_path):
    records = json.loads(real("llamafactory_alpaca_zh_demo.json").read_text("utf-8"))
    records += json.loads(real("rasbt_instruction_data.json").read_text("utf-8"))
    records += [{"instruction": "Say hi.", "output": ""}, records[5]]  # a failure and a duplicate
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{broken\n", encoding="utf-8")

    alone = dqe.check(path, batch_size=150, workers=1, complete=True)
    pooled = dqe.check(path, batch_size=150, workers=2, complete=True)
    assert pooled.timings["workers"] == 2 and alone.timings["workers"] == 1
    assert pooled.summary == alone.summary
    assert [(r.code, r.evaluated, r.failed) for r in pooled.rules] == [
        (r.code, r.evaluated, r.failed) for r in alone.rules
    ]
    assert pooled.findings_frame.equals(alone.findings_frame)
    assert pooled.records.equals(alone.records)
    assert pooled.dataset == alone.dataset
    # the default: the first and the last batch here, the pool between them (on 2 or 3 cores: the
    # first 150 records are the longest, and the rest holds two batches a worker only up to 3)
    auto = dqe.check(path, batch_size=150, complete=True)
    assert auto.summary == alone.summary and auto.dataset == alone.dataset
    assert auto.findings_frame.equals(alone.findings_frame) and auto.records.equals(alone.records)


def test_auto_offers_workers_for_file_inputs_only(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text('{"instruction": "a", "output": "b"}\n')
    cores = os.cpu_count() or 1
    assert choose_workers(0, resolve_inputs([small]), portable=True) == (1 if cores < 2 else min(cores, 8))
    assert choose_workers(0, resolve_inputs([{"instruction": "a", "output": "b"}]), portable=True) == 1
    assert choose_workers(0, resolve_inputs([small]), portable=False) == 1  # plugins registered from code
    assert choose_workers(3, resolve_inputs([small]), portable=True) == 3
    assert choose_workers(3, resolve_inputs([small]), portable=False) == 1


def test_in_memory_input_works_with_workers_too():
    report = dqe.check(pl.DataFrame([{"instruction": "a", "output": "b"}]), workers=2)
    assert report.summary.passed == 1


class _Slow:
    """A batch processor that takes ``seconds`` a batch (stands in for the tokenizer)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, frame, windows):
        import time

        time.sleep(self.seconds)
        return windows


class _InlinePool:
    """ProcessPoolExecutor's interface, run in this process: how many tasks went to the pool."""

    submitted = 0

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, frame, windows):
        from concurrent.futures import Future

        _InlinePool.submitted += 1
        future = Future()
        future.set_result(windows)
        return future


class _Reader:
    """``batches`` batches of ``size`` bytes each, read in ``seconds`` each; ``known`` says whether
    it can tell how far it is (a JSON Lines file can, a Parquet file cannot)."""

    def __init__(self, batches: int, seconds: float, size: int = 1 << 20, known: bool = True):
        self.batches, self.seconds, self.size, self.known = batches, seconds, size, known
        self.bytes_total, self.read = batches * size, 0

    def bytes_read(self) -> int:
        return self.read * self.size if self.known else 0

    def __iter__(self):
        import time

        from dqe.io.reader import Batch

        for i in range(self.batches):
            time.sleep(self.seconds)
            self.read += 1
            yield Batch(pl.DataFrame({"x": range(i + 1)}), [])  # told apart by their heights


def _pooled(monkeypatch, reader: _Reader, seconds: float) -> tuple[int, int]:
    """Run ``reader``'s batches with ``auto``: the workers counted and the tasks that went to the pool."""
    from collections import defaultdict

    from dqe.engine import workers

    monkeypatch.setattr(workers, "ProcessPoolExecutor", _InlinePool)
    _InlinePool.submitted = 0
    timings = defaultdict(float, workers=2)
    results = list(workers.run_batches(None, reader, lambda: _Slow(seconds), 2, None, [], timings, auto=True))
    # every batch, in order, either way; a task's windows are the heights of the batches it joins
    assert [height for _, windows in results for height in windows] == list(range(1, reader.batches + 1))
    assert all(task.frame.height == sum(windows) for task, windows in results)
    return timings["workers"], _InlinePool.submitted


@pytest.mark.parametrize(("seconds", "pooled"), [(0.0, False), (0.2, True)])
def test_auto_starts_the_pool_only_when_rules_cost_more_than_reading(monkeypatch, seconds, pooled):
    # pooled, the first batch and the last task run here, the task between (batches 2 and 3) in the workers
    assert _pooled(monkeypatch, _Reader(5, seconds=0.05), seconds) == ((2, 1) if pooled else (1, 0))


@pytest.mark.parametrize(
    ("batches", "known", "size", "pooled"),
    [(4, True, 1, False), (5, True, 1, True), (3, False, 1, False), (3, False, AUTO_MIN_BYTES, True)],
)
def test_auto_starts_the_pool_only_when_the_rest_holds_two_batches_a_worker(monkeypatch, batches, known, size, pooled):
    # after the first batch, 3 left are too few for two workers, 4 are enough; a reader that
    # cannot tell how far it is goes by the input's size
    reader = _Reader(batches, seconds=0.0, size=size, known=known)
    tasks = (batches - 1 + workers.TASK_BATCHES - 1) // workers.TASK_BATCHES  # of the batches after the first
    assert _pooled(monkeypatch, reader, 0.05) == ((2, tasks - 1) if pooled else (1, 0))


def test_frames_cross_to_the_workers_as_arrow_ipc_and_come_back_the_same():
    from multiprocessing.reduction import ForkingPickler

    from dqe.engine.workers import _frame, _frames_as_ipc

    _frames_as_ipc()
    frame = pl.DataFrame(
        {
            "turns": [[{"role": "user", "content": "Hi"}], []],
            "shingles": [[1, 2], None],
            "category": pl.Series(["a", None], dtype=pl.Categorical),
            "score": [float("nan"), 0.5],
        }
    )
    reduced = ForkingPickler.loads(ForkingPickler.dumps(frame))
    assert reduced.equals(frame, null_equal=True) and reduced.schema == frame.schema
    function, _ = ForkingPickler._extra_reducers[pl.DataFrame](frame)
    assert function is _frame


def test_a_frame_arrow_ipc_cannot_hold_fails_to_pickle_as_before():
    from multiprocessing.reduction import ForkingPickler

    from dqe.engine.workers import _frames_as_ipc

    _frames_as_ipc()
    frame = pl.DataFrame({"o": pl.Series([object()], dtype=pl.Object)})
    with pytest.raises(pl.exceptions.ComputeError, match="Object"):
        ForkingPickler.dumps(frame)


def test_workers_start_with_polars_keeping_freed_memory_on_their_share_of_the_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "dirty_decay_ms:500,muzzy_decay_ms:1000")  # what polars' import writes
    with _worker_environment(2):
        assert os.environ["POLARS_MAX_THREADS"] == "2"
        assert os.environ["_RJEM_MALLOC_CONF"].endswith(",dirty_decay_ms:-1,muzzy_decay_ms:-1")  # the later wins
    assert "POLARS_MAX_THREADS" not in os.environ  # this process's environment as it was
    assert os.environ["_RJEM_MALLOC_CONF"] == "dirty_decay_ms:500,muzzy_decay_ms:1000"


def test_workers_start_with_numpys_blas_on_their_share_of_the_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with _worker_environment(2):
        assert os.environ["OPENBLAS_NUM_THREADS"] == "2"
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")  # the user's setting is theirs
    with _worker_environment(2):
        assert os.environ["OPENBLAS_NUM_THREADS"] == "3"


def test_what_the_user_set_for_polars_is_left_to_the_workers(monkeypatch):
    monkeypatch.setenv("POLARS_MAX_THREADS", "3")
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:1")
    with _worker_environment(8):
        assert os.environ["POLARS_MAX_THREADS"] == "3"
        assert os.environ["_RJEM_MALLOC_CONF"] == "dirty_decay_ms:500,muzzy_decay_ms:1000,narenas:1"
