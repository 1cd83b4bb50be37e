"""Does IFD find answers that do not belong to their question? Shuffled answers planted in
held-out records, scored by ``dqe score`` with an untrained tiny Llama and with one trained here.

No weights can be downloaded, so the model is the tests' tiny Llama (2 layers, hidden 64),
trained here with every parameter (LoRA on random frozen embeddings learns next to nothing) on
900 rasbt records under the alpaca template, then scored on 200 other records of which every
second one has the next record's answer. It prints, for both models, the AUROC of IFD for telling
shuffled answers from the real ones (0.5: chance) and how many of each are at or above IFD 1::

    python benchmarks/planted_ifd.py --steps 1500
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "rasbt_instruction_data.json"


def train(model_dir: Path, out: Path, train_path: Path, steps: int) -> None:
    """Every parameter, AdamW, 16 records a step, cosine from 3e-3: the trainer's encoding."""
    import torch
    from transformers import AutoModelForCausalLM

    from dqe.engine.config import load_config
    from dqe.engine.encoding import fit_length, load_model_tokenizer, make_encoder
    from dqe.engine.plugins import load_plugins
    from dqe.train.batches import collate
    from dqe.train.data import read_examples

    registry = load_plugins()
    loaded = load_config(None, discover=False)
    tokenizer = load_model_tokenizer(str(model_dir))
    encoder = make_encoder(
        tokenizer, "alpaca", registry.templates, system=None, learn_all_turns=False, columns=loaded.config.columns
    )
    records = [e.record for e in read_examples(train_path, loaded, registry)]
    items = [f for f in (fit_length(e, 512, "truncate")[0] for e in encoder.encode(records)) if f is not None]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    draw = torch.Generator().manual_seed(0)
    for step in range(steps):
        rows = [[i] for i in torch.randint(len(items), (16,), generator=draw).tolist()]
        batch = collate(items, rows, packed=False, pad_id=tokenizer.pad_token_id)
        for group in optimizer.param_groups:
            group["lr"] = 3e-3 * min(1, (step + 1) / 50) * (0.1 + 0.45 * (1 + math.cos(math.pi * step / steps)))
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        if step % 250 == 0 or step == steps - 1:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def auroc(positive: list[float], negative: list[float]) -> float:
    return sum((p > n) + 0.5 * (p == n) for p in positive for n in negative) / (len(positive) * len(negative))


def main() -> None:
    import torch

    from dqe.engine.config import load_config
    from dqe.engine.encoding import EncodingSettings
    from dqe.engine.plugins import load_plugins
    from dqe.score.run import score
    from dqe.train.scratch import build_model, build_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1, help="torch's CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = [{k: r[k] for k in ("instruction", "input", "output")} for r in json.loads(DATA.read_text("utf-8"))]
    random.Random(0).shuffle(records)
    held = records[900:1100]
    shuffled = [i % 2 == 1 for i in range(len(held))]
    planted = [
        {**r, "output": held[(i + 1) % len(held)]["output"]} if s else r
        for i, (r, s) in enumerate(zip(held, shuffled, strict=True))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["DQE_CACHE_DIR"] = str(folder / "cache")
        for path, rows in ((folder / "train.jsonl", records[:900]), (folder / "held.jsonl", planted)):
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        texts = [f"{r['instruction']}\n{r['input']}\n{r['output']}" for r in records]
        base = build_model(folder / "base", "tiny", build_tokenizer(texts, vocab_size=2000), seed=0)
        clock = time.perf_counter()
        train(base, folder / "trained", folder / "train.jsonl", args.steps)
        print(f"trained {args.steps} steps in {time.perf_counter() - clock:.0f} s")
        for name in ("base", "trained"):
            settings = EncodingSettings(model=str(folder / name), template="alpaca")
            result = score(
                [folder / "held.jsonl"],
                folder / f"{name}.jsonl",
                settings,
                load_config(None, discover=False),
                load_plugins(),
                device="cpu",
                echo=False,
            )
            assert len(result.ifd) == len(planted)
            pos = [v for v, s in zip(result.ifd, shuffled, strict=True) if s]
            neg = [v for v, s in zip(result.ifd, shuffled, strict=True) if not s]
            print(
                f"{name:<8} AUROC {auroc(pos, neg):.3f}; median IFD shuffled {statistics.median(pos):.3f}, "
                f"real {statistics.median(neg):.3f}; at or above 1: shuffled {sum(v >= 1 for v in pos)}/{len(pos)}, "
                f"real {sum(v >= 1 for v in neg)}/{len(neg)}"
            )


if __name__ == "__main__":
    main()
