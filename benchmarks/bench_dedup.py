"""Deduplication figures: shingle-set and signature throughput, a 1M-record corpus deduplicated end
to end (time, CPU, peak RSS), recall of planted exact and near duplicates, precision (every
removed record checked with the exact Jaccard similarity of its shingles against the record
kept in its place), and the same figures for datasketch used the plain way (one
``MinHash.update`` per shingle, ``MinHashLSH.insert``/``query`` per record) on a sample.

The corpus comes from ``generate_corpus.py`` (records composed from ../shared/data, with
planted exact copies and near copies that have 2-8% of their words edited, and the ground
truth beside it). Each deduplication runs in a fresh process, so that its peak RSS is its own.

    python benchmarks/bench_dedup.py                        # 1,000,000 records, 100,000 sample
    python benchmarks/bench_dedup.py -n 200000 --sample 20000 --workdir /tmp/dqe-bench
    python benchmarks/bench_dedup.py --degenerate 200000   # the worst case: time and memory only
    python benchmarks/bench_dedup.py --hard                 # recall and precision on the harder corpus
    python benchmarks/bench_dedup.py --hard -n 1000000 --sample 50000 --workdir /tmp/dqe-bench

``--hard`` runs on ``generate_dedup_corpus.py``'s corpus instead (Markov-chain records, long
tool preambles shared by different questions, copies with 2-15% of their words edited, sentences
reordered, numbers changed; complete ground truth) and reports recall of the planted near copies
by edit, and precision against the ground truth: a DQ402 removal is right when the record kept
is of the same planted family (the copy's source, or another copy of it), wrong otherwise, and
the wrong ones that share a preamble with the record kept are counted apart, and so are the short
copies with every number changed that the truth calls other examples (``renumbered``); then dqe and
datasketch used the plain way side by side on the first ``--sample`` records (0: skip).

``--degenerate N`` writes N records drawn from a vocabulary of 20 words, so that the long ones
share nearly all their shingles and fill a few huge LSH buckets: the case where comparing each
bucket's pairs would be quadratic.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate_corpus import generate  # noqa: E402
from generate_dedup_corpus import generate as generate_hard  # noqa: E402

SELECT = ["DQ401", "DQ402"]
_KEPT = re.compile(r"^(?:exact duplicate|near-duplicate) of (.+):(\d+)")
_SIMILARITY = re.compile(r"\(similarity ([0-9.]+)")


# Children: one deduplication each, printing one JSON line.


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux keeps ru_maxrss across exec, so a child would report its
    parent's peak when that is higher; VmHWM belongs to the process's own address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_dqe(corpus: str, out: str) -> None:
    import dqe

    start, cpu = time.perf_counter(), time.process_time()
    result = dqe.filter([corpus], f"{out}.passed.jsonl", f"{out}.rejected.jsonl", select=SELECT)
    seconds = time.perf_counter() - start
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker processes, once they have ended
    removed, near = {}, {}
    with open(f"{out}.rejected.jsonl", encoding="utf-8") as f:
        for line in f:
            meta = json.loads(line)["_dqe"]
            reason = next((r for r in meta["reasons"] if r["code"] in SELECT), None)
            kept = _KEPT.match(reason["message"]) if reason else None
            if kept:
                row = int(meta["source"].rsplit(":", 1)[1]) - 1
                removed[row] = int(kept[2]) - 1
                if reason["code"] == "DQ402":
                    near[row] = float(_SIMILARITY.search(reason["message"])[1])
    Path(f"{out}.removed.json").write_text(json.dumps(removed))
    Path(f"{out}.near.json").write_text(json.dumps(near))
    report = result.report
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": time.process_time() - cpu,
                "worker_cpu": workers.ru_utime + workers.ru_stime,
                "peak_rss_mb": peak_rss_mb(),
                "load": os.getloadavg()[0],  # at the end: the machine is shared, and wall time says how much
                "records": report.summary.records,
                "phases": report.timings,
                "duplicates": {k: v for k, v in report.dataset["duplicates"].items() if k != "largest"},
            }
        )
    )


def child_datasketch(corpus: str, out: str, threshold: float, num_perm: int) -> None:
    """The plain way: Python text handling, one MinHash.update per shingle, MinHashLSH."""
    from datasketch import MinHash, MinHashLSH

    cjk = "\u3040-\u30ff\u4e00-\u9fff"
    token = re.compile(rf"[{cjk}]|[^\W{cjk}]+")
    start, cpu = time.perf_counter(), time.process_time()
    texts = []
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            question = f"{r['instruction']}\n{r['input']}" if r.get("input") else r["instruction"]
            texts.append(re.sub(r"\d+", "0", " ".join(f"{question}\x1e{r['output']}".lower().split())))
    sign_start, sign_cpu = time.perf_counter(), time.process_time()
    minhashes = []
    for text in texts:
        tokens = token.findall(text)
        size = 2  # CJK text is tokenized by character, so pairs of characters there
        shingles = {" ".join(tokens[i : i + size]) for i in range(max(len(tokens) - size + 1, 1))} if tokens else set()
        m = MinHash(num_perm=num_perm)
        for s in shingles:
            m.update(s.encode("utf-8"))
        minhashes.append(m)
    sign_seconds, sign_cpu = time.perf_counter() - sign_start, time.process_time() - sign_cpu
    removed: dict[int, int] = {}
    first: dict[str, int] = {}
    for i, text in enumerate(texts):
        if text in first:
            removed[i] = first[text]
        else:
            first[text] = i
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.05, 0.95))
    reps = sorted(first.values())
    with lsh.insertion_session() as session:
        for i in reps:
            session.insert(i, minhashes[i], check_duplication=False)
    near: dict[int, float] = {}
    for i in reps:
        if i in removed:
            continue
        for j in lsh.query(minhashes[i]):
            if j > i and j not in removed and (similarity := minhashes[i].jaccard(minhashes[j])) >= threshold:
                removed[j] = i
                near[j] = similarity
    Path(f"{out}.removed.json").write_text(json.dumps(removed))
    Path(f"{out}.near.json").write_text(json.dumps(near))
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - start,
                "cpu": time.process_time() - cpu,
                "peak_rss_mb": peak_rss_mb(),
                "records": len(texts),
                "signature_seconds": sign_seconds,
                "signature_cpu": sign_cpu,
            }
        )
    )


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# Figures.


def normalized_texts(objects: list[dict] | list[str]) -> list[str]:
    """dqe's normalized conversation text of records (objects, or paths to read)."""
    import polars as pl

    from dqe.engine.plugins import load_plugins
    from dqe.features.text import conversation, normalized
    from dqe.io.reader import Reader

    out: list[str] = []
    for batch in Reader(objects, load_plugins().formats):
        out += normalized(batch.frame.select(conversation(pl.col("turns"))).to_series()).to_list()
    return out


