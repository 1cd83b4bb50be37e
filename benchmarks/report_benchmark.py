"""How long the reports take next to the check itself, on a generated corpus.

    python benchmarks/report_benchmark.py --records 1000000

Writes a JSONL corpus of Alpaca records (English and Chinese, answers of varied length, with
planted defects: 1% empty answers, 0.1% over 4,096 tokens, 0.01% malformed lines, a record
holding <script>), runs ``dqe.check`` on it, then renders every report format from that
report and prints each one's time as a share of the check. The HTML report must stay under
10% of the check.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import orjson

import dqe
from dqe.engine.plugins import load_plugins
from dqe.report.render import get_renderer

WORDS = [
    "data",
    "model",
    "train",
    "answer",
    "question",
    "record",
    "token",
    "rule",
    "check",
    "quality",
    "report",
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
]
HANZI = "数据模型训练回答问题记录规则检查质量报告的了是在有和我们这个为中文"


def generate(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as f:
        for i in range(n):
            roll = rng.random()
            if i % 10_000 == 9_999:
                f.write(b'{"instruction": "cut off", \n')
                continue
            if rng.random() < 0.1:
                question = "".join(rng.choices(HANZI, k=rng.randint(8, 40)))
                answer = "".join(rng.choices(HANZI, k=rng.randint(20, 400)))
            else:
                question = " ".join(rng.choices(WORDS, k=rng.randint(5, 30)))
                answer = " ".join(rng.choices(WORDS, k=rng.randint(10, 300)))
            if roll < 0.01:
                answer = ""
            elif roll < 0.011:
                answer = " ".join(rng.choices(WORDS, k=4500))
            if i == 12_345:
                question = "<script>alert(1)</script> " + question
            f.write(orjson.dumps({"instruction": question, "input": "", "output": answer}) + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="dqe-report-bench-")) if args.keep is None else args.keep.parent
    corpus = args.keep or folder / "corpus.jsonl"
    clock = time.perf_counter()
    generate(corpus, args.records)
    print(
        f"corpus: {args.records:,} records, {corpus.stat().st_size / 1e6:,.0f} MB, written in {time.perf_counter() - clock:.1f} s"
    )

    clock = time.perf_counter()
    report = dqe.check(corpus)
    check_s = time.perf_counter() - clock
    s = report.summary
    print(
        f"dqe.check: {check_s:.1f} s ({s.records / check_s:,.0f} records/s); {s.rejected:,} rejected, {s.invalid:,} invalid"
    )

    print(f"{'format':<10}{'seconds':>9}{'of check':>10}{'size':>12}")
    registry = load_plugins()
    for name in ("html", "sarif", "junit", "github", "markdown", "json", "text"):
        renderer = get_renderer(registry, name)
        clock = time.perf_counter()
        out = renderer.render(report)
        took = time.perf_counter() - clock
        print(f"{name:<10}{took:>9.2f}{took / check_s:>10.1%}{len(out.encode()) / 1e3:>10,.0f} kB")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    if args.keep is None:
        corpus.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
