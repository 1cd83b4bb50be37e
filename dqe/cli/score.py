"""``dqe score``: per record, the answer's perplexity with and without its question, and IFD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dqe.cli.model import require_train_extra
from dqe.cli.options import fail, handle_errors, overrides_of, reading_options, stdout_to_stderr


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model",
    metavar="PATH",
    help="The base model to score with (its tokenizer and, with --template model, its chat template).",
)
@click.option("--template", metavar="NAME", help="Prompt template the trainer uses (alpaca, chatml, ..., model).")
@click.option(
    "--train-config",
    type=click.Path(path_type=Path),
    metavar="TOML",
    help="Score with the encoding of this train.toml: its model, template, system prompt and seq-len.",
)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The score file (JSONL).")
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda")), default="auto", show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="Sequences per forward pass."
)
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
@reading_options
@handle_errors
def score(
    paths: tuple[Path, ...],
    output: Path,
    device: str,
    batch_size: int,
    quiet: bool,
    config: Path | None,
    disable_plugins: tuple[str, ...],
    **kw: Any,
) -> None:
    """Score every record with the base model: the answer's perplexity with its question (as
    training sees it) and without it, and their ratio, IFD (Cherry LLM). Every record gets a
    line; a second run over the same data is read from the cache.

    \b
    dqe score data.jsonl --model ./base-model --template alpaca -o scores.jsonl
    dqe check data.jsonl --scores scores.jsonl          DQ107 and the score histograms
    dqe filter data.jsonl --scores scores.jsonl --max-records 1000 --by ifd --passed ok.jsonl --rejected bad.jsonl
    """
    from dqe.engine.config import load_config
    from dqe.engine.context import loaded_dir
    from dqe.engine.encoding import encoding_settings
    from dqe.engine.plugins import load_plugins
    from dqe.io.inputs import refuse_overwriting

    loaded = load_config(config, overrides_of(kw))
    settings = encoding_settings(loaded.config, loaded_dir(loaded))
    if settings is None:
        fail("dqe score needs a model: --model PATH (or --train-config TOML, or 'model' in config)")
    require_train_extra("score")  # after the usage checks, which need no torch
    from dqe.score.run import score as run_score

    refuse_overwriting({"-o/--output": output}, [*paths, *([loaded.path] if loaded.path else [])])
    registry = load_plugins(disabled=[*disable_plugins, *loaded.config.disable_plugins])
    registry.raise_errors()
    with stdout_to_stderr():
        result = run_score(paths, output, settings, loaded, registry, device=device, rows=batch_size, echo=not quiet)
    failed = result.records - result.scored
    at_or_above = sum(v >= 1 for v in result.ifd)
    median = f"; IFD median {sorted(result.ifd)[len(result.ifd) // 2]:.3f}" if result.ifd else ""
    click.echo(
        f"{result.scored:,} of {result.records:,} records scored ({result.cached:,} from the cache)"
        f"{median}, {at_or_above:,} at or above 1 -> {result.path}"
    )
    if failed:
        click.echo(f"{failed:,} records not scored: each says why in its line's 'error'", err=True)
    if result.seconds:
        click.echo(
            f"{result.tokens:,} tokens in {result.seconds:.1f} s: {result.tokens / result.seconds:,.0f} tokens/s",
            err=True,
        )
