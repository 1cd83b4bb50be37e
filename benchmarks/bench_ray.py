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
or what the finished children reported to it when that is more (the local engine's workers),
and by kind of process (the check's own, the local workers, each Ray worker by its title at
work, raylet, ...). With ``--filter`` each engine runs `dqe filter` instead (its report kept as
the JSON report), and the two engines' passed and rejected files are compared byte for byte,
and their manifests' passed ids. Run the engines apart (``--local-only`` then ``--ray-only`` with one ``--keep``: the second
compares) to run them side by side on a machine with too little time for one after the other.

    python benchmarks/generate_corpus.py -n 200000 -o /tmp/c200k.jsonl
    python benchmarks/bench_ray.py /tmp/c200k.jsonl
"""

from __future__ import annotations

import argparse
import filecmp
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

from dqe.report.manifest import manifest_path

CHILD = """
import atexit, resource, sys
atexit.register(lambda: print(f"peak-rss-mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", file=sys.stderr))
from dqe.cli import main
sys.argv = ["dqe", *sys.argv[1:]]
main()
"""

# `dqe filter` through the API, its report written as `dqe check --format json` writes one
FILTER = """
import atexit, resource, sys
atexit.register(lambda: print(f"peak-rss-mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", file=sys.stderr))
from dqe.api import filter
path, passed, rejected, engine = sys.argv[1:]
result = filter([path], passed, rejected, engine=engine)
sys.stdout.write(result.report.model_dump_json(indent=2) + "\\n")
sys.exit(result.report.exit_code)
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


def kind(pid: int, root: int) -> str:
    """What process ``pid`` is, for the CPU by kind: the check's own (``driver``), a Ray worker
    by its title (``ray::RecordStage``, ...), a local engine's worker, or its program's name."""
    if pid == root:
        return "driver"
    args = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    title = args[0].decode(errors="replace")
    if title.startswith("ray::"):
        return title.split()[0]
    if b"multiprocessing" in b" ".join(args):
        return "local worker"
    return Path(title.split()[0]).name if title else "?"


def cpu_seconds(
    pids: set[int], seen: dict[tuple[int, str], float], kinds: dict[tuple[int, str], str], root: int
) -> None:
    """User + system CPU seconds of each of ``pids`` into ``seen``, by (pid, start time), and
    what each is into ``kinds`` (a Ray worker's title is its task's: the last seen at work)."""
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            what = kind(pid, root)
        except OSError:
            continue
        # after the command: state is fields[0], utime and stime the 12th and 13th, starttime the 20th
        seen[(pid, fields[19])] = (int(fields[11]) + int(fields[12])) / tick
        if what not in ("ray::IDLE", "?") or (pid, fields[19]) not in kinds:  # an idle worker or a zombie: as it was
            kinds[(pid, fields[19])] = what


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


def command(path: str, engine: str, out: Path, complete: bool, filtered: bool) -> list[str]:
    """The child's command: ``dqe check --format json`` (with ``complete``, the report lists
    every finding), or with ``filtered`` ``dqe filter`` writing the passed and rejected records
    beside ``out`` (``{engine}-passed.jsonl``, ``{engine}-rejected.jsonl``, the manifest)."""
    if filtered:
        outputs = [str(out.with_name(f"{engine}-{kind}.jsonl")) for kind in ("passed", "rejected")]
        return [sys.executable, "-c", FILTER, path, *outputs, engine]
    return [
        *(sys.executable, "-c", CHILD, "check", path, "--format", "json", "--engine", engine),
        *(["--all-findings"] if complete else []),
    ]


