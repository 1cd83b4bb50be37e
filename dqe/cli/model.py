"""The commands that need the [train] extra: ``dqe train`` and ``dqe eval``."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import click

from dqe.cli.options import exit_with, fail, handle_errors, plugin_option, split_values, stdout_to_stderr, write_outputs
from dqe.errors import GateRefused, TrainingInterrupted


def require_train_extra(command: str) -> None:
    """Exit 2 with the install command when torch, transformers or peft is missing."""
    missing = [name for name in ("torch", "transformers", "peft") if importlib.util.find_spec(name) is None]
    if missing:
        fail(f"dqe {command} needs the [train] extra (missing: {', '.join(missing)}): pip install 'dqe[train]'")


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="Training config (train.toml); options below override it.",
)
@click.option("--model", help="Base model: a local folder or a Hugging Face id.")
@click.option(
    "--data", type=click.Path(path_type=Path), help="Records that passed `dqe filter` (its gate manifest beside them)."
)
@click.option("--manifest", type=click.Path(path_type=Path), help="Gate manifest (default: DATA.manifest.json).")
@click.option(
    "--dqe-config",
    type=click.Path(path_type=Path),
    help="dqe config to hold the manifest to (default: the one it names).",
)
@click.option(
    "--template",
    help="Prompt template (alpaca, chatml, phi3, plain, ...) or 'model' for the tokenizer's chat template.",
)
@click.option("--system", help="System prompt for records that have none.")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder.")
@click.option("--epochs", type=float)
@click.option("--max-steps", type=int)
@click.option("--lr", type=float, help="Peak learning rate.")
@click.option("--seq-len", type=int, help="Tokens per sequence.")
@click.option("--micro-batch-size", type=int, help="Sequences per forward pass.")
@click.option("--grad-accum", type=int, help="Forward passes per optimizer step.")
@click.option(
    "--method",
    type=click.Choice(("lora", "qlora", "p-tuning", "prompt-tuning")),
    help="What is trained: a LoRA adapter, on a 4-bit base (qlora), or virtual tokens (p-tuning, prompt-tuning).",
)
@click.option("--lora-r", type=int, help="LoRA rank.")
@click.option("--seed", type=int)
@click.option(
    "--test-from",
    type=click.Path(path_type=Path),
    metavar="RUN",
    help="Test on the test records of this run (split.test-from), to compare the two with dqe eval --against.",
)
@click.option("--merge/--no-merge", default=None, help="Also save the base model with the adapter merged in.")
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    help="Train on N processes with DistributedDataParallel (one GPU each on CUDA; gloo on CPU), the same "
    "global batch as one; leave it out under torchrun or accelerate launch.",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    metavar="RUN",
    help="Continue the run in this folder from its last checkpoint.",
)
@click.option(
    "--force", is_flag=True, help="Train even when the gate refuses the data (loud; recorded in the run manifest)."
)
@click.option("--quiet", is_flag=True, help="No progress or log lines on stderr.")
@handle_errors
def train(
    config_file: Path | None, resume: Path | None, force: bool, quiet: bool, nproc: int | None, **options: Any
) -> None:
    """Fine-tune an adapter (LoRA, QLoRA, P-tuning, prompt tuning) on the records that passed the gate, and only on them.

    \b
    dqe train --model PATH --data ok.jsonl --template alpaca --out runs/exp1
    dqe train --config train.toml --resume runs/exp1
    dqe train --config train.toml --nproc 2
    """
    require_train_extra("train")
    from dqe.engine.train_config import load_train_config, read_train_table
    from dqe.train.distributed import world_from_env
    from dqe.train.run import resume_config
    from dqe.train.run import train as run_train

    names = {
        "lr": "optim.lr",
        "seq_len": "batch.seq_len",
        "micro_batch_size": "batch.micro_batch_size",
        "grad_accum": "batch.grad_accum",
        "lora_r": "lora.r",
        "test_from": "split.test_from",
    }
    overrides = {names.get(k, k): v for k, v in options.items() if v is not None}
    if resume is not None:
        config = resume_config(resume, read_train_table(config_file) if config_file else None, overrides)
    else:
        config = load_train_config(config_file, overrides)
    main = world_from_env().main  # under torchrun, rank 0 speaks for every process
    if force and main:
        click.secho(
            "dqe train --force: the gate's refusals become warnings, and the run manifest says so",
            fg="red",
            bold=True,
            err=True,
        )
    try:
        result = run_train(config, force=force, resume=resume, echo=not quiet and main, nproc=nproc)
    except GateRefused as exc:
        click.secho(f"dqe: refusing to train on {config.data}:", fg="red", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        click.echo("(dqe train --force trains anyway and records that in the run manifest)", err=True)
        exit_with(1)
    except TrainingInterrupted as exc:
        click.echo(f"dqe: {exc}; continue with: dqe train --resume {config.out}", err=True)
        exit_with(130)
    if not main:
        return
    m = result.manifest
    losses = m["losses"]
    shown = ", ".join(
        f"{k} {v:.4f}" for k, v in (("val", losses["val_best"]), ("test", losses["test"])) if v is not None
    )
    click.echo(f"trained {m['training']['steps']} steps ({m['training']['stopped']}); {shown or 'no held-out loss'}")
    click.echo(f"adapter -> {m['outputs']['adapter']} ({m['outputs']['adapter_is']})")
    if m["outputs"]["merged"]:
        click.echo(f"merged model -> {m['outputs']['merged']}")
    click.echo(f"run manifest -> {result.run_dir / 'run.json'}")


@click.command(name="eval")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Most tokens generated per answer.",
)
@click.option(
    "--temperature", type=click.FloatRange(min=0), default=0.0, show_default=True, help="0: greedy; above 0: sampling."
)
@click.option(
    "--top-p",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=1.0,
    show_default=True,
    help="Nucleus sampling (with --temperature > 0).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of sampling.")
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Prompts generated at once."
)
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate only the first N test records.")
@click.option(
    "--rules",
    "rules",
    multiple=True,
    metavar="CODES",
    help="Record rules run on the answers: codes, prefixes, names (comma-separated); default: those the dqe config enables.",
)
@click.option(
    "--embedding-model",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="A local sentence-transformers folder: adds the answers' similarity to the references.",
)
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda")), default="auto", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Where generations.jsonl, report.json and report.html go (default RUN_DIR/eval).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "html")),
    default="text",
    show_default=True,
    help="What is printed (or written with -o).",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the --format report to FILE instead of stdout."
)
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    help="dqe config to read the test records with and pick the rules from (default: the one the training data was filtered with).",
)
@click.option(
    "--choices",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Multiple-choice questions (JSONL: question, choices, answer as index or letter, optional subject): "
    "accuracy of base and tuned by each choice's log-likelihood.",
)
@click.option(
    "--against",
    "against",
    type=click.Path(path_type=Path),
    metavar="RUN_B",
    help="Also evaluate this run (into RUN_B/eval) and compare the two tuned models on their shared test split "
    "(comparison.json and comparison.html beside RUN_DIR's report); runs tested on other records are refused.",
)
@plugin_option
@handle_errors
def eval_(
    run_dir: Path,
    against: Path | None,
    fmt: str,
    output: Path | None,
    out: Path | None,
    quiet: bool,
    config: Path | None,
    disable_plugins: tuple[str, ...],
    rules: tuple[str, ...],
    **options: Any,
) -> None:
    """Evaluate a `dqe train` run on its held-out test split, base model against tuned.

    \b
    Loss and perplexity; answers generated for the test prompts (RUN_DIR/eval/generations.jsonl);
    ROUGE-1/2/L against the references; dqe's record rules run on the answers, with the share
    of answers each flags. Writes RUN_DIR/eval/report.json and report.html.

    \b
    dqe eval runs/exp1
    dqe eval runs/exp1 --limit 50 --max-new-tokens 128 --format html -o eval.html
    dqe eval runs/exp1 --choices mmlu.jsonl
    dqe eval runs/all --against runs/passed
    """
    require_train_extra("eval")
    from dqe.eval.render import render_eval_html, render_eval_text
    from dqe.eval.report import EvalSettings
    from dqe.eval.run import evaluate

    settings = EvalSettings(rules=split_values(rules), config=config, **options)
    if fmt == "html":
        from dqe.report.render.html import require_dependencies

        require_dependencies()
    written = {"-o/--output": output} if output is not None else None
    if against is not None:
        _compare(run_dir, against, settings, fmt, output, out, disable_plugins, quiet, written)
        return
    with stdout_to_stderr():  # plugins print to stderr
        result = evaluate(run_dir, settings, out=out, disable_plugins=disable_plugins, echo=not quiet, written=written)
    _emit(fmt, output, result.report, render_eval_html, render_eval_text)
    if output is not None:
        click.echo(f"report in {output}; generations and reports in {result.out}", err=True)


def _emit(fmt: str, output: Path | None, report: Any, html: Any, text: Any) -> None:
    """``report`` as ``fmt`` on stdout or in ``output``: JSON, ``html(report)``, or ``text(report, color=...)``."""
    if fmt == "json":
        shown = report.model_dump_json(indent=2) + "\n"
    elif fmt == "html":
        shown = html(report)
    else:
        shown = text(report, color=output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    write_outputs({output: shown})


def _compare(
    run_a: Path,
    run_b: Path,
    settings: Any,
    fmt: str,
    output: Path | None,
    out: Path | None,
    disable_plugins: tuple[str, ...],
    quiet: bool,
    written: dict[str, Path] | None,
) -> None:
    """``dqe eval RUN_A --against RUN_B``: both evaluated, the comparison printed or written."""
    from dqe.eval.render import render_comparison_html, render_comparison_text
    from dqe.eval.run import evaluate_against

    with stdout_to_stderr():
        result = evaluate_against(
            run_a, run_b, settings, out=out, disable_plugins=disable_plugins, echo=not quiet, written=written
        )
    _emit(fmt, output, result.comparison, render_comparison_html, render_comparison_text)
    if output is not None:
        click.echo(f"comparison in {output}; reports in {result.out}", err=True)
