"""Reading and writing speed: the reader over JSONL and a JSON array, and dqe filter's outputs.
``--frames`` times instead how a batch frame crosses to a worker process and back: polars' own
pickling against the Arrow IPC the pool sends (``dqe.engine.workers``), CPU ms per batch.

Times, in fresh processes, ``Reader`` over a generated corpus (records per CPU second, batches
built) in both containers, and ``dqe.filter`` with DQ001 writing JSONL and Parquet outputs. ``--against-tree``
runs the same measurements with another checkout's dqe (its folder on PYTHONPATH), alternating
run by run, and prints this checkout's speed as a ratio of the other's: on a shared machine only
ratios measured in one run mean anything.

    python benchmarks/generate_corpus.py -n 200000 -o /tmp/c200k.jsonl
    python benchmarks/bench_read.py /tmp/c200k.jsonl --repeat 3
    git archive main | tar -x -C /tmp/main-src
    python benchmarks/bench_read.py /tmp/c200k.jsonl --repeat 3 --against-tree /tmp/main-src
    python benchmarks/bench_read.py /tmp/c200k.jsonl --frames
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("read-jsonl", "read-json", "filter-jsonl", "filter-parquet")


def child(task: str, jsonl: str, array: str, out: str) -> None:
    import dqe
    from dqe.engine.plugins import load_plugins
    from dqe.io.reader import Reader

    start = time.process_time()  # CPU time: on a shared machine, wall time mostly measures the neighbours
    if task.startswith("read"):
        records = sum(
            b.frame.height + len(b.invalid)
            for b in Reader([jsonl if task == "read-jsonl" else array], load_plugins().formats)
        )
    else:
        suffix = ".parquet" if task == "filter-parquet" else ".jsonl"
        result = dqe.filter(jsonl, Path(out) / f"ok{suffix}", Path(out) / f"bad{suffix}", select=["DQ001"])
        records = result.report.summary.records
    print(json.dumps({"records": records, "seconds": time.process_time() - start}))


def frames(corpus: Path, repeat: int) -> None:
    """CPU ms to send each batch frame of ``corpus`` to a worker and read it there, both ways."""
    import io
    import pickle
    from multiprocessing.reduction import ForkingPickler

    import polars as pl

    from dqe.engine.plugins import load_plugins
    from dqe.engine.workers import _frames_as_ipc
    from dqe.io.reader import Reader

    batches = [b.frame for b in Reader([str(corpus)], load_plugins().formats)]

    def best(send) -> float:
        times = []
        for _ in range(repeat):
            start = time.process_time()
            for frame in batches:
                send(frame)
            times.append(time.process_time() - start)
        return 1000 * min(times) / len(batches)

    def ipc(frame: pl.DataFrame) -> pl.DataFrame:
        data = io.BytesIO()
        frame.write_ipc(data, compression="uncompressed")
        return pl.read_ipc(io.BytesIO(data.getvalue()))

    pickled = best(lambda frame: pickle.loads(pickle.dumps(frame)))
    _frames_as_ipc()
    pooled = best(lambda frame: ForkingPickler.loads(ForkingPickler.dumps(frame)))
    plain = best(ipc)
    print(f"{len(batches)} batch frames of {corpus.name}, CPU ms a batch there and back, best of {repeat}:")
    print(f"  polars' pickling {pickled:.1f}, the pool's (Arrow IPC) {pooled:.1f}, Arrow IPC alone {plain:.1f}")


def measure(task: str, tree: Path, jsonl: Path, array: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "DQE_DISABLE_PLUGINS": "all"}
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, __file__, "--child", task, str(jsonl), str(array), out],
            env=env,
            cwd=out,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="a JSONL corpus (benchmarks/generate_corpus.py)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against-tree", type=Path, help="another checkout to compare with")
    parser.add_argument("--frames", action="store_true", help="time batch frames crossing to a worker instead")
    args = parser.parse_args()
    if args.frames:
        frames(args.corpus, args.repeat)
        return
    trees = {"this": ROOT, **({"other": args.against_tree.resolve()} if args.against_tree else {})}
    with tempfile.TemporaryDirectory() as tmp:
        array = Path(tmp) / "corpus.json"
        lines = args.corpus.read_text("utf-8").splitlines()
        array.write_text("[\n" + ",\n".join(f"  {line}" for line in lines if line.strip()) + "\n]\n", "utf-8")
        times: dict[tuple[str, str], list[float]] = {}
        records = {}
        for _ in range(args.repeat):
            for task in TASKS:
                for name, tree in trees.items():  # alternating, so that load changes hit both alike
                    result = measure(task, tree, args.corpus, array)
                    times.setdefault((task, name), []).append(result["seconds"])
                    records[task] = result["records"]
    print(
        f"{'task':16} {'records':>9} "
        + " ".join(f"{name + ' rec/cpu-s':>16}" for name in trees)
        + ("  ratio" if len(trees) > 1 else "")
    )
    for task in TASKS:
        rates = {name: records[task] / statistics.median(times[(task, name)]) for name in trees}
        ratio = f"  {rates['this'] / rates['other']:.3f}" if len(trees) > 1 else ""
        print(f"{task:16} {records[task]:>9,} " + " ".join(f"{rates[name]:>16,.0f}" for name in trees) + ratio)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
