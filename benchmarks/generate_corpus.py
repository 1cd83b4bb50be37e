"""Generate a large Alpaca corpus from the real data in ../shared/data, reproducibly by seed.

Records are composed from sentences of the real files (English and Chinese kept apart), so
they read like instruction data and have its length and vocabulary, yet two generated records
are almost never near-duplicates of each other. On top of that the generator plants, with a
ground truth written beside the corpus (``<out>.truth.json``):

- exact duplicates of earlier records,
- near duplicates: earlier records with 2-8% of their words edited,
- over-long records (far above 4,096 tokens) and records with an empty answer.

    python benchmarks/generate_corpus.py -n 1000000 -o /tmp/corpus.jsonl --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
ALPACA_FILES = (
    "gsm8k_train_alpaca.json",
    "llamafactory_alpaca_en_demo.json",
    "llamafactory_alpaca_zh_demo.json",
    "rasbt_instruction_data.json",
)
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_RESERVOIR = 100_000


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 3]


def load_pools(data: Path) -> dict[str, dict[str, list[str]]]:
    """Sentence pools per language (en, zh), split into questions and answers."""
    pools: dict[str, dict[str, list[str]]] = {lang: {"question": [], "answer": []} for lang in ("en", "zh")}
    for name in ALPACA_FILES:
        for record in json.loads((data / name).read_text("utf-8")):
            question = f"{record['instruction']} {record.get('input', '')}".strip()
            lang = "zh" if _CJK.search(question) else "en"
            pools[lang]["question"].extend(sentences(question))
            pools[lang]["answer"].extend(sentences(record["output"]))
    return pools


def compose(rng: random.Random, pools: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    lang = "zh" if rng.random() < 0.15 else "en"
    pool = pools[lang]
    glue = "" if lang == "zh" else " "
    question = glue.join(rng.sample(pool["question"], rng.randint(1, 2)))
    answer = glue.join(rng.sample(pool["answer"], rng.randint(2, 8)))
    return {"instruction": question, "input": "", "output": answer}


def edit_words(rng: random.Random, record: dict[str, str], fraction: float) -> dict[str, str]:
    """A near duplicate: ``fraction`` of the words (characters for Chinese) replaced or dropped."""
    out = dict(record)
    for field in ("instruction", "output"):
        text = record[field]
        units = list(text) if _CJK.search(text) else text.split()
        n = max(1, round(len(units) * fraction))
        for i in rng.sample(range(len(units)), min(n, len(units))):
            units[i] = "" if rng.random() < 0.3 else rng.choice(units)
        out[field] = ("" if _CJK.search(text) else " ").join(u for u in units if u)
    return out


def generate(n: int, out: Path, seed: int, exact: float, near: float, long: float, empty: float) -> dict:
    rng = random.Random(seed)
    pools = load_pools(DATA)
    truth: dict[str, list] = {"exact": [], "near": [], "long": [], "empty": []}
    # Duplicates copy a random earlier record: a reservoir sample keeps memory bounded.
    reservoir: list[tuple[int, dict[str, str]]] = []
    with open(out, "w", encoding="utf-8") as f:
        for i in range(n):
            roll = rng.random()
            if i > 100 and roll < exact:
                src, record = rng.choice(reservoir)
                truth["exact"].append([i, src])
            elif i > 100 and roll < exact + near:
                src, original = rng.choice(reservoir)
                fraction = rng.uniform(0.02, 0.08)
                record = edit_words(rng, original, fraction)
                truth["near"].append([i, src, round(fraction, 4)])
            elif roll < exact + near + long:
                record = compose(rng, pools)
                record["output"] = " ".join([record["output"]] * (1 + 24_000 // max(len(record["output"]), 1)))
                truth["long"].append(i)
            elif roll < exact + near + long + empty:
                record = compose(rng, pools)
                record["output"] = ""
                truth["empty"].append(i)
            else:
                record = compose(rng, pools)
            if len(reservoir) < _RESERVOIR:
                reservoir.append((i, record))
            elif (j := rng.randrange(i + 1)) < _RESERVOIR:
                reservoir[j] = (i, record)
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    truth_path = out.with_name(out.name + ".truth.json")
    truth_path.write_text(json.dumps({"records": n, "seed": seed, **truth}))
    return {k: len(v) for k, v in truth.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--records", type=int, default=100_000)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact", type=float, default=0.02, help="share of planted exact duplicates")
    parser.add_argument("--near", type=float, default=0.02, help="share of planted near duplicates")
    parser.add_argument("--long", type=float, default=0.001, help="share of over-long records")
    parser.add_argument("--empty", type=float, default=0.001, help="share of records with an empty answer")
    args = parser.parse_args()
    start = time.perf_counter()
    counts = generate(args.records, args.output, args.seed, args.exact, args.near, args.long, args.empty)
    size = args.output.stat().st_size / 1e6
    print(
        f"{args.records:,} records, {size:,.0f} MB -> {args.output} in {time.perf_counter() - start:.1f} s; planted {counts}"
    )


if __name__ == "__main__":
    main()
