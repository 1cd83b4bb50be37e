"""Throughput of each feature and record rule on its own, on batches of a corpus.

`dqe check` reports the time of all record rules together; this script times them one by one
(median of repeats over the same batches), to find the rule that costs the most.

    python benchmarks/generate_corpus.py -n 1000000 -o /tmp/corpus.jsonl
    python benchmarks/bench_rules.py /tmp/corpus.jsonl --rows 50000 --select DQ0,DQ1,DQ2
"""

from __future__ import annotations

import argparse
import statistics
import time

import polars as pl

from dqe.config import load_config
from dqe.engine import Engine
from dqe.plugins import load_plugins
from dqe.rule import RecordRule


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

    def timed(work) -> float:
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            for frame in batches:
                work(frame)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    for feature in engine.features:
        seconds = timed(feature.compute)
        batches = [frame.hstack(feature.compute(frame).get_columns()) for frame in batches]
        print(f"  feature {feature.name:<14} {seconds:7.2f} s  {rows / seconds:>10,.0f} records/s")
    total = 0.0
    for active in engine.rules:
        if isinstance(active.rule, RecordRule):
            seconds = timed(active.rule.check)
            total += seconds
            print(f"  {active.code} {active.rule.name:<18} {seconds:7.2f} s  {rows / seconds:>10,.0f} records/s")
    print(f"  record rules together  {total:7.2f} s  {rows / total:>10,.0f} records/s")
    print(f"polars {pl.__version__}; median of {args.repeat}")


if __name__ == "__main__":
    main()
