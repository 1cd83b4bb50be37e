"""Throughput of each feature and record rule on its own, on batches of a corpus.

`dqe check` reports the time of all record rules together; this script times them one by one
(median of repeats over the same batches), to find the rule that costs the most, with the
dataset rules' per-batch collect(). Wall and CPU seconds both: on a loaded machine the CPU
time (polars' threads included) is the steadier figure.

    python benchmarks/generate_corpus.py -n 1000000 -o /tmp/corpus.jsonl
    python benchmarks/bench_rules.py /tmp/corpus.jsonl --rows 50000 --select DQ0,DQ1,DQ2
"""

from __future__ import annotations

import argparse
import statistics
import time

import polars as pl

from dqe.engine.config import load_config
from dqe.engine.engine import Engine
from dqe.engine.plugins import load_plugins
from dqe.engine.rule import DatasetRule, RecordRule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="+")
    parser.add_argument("--rows", type=int, default=50_000, help="records read from the corpus")
    parser.add_argument("--select", default="ALL", help="rules to time (codes or prefixes, comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    engine = Engine(load_config(None, {"select": args.select.split(",")}, discover=False), load_plugins())
    batches, read = [], 0
    for batch in engine.reader(args.corpus):
        batches.append(batch.frame)
        read += batch.frame.height
        if read >= args.rows:
            break
    rows = sum(b.height for b in batches)
    print(f"{rows:,} records in {len(batches)} batches from {', '.join(args.corpus)}")

    def timed(work) -> tuple[float, float]:
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            for frame in batches:
                work(frame)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return statistics.median(walls), statistics.median(cpus)

    def line(what: str, seconds: tuple[float, float]) -> str:
        wall, cpu = seconds
        return f"  {what:<34} {wall:7.2f} s  {cpu:7.2f} s CPU  {rows / wall:>10,.0f} records/s"

    for feature in engine.features:
        print(line(f"feature {feature.name}", timed(feature.compute)))
        batches = [frame.hstack(feature.compute(frame).get_columns()) for frame in batches]
    total = [0.0, 0.0]
    for active in engine.rules:
        if isinstance(active.rule, RecordRule):
            seconds = timed(active.rule.check)
            total = [total[0] + seconds[0], total[1] + seconds[1]]
            print(line(f"{active.code} {active.rule.name}", seconds))
    print(line("record rules together", (total[0], total[1])))
    for active in engine.rules:
        if isinstance(active.rule, DatasetRule):
            print(line(f"{active.code} {active.rule.name} collect", timed(active.rule.collect)))
    print(f"polars {pl.__version__}; median of {args.repeat}")


if __name__ == "__main__":
    main()
