"""Throughput of the category and domain features and of selection (DQ411/DQ421/DQ431).

Builds a corpus at run time by cycling the real Alpaca demo sets (English and Chinese) from
../shared/data with a record number prepended, so that no two records are identical, then:

  1. times the `category` and `domain` features alone, batch by batch (records/s);
  2. times `dqe.check` with DQ411, DQ421 and DQ431 selecting (--balance --max-records N/10),
     end to end, and prints the peak RSS.

    python benchmarks/categories.py --records 200000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SOURCES = ("llamafactory_alpaca_en_demo.json", "llamafactory_alpaca_zh_demo.json", "rasbt_instruction_data.json")


def corpus(n: int) -> list[dict]:
    seed = [r for name in SOURCES for r in json.loads((DATA / name).read_text("utf-8"))]
    return [{**seed[i % len(seed)], "instruction": f"({i}) {seed[i % len(seed)]['instruction']}"} for i in range(n)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    if not (DATA / SOURCES[0]).exists():
        sys.exit(f"real data not found in {DATA}")

    import dqe
    from dqe.engine.config import load_config
    from dqe.engine.context import Context
    from dqe.engine.plugins import load_plugins
    from dqe.features.category import Category
    from dqe.features.domain import Domain
    from dqe.io.reader import Reader

    records = corpus(args.records)
    registry = load_plugins()
    context = Context(load_config(discover=False), registry)
    features = {"category": Category(context), "domain": Domain(context)}
    batches = [b.frame for b in Reader(records, registry.formats, batch_size=args.batch_size)]
    print(f"{args.records:,} records ({', '.join(SOURCES)} cycled), batches of {args.batch_size:,}")
    for name, feature in features.items():
        start = time.perf_counter()
        labels = pl.concat([feature.compute(frame) for frame in batches]).to_series()
        elapsed = time.perf_counter() - start
        top = ", ".join(f"{k} {v / args.records:.0%}" for k, v in labels.value_counts(sort=True).head(4).iter_rows())
        print(f"feature {name:<9} {args.records / elapsed:>10,.0f} records/s  ({elapsed:.2f} s; {top})")

    limit = args.records // 10
    start = time.perf_counter()
    report = dqe.check(
        records, select=["DQ411", "DQ421", "DQ431"], balance=True, max_records=limit, batch_size=args.batch_size
    )
    elapsed = time.perf_counter() - start
    print(
        f"check --balance --max-records {limit:,}: {args.records / elapsed:,.0f} records/s end to end ({elapsed:.2f} s), "
        f"{report.summary.passed:,} kept; dataset rules {report.timings.get('dataset', 0):.2f} s; peak RSS {peak_rss_mb():,.0f} MB"
    )


if __name__ == "__main__":
    main()
