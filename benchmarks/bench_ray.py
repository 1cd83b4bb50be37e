"""The Ray engine against the local one on the same input: wall time, the driver's peak RSS,
and whether the reports (timings aside) and the passed ids are equal.

Each engine runs `dqe check --format json --all-findings` (`--sampled`: without --all-findings) in
a fresh process; the Ray run starts its own local cluster (`ray.init` with this machine's CPUs),
so its time includes the cluster's start; its workers run at nice 0 as the local engine's
processes do (``RAY_worker_niceness``, Ray's default 15 unless set). The driver's peak RSS is
the checking process's own (the Ray processes are not in it); the Ray workers' are sampled every half second from /proc while it runs, the peak of each kind
of worker (by its process title: the record stage's actors, the data-set stage's task, ...).
The CPU time (user + system) is that of the checking process and every process under it (the
local engine's workers, the Ray cluster's), each one's last reading of /proc in those samples,
or what the finished children reported to it when that is more (the local engine's workers).
Run the engines apart (``--local-only`` then ``--ray-only`` with one ``--keep``: the second
compares) to run them side by side on a machine with too little time for one after the other.

    python benchmarks/generate_corpus.py -n 200000 -o /tmp/c200k.jsonl
    python benchmarks/bench_ray.py /tmp/c200k.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

CHILD = """
import atexit, resource, sys
atexit.register(lambda: print(f"peak-rss-mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", file=sys.stderr))
from dqe.cli import main
sys.argv = ["dqe", *sys.argv[1:]]
main()
"""


def below(root: int) -> set[int]:
    """Process ``root`` and every process under it."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    mine = {root}
    grew = True
    while grew:
        under = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew = bool(under)
        mine |= under
    return mine


def cpu_seconds(pids: set[int], seen: dict[tuple[int, str], float]) -> None:
    """User + system CPU seconds of each of ``pids`` into ``seen``, by (pid, start time)."""
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state is fields[0], utime and stime the 12th and 13th, starttime the 20th
        seen[(pid, fields[19])] = (int(fields[11]) + int(fields[12])) / tick


def ray_workers(mine: set[int], root: int) -> dict[str, float]:
    """RSS in MB of each Ray worker process of ``mine`` (the processes under the check, which
    starts its cluster: raylet, workers), by its title (``ray::...``), the largest of a title;
    other processes' clusters on the machine are not counted."""
    found: dict[str, float] = {}
    for pid in mine - {root}:
        proc = Path("/proc") / str(pid)
        try:
            title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            if not title.startswith("ray::"):
                continue
            rss = next(int(x.split()[1]) for x in (proc / "status").read_text().splitlines() if x.startswith("VmRSS"))
        except (OSError, StopIteration, ValueError):
            continue
        name = title.split()[0]
        found[name] = max(found.get(name, 0.0), rss / 1024)
    return found


def run(
    path: str, engine: str, out: Path, workers: dict[str, float], complete: bool
) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, driver peak RSS in MB, exit code) of one check (with
    ``complete``, the report lists every finding); ``workers`` gets the peak RSS of each kind of
    Ray worker seen while it ran."""
    env = {
        **os.environ,
        "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"),
        # Ray starts its workers at nice 15 (its worker_niceness): on a busy machine they would get
        # a fraction of the CPU that the local engine's processes (nice 0) get, and the times
        # would compare the machine's other jobs, not the engines
        "RAY_worker_niceness": os.environ.get("RAY_worker_niceness", "0"),  # noqa: SIM112 - Ray's spelling
    }
    cpu: dict[tuple[int, str], float] = {}
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock = time.perf_counter()
    with open(out, "wb") as f:
        child = subprocess.Popen(
            [
                *(sys.executable, "-c", CHILD, "check", path, "--format", "json", "--engine", engine),
                *(["--all-findings"] if complete else []),
            ],
            stdout=f,
            stderr=subprocess.PIPE,
            env=env,
        )
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.5):
                mine = below(child.pid)
                cpu_seconds(mine, cpu)
                for name, rss in ray_workers(mine, child.pid).items():
                    workers[name] = max(workers[name], rss)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, stderr = child.communicate()
        stop.set()
        watcher.join()
    wall = time.perf_counter() - clock
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    reported = done.ru_utime + done.ru_stime - reaped.ru_utime - reaped.ru_stime
    if child.returncode not in (0, 1):
        sys.exit(f"{engine}: exit {child.returncode}\n{stderr.decode()[-2000:]}")
    rss = next(float(line.split()[1]) for line in stderr.decode().splitlines() if line.startswith("peak-rss-mb"))
    return wall, max(sum(cpu.values()), reported), rss, child.returncode


def comparable(path: Path) -> dict:
    report = json.loads(path.read_bytes())
    report.pop("timings", None)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path")
    parser.add_argument("--keep", type=Path, help="write the two reports to this folder (local.json, ray.json)")
    parser.add_argument(
        "--ray-only", action="store_true", help="run the Ray engine alone (compared with --keep's local.json if there)"
    )
    parser.add_argument("--local-only", action="store_true", help="run the local engine alone (its report kept)")
    parser.add_argument(
        "--sampled",
        action="store_true",
        help="the default report (each rule's first findings), not --all-findings' every finding: a report "
        "whose size does not grow with the input, for the driver's memory",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        local, ray = folder / "local.json", folder / "ray.json"
        load = os.getloadavg()[0]
        workers: dict[str, float] = defaultdict(float)
        if not args.ray_only:
            l_wall, l_cpu, l_rss, l_code = run(args.path, "local", local, defaultdict(float), not args.sampled)
        if not args.local_only:
            r_wall, r_cpu, r_rss, r_code = run(args.path, "ray", ray, workers, not args.sampled)
        load = max(load, os.getloadavg()[0])
        b = comparable(local if args.local_only else ray)
        print(f"input {args.path}: {b['summary']['records']:,} records; load average up to {load:.1f}")
        if not args.ray_only:
            print(f"local: {l_wall:.1f} s, CPU {l_cpu:.1f} s, driver peak RSS {l_rss:.0f} MB, exit {l_code}")
        if args.local_only:
            return
        print(f"ray:   {r_wall:.1f} s, CPU {r_cpu:.1f} s, driver peak RSS {r_rss:.0f} MB, exit {r_code}")
        for name, rss in sorted(workers.items(), key=lambda kv: -kv[1]):
            print(f"  ray worker {name}: peak RSS {rss:.0f} MB")
        if not args.ray_only:
            ratios = f"time {r_wall / l_wall:.2f}x, CPU {r_cpu / l_cpu:.2f}x, driver peak RSS {r_rss / l_rss:.2f}x"
            print(f"ray / local: {ratios}")
        if local.exists():
            a = comparable(local)
            print(f"reports equal (timings aside): {a == b}", *(f"; {k} differs" for k in a if a[k] != b.get(k)))


if __name__ == "__main__":
    main()
