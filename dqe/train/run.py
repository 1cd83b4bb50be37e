"""``dqe train`` from start to end: gate, records, splits, encoding, model, loop, outputs.

The gate is checked before anything expensive (no model is loaded for data the gate refuses).
A run folder holds: ``train_config.json``, ``split.json`` and ``test.jsonl``, ``ledger.jsonl``,
``metrics.jsonl`` / ``metrics.csv`` (and ``tensorboard/``), ``checkpoints/``, ``best/`` (the
best validation adapter), ``adapter/`` (the result, in PEFT's format), ``loss.png``,
``merged/`` when asked for, and ``run.json``, the run manifest. With several training processes
each one reads, encodes and plans the same data, and rank 0 alone writes the run folder.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from dqe.engine.encoding import MODEL_TEMPLATE
from dqe.engine.ledger import LedgerRow
from dqe.engine.plugins import load_plugins
from dqe.engine.train_config import TrainConfig, build_config
from dqe.errors import ConfigError, GateRefused, InputError, TrainingInterrupted
from dqe.io.inputs import refuse_overwriting
from dqe.io.writers import ObjectWriter, OutputSet
from dqe.report.manifest import manifest_path
from dqe.train.data import assign_splits, mark_not_passed, read_examples, write_test_split
from dqe.train.distributed import World, check_world, spawn, world_from_env
from dqe.train.encode import encode_examples, ledger_dicts, ledger_totals, make_encoder
from dqe.train.gate import GateCheck, check_encoding, check_gate
from dqe.train.runfolder import checkpoints, read_json, write_json

CONFIG_FILE = "train_config.json"
MANIFEST_FILE = "run.json"
# What a run writes in its folder: no input may be one of these files or lie in these folders.
RUN_FILES = (CONFIG_FILE, MANIFEST_FILE, "test.jsonl", "split.json", "ledger.jsonl", "metrics.jsonl", "metrics.csv")
RUN_FOLDERS = ("adapter", "merged", "checkpoints", "tensorboard")


@dataclass
class TrainResult:
    run_dir: Path
    manifest: dict[str, Any]


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"'{prefix}{key}' was {x!r}, now {y!r}")
    return out


def resume_config(run_dir: Path, given: dict[str, Any] | None, overrides: dict[str, Any]) -> TrainConfig:
    """The config of the run in ``run_dir``; a config given again must be the same one."""
    saved_path = run_dir / CONFIG_FILE
    if not saved_path.is_file():
        raise ConfigError(f"--resume {run_dir}: no run there (no {CONFIG_FILE})")
    saved = build_config(read_json(saved_path), where=str(saved_path))
    if given is None and not overrides:
        return saved
    wanted = build_config({**(given or saved.to_json()), "out": str(run_dir)}, overrides).resolved()
    changed = _differences(saved.to_json(), wanted.to_json())
    if changed:
        raise ConfigError(f"--resume {run_dir}: the config differs from the run's: " + "; ".join(changed))
    return saved


def refuse_overwriting_inputs(run_dir: Path, reads: list[Path], written: dict[str, Path] | None = None) -> None:
    """An ``InputError`` when a file the run reads is one it writes in ``run_dir`` (its own
    files, ``written``) or lies in a folder it replaces (adapter/, checkpoints/, ...)."""
    outputs = {f"the run's {name}": run_dir / name for name in RUN_FILES}
    refuse_overwriting({**outputs, **(written or {})}, reads)
    for path in reads:
        for folder in RUN_FOLDERS:
            if path.resolve().is_relative_to((run_dir / folder).resolve()):
                raise InputError(f"{path} lies in {run_dir / folder}, which the run writes: move it out first")


def _test_ids_from(run_dir: Path, examples: list[Any]) -> set[str]:
    """The test records of the run in ``run_dir``, each of which the data must hold: the same
    test split for two runs that ``dqe eval --against`` compares."""
    path = run_dir / "split.json"
    if not path.is_file():
        raise ConfigError(f"'split.test-from': {run_dir} is not a dqe train run (no split.json)")
    ids = set(read_json(path).get("test_ids") or [])
    if not ids:
        raise ConfigError(f"'split.test-from': {path} lists no test records")
    missing = ids - {e.id for e in examples if e.problem is None}
    if missing:
        raise ConfigError(
            f"'split.test-from': {len(missing):,} of the {len(ids):,} test records of {run_dir} are not among the "
            "records this run reads (or the gate did not pass them); take the test split of the run on fewer records"
        )
    return ids


def _write_ledger(run_dir: Path, ledger: list[LedgerRow]) -> None:
    """``ledger.jsonl``: before training, and again after it with each training record's losses."""
    with OutputSet() as files:
        writer = ObjectWriter(files.open(run_dir / "ledger.jsonl"))
        for row in ledger_dicts(ledger):
            writer.write(row)
        writer.close()


