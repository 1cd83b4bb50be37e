"""Training on several processes: who is who, the process group, each rank's share of a step.

Every rank builds the same batch plan (a function of seed and epoch), so all of them know every
step's micro-batches; rank r trains on its contiguous share of them. DDP averages the gradients,
so each rank scales its loss by the number of ranks, and the step's loss is summed over ranks:
N processes train on the same global batch as one, with the same losses. Rank 0 alone writes the
run folder.

Two ways in: ``dqe train --nproc N`` starts N processes itself (``spawn``, a rendezvous on
127.0.0.1 at a free port), and torchrun or ``accelerate launch`` start them with RANK,
WORLD_SIZE and LOCAL_RANK set (``world_from_env``). Nothing here imports torch at module level:
the CLI reads the world without it.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from dqe.errors import USER_ERRORS, ConfigError, GateRefused, TrainingInterrupted

if TYPE_CHECKING:
    import torch

T = TypeVar("T")
# What a rank reports to the launching process, to be raised there as itself (exit codes 1, 2, 130).
REPORTED = (*USER_ERRORS, GateRefused, TrainingInterrupted, KeyboardInterrupt)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 when alone)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this rank writes the run folder and speaks."""
        return self.rank == 0

    def share(self, items: Sequence[T]) -> list[T]:
        """This rank's contiguous share of ``items`` (sizes differ by at most one)."""
        n = len(items)
        return list(items[n * self.rank // self.size : n * (self.rank + 1) // self.size])

    # -- collectives: no-ops for a world of one ---------------------------------------------

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over ranks, in place."""
        if self.size > 1:
            import torch.distributed as dist

            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is set on some rank (a Ctrl-C seen by one rank stops all at one step)."""
        if self.size == 1:
            return flag
        import torch

        seen = torch.tensor([int(flag)], device=_collective_device())
        return bool(self.sum(seen).item())

    def gather(self, obj: T) -> list[T]:
        """Every rank's ``obj``, in rank order (on every rank)."""
        if self.size == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def same_as_rank0(self, tensors: Sequence[torch.Tensor]) -> None:
        """Copy rank 0's values of ``tensors`` (the trainable weights) to every rank."""
        if self.size > 1:
            import torch.distributed as dist

            for tensor in tensors:
                dist.broadcast(tensor.data, src=0)

    def barrier(self) -> None:
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()


def _collective_device() -> torch.device:
    import torch
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not a whole number") from None


def world_from_env() -> World:
    """The world torchrun or ``accelerate launch`` set up (RANK, WORLD_SIZE, LOCAL_RANK)."""
    size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    if size < 1 or not 0 <= rank < size:
        raise ConfigError(f"RANK={rank} and WORLD_SIZE={size}: the rank must lie in 0..WORLD_SIZE-1")
    return World(rank=rank, size=size, local_rank=_env_int("LOCAL_RANK", rank))


def check_world(size: int, *, grad_accum: int, cuda: bool, gpus: int) -> None:
    """Refuse, before anything is loaded, a world that cannot share the steps or the GPUs."""
    if size == 1:
        return
    if grad_accum < size:
        raise ConfigError(
            f"--nproc {size}: each optimizer step holds batch.grad-accum = {grad_accum} micro-batches, fewer than "
            f"the {size} processes that share it; set grad-accum to a multiple of {size} (the global batch is "
            "micro-batch-size x grad-accum sequences however many processes there are)"
        )
    if cuda and gpus < size:
        raise ConfigError(
            f"--nproc {size}: training on CUDA takes one GPU a process, and torch sees {gpus}; "
            f'use --nproc {max(gpus, 1)}, or device = "cpu"'
        )


def start(world: World, device: torch.device) -> None:
    """Join the process group (gloo on CPU, nccl on CUDA) through MASTER_ADDR and MASTER_PORT."""
    import torch
    import torch.distributed as dist

    if world.size == 1 or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend="nccl" if device.type == "cuda" else "gloo",
        init_method="env://",
        rank=world.rank,
        world_size=world.size,
    )


def stop(world: World) -> None:
    import torch.distributed as dist

    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def backend(world: World) -> str | None:
    import torch.distributed as dist

    return dist.get_backend() if world.size > 1 and dist.is_initialized() else None


def no_sync(module: Any, last: bool) -> AbstractContextManager[Any]:
    """Skip DDP's gradient all-reduce on every micro-batch of a step but the rank's last."""
    return module.no_sync() if hasattr(module, "no_sync") and not last else nullcontext()


# -- dqe train --nproc N: the processes, started here -------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, size: int, port: int, reports: Any, target: Callable[..., Any], args: tuple) -> None:
    """One spawned process: the environment torchrun would set, then ``target(*args)``."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(size),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the launcher ignores Ctrl-C; a rank does not
    try:
        target(*args)
    except REPORTED as exc:  # the launcher raises it; the rank ends cleanly, as the others do
        reports.put((rank, exc))


def spawn(size: int, target: Callable[..., Any], *args: Any) -> None:
    """Run ``target(*args)`` on ``size`` new processes that form one world; return when all are
    done. A user error, gate refusal or Ctrl-C in a rank is raised here as itself (the lowest
    rank's); any other failure stops every rank and raises torch's report of it.

    Ctrl-C in a terminal reaches every process of the foreground group: the ranks agree on the
    step to stop after, and this process waits for them instead of dying first.
    """
    import torch.multiprocessing as mp

    queue = mp.get_context("spawn").SimpleQueue()
    reported: list[tuple[int, BaseException]] = []

    def collect() -> None:
        while not queue.empty():
            reported.append(queue.get())

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        context = mp.start_processes(
            _rank_main,
            args=(size, free_port(), queue, target, args),
            nprocs=size,
            join=False,
            start_method="spawn",
        )
        try:
            while not context.join(timeout=1):
                collect()
        except (mp.ProcessRaisedException, mp.ProcessExitedException):
            collect()
            if not reported:
                raise
        collect()
        if reported:  # a rank that failed after another reported is a consequence of it
            raise min(reported, key=lambda r: r[0])[1] from None
    finally:
        signal.signal(signal.SIGINT, previous)