def signature_rate(sample: Path, options) -> dict:
    """Records/s of shingle sets and MinHash signatures of them, shingling included, over
    normalized texts in batches of 10,000 (the engine's batch size)."""
    import polars as pl

    from dqe.features.minhash import shingle_sets, signatures

    texts = normalized_texts([str(sample)])
    batches = [pl.Series(texts[i : i + 10_000]) for i in range(0, len(texts), 10_000)]
    sizes = (options.shingle_size, options.char_shingle_size)
    start, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        sets, _ = shingle_sets(batch, *sizes)
        signatures(sets, np.arange(len(sets)), options.num_perm)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    shingles = float(np.mean(np.concatenate([shingle_sets(b, *sizes)[0].sizes for b in batches])))
    return {
        "records": len(texts),
        "rate": len(texts) / seconds,
        "cpu_rate": len(texts) / cpu,
        "shingles": shingles,
    }


def exact_shingles(texts: dict[int, str], word_size: int, char_size: int) -> dict[int, set[tuple[str, ...]]]:
    """Exact shingle sets, cut the way dqe cuts them (words, or characters for CJK text; every
    number the same word in a long text)."""
    import polars as pl

    from dqe.features.minhash import CJK, TOKEN_PATTERN, masked

    series = masked(pl.Series(list(texts.values())))
    tokens = series.str.extract_all(TOKEN_PATTERN).to_list()
    cjk = series.str.count_matches(rf"[{CJK}]").to_list()
    out = {}
    for key, toks, c in zip(texts, tokens, cjk, strict=True):
        size = char_size if 2 * c > len(toks) else word_size
        if len(toks) < size:
            out[key] = {tuple(toks)} if toks else set()
        else:
            out[key] = {tuple(toks[i : i + size]) for i in range(len(toks) - size + 1)}
    return out


