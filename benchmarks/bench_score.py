"""Scoring throughput of ``dqe score``: records/s and tokens/s, cold and from the cache.

Real Alpaca records from ../shared/data are scored with a randomly initialised Llama built
here (no weights can be downloaded): on a CPU the tests' tiny Llama (2 layers, hidden 64,
fp32); on a GPU Llama-3.2-1B's shapes in bf16 (the default there). Both passes of every record
(the answer with its question, and alone) go through ``dqe.score.run.score``, the command's
own code, with a fresh cache; a second run over the same records is timed too (the cache's).
A random model's IFDs mean nothing; its speed is the real one for its shapes.

    python benchmarks/bench_score.py                            # GPU: 1B shapes, bf16
    python benchmarks/bench_score.py --preset tiny --records 500 --device cpu --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CORPUS_FILES = ("rasbt_instruction_data.json", "llamafactory_alpaca_en_demo.json")


def corpus(folder: Path, records: int) -> tuple[Path, list[str]]:
    """``records`` real Alpaca records (cycled), and the texts a tokenizer is trained on."""
    pool: list[dict] = []
    for name in CORPUS_FILES:
        if (DATA / name).exists():
            pool += json.loads((DATA / name).read_text("utf-8"))
    if not pool:
        sys.exit(f"no real data in {DATA}")
    path = folder / "corpus.jsonl"
    rows = [pool[i % len(pool)] for i in range(records)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path, [f"{r['instruction']}\n{r.get('input', '')}\n{r['output']}" for r in pool]


def main() -> None:
    import torch

    from dqe.engine.config import load_config
    from dqe.engine.encoding import EncodingSettings
    from dqe.engine.plugins import load_plugins
    from dqe.score.run import score
    from dqe.train.scratch import build_model, build_tokenizer

    gpu = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=("tiny", "llama-3.2-1b"), default="llama-3.2-1b" if gpu else "tiny")
    parser.add_argument("--records", type=int, default=2000 if gpu else 500)
    parser.add_argument("--batch-size", type=int, default=32 if gpu else 8)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's own choice).")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["DQE_CACHE_DIR"] = str(folder / "cache")  # a cold cache, then the same one warm
        data, texts = corpus(folder, args.records)
        tokenizer = build_tokenizer(texts, vocab_size=2000)
        model = build_model(folder / "model", args.preset, tokenizer, seed=0)
        settings = EncodingSettings(model=str(model), template="alpaca")
        loaded = load_config(None, discover=False)
        registry = load_plugins()
        results = []
        for run in ("cold", "cached"):
            clock = time.perf_counter()
            result = score(
                [data],
                folder / "scores.jsonl",
                settings,
                loaded,
                registry,
                device=args.device,
                rows=args.batch_size,
                echo=False,
            )
            wall = time.perf_counter() - clock
            forward = result.seconds
            row = {
                "run": run,
                "preset": args.preset,
                "device": torch.cuda.get_device_name() if gpu and args.device != "cpu" else "cpu",
                "threads": torch.get_num_threads(),
                "records": result.records,
                "scored": result.scored,
                "cached": result.cached,
                "tokens": result.tokens,
                "forward_s": round(forward, 2),
                "wall_s": round(wall, 2),
                "records_per_s": round(result.records / wall, 1),
                "tokens_per_s": round(result.tokens / forward) if forward else None,
            }
            results.append(row)
            print(
                f"{run:<7} {args.preset:<13} {row['device']:<10} {row['records']:>6,} records in {wall:6.1f} s "
                f"({row['records_per_s']:,.1f} records/s); forward {forward:6.1f} s, "
                + (f"{row['tokens_per_s']:,} tokens/s (both passes)" if forward else "no forward pass")
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
