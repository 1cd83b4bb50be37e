"""Training throughput and memory of dqe's LoRA trainer, against TRL's SFTTrainer.

On a GPU (the default there): a randomly initialised model with Llama-3.2-1B's shapes, LoRA r=16
on every linear layer of the blocks, bf16, gradient checkpointing, sequences of 2048 packed from
a corpus generated from the real data in ../shared/data (filtered through ``dqe filter`` first,
as a user would). It prints tokens/s and MFU, with FLOPs per token = 4N + 6N_lora + 12*L*d*T
(frozen weights need no weight gradients), and peak GPU memory. When ``trl`` is installed it
trains the same model (same initial weights), LoRA config, sequence length and tokens per step
with SFTTrainer (peft, packing on) in the same process, and prints the ratio. Last, a memory
check: Llama-3.1-8B's shapes with LoRA at sequence 4096, micro-batch 1.

On a CPU it runs the same code on a tiny Llama, so that the script itself is tested::

    python benchmarks/bench_train.py                                 # GPU: 1B, TRL, 8B memory
    python benchmarks/bench_train.py --preset tiny --steps 4         # CPU smoke run
    python benchmarks/bench_train.py --no-trl --memory-preset none   # dqe only
    python benchmarks/bench_train.py --preset tiny --method lora p-tuning prompt-tuning --no-trl
                                                                     # time per step of each method

P-tuning and prompt tuning train without packing (their virtual tokens come once per sequence),
so their tokens/s count the records' tokens of padded batches; seconds per step compare them.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CORPUS_FILES = (
    "rasbt_instruction_data.json",
    "llamafactory_alpaca_en_demo.json",
    "llamafactory_alpaca_zh_demo.json",
    "gsm8k_train_alpaca.json",
)
ROW = "{:<6} {:<14} {:<14} {:>5} {:>11} {:>10} {:>10} {:>6}  {}"
# Dense bf16 peak of the accelerators this is meant for, in FLOP/s.
PEAK_BF16 = {"H100 PCIe": 756e12, "H100": 989.4e12, "H200": 989.4e12, "A100": 312e12}


def peak_flops(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def build_corpus(folder: Path, records: int) -> Path:
    """Real Alpaca records (cycled up to ``records``), filtered through ``dqe filter``."""
    import dqe

    pool: list[dict] = []
    for name in CORPUS_FILES:
        path = DATA / name
        if path.exists():
            pool += json.loads(path.read_text("utf-8"))
    if not pool:
        sys.exit(f"no real data in {DATA}")
    raw = folder / "corpus.jsonl"
    with open(raw, "w", encoding="utf-8") as f:
        for i in range(records):
            f.write(json.dumps(pool[i % len(pool)], ensure_ascii=False) + "\n")
    ok = folder / "corpus.ok.jsonl"
    clock = time.perf_counter()
    result = dqe.filter(raw, ok, folder / "corpus.rejected.jsonl", template="alpaca")
    s = result.report.summary
    print(f"corpus: {s.records:,} records, {s.passed:,} passed the gate ({time.perf_counter() - clock:.1f}s)")
    return ok


def encode_corpus(ok: Path, tokenizer: Any, seq_len: int) -> list:
    from dqe.engine.config import load_config
    from dqe.engine.encoding import TemplateEncoder, fit_length
    from dqe.engine.plugins import load_plugins
    from dqe.train.data import read_examples

    registry = load_plugins()
    examples = read_examples(ok, load_config(None, discover=False), registry)
    encoder = TemplateEncoder(
        tokenizer,
        registry.templates["alpaca"],
        system=None,
        learn_all_turns=False,
        columns=load_config(None, discover=False).config.columns,
    )
    items = [fit_length(e, seq_len, "truncate")[0] for e in encoder.encode([e.record for e in examples])]
    return [i for i in items if i is not None]


def fresh_model(shape: str, tokenizer: Any, device: Any, dtype: Any, attention: str, seed: int = 0) -> Any:
    """A randomly initialised Llama of ``shape``, built on ``device`` (same weights for a seed)."""
    import torch
    from transformers import LlamaForCausalLM

    from dqe.train.scratch import model_config

    config = model_config(shape, len(tokenizer) if shape == "tiny" else None, tokenizer)
    config._attn_implementation = attention
    torch.manual_seed(seed)
    with torch.device(device):
        model = LlamaForCausalLM._from_config(config, dtype=dtype)
    model.config.use_cache = False
    return model


def flops_per_token(model: Any, seq_len: int) -> tuple[float, int, int]:
    """(4N + 6N_lora + 12*L*d*T, N, N_lora); N counts the weights used in matmuls (lm_head too)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    trainable = sum(p.numel() for p in base.parameters() if p.requires_grad)
    total = sum(p.numel() for p in base.parameters()) - trainable
    c = base.config
    if not c.tie_word_embeddings:
        total -= base.get_input_embeddings().weight.numel()
    return (
        4 * total + 6 * trainable + 12 * c.num_hidden_layers * c.hidden_size * seq_len,
        total,
        trainable,
    )