def quality(corpus: Path, removed: dict[int, int], truth: dict, limit: int, options) -> dict:
    """Recall of planted duplicates and precision of the removals."""
    out = {}
    for kind in ("exact", "near"):
        pairs = [(p[0], p[1]) for p in truth[kind] if p[0] < limit and p[1] < limit]
        copy_removed = sum(1 for i, _ in pairs if i in removed)
        resolved = sum(1 for i, src in pairs if i in removed or src in removed)
        out[kind] = {
            "planted": len(pairs),
            "recall": copy_removed / len(pairs) if pairs else None,
            "resolved": resolved / len(pairs) if pairs else None,
        }
    wanted = set(removed) | set(removed.values())
    rows, objects = [], []
    with open(corpus, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i in wanted:
                rows.append(i)
                objects.append(json.loads(line))
    texts = dict(zip(rows, normalized_texts(objects), strict=True))
    sets = exact_shingles(texts, options.shingle_size, options.char_shingle_size)
    within = near_within = near_total = 0
    for i, k in removed.items():
        a, b = sets[i], sets[k]
        jaccard = len(a & b) / len(a | b) if a | b else 1.0
        same = texts[i] == texts[k]
        ok = same or jaccard >= options.threshold
        within += ok
        if not same:
            near_total += 1
            near_within += ok
    out["removed"] = len(removed)
    out["precision"] = within / len(removed) if removed else None
    out["precision_near"] = near_within / near_total if near_total else None
    return out


def fmt(x: float | None, pct: bool = True) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.2f}%" if pct else f"{x:,.0f}"


def degenerate(records: int, seed: int, work: Path) -> None:
    words = [
        "the",
        "model",
        "data",
        "quality",
        "record",
        "token",
        "check",
        "rule",
        "report",
        "train",
        "answer",
        "question",
        "to",
        "of",
        "and",
        "is",
        "in",
        "that",
        "for",
    ]
    rng = np.random.default_rng(seed)
    corpus = work / f"degenerate-{records}-{seed}.jsonl"
    with open(corpus, "w", encoding="utf-8") as f:
        for _ in range(records):
            # answers from 40 to 4,000 words: the long ones hold nearly every one of the 400 word
            # pairs, so they all fall into the same buckets of every band
            size = int(np.exp(rng.uniform(np.log(40), np.log(4000))))
            q, a = " ".join(rng.choice(words, size=rng.integers(10, 30))), " ".join(rng.choice(words, size=size))
            f.write(json.dumps({"instruction": q, "input": "", "output": a}) + "\n")
    run = run_child("dqe", str(corpus), str(work / "dqe-degenerate"))
    print(
        f"{records:,} records of a 20-word vocabulary, dqe filter --select DQ401,DQ402: "
        f"{run['seconds']:.1f} s wall, {run['cpu']:.1f} s CPU (+ {run['worker_cpu']:.1f} s in workers), peak RSS {run['peak_rss_mb']:,.0f} MB; "
        f"removed {run['duplicates']}"
    )


