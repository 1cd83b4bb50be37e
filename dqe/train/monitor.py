"""Watching a run: a progress bar, metrics as JSONL and CSV, TensorBoard, the loss plot.

Every logged row goes to ``metrics.jsonl`` and ``metrics.csv`` in the run folder (and to
TensorBoard when it is installed); the files are rewritten from the checkpoint's history on
resume, so they never hold rows of steps that were redone. With several training processes,
rank 0's monitor alone writes and speaks.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import orjson

from dqe.io.writers import atomic_output

FIELDS = (
    "step",
    "epoch",
    "split",
    "loss",
    "lr",
    "grad_norm",
    "tokens",
    "supervised_tokens",
    "tokens_per_s",
    "peak_mem_gb",
    "elapsed_s",
)


def _format(row: dict[str, Any]) -> str:
    parts = [f"step {row['step']}", f"{row['split']} loss {row['loss']:.4f}"]
    if row.get("lr") is not None:
        parts.append(f"lr {row['lr']:.2e}")
    if row.get("grad_norm") is not None:
        parts.append(f"grad-norm {row['grad_norm']:.3f}")
    if row.get("tokens_per_s"):
        parts.append(f"{row['tokens_per_s']:,.0f} tokens/s")
    if row.get("peak_mem_gb"):
        parts.append(f"peak {row['peak_mem_gb']:.1f} GiB")
    return "  ".join(parts)


class Monitor:
    def __init__(
        self,
        run_dir: Path,
        total_steps: int,
        history: list[dict[str, Any]],
        *,
        tensorboard: bool,
        echo: bool,
        write: bool = True,
    ):
        self.run_dir = run_dir
        self.rows = list(history)
        self.echo = echo
        self.write = write
        if write:
            self._rewrite()
        self.tensorboard = None
        if tensorboard and write:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tensorboard = SummaryWriter(
                    str(run_dir / "tensorboard"),
                    purge_step=(history[-1]["step"] + 1) if history else None,
                )
            except ImportError:  # tensorboard is not installed: the JSONL and CSV files remain
                self.tensorboard = None
        self._progress = None
        if echo and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[loss]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
            done = history[-1]["step"] if history else 0
            self._task = self._progress.add_task("train", total=total_steps, completed=done, loss="")

    def _rewrite(self) -> None:
        with atomic_output(self.run_dir / "metrics.jsonl") as f:
            for row in self.rows:
                f.write(orjson.dumps(row) + b"\n")
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_output(self.run_dir / "metrics.csv") as f:
            f.write(text.getvalue().encode())

    def record(self, row: dict[str, Any]) -> None:
        row = {k: row.get(k) for k in FIELDS}
        self.rows.append(row)
        if not self.write:
            return
        with open(self.run_dir / "metrics.jsonl", "ab") as f:
            f.write(orjson.dumps(row) + b"\n")
        with open(self.run_dir / "metrics.csv", "a", newline="") as f:
            csv.DictWriter(f, fieldnames=FIELDS).writerow(row)
        if self.tensorboard is not None:
            for key in ("loss", "lr", "grad_norm", "tokens_per_s", "peak_mem_gb"):
                if row.get(key) is not None:
                    self.tensorboard.add_scalar(f"{row['split']}/{key}", row[key], row["step"])
        self.say(_format(row))

    def say(self, line: str) -> None:
        if not self.echo:
            return
        if self._progress is not None:
            self._progress.console.print(line, highlight=False, markup=False)
        else:
            print(line, file=sys.stderr, flush=True)

    def advance(self, step: int, loss: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=step, loss=f"loss {loss:.4f}")

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.tensorboard is not None:
            self.tensorboard.close()
            self.tensorboard = None


def plot_losses(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Training and validation loss against steps as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for split, style in (("train", "-"), ("val", "o-")):
        points = [(r["step"], r["loss"]) for r in rows if r["split"] == split and r["loss"] is not None]
        if points:
            ax.plot(*zip(*points, strict=True), style, label=f"{split} loss", markersize=4)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy per supervised token")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_output(path) as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return path