def _refuse_or_force(gate: GateCheck, problems: list[str], force: bool, console: Console) -> None:
    if not problems:
        return
    gate.problems += problems
    if not force:
        raise GateRefused(problems)
    gate.forced = True
    for problem in problems:
        console.print(f"[bold red]--force: training although {problem}[/]", highlight=False)


def train(
    config: TrainConfig,
    *,
    force: bool = False,
    resume: Path | None = None,
    hooks: Any = None,
    echo: bool = True,
    nproc: int | None = None,
) -> TrainResult:
    """Train an adapter (LoRA, QLoRA, P-tuning, prompt tuning) on the records of ``config.data``
    that the gate passed.

    ``nproc`` > 1 trains with DistributedDataParallel on that many processes started here (their
    ``hooks`` must pickle). Under torchrun or ``accelerate launch`` each process they start calls
    this with ``nproc`` left out.
    """
    config = config.resolved()
    world = world_from_env()
    if world.size > 1:
        if nproc not in (None, world.size):
            raise ConfigError(
                f"--nproc {nproc}: this process is one of {world.size} that torchrun (or accelerate) started; "
                "leave --nproc out"
            )
        return _train(config, world, force=force, resume=resume, hooks=hooks, echo=echo)
    if nproc is None or nproc == 1:
        return _train(config, world, force=force, resume=resume, hooks=hooks, echo=echo)
    if nproc < 1:
        raise ConfigError(f"--nproc {nproc}: at least one process trains")
    import torch

    from dqe.train.model import pick_device

    cuda = pick_device(config.device).type == "cuda"
    check_world(nproc, grad_accum=config.batch.grad_accum, cuda=cuda, gpus=torch.cuda.device_count() if cuda else 0)
    spawn(nproc, _train_rank, config, force, resume, hooks, echo)
    return TrainResult(run_dir=config.out, manifest=read_json(config.out / MANIFEST_FILE))


def _train_rank(config: TrainConfig, force: bool, resume: Path | None, hooks: Any, echo: bool) -> None:
    """One of the processes ``train(nproc=N)`` started."""
    import torch

    world = world_from_env()
    if "OMP_NUM_THREADS" not in os.environ:  # N processes share the cores, as torchrun has them do
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world.size))
    _train(config, world, force=force, resume=resume, hooks=hooks, echo=echo)


