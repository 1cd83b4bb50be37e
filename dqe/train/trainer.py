"""The training loop: AdamW, warm-up and cosine decay, gradient accumulation and clipping,
validation with early stopping, checkpoints, exact resume, Ctrl-C.

The loss of a step is the mean cross-entropy over the supervised tokens of all its
micro-batches, however they were packed or padded, so packing changes speed, not the objective.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from dqe.errors import TrainingInterrupted
from dqe.train.batches import BatchPlan, Rows, collate, supervised_count, token_count
from dqe.train.checkpoint import (
    load_adapter_weights,
    load_checkpoint,
    restore_rng,
    rng_snapshot,
    save_checkpoint,
)
from dqe.train.config import TrainConfig
from dqe.train.encode import Encoded
from dqe.train.loss import loss_sum, mean_loss
from dqe.train.model import head_and_body
from dqe.train.monitor import Monitor
from dqe.train.runfolder import checkpoints, write_json


@dataclass
class Hooks:
    """Calls into a run, for tests and benchmarks."""

    on_batch: Callable[[dict[str, torch.Tensor]], None] | None = None  # each micro-batch, on the CPU
    on_step: Callable[[TrainState], None] | None = None  # after each optimizer step


@dataclass
class TrainState:
    """What a checkpoint holds besides tensors: where the run is, and what it has seen."""

    step: int = 0
    epoch: int = 0
    cursor: int = 0  # micro-batches of this epoch already trained on
    tokens: int = 0
    supervised_tokens: int = 0
    seconds: float = 0.0  # time in training steps (evaluation excluded)
    last_loss: float | None = None
    best_val: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    last_val: float | None = None
    stopped: str | None = None  # why the loop ended: epochs, max-steps, early-stopping
    history: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, float] = field(default_factory=dict)  # sums since the last logged row


class WarmupCosine:
    """Linear warm-up to the peak learning rate, then cosine decay to ``min_ratio`` of it."""

    def __init__(self, warmup: int, total: int, min_ratio: float):
        self.warmup = warmup
        self.total = total
        self.min_ratio = min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / (self.warmup + 1)
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        model: Any,
        train: Sequence[Encoded],
        val: Sequence[Encoded],
        *,
        device: torch.device,
        dtype: torch.dtype,
        packing: bool,
        pad_id: int,
        run_dir: Path,
        hooks: Hooks | None = None,
        echo: bool = True,
    ):
        self.config = config
        self.model = model
        self.train_items = list(train)
        self.val_items = list(val)
        self.device = device
        self.dtype = dtype
        self.packing = packing
        self.pad_id = pad_id
        self.run_dir = run_dir
        self.hooks = hooks or Hooks()
        self.echo = echo
        b = config.batch
        self.plan = BatchPlan(
            [len(e) for e in self.train_items],
            seq_len=b.seq_len,
            rows=b.micro_batch_size,
            packing=packing,
            seed=config.seed,
        )
        self.val_plan = BatchPlan(
            [len(e) for e in self.val_items],
            seq_len=b.seq_len,
            rows=b.micro_batch_size,
            packing=packing,
            seed=config.seed,
        )
        self.steps_per_epoch = max(1, math.ceil(len(self.plan.epoch(0)) / b.grad_accum))
        total = math.ceil(config.epochs * self.steps_per_epoch)
        self.total_steps = min(total, config.max_steps) if config.max_steps else total
        o = config.optim
        warmup = o.warmup_steps if o.warmup_steps is not None else math.ceil(o.warmup_ratio * self.total_steps)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.params,
            lr=o.lr,
            betas=o.betas,
            weight_decay=o.weight_decay,
            fused=device.type == "cuda",
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, WarmupCosine(warmup, self.total_steps, o.min_lr_ratio)
        )
        self.head = head_and_body(model)
        self.state = TrainState()
        self._rng = rng_snapshot()
        self._stop = False

    # -- one forward pass -----------------------------------------------------------------

    def loss_sum(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Summed cross-entropy over the batch's supervised tokens."""
        return loss_sum(
            self.model,
            self.head,
            batch,
            device=self.device,
            dtype=self.dtype,
            chunk=self.config.batch.loss_chunk,
        )

    def _batch(self, items: Sequence[Encoded], rows: Rows) -> dict[str, torch.Tensor]:
        batch = collate(items, rows, packed=self.packing, pad_id=self.pad_id)
        if self.hooks.on_batch:
            self.hooks.on_batch(batch)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    @torch.no_grad()
    def evaluate(self, items: Sequence[Encoded] | None = None) -> float | None:
        """Mean cross-entropy per supervised token over ``items`` (the validation split)."""
        items = self.val_items if items is None else list(items)
        if not items:
            return None
        plan = (
            self.val_plan
            if items is self.val_items
            else BatchPlan(
                [len(e) for e in items],
                seq_len=self.config.batch.seq_len,
                rows=self.config.batch.micro_batch_size,
                packing=self.packing,
                seed=0,
            )
        )
        return mean_loss(
            self.model,
            items,
            plan,
            packing=self.packing,
            pad_id=self.pad_id,
            device=self.device,
            dtype=self.dtype,
            chunk=self.config.batch.loss_chunk,
            on_batch=self.hooks.on_batch,
        )[0]

    # -- checkpoints ----------------------------------------------------------------------

    def save(self) -> Path:
        return save_checkpoint(
            self.run_dir,
            self.model,
            self.optimizer,
            self.scheduler,
            self._rng,
            asdict(self.state),
            self.config.checkpoint.keep,
        )

    def resume(self, path: Path) -> None:
        state, rng = load_checkpoint(path, self.model, self.optimizer, self.scheduler)
        self.state = TrainState(**state)
        self._rng = rng
        restore_rng(rng)

    def restore_best(self) -> Path | None:
        """Put the best validation adapter back into the model; its folder, if there is one."""
        best = self.run_dir / "best"
        if self.state.best_step is None or not best.is_dir():
            return None
        load_adapter_weights(self.model, best)
        return best

    # -- the loop -------------------------------------------------------------------------

    def _on_sigint(self, monitor: Monitor, previous: Any) -> Callable[[int, Any], None]:
        def handler(signum: int, frame: Any) -> None:
            if self._stop:  # a second Ctrl-C: stop now, without a checkpoint
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            self._stop = True
            monitor.say("Ctrl-C: saving a checkpoint after this step (press again to abort without one)")

        return handler

    def _peak_memory(self) -> float | None:
        if self.device.type != "cuda":
            return None
        return torch.cuda.max_memory_allocated(self.device) / 2**30

    def _validate(self, monitor: Monitor) -> bool:
        """Evaluate, keep the best adapter; True when early stopping says stop."""
        s = self.state
        val = self.evaluate()
        if val is None:
            return False
        s.last_val = val
        monitor.record(
            {
                "step": s.step,
                "epoch": s.epoch,
                "split": "val",
                "loss": val,
                "elapsed_s": round(s.seconds, 3),
            }
        )
        s.history.append(monitor.rows[-1])
        e = self.config.eval
        if s.best_val is None or val < s.best_val - e.min_delta:
            s.best_val, s.best_step, s.bad_evals = val, s.step, 0
            self.model.save_pretrained(str(self.run_dir / "best"))
            write_json(self.run_dir / "best" / "best.json", {"step": s.step, "val_loss": val})
            return False
        s.bad_evals += 1
        return e.patience is not None and s.bad_evals >= e.patience

    def fit(self, resume: Path | None = None) -> TrainState:
        if resume is not None:
            self.resume(resume)
        s = self.state
        c = self.config
        monitor = Monitor(self.run_dir, self.total_steps, s.history, tensorboard=c.log.tensorboard, echo=self.echo)
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._on_sigint(monitor, previous))
        self.model.train()
        window = s.window = s.window or dict.fromkeys(("loss", "supervised", "tokens", "seconds"), 0.0)
        plan_epoch, plan = -1, []
        try:
            if s.step == 0 and not s.history and self.val_items:
                self._validate(monitor)  # the baseline: where validation loss starts
            while s.stopped is None and s.step < self.total_steps:
                if plan_epoch != s.epoch:
                    plan_epoch, plan = s.epoch, self.plan.epoch(s.epoch)
                if s.cursor >= len(plan):
                    s.epoch, s.cursor = s.epoch + 1, 0
                    continue
                group = plan[s.cursor : s.cursor + c.batch.grad_accum]
                started = time.perf_counter()
                n_sup = supervised_count(self.train_items, group)
                step_loss = torch.zeros((), dtype=torch.float64, device=self.device)
                for rows in group:
                    summed = self.loss_sum(self._batch(self.train_items, rows))
                    (summed / n_sup).backward()
                    step_loss += summed.detach().double()
                grad_norm = (
                    torch.nn.utils.clip_grad_norm_(self.params, c.optim.max_grad_norm)
                    if c.optim.max_grad_norm
                    else None
                )
                lr = self.scheduler.get_last_lr()[0]
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                loss = float(step_loss) / n_sup
                seconds = time.perf_counter() - started
                n_tokens = token_count(self.train_items, group)
                s.step, s.cursor = s.step + 1, s.cursor + len(group)
                s.tokens += n_tokens
                s.supervised_tokens += n_sup
                s.seconds += seconds
                s.last_loss = loss
                self._rng = rng_snapshot()  # as of the end of this step: what a resume restarts from
                window["loss"] += loss * n_sup
                window["supervised"] += n_sup
                window["tokens"] += n_tokens
                window["seconds"] += seconds
                monitor.advance(s.step, loss)
                last = s.step == self.total_steps
                if s.step % c.log.every == 0 or last:
                    monitor.record(
                        {
                            "step": s.step,
                            "epoch": s.epoch,
                            "split": "train",
                            "loss": window["loss"] / window["supervised"],
                            "lr": lr,
                            "grad_norm": float(grad_norm) if grad_norm is not None else None,
                            "tokens": s.tokens,
                            "supervised_tokens": s.supervised_tokens,
                            "tokens_per_s": window["tokens"] / window["seconds"] if window["seconds"] else None,
                            "peak_mem_gb": self._peak_memory(),
                            "elapsed_s": round(s.seconds, 3),
                        }
                    )
                    s.history.append(monitor.rows[-1])
                    window.update(dict.fromkeys(window, 0.0))
                stop = False
                if self.val_items and (s.step % c.eval.every == 0 or last):
                    stop = self._validate(monitor)
                if stop:
                    s.stopped = "early-stopping"
                    monitor.say(f"early stopping: validation loss did not improve for {s.bad_evals} evaluations")
                if s.step % c.checkpoint.every == 0 or last or stop:
                    self.save()
                if self.hooks.on_step:
                    self.hooks.on_step(s)
                if self._stop and not (last or stop):
                    raise TrainingInterrupted(s.step, self.save())
                if stop:
                    break
            if s.stopped is None:
                s.stopped = "max-steps" if c.max_steps and s.step >= c.max_steps else "epochs"
            return s
        finally:
            monitor.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    @staticmethod
    def latest_checkpoint(run_dir: Path) -> Path | None:
        found = checkpoints(run_dir)
        return found[-1] if found else None