def hard_figures(corpus: Path, truth: dict, removed: dict[int, int], near: set[int]) -> dict:
    """Recall of the planted copies of the first records of ``corpus`` (as many as it has), by
    edit, and precision of the near-duplicate removals ``near`` against the planted families."""
    with open(corpus, encoding="utf-8") as f:
        chinese = {i for i, line in enumerate(f) if re.search(r"[\u4e00-\u9fff]", line)}
    with open(corpus, encoding="utf-8") as f:
        n = sum(1 for _ in f)
    family = np.arange(len(truth["preamble"]))  # a copy's family is its source (sources are never copies)
    for copy, src, *_ in truth["exact"] + truth["near"]:
        family[copy] = src
    preamble = np.array(truth["preamble"])
    planted = [p for p in truth["near"] if p[0] < n]
    found = np.array([i in removed and family[removed[i]] == family[i] for i, *_ in planted])
    fraction = np.array([p[2] for p in planted])
    groups = {
        "all": np.ones(len(planted), dtype=bool),
        "2-5% edited": fraction < 0.05,
        "5-8% edited": (fraction >= 0.05) & (fraction < 0.08),
        "8-11% edited": (fraction >= 0.08) & (fraction < 0.11),
        "11-15% edited": fraction >= 0.11,
        "sentences reordered": np.array([bool(p[3]) for p in planted]),
        "numbers changed": np.array([bool(p[4]) for p in planted]),
        "behind a preamble": np.array([preamble[p[1]] >= 0 for p in planted]),
        "preamble, numbers": np.array([preamble[p[1]] >= 0 and bool(p[4]) for p in planted]),
        "Chinese": np.array([p[0] in chinese for p in planted]),
    }
    # short copies with every number changed: the same template with other arguments, negatives
    # (generate_dedup_corpus.py; docs/rules.md, "Numbers")
    renumbered = [p[0] for p in truth.get("renumbered", []) if p[0] < n]
    exact = [p for p in truth["exact"] if p[0] < n]
    right = [family[i] == family[k] for i, k in removed.items() if i in near]
    return {
        "recall": {name: (float(found[mask].mean()), int(mask.sum())) for name, mask in groups.items()},
        "exact_recall": float(np.mean([i in removed and family[removed[i]] == family[i] for i, _ in exact])),
        "exact_planted": len(exact),
        "renumbered": len(renumbered),
        "renumbered_removed": sum(1 for i in renumbered if i in near),
        "precision": float(np.mean(right)) if right else None,
        "near_removed": len(right),
        "wrong": len(right) - int(sum(right)),
        "wrong_same_preamble": sum(
            1
            for i, k in removed.items()
            if i in near and family[i] != family[k] and preamble[i] >= 0 and preamble[i] == preamble[k]
        ),
    }


def print_hard(h: dict) -> None:
    print("  recall of planted near copies (the copy removed, naming its source or a copy of it):")
    for name, (recall, count) in h["recall"].items():
        print(f"    {name:<20} {recall:.2%} of {count:,}")
    print(f"  recall of planted exact copies: {h['exact_recall']:.2%} of {h['exact_planted']:,}")
    print(
        f"  short copies with every number changed (other examples, negatives): {h['renumbered_removed']:,} "
        f"of {h['renumbered']:,} removed as near-duplicates"
    )
    print(
        f"  precision of near-duplicate removals (the record kept is of the removed record's planted family): "
        f"{fmt(h['precision'])} of {h['near_removed']:,}; wrong: {h['wrong']}, of which {h['wrong_same_preamble']} "
        f"share a preamble with the record kept"
    )


