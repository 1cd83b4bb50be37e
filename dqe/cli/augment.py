"""``dqe augment``: grow the task categories the data lacks with records a model writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dqe.cli.options import exit_with, fail, handle_errors, overrides_of, selection_options, start_up, stdout_to_stderr


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="Output folder; run again into it to continue."
)
@click.option("--base-url", metavar="URL", help="OpenAI-compatible API root, like http://localhost:8000/v1.")
@click.option("--model", metavar="NAME", help="The model the endpoint serves.")
@click.option(
    "--api-key-env",
    metavar="VAR",
    help="Environment variable holding the API key (default OPENAI_API_KEY; none needed for a local server).",
)
@click.option(
    "--category", metavar="NAME", help="Grow this category (with --count) instead of those below their share."
)
@click.option("--count", type=click.IntRange(min=1), help="Records to add to --category.")
@click.option(
    "--seeds",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Seed examples to show the model, instead of the data's own records of the category.",
)
@click.option("--review", is_flag=True, help="Stop after a round and write it for a person to mark.")
@click.option("--per-round", type=click.IntRange(min=1, max=200), help="Records asked for in one request (default 20).")
@click.option("--rounds", type=click.IntRange(min=1), help="Most rounds, over every run into --out (default 10).")
@click.option(
    "--requests",
    type=click.IntRange(min=1),
    help="Most HTTP requests, retries included, over every run into --out (default 20).",
)
@click.option(
    "--tokens",
    type=click.IntRange(min=1),
    help="Most prompt plus completion tokens, over every run (no limit by default).",
)
@selection_options
@handle_errors
def augment(
    paths: tuple[Path, ...],
    out: Path,
    config: Path | None,
    disable_plugins: tuple[str, ...],
    category: str | None,
    count: int | None,
    seeds: Path | None,
    review: bool,
    **kw: Any,
) -> None:
    """Ask an OpenAI-compatible endpoint for records of the categories below their share (or
    --category), keep those every enabled rule and the duplicate check pass, and feed the
    reasons for the others back into the next round's prompt.

    Exit 0 when every category has the records it needs (or a round waits for review); 1 when a
    budget ran out first; 2 on a usage, config, input or endpoint error."""
    with start_up():
        from dqe.augment.run import AugmentError
        from dqe.augment.run import augment as run_augment

    keys = ("base_url", "model", "api_key_env", "per_round", "rounds", "requests", "tokens")
    settings = {key: kw.pop(key) for key in keys}
    try:
        with stdout_to_stderr():  # plugins print to stderr
            result = run_augment(
                [str(p) for p in paths],
                out,
                config,
                settings=settings,
                category=category,
                count=count,
                seeds=seeds,
                review=review,
                disable_plugins=disable_plugins,
                echo=lambda line: click.echo(line, err=True),
                **overrides_of(kw),
            )
    except AugmentError as exc:
        fail(f"{exc}; what was kept is in {out}, and a run again continues from there")
    short = ", ".join(f"{c} {n}" for c, n in result.short.items()) or "none"
    click.echo(
        f"{result.rounds} rounds, {result.accepted} records accepted -> {out}; still wanted: {short}; {result.stopped}"
    )
    exit_with(result.exit_code)