def _train(
    config: TrainConfig,
    world: World,
    *,
    force: bool,
    resume: Path | None,
    hooks: Any,
    echo: bool,
) -> TrainResult:
    main = world.main
    console = Console(stderr=True, quiet=not (echo and main), highlight=False)
    run_dir = config.out
    checkpoint = None
    # a run that stopped before its first checkpoint has nothing to resume: it starts over
    if resume is None and checkpoints(run_dir):
        raise ConfigError(
            f"'out': {run_dir} already holds a run; continue it with --resume {run_dir} or pick another folder"
        )

    # 1. The gate, before anything expensive; no input may be an output.
    reads = [config.data, config.manifest or manifest_path(config.data)]
    refuse_overwriting_inputs(run_dir, [*reads, *([config.dqe_config] if config.dqe_config else [])])
    gate = check_gate(config.data, config.manifest, config.dqe_config)
    problems, gate.problems = gate.problems, []
    _refuse_or_force(gate, problems, force, console)
    registry = load_plugins(disabled=gate.config.config.disable_plugins)
    if config.template != MODEL_TEMPLATE and config.template not in registry.templates:
        known = ", ".join([*sorted(registry.templates), MODEL_TEMPLATE])
        raise ConfigError(f"'template': no template '{config.template}'; known: {known}")
    note = check_encoding(gate.manifest, config.model, config.template)
    if note:
        console.print(f"[yellow]note: {note}[/]", highlight=False)

    # 2. Records, held to the manifest's passed ids; splits.
    examples = read_examples(config.data, gate.config, registry)
    if gate.manifest is not None:
        outside = mark_not_passed(examples, gate.passed_ids or set())
        if outside:
            first = ", ".join(e.source for e in outside[:5])
            _refuse_or_force(
                gate,
                [
                    f"{len(outside)} records of {config.data} are not among the gate "
                    f"manifest's passed ids ({first}); they are left out"
                ],
                force,
                console,
            )
    test_ids = _test_ids_from(config.split.test_from, examples) if config.split.test_from else None
    split = assign_splits(examples, config.split.val, config.split.test, config.seed, config.split.stratify, test_ids)
    if config.split.test_from:
        split["test_from"] = str(config.split.test_from)
    run_dir.mkdir(parents=True, exist_ok=True)
    if main:
        if resume is None:
            write_json(run_dir / CONFIG_FILE, config.to_json())
        split = write_test_split(examples, run_dir, split, config.data)

    # 3. Tokens and labels; the ledger.
    import torch

    from dqe.train.checkpoint import seed_everything
    from dqe.train.distributed import backend, start, stop
    from dqe.train.model import (
        add_adapter,
        load_base_model,
        load_tokenizer,
        packing_is_isolated,
        parameter_counts,
        pick_device,
        pick_dtype,
    )
    from dqe.train.monitor import plot_losses
    from dqe.train.outputs import base_model_info, device_info, library_versions, merge_adapter, now
    from dqe.train.trainer import Trainer

    started = now()
    seed_everything(config.seed)
    tokenizer = load_tokenizer(config.model)
    encoder = make_encoder(config, tokenizer, registry, gate.config.config.columns)
    encoded, ledger = encode_examples(encoder, examples, config.batch.seq_len, config.batch.overlong)
    if main:
        _write_ledger(run_dir, ledger)
    totals = ledger_totals(ledger)
    items = {
        s: [encoded[e.index] for e in examples if e.split == s and e.index in encoded] for s in ("train", "val", "test")
    }
    train_rows = [row for e, row in zip(examples, ledger, strict=True) if e.split == "train" and e.index in encoded]
    if not items["train"]:
        raise InputError(f"{config.data}: no records left to train on (ledger: {totals['dropped']})")

    # 4. Model, packing, adapter; the process group.
    device = pick_device(config.device)
    dtype = pick_dtype(config.precision, device)
    if world.size > 1:
        check_world(
            world.size,
            grad_accum=config.batch.grad_accum,
            cuda=device.type == "cuda",
            gpus=torch.cuda.device_count() if device.type == "cuda" else 0,
        )
        if device.type == "cuda":
            device = torch.device("cuda", world.local_rank)
    start(world, device)
    trainer: Trainer | None = None
    try:
        model = load_base_model(config, device, dtype)
        isolated = packing_is_isolated(model, device, min(len(tokenizer), model.config.vocab_size))
        packing = isolated if config.batch.packing == "auto" else config.batch.packing
        packing = packing and not config.virtual_tokens  # once per sequence: a packed record would miss them
        if packing and not isolated:
            raise ConfigError(
                "'batch.packing': this model attends across packed records; set packing = false (or \"auto\")"
            )
        if not packing:
            console.print("packing off: records are grouped by length and padded")
        seed_everything(config.seed)
        model = add_adapter(model, config)
        if world.rank:
            torch.manual_seed(config.seed + world.rank)  # its own dropout masks; the weights are rank 0's
        counts = parameter_counts(model)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        trainer = Trainer(
            config,
            model,
            items["train"],
            items["val"],
            device=device,
            dtype=dtype,
            packing=packing,
            pad_id=pad_id,
            run_dir=run_dir,
            hooks=hooks,
            echo=echo,
            world=world,
        )
        if resume is not None:
            checkpoint = Trainer.latest_checkpoint(run_dir)
            if checkpoint is None:
                raise ConfigError(f"--resume {run_dir}: the run has no checkpoint yet; start it again without --resume")
            console.print(f"resuming from {checkpoint}")

        manifest: dict[str, Any] = {
            "kind": "dqe-run-manifest",
            "version": 1,
            "status": "running",
            "started": started,
            "finished": None,
            "resumed_from": str(checkpoint) if checkpoint else None,
            "base_model": base_model_info(config, model, counts),
            "template": {
                "name": config.template,
                "system": config.system,
                "learn_all_turns": config.learn_all_turns,
            },
            "config": config.to_json(),
            "config_sha256": config.digest(),
            "libraries": library_versions(),
            "device": device_info(device, dtype),
            "packing": packing,
            "method": {"name": config.method, "virtual_tokens": config.virtual_tokens},
            "processes": {"count": world.size, "backend": backend(world)},
            "gate": gate.summary(),
            "split": {k: v for k, v in split.items() if k != "test_ids"},
            "ledger": totals,
            "training": {
                "total_steps": trainer.total_steps,
                "steps_per_epoch": trainer.steps_per_epoch,
            },
        }
        if main:
            write_json(run_dir / MANIFEST_FILE, manifest)

        # 5. Train.
        clock = time.perf_counter()
        try:
            state = trainer.fit(checkpoint)
        except TrainingInterrupted as exc:
            manifest.update(
                status="interrupted",
                finished=now(),
                checkpoint=str(exc.checkpoint),
                training={**manifest["training"], "step": exc.step},
            )
            if main:
                write_json(run_dir / MANIFEST_FILE, manifest)
            raise

        # 6. Outputs: the adapter (the best on validation), losses, plot, merge, manifest.
        best = trainer.restore_best()
        adapter_dir = run_dir / "adapter"
        test_loss = trainer.evaluate(items["test"])
        val_loss = trainer.evaluate() if best is not None else state.last_val
        final = trainer.record_losses()  # with the adapter the run keeps
        first = state.first_epoch_losses or [None] * len(final)
        for row, loss, at_first in zip(train_rows, final, first, strict=True):
            row.loss, row.loss_first_epoch = loss, at_first
        if not main:
            return TrainResult(run_dir=run_dir, manifest=manifest)
        _write_ledger(run_dir, ledger)
        model.save_pretrained(str(adapter_dir))
        tokenizer.save_pretrained(str(adapter_dir))
        plot = plot_losses(state.history, run_dir / "loss.png")
        if plot is None:
            console.print("no loss plot: matplotlib is not installed")
        merged = None
        if config.merge:
            trainer.release()
            trainer = model = None
            if device.type == "cuda":
                torch.cuda.empty_cache()
            merged = merge_adapter(config, adapter_dir, run_dir / "merged", tokenizer, device, dtype)
        peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
        manifest.update(
            status="completed",
            finished=now(),
            training={
                **manifest["training"],
                "steps": state.step,
                "epochs": round(state.step / manifest["training"]["steps_per_epoch"], 3),
                "stopped": state.stopped,
                "tokens": state.tokens,
                "supervised_tokens": state.supervised_tokens,
                "train_seconds": round(state.seconds, 3),
                "wall_seconds_this_session": round(time.perf_counter() - clock, 3),
                "tokens_per_s": state.tokens / state.seconds if state.seconds else None,
                "peak_mem_gb": peak,
                "best_step": state.best_step,
                "record_loss_seconds": round(state.loss_pass_seconds, 3),
            },
            losses={
                "train_last_step": state.last_loss,
                "train_last_logged": next((r["loss"] for r in reversed(state.history) if r["split"] == "train"), None),
                "val_best": state.best_val,
                "val_final_adapter": val_loss,
                "test": test_loss,
            },
            outputs={
                "adapter": str(adapter_dir),
                "adapter_is": f"best validation (step {state.best_step})" if best is not None else "last step",
                "merged": str(merged) if merged else None,
                "test_split": str(run_dir / "test.jsonl"),
                "split": str(run_dir / "split.json"),
                "ledger": str(run_dir / "ledger.jsonl"),
                "metrics": str(run_dir / "metrics.jsonl"),
                "plot": str(plot) if plot else None,
                "checkpoints": str(run_dir / "checkpoints"),
            },
        )
        write_json(run_dir / MANIFEST_FILE, manifest)
        return TrainResult(run_dir=run_dir, manifest=manifest)
    finally:
        if trainer is not None:
            trainer.release()
        stop(world)