def hard(records: int, sample: int, seed: int, work: Path, options) -> None:
    """Recall and precision on generate_dedup_corpus.py's corpus, against its ground truth; and
    dqe beside datasketch used the plain way on its first ``sample`` records."""
    corpus = work / f"dedup-{records}-{seed}.jsonl"
    truth_path = corpus.with_name(corpus.name + ".truth.json")
    if not truth_path.exists():
        start = time.perf_counter()
        planted = generate_hard(records, corpus, seed, near=0.03, exact=0.01, preambled=0.25, preambles=400)
        print(f"generated {records:,} records in {time.perf_counter() - start:.0f} s: planted {planted}", flush=True)
    truth = json.loads(truth_path.read_text())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"options: threshold {options.threshold}, shingles {options.shingle_size} words / "
        f"{options.char_shingle_size} characters, num_perm {options.num_perm}, boilerplate lines in >= "
        f"max({options.boilerplate_min_records}, {options.boilerplate_share:.2%}) of the texts",
        flush=True,
    )

    def dqe_run(path: Path, name: str) -> tuple[dict, dict]:
        run = run_child("dqe", str(path), str(work / name))
        removed = {int(k): v for k, v in json.loads((work / f"{name}.removed.json").read_text()).items()}
        near = {int(k): v for k, v in json.loads((work / f"{name}.near.json").read_text()).items()}
        return run, hard_figures(path, truth, removed, set(near)) | {"similarities": sorted(near.values())}

    run, figures = dqe_run(corpus, "dqe-hard")
    print(f"\n{records:,} records, dqe filter --select DQ401,DQ402 (read, dedup, write both outputs):")
    print(
        f"  {run['seconds']:.1f} s wall (load average {run['load']:.1f} at the end), {run['cpu']:.1f} s CPU "
        f"(+ {run['worker_cpu']:.1f} s in worker processes), peak RSS {run['peak_rss_mb']:,.0f} MB; phases (wall) "
        + ", ".join(f"{k} {v:.1f}" for k, v in run["phases"].items())
    )
    print(f"  duplicates: {run['duplicates']}")
    print_hard(figures)
    shown = figures["similarities"]
    if shown:
        print(f"  similarity of DQ402 removals: lowest {shown[0]:.2f}, median {shown[len(shown) // 2]:.2f}", flush=True)
    if not sample:
        return

    head = work / f"dedup-{records}-{seed}-first-{sample}.jsonl"
    with open(corpus, encoding="utf-8") as src, open(head, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= sample:
                break
            dst.write(line)
    small, small_figures = dqe_run(head, "dqe-hard-sample")
    plain = run_child(
        "datasketch", str(head), str(work / "ds-hard-sample"), str(options.threshold), str(options.num_perm)
    )
    removed = {int(k): v for k, v in json.loads((work / "ds-hard-sample.removed.json").read_text()).items()}
    near = {int(k) for k in json.loads((work / "ds-hard-sample.near.json").read_text())}
    plain_figures = hard_figures(head, truth, removed, near)
    print(f"\nside by side on the first {sample:,} records, each in a fresh process, same run:")
    rows = [
        ("dedup end to end, s (wall)", f"{small['seconds']:.1f}", f"{plain['seconds']:.1f}"),
        ("dedup end to end, s of CPU", f"{small['cpu']:.1f}", f"{plain['cpu']:.1f}"),
        ("peak RSS, MB", f"{small['peak_rss_mb']:,.0f}", f"{plain['peak_rss_mb']:,.0f}"),
        ("recall, planted near", fmt(small_figures["recall"]["all"][0]), fmt(plain_figures["recall"]["all"][0])),
        (
            "recall, 11-15% edited",
            fmt(small_figures["recall"]["11-15% edited"][0]),
            fmt(plain_figures["recall"]["11-15% edited"][0]),
        ),
        ("recall, planted exact", fmt(small_figures["exact_recall"]), fmt(plain_figures["exact_recall"])),
        ("precision, near removals", fmt(small_figures["precision"]), fmt(plain_figures["precision"])),
        ("near removals", f"{small_figures['near_removed']:,}", f"{plain_figures['near_removed']:,}"),
        (
            "  wrong, sharing a preamble",
            f"{small_figures['wrong_same_preamble']:,}",
            f"{plain_figures['wrong_same_preamble']:,}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"  {'':<{width}}  {'dqe':>12}  {'datasketch':>12}")
    for name, a, b in rows:
        print(f"  {name:<{width}}  {a:>12}  {b:>12}")
    print(
        f"  (dqe: dqe.filter with DQ401+DQ402, output files written; datasketch: MinHash of {options.num_perm} "
        "permutations, MinHashLSH, the same threshold and star clustering in plain Python, nothing written)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--records", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000, help="records for the side-by-side with datasketch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dqe-bench-dedup"))
    parser.add_argument("--degenerate", type=int, metavar="N", help="only time N records of 20 words' vocabulary")
    parser.add_argument("--hard", action="store_true", help="recall and precision on generate_dedup_corpus.py's corpus")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "dqe":
            child_dqe(*rest)
        else:
            child_datasketch(rest[0], rest[1], float(rest[2]), int(rest[3]))
        return

    from dqe.features.similarity import SimilarityOptions

    options = SimilarityOptions()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    if args.degenerate:
        degenerate(args.degenerate, args.seed, work)
        return
    if args.hard:
        hard(args.records, args.sample, args.seed, work, options)
        return
    corpus = work / f"corpus-{args.records}-{args.seed}.jsonl"
    truth_path = corpus.with_name(corpus.name + ".truth.json")
    if not truth_path.exists():
        start = time.perf_counter()
        planted = generate(args.records, corpus, args.seed, exact=0.02, near=0.02, long=0.001, empty=0.001)
        print(
            f"generated {args.records:,} records in {time.perf_counter() - start:.0f} s: planted {planted}",
            flush=True,
        )
    truth = json.loads(truth_path.read_text())
    sample = work / f"sample-{args.sample}-{args.seed}.jsonl"
    with open(corpus, encoding="utf-8") as src, open(sample, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= args.sample:
                break
            dst.write(line)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; Python {platform.python_version()}"
    )
    print(
        f"options: threshold {options.threshold}, shingles {options.shingle_size} words / {options.char_shingle_size} characters, num_perm {options.num_perm}"
    )

    sig = signature_rate(sample, options)
    print(
        f"\nshingle sets and MinHash signatures (numpy, shingling included): {sig['rate']:,.0f} records/s wall, {sig['cpu_rate']:,.0f} records/s of CPU "
        f"({sig['records']:,} records, {sig['shingles']:.0f} shingles each on average)",
        flush=True,
    )

    big = run_child("dqe", str(corpus), str(work / "dqe-full"))
    full = quality(
        corpus,
        {int(k): v for k, v in json.loads((work / "dqe-full.removed.json").read_text()).items()},
        truth,
        args.records,
        options,
    )
    print(f"\n{args.records:,} records, dqe filter --select DQ401,DQ402 (read, dedup, write both outputs):")
    print(
        f"  {big['seconds']:.1f} s wall, {big['cpu']:.1f} s CPU (+ {big['worker_cpu']:.1f} s in worker processes), peak RSS {big['peak_rss_mb']:,.0f} MB; phases (wall) "
        + ", ".join(f"{k} {v:.1f}" for k, v in big["phases"].items())
    )
    print(f"  duplicates: {big['duplicates']}")
    print_quality(full)

    small = run_child("dqe", str(sample), str(work / "dqe-sample"))
    small_q = quality(
        sample,
        {int(k): v for k, v in json.loads((work / "dqe-sample.removed.json").read_text()).items()},
        truth,
        args.sample,
        options,
    )
    plain = run_child(
        "datasketch",
        str(sample),
        str(work / "ds-sample"),
        str(options.threshold),
        str(options.num_perm),
    )
    plain_q = quality(
        sample,
        {int(k): v for k, v in json.loads((work / "ds-sample.removed.json").read_text()).items()},
        truth,
        args.sample,
        options,
    )

    print(f"\nside by side on the first {args.sample:,} records (same process kind, same run):")
    rows = [
        (
            "signatures, records/s (wall)",
            f"{sig['rate']:,.0f}",
            f"{plain['records'] / plain['signature_seconds']:,.0f}",
        ),
        (
            "signatures, records/s of CPU",
            f"{sig['cpu_rate']:,.0f}",
            f"{plain['records'] / plain['signature_cpu']:,.0f}",
        ),
        ("dedup end to end, s (wall)", f"{small['seconds']:.1f}", f"{plain['seconds']:.1f}"),
        ("dedup end to end, s of CPU", f"{small['cpu']:.1f}", f"{plain['cpu']:.1f}"),
        ("peak RSS, MB", f"{small['peak_rss_mb']:,.0f}", f"{plain['peak_rss_mb']:,.0f}"),
        ("recall, planted exact", fmt(small_q["exact"]["recall"]), fmt(plain_q["exact"]["recall"])),
        (
            "recall, planted near (2-8% edited)",
            fmt(small_q["near"]["recall"]),
            fmt(plain_q["near"]["recall"]),
        ),
        (
            "precision (exact Jaccard >= threshold)",
            fmt(small_q["precision"]),
            fmt(plain_q["precision"]),
        ),
        ("records removed", f"{small_q['removed']:,}", f"{plain_q['removed']:,}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"  {'':<{width}}  {'dqe':>12}  {'datasketch':>12}")
    for name, a, b in rows:
        print(f"  {name:<{width}}  {a:>12}  {b:>12}")
    print(
        "  (dqe: dqe.filter with DQ401+DQ402, output files written; datasketch: the same clustering in plain Python, nothing written)"
    )


def print_quality(q: dict) -> None:
    for kind in ("exact", "near"):
        k = q[kind]
        print(
            f"  recall of planted {kind} duplicates: {fmt(k['recall'])} of {k['planted']:,} (pairs with at least one removed: {fmt(k['resolved'])})"
        )
    print(
        f"  precision: {fmt(q['precision'])} of {q['removed']:,} removed records are within the threshold of the record kept "
        f"(near-duplicates alone: {fmt(q['precision_near'])})",
        flush=True,
    )


if __name__ == "__main__":
    main()
