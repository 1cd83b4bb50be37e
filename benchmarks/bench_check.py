"""Throughput of `dqe check` end to end: records/s, peak RSS and the time of each phase.

Each repeat runs in a fresh process (so peak RSS is the check's own), reads the corpus,
runs the selected rules, builds the report and renders it (text and JSON), and the median
over repeats is printed.

    python benchmarks/generate_corpus.py -n 1000000 -o /tmp/corpus.jsonl
    python benchmarks/bench_check.py /tmp/corpus.jsonl --select DQ001,DQ101 --repeat 3
    python benchmarks/bench_check.py /tmp/corpus.jsonl --workers 1     # one process, for comparison
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time


def child(path: str, select: str | None, workers: int | None) -> None:
    import resource

    from dqe.api import make_engine
    from dqe.render import get_renderer
    from dqe.report import build_report

    start = time.perf_counter()
    overrides: dict = {"select": select.split(",")} if select else {}
    if workers is not None:
        overrides["workers"] = workers
    engine = make_engine(None, (), (), overrides)
    report = build_report(engine.run([path]))
    checked = time.perf_counter()
    for fmt in ("text", "json"):
        get_renderer(engine.registry, fmt).render(report)
    done = time.perf_counter()
    phases = dict(report.timings)
    workers = int(phases.pop("workers", 1))
    phases["report"] = done - checked
    phases["total"] = done - start
    print(
        json.dumps(
            {
                "records": report.summary.records,
                "seconds": done - start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "workers": workers,
                # the largest worker; all of them together peak at most workers times this
                "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if workers > 1 else 0,
                "phases": phases,
                "rules": [r.code for r in report.rules],
                "failed": {r.code: r.failed for r in report.rules if r.failed},
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--select", help="rules to run (default: the default selection)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, help="worker processes (default: the config's, 0 = auto)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.corpus, args.select, args.workers)
        return
    runs = []
    for i in range(args.repeat):
        cmd = [sys.executable, __file__, args.corpus, "--child"] + (["--select", args.select] if args.select else [])
        cmd += ["--workers", str(args.workers)] if args.workers is not None else []
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"the check failed:\n{proc.stderr}")
        out = proc.stdout
        run = json.loads(out.strip().splitlines()[-1])
        runs.append(run)
        rss = f"peak RSS {run['peak_rss_mb']:,.0f} MB"
        if run["workers"] > 1:
            rss += f" + {run['workers']} workers of at most {run['worker_rss_mb']:,.0f} MB"
        print(
            f"run {i + 1}: {run['records'] / run['seconds']:,.0f} records/s, {run['seconds']:.1f} s, {rss}", flush=True
        )
    median = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    records = median["records"]
    print(
        f"\nmachine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, {__import__('os').cpu_count()} cores"
    )
    print(f"rules: {', '.join(median['rules'])}; failures: {median['failed']}")
    print(f"records: {records:,}")
    print(
        f"median of {len(runs)}: {records / median['seconds']:,.0f} records/s ({median['seconds']:.1f} s), peak RSS {statistics.median(r['peak_rss_mb'] for r in runs):,.0f} MB"
    )
    if median["workers"] > 1:
        total = median["peak_rss_mb"] + median["workers"] * median["worker_rss_mb"]
        print(f"{median['workers']} worker processes: peak RSS of all processes at most {total:,.0f} MB")
        print("phases (median run; per-batch phases are summed over the workers, so they can exceed the wall time):")
    else:
        print("phases (median run):")
    for phase, seconds in median["phases"].items():
        print(f"  {phase:<20} {seconds:8.2f} s  {100 * seconds / median['seconds']:5.1f}%")


if __name__ == "__main__":
    main()
