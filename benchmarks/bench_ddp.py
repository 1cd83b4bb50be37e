"""``dqe train --nproc N`` against one process: the losses of every logged step, and a resume.

Real Alpaca records from ../shared/data (filtered through ``dqe filter`` first, as a user would),
a tiny Llama and BPE tokenizer built locally from them (no download), LoRA with dropout 0 (each
process draws its own dropout masks, so only dropout-free runs can match step by step). Three
runs of the same config: one process; N processes; N processes stopped by a Ctrl-C that only
the last rank sees, then ``--resume``d. It prints each logged loss of the three, the largest
differences, and the training time of each run (on CPU with gloo; a shared machine's timings
are noise)::

    python benchmarks/bench_ddp.py                              # 2 processes, CPU
    python benchmarks/bench_ddp.py --nproc 4 --grad-accum 4     # more processes
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RASBT = ROOT.parent / "shared" / "data" / "rasbt_instruction_data.json"


def ctrl_c_on_last_rank(step: int) -> Any:
    """An ``on_step`` hook that sends Ctrl-C to the last rank alone after ``step``."""
    from functools import partial

    return partial(_ctrl_c, step)


def _ctrl_c(step: int, state: Any) -> None:
    import torch.distributed as dist

    if state.step == step and dist.get_rank() == dist.get_world_size() - 1:
        os.kill(os.getpid(), signal.SIGINT)


def logged(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--records", type=int, default=400, help="rasbt records filtered and trained on")
    p.add_argument("--steps", type=int, default=24, help="optimizer steps of each run")
    p.add_argument("--interrupt-at", type=int, default=10, help="step after which Ctrl-C stops the third run")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--micro-batch-size", type=int, default=2)
    p.add_argument("--grad-accum", type=int, default=2)
    p.add_argument("--keep", type=Path, help="keep the run folders here (default: a temporary folder)")
    args = p.parse_args()
    if not RASBT.exists():
        sys.exit(f"no real data at {RASBT}")

    import torch

    import dqe
    from dqe.engine.train_config import load_train_config
    from dqe.errors import TrainingInterrupted
    from dqe.train.run import train
    from dqe.train.scratch import build_model, build_tokenizer
    from dqe.train.trainer import Hooks

    torch.set_num_threads(1)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-ddp-"))
    folder.mkdir(parents=True, exist_ok=True)
    records = json.loads(RASBT.read_text("utf-8"))[: args.records]
    source = folder / "data.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    ok = folder / "ok.jsonl"
    dqe.filter(source, ok, folder / "rejected.jsonl")
    texts = [f"{r['instruction']}\n{r['input']}\n{r['output']}" for r in records]
    model = build_model(folder / "tiny-llama", "tiny", build_tokenizer(texts, vocab_size=600), seed=0)

    def config(out: str) -> Any:
        return load_train_config(
            None,
            {
                "model": str(model),
                "data": ok,
                "out": folder / out,
                "template": "alpaca",
                "max_steps": args.steps,
                "batch.seq_len": args.seq_len,
                "batch.micro_batch_size": args.micro_batch_size,
                "batch.grad_accum": args.grad_accum,
                "lora.dropout": 0.0,
                "optim.lr": 1e-2,
                "optim.warmup_steps": 2,
                "log.every": 1,
                "log.tensorboard": False,
                "eval.every": 6,
                "eval.patience": None,
            },
        )

    n = args.nproc
    one = train(config("one"), echo=False)
    many = train(config(f"n{n}"), echo=False, nproc=n)
    try:
        train(config("resumed"), echo=False, nproc=n, hooks=Hooks(on_step=ctrl_c_on_last_rank(args.interrupt_at)))
        sys.exit("the Ctrl-C did not stop the run")
    except TrainingInterrupted as stop:
        print(f"{n} processes: Ctrl-C seen by rank {n - 1} alone after step {args.interrupt_at}: {stop}")
    resumed = train(config("resumed"), echo=False, nproc=n, resume=folder / "resumed")

    rows = zip(logged(one.run_dir), logged(many.run_dir), logged(resumed.run_dir), strict=True)
    print(f"\n{'step':>4} {'split':<5} {'1 process':>19} {f'{n} processes':>19} {'|diff|':>9}  resumed")
    worst = {"train": 0.0, "val": 0.0}
    worst_resume = 0.0
    for a, b, c in rows:
        assert (a["step"], a["split"]) == (b["step"], b["split"]) == (c["step"], c["split"])
        diff = abs(a["loss"] - b["loss"])
        worst[a["split"]] = max(worst[a["split"]], diff)
        worst_resume = max(worst_resume, abs(c["loss"] - b["loss"]))
        same = "same" if c["loss"] == b["loss"] else f"{c['loss']:.17f}"
        print(f"{a['step']:>4} {a['split']:<5} {a['loss']:>19.15f} {b['loss']:>19.15f} {diff:>9.2e}  {same}")
    t1, tn = (r.manifest["training"] for r in (one, many))
    print(
        f"\nlargest |1 process - {n} processes|: train loss {worst['train']:.2e}, validation loss {worst['val']:.2e}; "
        f"test loss {one.manifest['losses']['test']:.15f} vs {many.manifest['losses']['test']:.15f}"
    )
    print(f"largest |resumed at step {args.interrupt_at} - uninterrupted| over every logged loss: {worst_resume:.2e}")
    print(
        f"training time: 1 process {t1['train_seconds']:.1f} s, {n} processes {tn['train_seconds']:.1f} s "
        f"({t1['tokens']} tokens each; CPU, gloo)"
    )
    print(f"run folders: {folder}")


if __name__ == "__main__":
    main()
