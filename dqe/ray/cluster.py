"""The Ray cluster a run uses: the one this process is connected to, the one at
``ray-address``, or a local one started for the run (and stopped after it)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import ray
import ray.data

from dqe.errors import ConfigError


@contextmanager
def connected(address: str | None, progress_bars: bool) -> Iterator[None]:
    """Connected to a cluster for the duration of a run, with Ray Data set up as dqe needs it:
    results in input order, no block skipped on an error (records silently unchecked)."""
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"ray-address = {address!r}: cannot connect to the Ray cluster ({exc})") from None
    context = ray.data.DataContext.get_current()
    before = (
        context.execution_options.preserve_order,
        context.enable_progress_bars,
        context.max_errored_blocks,
        context.target_max_block_size,
    )
    context.execution_options.preserve_order = True
    context.target_max_block_size = None  # a block is a batch: never sliced, however long its records
    context.enable_progress_bars = progress_bars
    context.max_errored_blocks = 0
    context.print_on_execution_start = False
    log = logging.getLogger("ray.data")
    level = log.level
    if not progress_bars:  # Ray Data's notes on stderr ("execution finished in ...") are its progress
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        (
            context.execution_options.preserve_order,
            context.enable_progress_bars,
            context.max_errored_blocks,
            context.target_max_block_size,
        ) = before
        log.setLevel(level)
        if started:
            ray.shutdown()


def cpus() -> int:
    """The cluster's CPUs: one record-stage actor each."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