def peak_memory(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB RSS (process peak)"


def setup(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """Device, dtype and attention as ``dqe train`` picks them, with memory statistics reset."""
    import torch

    from dqe.train.model import pick_attention, pick_dtype

    device = torch.device(args.device)
    reset(device)
    return device, pick_dtype("auto", device), pick_attention("auto", device)


def reset(device: Any) -> None:
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def lora_settings() -> dict[str, Any]:
    return {
        "lora.r": 16,
        "lora.alpha": 32,
        "lora.dropout": 0.05,
        "optim.lr": 2e-4,
        "optim.warmup_steps": 1,
    }


def method_settings(method: str) -> dict[str, Any]:
    """LoRA r 16 as above; P-tuning and prompt tuning with peft's defaults as dqe sets them (20
    virtual tokens; P-tuning's MLP encoder as wide as the model)."""
    if method == "lora":
        return lora_settings()
    return {"method": method, "optim.lr": 2e-4, "optim.warmup_steps": 1}


def run_dqe(
    shape: str,
    items: list,
    tokenizer: Any,
    args: argparse.Namespace,
    *,
    seq_len: int,
    micro: int,
    accum: int,
    steps: int,
    method: str = "lora",
) -> dict:
    """dqe's Trainer (the loop ``dqe train`` runs) on a fresh model; tokens/s after warm-up."""
    import torch

    from dqe.engine.train_config import load_train_config
    from dqe.train.model import add_adapter
    from dqe.train.trainer import Hooks, Trainer

    device, dtype, attention = setup(args)
    with tempfile.TemporaryDirectory() as tmp:
        config = load_train_config(
            None,
            {
                "model": f"random {shape}",
                "data": Path(tmp) / "generated",
                "out": Path(tmp),
                "max-steps": args.warmup + steps,
                "batch.seq_len": seq_len,
                "batch.micro_batch_size": micro,
                "batch.grad_accum": accum,
                "log.every": 10**9,
                "log.tensorboard": False,
                "checkpoint.every": 10**9,
                **method_settings(method),
            },
        )
        model = add_adapter(fresh_model(shape, tokenizer, device, dtype, attention), config)
        flops, n, n_lora = flops_per_token(model, seq_len)
        marks: list[tuple[float, int, float]] = []
        hooks = Hooks(on_step=lambda s: marks.append((time.perf_counter(), s.tokens, time.process_time())))
        trainer = Trainer(
            config,
            model,
            items,
            [],
            device=device,
            dtype=dtype,
            packing=args.packing and not config.virtual_tokens,
            pad_id=tokenizer.pad_token_id,
            run_dir=Path(tmp),
            hooks=hooks,
            echo=False,
        )
        try:
            trainer.fit()
        except torch.cuda.OutOfMemoryError:
            return {
                "runner": "dqe",
                "shape": shape,
                "seq_len": seq_len,
                "result": "out of memory",
                "peak_memory": peak_memory(device),
            }
        (t0, k0, c0), (t1, k1, c1) = marks[args.warmup - 1], marks[-1]
        tokens_per_s = (k1 - k0) / (t1 - t0)
        out = {
            "runner": "dqe",
            "method": method,
            "shape": shape,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "attention": attention,
            "seq_len": seq_len,
            "tokens_per_step": (k1 - k0) / max(1, len(marks) - args.warmup),
            "steps_timed": len(marks) - args.warmup,
            "tokens_per_s": round(tokens_per_s, 1),
            "seconds_per_step": round((t1 - t0) / max(1, len(marks) - args.warmup), 4),
            # CPU time: what a quiet machine's wall clock shows for one thread, on a shared one
            "cpu_seconds_per_step": round((c1 - c0) / max(1, len(marks) - args.warmup), 4),
            "packing": trainer.packing,
            "params": n,
            "lora_params": n_lora,
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "flops_per_token": flops,
            "peak_memory": peak_memory(device),
            "final_loss": trainer.state.last_loss,
        }
        peak = peak_flops(out["device"])
        out["mfu"] = round(tokens_per_s * flops / peak, 4) if peak else None
        del trainer, model
    return out


def run_trl(
    shape: str,
    items: list,
    tokenizer: Any,
    args: argparse.Namespace,
    *,
    seq_len: int,
    micro: int,
    accum: int,
    steps: int,
) -> dict:
    """TRL's SFTTrainer with peft and packing, on the same tokens, model, LoRA and batch shape."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from dqe.train.model import TARGET_MODULES

    device, dtype, attention = setup(args)
    dataset = Dataset.from_dict(
        {"input_ids": [i.ids.tolist() for i in items], "labels": [i.labels.tolist() for i in items]}
    )
    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, _args, state, control, **kw):  # noqa: ANN001
            marks.append((time.perf_counter(), state.num_input_tokens_seen))

    with tempfile.TemporaryDirectory() as tmp:
        config = SFTConfig(
            output_dir=tmp,
            max_steps=args.warmup + steps,
            per_device_train_batch_size=micro,
            gradient_accumulation_steps=accum,
            learning_rate=2e-4,
            lr_scheduler_type="cosine",
            warmup_steps=1,
            bf16=device.type == "cuda",
            use_cpu=device.type != "cuda",
            gradient_checkpointing=True,
            gradient_checkpointing_kwargs={"use_reentrant": False},
            packing=True,
            max_length=seq_len,
            include_num_input_tokens_seen=True,
            logging_steps=10**9,
            save_strategy="no",
            report_to=[],
            seed=0,
        )
        model = fresh_model(shape, tokenizer, device, dtype, attention)
        lora = LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=0.05,
            target_modules=TARGET_MODULES["llama"],
            task_type="CAUSAL_LM",
        )
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[Clock()],
        )
        try:
            trainer.train()
        except torch.cuda.OutOfMemoryError:
            return {
                "runner": "trl",
                "shape": shape,
                "seq_len": seq_len,
                "result": "out of memory",
                "peak_memory": peak_memory(device),
            }
        (t0, k0), (t1, k1) = marks[args.warmup - 1], marks[-1]
        tokens_per_s = (k1 - k0) / (t1 - t0)
        flops, _, _ = flops_per_token(trainer.model, seq_len)
        out = {
            "runner": "trl",
            "trl": importlib.metadata.version("trl"),
            "shape": shape,
            "seq_len": seq_len,
            "tokens_per_step": (k1 - k0) / max(1, len(marks) - args.warmup),
            "steps_timed": len(marks) - args.warmup,
            "tokens_per_s": round(tokens_per_s, 1),
            "peak_memory": peak_memory(device),
        }
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        peak = peak_flops(name)
        out["mfu"] = round(tokens_per_s * flops / peak, 4) if peak else None
        del trainer, model
    return out


def main() -> None:
    import torch

    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--preset",
        default="llama-3.2-1b" if cuda else "tiny",
        choices=("tiny", "llama-3.2-1b", "llama-3.1-8b"),
    )
    p.add_argument("--device", default="cuda" if cuda else "cpu")
    p.add_argument("--seq-len", type=int, default=2048 if cuda else 256)
    p.add_argument("--micro-batch-size", type=int, default=4 if cuda else 2)
    p.add_argument("--grad-accum", type=int, default=2)
    p.add_argument("--steps", type=int, default=20 if cuda else 4, help="timed optimizer steps")
    p.add_argument("--warmup", type=int, default=3 if cuda else 1, help="untimed steps first (at least 1)")
    p.add_argument(
        "--records",
        type=int,
        default=20000 if cuda else 600,
        help="records in the generated corpus",
    )
    p.add_argument(
        "--vocab",
        type=int,
        default=8000 if cuda else 600,
        help="BPE vocabulary trained on the corpus",
    )
    p.add_argument(
        "--trl",
        action=argparse.BooleanOptionalAction,
        default=importlib.util.find_spec("trl") is not None,
    )
    p.add_argument(
        "--memory-preset",
        default="llama-3.1-8b" if cuda else "tiny",
        choices=("none", "tiny", "llama-3.2-1b", "llama-3.1-8b"),
    )
    p.add_argument("--memory-seq-len", type=int, default=4096 if cuda else 512)
    p.add_argument(
        "--method",
        nargs="+",
        default=["lora"],
        choices=("lora", "p-tuning", "prompt-tuning"),
        help="training methods to time, one after the other (TRL is compared with LoRA)",
    )
    p.add_argument(
        "--packing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="pack LoRA's sequences (prompt methods never pack); --no-packing times every method on the same batches",
    )
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()
    if args.warmup < 1 or args.steps < 1:
        p.error("--warmup and --steps must be at least 1")
    if not cuda:
        torch.set_num_threads(1)  # a shared CPU: more threads only wait on each other

    from dqe.train.scratch import build_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        ok = build_corpus(Path(tmp), args.records)
        texts = [" ".join(str(v) for v in json.loads(line).values()) for line in ok.read_text("utf-8").splitlines()]
        clock = time.perf_counter()
        tokenizer = build_tokenizer(texts, vocab_size=args.vocab)
        longest = max(args.seq_len, args.memory_seq_len)
        items = encode_corpus(ok, tokenizer, longest)
        print(
            f"tokenizer: BPE {len(tokenizer):,} tokens; {len(items):,} records encoded "
            f"({time.perf_counter() - clock:.1f}s)"
        )

    shape = dict(seq_len=args.seq_len, micro=args.micro_batch_size, accum=args.grad_accum, steps=args.steps)
    fits = [i for i in items if len(i) <= args.seq_len]
    results = [run_dqe(args.preset, fits, tokenizer, args, **shape, method=m) for m in args.method]
    for r in results:
        print(json.dumps(r))
    if args.trl and "lora" in args.method:
        results.append(run_trl(args.preset, fits, tokenizer, args, **shape))
        print(json.dumps(results[-1]))
        if "tokens_per_s" in results[-1]:
            ratio = results[args.method.index("lora")]["tokens_per_s"] / results[-1]["tokens_per_s"]
            print(f"dqe / trl tokens/s: {ratio:.2f}x (goal: >= 1.3x, with no more peak memory)")
    if args.memory_preset != "none":
        memory = run_dqe(
            args.memory_preset,
            items,
            tokenizer,
            args,
            seq_len=args.memory_seq_len,
            micro=1,
            accum=1,
            steps=2,
        )
        results.append({**memory, "check": "memory"})
        print(json.dumps(results[-1]))
    print()
    print(ROW.format("runner", "method", "shape", "seq", "tokens/step", "tokens/s", "CPU s/step", "MFU", "peak memory"))
    for r in results:
        method = r.get("method", "lora")
        if "tokens_per_s" not in r:
            print(ROW.format(r["runner"], method, r["shape"], r["seq_len"], "", r["result"], "", "", r["peak_memory"]))
            continue
        mfu = f"{r['mfu']:.1%}" if r.get("mfu") is not None else "n/a"
        step, speed = f"{r['tokens_per_step']:,.0f}", f"{r['tokens_per_s']:,.0f}"
        per_step = f"{r['cpu_seconds_per_step']:.3f}" if "cpu_seconds_per_step" in r else ""
        print(ROW.format(r["runner"], method, r["shape"], r["seq_len"], step, speed, per_step, mfu, r["peak_memory"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
