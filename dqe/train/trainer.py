"""The training loop: AdamW, warm-up and cosine decay, gradient accumulation and clipping,
validation with early stopping, checkpoints, exact resume, Ctrl-C, on one process or several.

The loss of a step is the mean cross-entropy over the supervised tokens of all its
micro-batches, however they were packed or padded, so packing changes speed, not the objective.
With several processes (``dqe.train.distributed``) each trains on its share of the step's
micro-batches under DistributedDataParallel, and the step is the same step.
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
from torch.nn.parallel import DistributedDataParallel

from dqe.engine.encoding import IGNORE, Encoded
from dqe.engine.train_config import TrainConfig
from dqe.errors import ConfigError, TrainingInterrupted
from dqe.train.batches import BatchPlan, Rows, collate, supervised_count, token_count
from dqe.train.checkpoint import (
    checkpoint_path,
    load_adapter_weights,
    load_checkpoint,
    restore_rng,
    rng_snapshot,
    save_adapter,
    save_checkpoint,
)
from dqe.train.distributed import World, no_sync
from dqe.train.loss import loss_sum, record_losses, summed_loss
from dqe.train.model import head_and_body
from dqe.train.monitor import Monitor
from dqe.train.runfolder import checkpoints, read_json, write_json


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
    processes: int = 1  # the training processes that wrote the checkpoint (each has its random states)
    first_epoch_losses: list[float] | None = None  # each training record's loss after the first epoch
    loss_pass_seconds: float = 0.0  # time in the passes that measure every training record's loss
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


class StepLoss(torch.nn.Module):
    """The summed loss of a micro-batch as a module's forward pass, which is what DDP wraps:
    its gradient hooks fire for what ran through its forward."""

    def __init__(self, model: Any, head: tuple[Any, Any] | None, device: torch.device, dtype: torch.dtype, chunk: int):
        super().__init__()
        self.model = model
        self.head = head
        self.device = device
        self.dtype = dtype
        self.chunk = chunk

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return loss_sum(self.model, self.head, batch, device=self.device, dtype=self.dtype, chunk=self.chunk)


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
        world: World | None = None,
    ):
        self.config = config
        self.world = world or World()
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
        micro_batches = len(self.plan.epoch(0))
        if micro_batches < self.world.size:
            raise ConfigError(
                f"--nproc {self.world.size}: the training split fills only {micro_batches} micro-batches an epoch, "
                f"fewer than the {self.world.size} processes that share them; use at most {micro_batches} processes"
            )
        self.steps_per_epoch = max(1, math.ceil(micro_batches / b.grad_accum))
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
        self.step_loss: torch.nn.Module = StepLoss(model, self.head, device, dtype, b.loss_chunk)
        if self.world.size > 1:
            self.world.same_as_rank0(self.params)  # rather than DDP's copy of every frozen base weight
            self.step_loss = DistributedDataParallel(
                self.step_loss,
                device_ids=[device.index] if device.type == "cuda" else None,
                init_sync=False,
                forward_sync_buffers=False,  # rotary tables and the like: the same on every rank by construction
            )
        self.state = TrainState(processes=self.world.size)
        self._rng = rng_snapshot()
        self._stop = False

    def release(self) -> None:
        """Drop the DDP wrapper while the process group is still there. A DDP reducer that
        outlives the group takes it down holding the GIL, which deadlocks with gloo's threads."""
        if isinstance(self.step_loss, DistributedDataParallel):
            self.step_loss = self.step_loss.module

    # -- one forward pass -----------------------------------------------------------------

    def _batch(self, items: Sequence[Encoded], rows: Rows) -> dict[str, torch.Tensor]:
        batch = collate(items, rows, packed=self.packing, pad_id=self.pad_id)
        if self.hooks.on_batch:
            self.hooks.on_batch(batch)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _fixed_plan(self, items: Sequence[Encoded]) -> BatchPlan:
        """Batches of ``items`` for a pass without gradients, the same every time."""
        b = self.config.batch
        return BatchPlan(
            [len(e) for e in items], seq_len=b.seq_len, rows=b.micro_batch_size, packing=self.packing, seed=0
        )

    def _no_grad_pass(self) -> dict[str, Any]:
        """How a pass without gradients batches its items: as training does (validation and the
        records' losses)."""
        return {
            "packing": self.packing,
            "pad_id": self.pad_id,
            "device": self.device,
            "dtype": self.dtype,
            "chunk": self.config.batch.loss_chunk,
        }

    @torch.no_grad()
    def evaluate(self, items: Sequence[Encoded] | None = None) -> float | None:
        """Mean cross-entropy per supervised token over ``items`` (the validation split), each
        process evaluating its share of the batches."""
        items = self.val_items if items is None else list(items)
        if not items:
            return None
        plan = self.val_plan if items is self.val_items else self._fixed_plan(items)
        total, count = summed_loss(
            self.model,
            items,
            self.world.share(plan.fixed()),
            **self._no_grad_pass(),
            on_batch=self.hooks.on_batch,
        )
        both = self.world.sum(torch.stack([total, torch.tensor(float(count), dtype=torch.float64, device=self.device)]))
        return float(both[0]) / max(int(both[1]), 1)

    def record_losses(self) -> list[float]:
        """Each training record's mean loss per supervised token, in the order of the training
        items: a pass without gradients over the split in fixed batches, each process taking its
        share and every process getting every loss."""
        started = time.perf_counter()
        plan = self._fixed_plan(self.train_items)
        sums = record_losses(
            self.model,
            self.train_items,
            self.world.share(plan.fixed()),
            **self._no_grad_pass(),
        )
        losses = self.world.sum(sums).tolist()
        self.state.loss_pass_seconds += time.perf_counter() - started
        return [total / max(e.supervised, 1) for total, e in zip(losses, self.train_items, strict=True)]

    # -- checkpoints ----------------------------------------------------------------------

    def save(self) -> Path:
        """A checkpoint, written by rank 0 with every rank's random states; its folder."""
        rngs = self.world.gather(self._rng)
        if not self.world.main:
            return checkpoint_path(self.run_dir, self.state.step)
        return save_checkpoint(
            self.run_dir,
            self.model,
            self.optimizer,
            self.scheduler,
            rngs,
            asdict(self.state),
            self.config.checkpoint.keep,
        )

    def resume(self, path: Path) -> None:
        processes = read_json(path / "state.json").get("processes", 1)
        if processes != self.world.size:
            raise ConfigError(
                f"--resume: {path} was written by {processes} training processes, and this run has "
                f"{self.world.size}; resume with --nproc {processes} (each process's random states continue)"
            )
        state, rng = load_checkpoint(path, self.model, self.optimizer, self.scheduler, self.world.rank)
        self.state = TrainState(**state)
        self._rng = rng
        restore_rng(rng)

    def restore_best(self) -> Path | None:
        """Put the best validation adapter back into the model; its folder, if there is one."""
        best = self.run_dir / "best"
        self.world.barrier()  # rank 0 wrote it
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
            if self.world.main:
                save_adapter(self.model, self.run_dir / "best")
                write_json(self.run_dir / "best" / "best.json", {"step": s.step, "val_loss": val})
            return False
        s.bad_evals += 1
        return e.patience is not None and s.bad_evals >= e.patience

    def _step(self, group: list[Rows], n_sup: int) -> torch.Tensor:
        """Forward and backward passes of this rank's share of a step: the step's summed loss
        over all ranks (float64). Gradients are scaled so that DDP's average over ranks is the
        gradient of the mean over the step's ``n_sup`` supervised tokens."""
        mine = self.world.share(group)
        step_loss = torch.zeros((), dtype=torch.float64, device=self.device)
        for i, rows in enumerate(mine):
            with no_sync(self.step_loss, last=i == len(mine) - 1):
                summed = self.step_loss(self._batch(self.train_items, rows))
                (summed / n_sup * self.world.size).backward()
            step_loss += summed.detach().double()
        if not mine:  # the end of an epoch left this rank no micro-batch: it still joins the all-reduce
            batch = self._batch(self.train_items, group[0][:1])
            batch["labels"].fill_(IGNORE)  # nothing supervised: a gradient of zeros
            self.step_loss(batch).backward()
        return self.world.sum(step_loss)

    def fit(self, resume: Path | None = None) -> TrainState:
        if resume is not None:
            self.resume(resume)
        s = self.state
        c = self.config
        main = self.world.main
        monitor = Monitor(
            self.run_dir,
            self.total_steps,
            s.history,
            tensorboard=c.log.tensorboard,
            echo=self.echo and main,
            write=main,
        )
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
                step_loss = self._step(group, n_sup)
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
                if s.epoch == 0 and s.cursor >= len(plan) and s.first_epoch_losses is None:
                    s.first_epoch_losses = self.record_losses()  # before the checkpoint, which keeps them
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
                if self.world.any(self._stop) and not (last or stop):  # all ranks stop after one step
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