def run(
    args: list[str], engine: str, out: Path, workers: dict[str, float], cpu_by_kind: dict[str, float]
) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, driver peak RSS in MB, exit code) of one run of ``args``
    (``command``), its report written to ``out``; ``workers`` gets the peak RSS of each kind of
    Ray worker seen while it ran, ``cpu_by_kind`` the CPU seconds of each kind of process (``kind``)."""
    env = {
        **os.environ,
        "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"),
        # Ray starts its workers at nice 15 (its worker_niceness): on a busy machine they would get
        # a fraction of the CPU that the local engine's processes (nice 0) get, and the times
        # would compare the machine's other jobs, not the engines
        "RAY_worker_niceness": os.environ.get("RAY_worker_niceness", "0"),  # noqa: SIM112 - Ray's spelling
    }
    cpu: dict[tuple[int, str], float] = {}
    kinds: dict[tuple[int, str], str] = {}
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock = time.perf_counter()
    with open(out, "wb") as f:
        child = subprocess.Popen(
            args,
            stdout=f,
            stderr=subprocess.PIPE,
            env=env,
        )
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.5):
                mine = below(child.pid)
                cpu_seconds(mine, cpu, kinds, child.pid)
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
    for key, seconds in cpu.items():
        cpu_by_kind[kinds[key]] += seconds
    rss = next(float(line.split()[1]) for line in stderr.decode().splitlines() if line.startswith("peak-rss-mb"))
    return wall, max(sum(cpu.values()), reported), rss, child.returncode


def by_kind(seconds: dict[str, float]) -> str:
    """The CPU seconds of each kind of process, largest first (sampled: a little short)."""
    return ", ".join(f"{name} {s:.1f} s" for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]) if s >= 0.05)


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
    parser.add_argument(
        "--filter",
        action="store_true",
        help="run `dqe filter` (its report, the default one, kept as the JSON report) and compare the passed and "
        "rejected files byte for byte and the manifests' passed ids' hash",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        local, ray = folder / "local.json", folder / "ray.json"
        load = os.getloadavg()[0]
        workers: dict[str, float] = defaultdict(float)
        l_kinds: dict[str, float] = defaultdict(float)
        r_kinds: dict[str, float] = defaultdict(float)
        if not args.ray_only:
            l_args = command(args.path, "local", local, not args.sampled, args.filter)
            l_wall, l_cpu, l_rss, l_code = run(l_args, "local", local, defaultdict(float), l_kinds)
        if not args.local_only:
            r_wall, r_cpu, r_rss, r_code = run(
                command(args.path, "ray", ray, not args.sampled, args.filter), "ray", ray, workers, r_kinds
            )
        load = max(load, os.getloadavg()[0])
        b = comparable(local if args.local_only else ray)
        print(f"input {args.path}: {b['summary']['records']:,} records; load average up to {load:.1f}")
        if not args.ray_only:
            print(f"local: {l_wall:.1f} s, CPU {l_cpu:.1f} s, driver peak RSS {l_rss:.0f} MB, exit {l_code}")
            print(f"  CPU by process: {by_kind(l_kinds)}")
        if args.local_only:
            return
        print(f"ray:   {r_wall:.1f} s, CPU {r_cpu:.1f} s, driver peak RSS {r_rss:.0f} MB, exit {r_code}")
        print(f"  CPU by process: {by_kind(r_kinds)}")
        for name, rss in sorted(workers.items(), key=lambda kv: -kv[1]):
            print(f"  ray worker {name}: peak RSS {rss:.0f} MB")
        if not args.ray_only:
            ratios = f"time {r_wall / l_wall:.2f}x, CPU {r_cpu / l_cpu:.2f}x, driver peak RSS {r_rss / l_rss:.2f}x"
            print(f"ray / local: {ratios}")
        if local.exists():
            a = comparable(local)
            print(f"reports equal (timings aside): {a == b}", *(f"; {k} differs" for k in a if a[k] != b.get(k)))
        if args.filter and local.exists():
            print(same_outputs(folder))


def same_outputs(folder: Path) -> str:
    """Whether the two engines' `dqe filter` outputs are byte-identical, and their manifests'
    passed ids (hash and count) equal."""
    said = []
    for kind in ("passed", "rejected"):
        a, b = folder / f"local-{kind}.jsonl", folder / f"ray-{kind}.jsonl"
        lines = sum(1 for _ in a.open("rb"))
        said.append(f"{kind} {lines:,} records, byte-identical: {filecmp.cmp(a, b, shallow=False)}")
    ids = [json.loads(manifest_path(folder / f"{e}-passed.jsonl").read_bytes()) for e in ("local", "ray")]
    hashes = [(m["passed_ids_sha256"], len(m["passed_ids"])) for m in ids]
    said.append(f"manifests' passed ids equal: {hashes[0] == hashes[1]} ({hashes[0][1]:,} ids)")
    return "; ".join(said)


if __name__ == "__main__":
    main()
