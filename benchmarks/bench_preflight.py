"""The check's time with and without the trainer's encoding (``dqe check --model``), same data.

A 10,000-record file is made from the real data in ../shared/data (Alpaca, English and Chinese,
with and without inputs, cycled); a byte-level BPE of 32,000 tokens is trained on the same texts
(a real model's vocabulary size; no weights can be downloaded) and saved as a model folder. The
check runs with the default rules, then the same with ``model = FOLDER`` and the alpaca template
(the default rules plus DQ103-DQ106), each ``--repeats`` times in this process after a warm-up;
it prints the best time of each and their ratio::

    python benchmarks/bench_preflight.py               # 10,000 records
    python benchmarks/bench_preflight.py --records 2000
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

from bench_train import CORPUS_FILES, DATA  # the same real files as the trainer benchmark


def corpus(n: int) -> list[dict]:
    records = [r for name in CORPUS_FILES for r in json.loads((DATA / name).read_text("utf-8"))]
    return list(itertools.islice(itertools.cycle(records), n))


def model_folder(records: list[dict], folder: Path) -> Path:
    from dqe.train.scratch import build_tokenizer

    texts = [f"{r.get('instruction', '')}\n{r.get('input', '')}\n{r.get('output', '')}" for r in records]
    build_tokenizer(texts, vocab_size=32_000).save_pretrained(str(folder))
    return folder


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import dqe

    records = corpus(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        model = model_folder(records, Path(tmp) / "model")
        runs = {
            "default rules": lambda: dqe.check(data, template="alpaca", workers=1),
            "with --model": lambda: dqe.check(data, template="alpaca", model=str(model), workers=1),
        }
        for run in runs.values():  # warm-up: imports, the tokenizers, dqe's caches
            run()
        best = {name: min(timed(run) for _ in range(args.repeats)) for name, run in runs.items()}
        report = dqe.check(data, template="alpaca", model=str(model), workers=1)
        print(f"{args.records:,} records, best of {args.repeats}, one process")
        for name, seconds in best.items():
            print(f"  {name:14} {seconds:6.2f} s")
        print(f"  ratio with/without --model: {best['with --model'] / best['default rules']:.2f}")
        encoding = report.dataset["trainer_encoding"]
        print(
            f"  trainer encoding: {encoding['tokens']:,} tokens, {encoding['supervised_tokens']:,} supervised, "
            f"{encoding['over_seq_len']} over seq-len {encoding['seq_len']}; failed: "
            + ", ".join(f"{r.code} {r.failed}" for r in report.rules if r.code in ("DQ103", "DQ104", "DQ105", "DQ106"))
        )


if __name__ == "__main__":
    main()
