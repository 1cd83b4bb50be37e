"""Records per second of the six PII rules, on real SFT data with personal data planted.

    python plugins/dqe-pii/benchmarks/throughput.py [--records 200000] [--data ../shared/data]

Builds a corpus from every data set in ``--data`` (repeated up to ``--records``), plants an
e-mail, phone, card, IP, key or resident ID in one record in fifty, and prints two figures:
the rules alone (the text feature and six ``check`` calls per 10,000-record batch, which is
what the plugin adds to a run) and a whole ``dqe check --select PII`` from a JSONL file
(reading included, which the plugin does not control), beside ``--select DQ001`` on the same
file for the cost of reading.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import dqe
from dqe.api import resolve_config
from dqe.engine.context import Context
from dqe.engine.plugins import load_plugins
from dqe.io.reader import Reader
from dqe_pii.rules import RULES
from dqe_pii.text import PiiText

PLANTED = [
    "Contact me at li.wei@qq.com if it fails.",
    "Call +44 20 7946 0958 after six.",
    "我的手机号是13912345678，请回电。",
    "Card: 4539 1488 0343 6467, expiry 04/27.",
    "The server at 81.2.69.160 refused the connection.",
    "Use the key sk-proj-9fK2mQ7xL4vR8tW1zY6bN3cHdE5 for the demo.",
    "身份证号：11010519491231002X",
]


def corpus(data: Path, n: int) -> list[dict]:
    registry = load_plugins()
    files = sorted(p for p in data.iterdir() if p.suffix in (".json", ".jsonl"))
    base = []
    for part in Reader(files, registry.formats, batch_size=50_000):
        base += part.frame.select("question", "answer", "system").to_dicts()
    rng = random.Random(7)
    out = []
    for i in range(n):
        r = base[i % len(base)]
        answer = r["answer"]
        if i % 50 == 0:
            answer += " " + rng.choice(PLANTED)
        out.append(
            {
                "instruction": r["question"],
                "input": "",
                "output": answer,
                "system": r["system"] or "",
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3].parent / "shared" / "data")
    args = parser.parse_args()

    records = corpus(args.data, args.records)
    registry = load_plugins()
    context = Context(resolve_config({}), registry)
    batches = [part.frame for part in Reader(records, registry.formats, batch_size=10_000)]
    mean_chars = sum(b["answer"].str.len_chars().sum() + b["question"].str.len_chars().sum() for b in batches) / len(
        records
    )
    rules = [cls(cls.Options(), context) for cls in RULES]
    feature = PiiText(context)

    start = time.perf_counter()
    failed = 0
    for frame in batches:
        frame = frame.hstack(feature.compute(frame).get_columns())
        for rule in rules:
            failed += int((~rule.check(frame)["passed"]).sum())
    rules_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        start = time.perf_counter()
        report = dqe.check(path, {}, select=["PII"])
        check_s = time.perf_counter() - start
        start = time.perf_counter()
        dqe.check(path, {}, select=["DQ001"])
        baseline_s = time.perf_counter() - start

    print(f"records: {len(records):,} (mean {mean_chars:,.0f} characters of question and answer), planted in 1 of 50")
    print(
        f"PII rules alone (feature + 6 checks): {len(records) / rules_s:,.0f} records/s ({rules_s:.2f} s); {failed:,} findings"
    )
    print(
        f"dqe check --select PII, JSONL read included: {len(records) / check_s:,.0f} records/s ({check_s:.2f} s); "
        f"{report.summary.rejected:,} rejected"
    )
    print(
        f"dqe check --select DQ001 on the same file, for comparison: {len(records) / baseline_s:,.0f} records/s ({baseline_s:.2f} s)"
    )


if __name__ == "__main__":
    main()
