"""Memory and time of the loss: dqe's chunked cross-entropy against whole logits.

Hidden states of N tokens (Llama-3.2-1B's hidden size 2048 and vocabulary 128256 by default)
go through the lm_head and the cross-entropy, forward and backward. Each variant runs in a fresh
process so that its peak memory is its own (GPU: max allocated; CPU: peak RSS of the process)::

    python benchmarks/bench_loss.py                          # 4096 tokens, CPU or GPU
    python benchmarks/bench_loss.py --tokens 16384 --supervised 0.5
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(variant: str, tokens: int, hidden: int, vocab: int, supervised: float, chunk: int) -> dict:
    import torch

    from dqe.train.loss import chunked_cross_entropy, full_cross_entropy

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    if not cuda:
        torch.set_num_threads(1)
    torch.manual_seed(0)  # the same lm_head in both processes
    gen = torch.Generator(device=device).manual_seed(0)
    head = torch.nn.Linear(hidden, vocab, bias=False, device=device, dtype=dtype).requires_grad_(False)
    h = torch.randn(1, tokens, hidden, device=device, dtype=dtype, generator=gen).requires_grad_(True)
    labels = torch.randint(0, vocab, (1, tokens), device=device, generator=gen)
    labels[:, : int(tokens * (1 - supervised))] = -100  # the prompt part
    before = torch.cuda.memory_allocated(device) if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    clock = time.perf_counter()
    if variant == "chunked":
        loss = chunked_cross_entropy(h, labels, head, chunk)
    else:
        loss = full_cross_entropy(head(h), labels)
    loss.backward()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - clock
    if cuda:
        extra = torch.cuda.max_memory_allocated(device) - before
    else:
        extra = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return {
        "variant": variant,
        "device": str(device),
        "seconds": round(seconds, 3),
        "extra_peak_gib": round(extra / 2**30, 3),
        "loss": float(loss),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, default=4096)
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--vocab", type=int, default=128256)
    p.add_argument("--supervised", type=float, default=1.0, help="share of tokens with a label")
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument("--variant", choices=("chunked", "full"), help=argparse.SUPPRESS)
    args = p.parse_args()
    shape = (args.tokens, args.hidden, args.vocab, args.supervised, args.chunk)
    if args.variant:
        print(json.dumps(measure(args.variant, *shape)))
        return
    base = [
        sys.executable,
        __file__,
        "--tokens",
        str(args.tokens),
        "--hidden",
        str(args.hidden),
        "--vocab",
        str(args.vocab),
    ]
    base += ["--supervised", str(args.supervised), "--chunk", str(args.chunk)]
    what = f"{args.tokens} tokens ({args.supervised:.0%} supervised)"
    print(f"{what}, hidden {args.hidden}, vocabulary {args.vocab:,}")
    for variant in ("full", "chunked"):
        done = subprocess.run([*base, "--variant", variant], capture_output=True, text=True, check=True)
        r = json.loads(done.stdout)
        peak = f"peak +{r['extra_peak_gib']:.2f} GiB"
        print(f"{variant:<8} {r['device']:<5} {r['seconds']:>7.2f} s  {peak}  loss {r['loss']:.4f}")


if __name__ == "__main__":
    main()
