"""Throughput of `dqe check` end to end: records/s, peak RSS and the time of each phase.

Each repeat runs in a fresh process (so peak RSS is the check's own), reads the corpus,
runs the selected rules, builds the report and renders it (text and JSON), and the median
over repeats is printed.

    python benchmarks/generate_corpus.py -n 1000000 -o /tmp/corpus.jsonl
    python benchmarks/bench_check.py /tmp/corpus.jsonl --select DQ001,DQ101 --repeat 3
    python benchmarks/bench_check.py /tmp/corpus.jsonl --workers 1     # one process, for comparison
    python benchmarks/bench_check.py /tmp/corpus.jsonl --floor         # against tokenizing alone

`--floor` runs, in each repeat, the tokenizer floor (`--select DQ101`: read, format and tokenize
every record) right before the check, and prints the check's time over the floor's: wall time
and CPU time (every process's user + system time, workers included: steadier than wall time
when other jobs share the machine).
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
    from dqe.report.model import build_report
    from dqe.report.render import get_renderer

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
                "cpu": _cpu_seconds(),
                "cpu_main": _cpu_seconds(workers=False),
                "workers": workers,
                # the largest worker; all of them together peak at most workers times this
                "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if workers > 1 else 0,
                "phases": phases,
                "rules": [r.code for r in report.rules],
                "failed": {r.code: r.failed for r in report.rules if r.failed},
            }
        )
    )


def _cpu_seconds(workers: bool = True) -> float:
    """User + system time of this process and (``workers``) of the workers it waited for."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + (children.ru_utime + children.ru_stime if workers else 0.0)


def _cpu_split(run: dict) -> str:
    """Where the check's CPU went: the main process (reading, merging, the data-set rules) and
    its workers, against the wall time both cores could have filled."""
    workers = run["cpu"] - run["cpu_main"]
    cores = __import__("os").cpu_count() or 1
    return (
        f"{run['workers']} worker(s); CPU main {run['cpu_main']:.1f} s + workers {workers:.1f} s; "
        f"cores busy {100 * run['cpu'] / (cores * run['seconds']):.0f}% of {cores} x {run['seconds']:.1f} s wall"
    )


def _run(corpus: str, select: str | None, workers: int | None) -> dict:
    cmd = [sys.executable, __file__, corpus, "--child"] + (["--select", select] if select else [])
    cmd += ["--workers", str(workers)] if workers is not None else []
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"the check failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--select", help="rules to run (default: the default selection)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, help="worker processes (default: the config's, 0 = auto)")
    parser.add_argument("--floor", action="store_true", help="time the tokenizer floor (DQ101 alone) in each repeat")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.corpus, args.select, args.workers)
        return
    runs, ratios = [], []
    for i in range(args.repeat):
        if args.floor:
            floor = _run(args.corpus, "DQ101", args.workers)
        run = _run(args.corpus, args.select, args.workers)
        runs.append(run)
        if args.floor:
            ratios.append((run["seconds"] / floor["seconds"], run["cpu"] / floor["cpu"]))
            print(
                f"run {i + 1}: floor {floor['seconds']:.1f} s wall, {floor['cpu']:.1f} s CPU; check "
                f"{run['seconds']:.1f} s wall, {run['cpu']:.1f} s CPU: {ratios[-1][0]:.2f}x wall, {ratios[-1][1]:.2f}x CPU",
                flush=True,
            )
        print(f"run {i + 1}: {_cpu_split(run)}", flush=True)
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
    if ratios:
        wall, cpu = (statistics.median(r[i] for r in ratios) for i in (0, 1))
        print(
            f"check over the tokenizer floor (DQ101 alone), median of {len(ratios)}: {wall:.2f}x wall, {cpu:.2f}x CPU"
        )


if __name__ == "__main__":
    main()
