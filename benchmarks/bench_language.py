"""Language identification: agreement with langdetect's ``detect()`` and records per second.

Agreement: every question and answer of the real files in ../shared/data, detected by
``dqe.features.langid`` and by langdetect's own ``detect()`` seeded with ``DetectorFactory.seed = 0``
(langdetect is random otherwise); per file and overall, per text and per record (question and
answer both agree). ``--seeds 1`` adds langdetect's agreement with itself under another seed:
the ceiling any deterministic detector can reach against one seed.

Texts whose best two languages are within ``dqe.features.langid.REPLAY`` nats get langdetect's own
seeded answer (``dqe.features.langreplay``); the agreement without that replay is printed too.

Speed: records composed like benchmarks/generate_corpus.py's (or read from a corpus it wrote),
detected in batches of 10,000 records (20,000 texts, as the engine batches them), with the
replay and without; wall and CPU time (CPU time is what a quiet machine's wall time would be),
then langdetect's ``detect()`` on the first texts, and the whole ``language`` feature (code
stripping, Chinese merged, mismatch; it asks for no replay).

    python benchmarks/bench_language.py                     # agreement + speed on 200,000 records
    python benchmarks/bench_language.py --records 1000000 --skip-agreement
    python benchmarks/bench_language.py --corpus /tmp/corpus.jsonl --seeds 1
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sys
import time
from pathlib import Path

import polars as pl
from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException

from dqe.api import resolve_config
from dqe.engine.context import Context
from dqe.engine.plugins import load_plugins
from dqe.features.langid import REPLAY, LanguageIdentifier
from dqe.features.language import Language
from dqe.io.reader import Reader

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
BATCH = 10_000  # records per batch, the engine's default


def langdetect(texts: list[str], seed: int) -> list[str]:
    DetectorFactory.seed = seed
    out = []
    for text in texts:
        try:
            out.append(detect(text))
        except LangDetectException:
            out.append("und")
    return out


def real_texts(registry) -> dict[str, tuple[list[str], list[str]]]:
    """Questions and answers of each real file, as the reader normalizes them."""
    texts = {}
    for path in sorted(DATA.glob("*.json*")):
        frames = [batch.frame for batch in Reader([path], registry.formats)]
        frame = pl.concat(frames)
        texts[path.name] = (
            frame["question"].fill_null("").to_list(),
            frame["answer"].fill_null("").to_list(),
        )
    return texts


def agreement(identifier: LanguageIdentifier, registry, seeds: int) -> None:
    print("agreement with langdetect detect(), DetectorFactory.seed = 0, all texts of ../shared/data")
    header = f"{'file':44} {'records':>7} {'questions':>9} {'answers':>8} {'records':>8}"
    if seeds:
        header += f"   {'seed 1 vs 0: texts':>18} {'records':>8}"
    print(header)
    totals = {"texts": 0, "agree": 0, "records": 0, "both": 0, "self": 0, "self_both": 0, "zh": 0}
    totals |= {"exact": 0, "exact_both": 0, "replayed": 0}
    started = time.perf_counter()
    for name, (questions, answers) in real_texts(registry).items():
        n = len(questions)
        found = identifier.identify(questions + answers)
        ours = found.language
        ref = langdetect(questions + answers, 0)
        same = [a == b for a, b in zip(ours, ref, strict=True)]
        both = sum(same[i] and same[n + i] for i in range(n))
        exact = identifier.detect(questions + answers, replay=False)
        exact_same = [a == b for a, b in zip(exact, ref, strict=True)]
        totals["exact"] += sum(exact_same)
        totals["exact_both"] += sum(exact_same[i] and exact_same[n + i] for i in range(n))
        totals["replayed"] += int(found.close().sum())
        line = f"{name:44} {n:7d} {sum(same[:n]) / n:9.2%} {sum(same[n:]) / n:8.2%} {both / n:8.2%}"
        totals["texts"] += 2 * n
        totals["agree"] += sum(same)
        totals["records"] += n
        totals["both"] += both
        totals["zh"] += sum(a.split("-")[0] == b.split("-")[0] for a, b in zip(ours, ref, strict=True))
        if seeds:
            other = langdetect(questions + answers, 1)
            self_same = [a == b for a, b in zip(other, ref, strict=True)]
            self_both = sum(self_same[i] and self_same[n + i] for i in range(n))
            totals["self"] += sum(self_same)
            totals["self_both"] += self_both
            line += f"   {sum(self_same) / (2 * n):18.2%} {self_both / n:8.2%}"
        print(line, flush=True)
    t = totals
    texts, records = t["agree"] / t["texts"], t["both"] / t["records"]
    line = f"{'overall':44} {t['records']:7d} {'texts':>9} {texts:8.2%} {records:8.2%}"
    if seeds:
        line += f"   {t['self'] / t['texts']:18.2%} {t['self_both'] / t['records']:8.2%}"
    print(line)
    print(f"overall, zh-cn and zh-tw counted as one: {t['zh'] / t['texts']:.2%} of texts")
    print(
        f"{t['replayed']:,} texts replayed (best two within {REPLAY:g} nat); without the replay: "
        f"{t['exact'] / t['texts']:.2%} of texts, {t['exact_both'] / t['records']:.2%} of records"
    )
    print(f"({t['texts']:,} texts; langdetect took {time.perf_counter() - started:.0f} s)\n")


def records(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    if args.corpus:
        frame = pl.read_ndjson(args.corpus).head(args.records)
        questions = frame.select(
            pl.concat_str("instruction", pl.lit("\n"), pl.col("input").fill_null("")).str.strip_chars()
        ).to_series()
        return questions.to_list(), frame["output"].fill_null("").to_list()
    sys.path.insert(0, str(HERE))
    from generate_corpus import compose, load_pools

    rng = random.Random(0)
    pools = load_pools(DATA)
    composed = [compose(rng, pools) for _ in range(args.records)]
    return [r["instruction"] for r in composed], [r["output"] for r in composed]


def speed(identifier: LanguageIdentifier, registry, args: argparse.Namespace) -> None:
    questions, answers = records(args)
    n = len(questions)
    chars = sum(map(len, questions)) + sum(map(len, answers))
    per_text = chars / (2 * n)
    print(f"speed: {n:,} records ({per_text:.0f} characters a text), batches of {BATCH:,} records")
    batches = [
        (
            pl.Series(questions[i : i + BATCH], dtype=pl.String),
            pl.Series(answers[i : i + BATCH], dtype=pl.String),
        )
        for i in range(0, n, BATCH)
    ]
    identifier.detect(["warm up"])
    for replay in (True, False):
        replayed = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for q, a in batches:
            found = identifier.identify(pl.concat([q, a]), replay=replay)
            replayed += int(found.close().sum())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        name = "dqe.features.langid" if replay else "  no replay"
        print(f"  {name:16} {n / wall:9,.0f} records/s wall, {n / cpu:9,.0f} records/s CPU")
        if replay:
            print(f"                   ({2 * n / cpu:,.0f} texts/s CPU; 1,000,000 records would take")
            print(f"                   {1e6 / n * wall:.1f} s wall, {1e6 / n * cpu:.1f} s CPU, from {n:,};")
            print(f"                   {replayed:,} texts replayed, {replayed / (2 * n):.2%})")

    # The feature on the frames the engine hands it (every turn of each record, read as Alpaca).
    feature = Language(Context(resolve_config(None, {}), registry))
    frames = [
        part.frame
        for part in Reader(
            [{"instruction": q, "output": a} for q, a in zip(questions, answers, strict=True)],
            registry.formats,
            batch_size=BATCH,
        )
    ]
    wall, cpu = time.perf_counter(), time.process_time()
    for frame in frames:
        feature.compute(frame)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  language feature {n / wall:9,.0f} records/s wall, {n / cpu:9,.0f} records/s CPU")

    sample = args.langdetect
    texts = [t for pair in zip(questions[:sample], answers[:sample], strict=True) for t in pair]
    wall, cpu = time.perf_counter(), time.process_time()
    langdetect(texts, 0)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rates = f"{sample / wall:9,.0f} records/s wall, {sample / cpu:9,.0f} records/s CPU"
    print(f"  langdetect       {rates}")
    print(f"                   ({1000 * cpu / len(texts):.1f} ms CPU a text, on the first {sample:,})")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="records for the speed test")
    parser.add_argument(
        "--corpus",
        type=Path,
        help="a JSONL corpus from generate_corpus.py (default: compose in memory)",
    )
    parser.add_argument("--langdetect", type=int, default=500, help="records langdetect itself is timed on")
    parser.add_argument(
        "--seeds",
        type=int,
        choices=(0, 1),
        default=0,
        help="1: also langdetect seed 1 against seed 0",
    )
    parser.add_argument("--skip-agreement", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"machine: {platform.machine()}, {python}, {os.cpu_count()} cores\n")
    started = time.perf_counter()
    identifier = LanguageIdentifier()
    print(f"profiles loaded in {time.perf_counter() - started:.2f} s\n")
    registry = load_plugins()
    if not args.skip_agreement:
        agreement(identifier, registry, args.seeds)
    if not args.skip_speed:
        speed(identifier, registry, args)


if __name__ == "__main__":
    main()
