"""The commands that read data: ``dqe check``, ``dqe filter``, ``dqe convert``, ``dqe diff``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dqe.cli.options import (
    FORMATS,
    against_option,
    engine_options,
    exit_with,
    handle_errors,
    ledger_option,
    overrides_of,
    progress_bar,
    reading_options,
    start_up,
    stdout_to_stderr,
)

# where the records are checked: this machine's processes, or a Ray cluster (docs/ray.md)
engine_option = click.option(
    "--engine",
    type=click.Choice(("local", "ray")),
    default=None,
    help="Where to check: local (worker processes, the default) or ray (a Ray cluster at ray-address, "
    "else a local one; needs the [ray] extra). Default: 'engine' in config, else local.",
)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    default="text",
    show_default=True,
    metavar="FORMAT",
    help=f"Report format: {', '.join(FORMATS)}, or one a plugin adds.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report to FILE instead of stdout.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also write the HTML report to FILE, beside the --format output.",
)
@click.option("--statistics", is_flag=True, help="Only the number of failures per rule.")
@click.option("--all-findings", is_flag=True, help="Every finding in the report, not a sample per rule.")
@click.option(
    "--show",
    "show",
    metavar="CODE",
    help="Print the failing records of one rule (code or name) with their text, instead of the report.",
)
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="With --show: records to print (0: all)."
)
@click.option(
    "--exit-zero", is_flag=True, help="Exit 0 even when the gate fails (a report-only run); errors still exit 2."
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A progress bar on stderr: by default only when stderr is a terminal; --progress shows it anyway.",
)
@against_option
@ledger_option
@engine_option
@engine_options
@handle_errors
def check(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    html_path: Path | None,
    statistics: bool,
    all_findings: bool,
    show: str | None,
    limit: int,
    exit_zero: bool,
    progress: bool | None,
    engine: str | None,
    config: Path | None,
    disable_plugins: tuple[str, ...],
    **kw: Any,
) -> None:
    """Check instruction data (JSON, JSONL, Parquet; Alpaca, ShareGPT, OpenAI messages)."""
    color = output is None and fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    # what plugin code prints must not mix into the report on stdout
    with stdout_to_stderr() as to_stdout:
        # Config, plugins, renderers and output paths are checked before the run, so a mistake costs no check.
        with start_up():
            from dqe.api import guard_outputs, make_engine
            from dqe.io.writers import OutputSet
            from dqe.report.model import build_report
            from dqe.report.render import prepare, render, stream

            checker = make_engine(config, (), disable_plugins, {**overrides_of(kw), "engine": engine})
            for name in (fmt, "html") if html_path is not None else (fmt,):
                prepare(checker.registry, name)
        written = {name: path for name, path in (("-o/--output", output), ("--html", html_path)) if path is not None}
        inputs = guard_outputs(checker, list(paths), written)
        with progress_bar(progress) as heard:
            report = build_report(checker.run(inputs, heard), complete=all_findings)
        with OutputSet() as files:  # the files all or none
            if html_path is not None:
                files.open(html_path).write(render(checker.registry, "html", report).encode())
            write = to_stdout if output is None else _encoded(files.open(output).write)
            if show is not None:
                from dqe.report.render.show import render_show

                write(render_show(report, show, limit=limit, color=color))
            else:  # as it renders: --format jsonl a range of records at a time
                stream(checker.registry, fmt, report, write, color=color, statistics=statistics)
    if output is not None or html_path is not None:
        s = report.summary
        written = " and ".join(str(p) for p in (output, html_path) if p is not None)
        click.echo(
            f"{s.records:,} records: {s.passed:,} passed, {s.rejected:,} rejected, {s.invalid:,} invalid; gate {s.gate}; report in {written}",
            err=True,
        )
    code = report.exit_code
    exit_with(0 if exit_zero and code == 1 else code)


def _encoded(write: Callable[[bytes], object]) -> Callable[[str], None]:
    """``write`` of bytes as a writer of text (UTF-8)."""
    return lambda text: write(text.encode())


@click.command()
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option(
    "--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Records listed per change (0: all)."
)
@handle_errors
def diff(before: Path, after: Path, fmt: str, limit: int) -> None:
    """What changed between two JSON reports (dqe check --format json): summary, gate
    metrics, failures per rule, data-set metrics, and records newly failing or fixed."""
    from dqe.report.diff import diff_reports, load_report, render_diff

    result = diff_reports(load_report(before), load_report(after), before=str(before), after=str(after))
    if fmt == "json":
        click.echo(result.model_dump_json(indent=2))
    else:
        click.echo(
            render_diff(result, limit=limit, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ), nl=False
        )


@click.command(name="filter")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--passed",
    "passed",
    required=True,
    type=click.Path(path_type=Path),
    help="Where records that pass go (.jsonl, .json or .parquet).",
)
@click.option(
    "--rejected",
    "rejected",
    required=True,
    type=click.Path(path_type=Path),
    help="Where the others go, each with its reasons under '_dqe'.",
)
@click.option(
    "--balance/--no-balance",
    default=None,
    help="Downsample over-represented categories (DQ411) and vertical domains (DQ421) to their quotas, keeping the best records (default: 'balance' in config, else off).",
)
@click.option(
    "--max-records",
    type=click.IntRange(min=1),
    metavar="N",
    help="Keep the N best records by quality, within the balance quotas and after deduplication (DQ431).",
)
@click.option(
    "--by",
    "rank_by",
    type=click.Choice(("quality", "ifd")),
    default=None,
    help="What --max-records and --balance keep the best by: quality (the default), or ifd: the model's IFD "
    "below 1, highest first (needs --scores).",
)
@click.option(
    "--annotate",
    is_flag=True,
    help="Add each record's labels (category, domain, languages per turn, chain of thought, tokens) "
    "under _dqe.labels, passed records included.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A progress bar on stderr: by default only when stderr is a terminal; --progress shows it anyway.",
)
@against_option
@engine_option
@engine_options
@handle_errors
def filter_(
    paths: tuple[Path, ...],
    passed: Path,
    rejected: Path,
    balance: bool | None,
    max_records: int | None,
    rank_by: str | None,
    annotate: bool,
    progress: bool | None,
    engine: str | None,
    config: Path | None,
    disable_plugins: tuple[str, ...],
    **kw: Any,
) -> None:
    """Split data into passed and rejected records; every input record lands in exactly one."""
    with start_up():
        from dqe.api import filter as run_filter
        from dqe.io.inputs import ANNOTATION
        from dqe.report.render.common import gate_sentence
        from dqe.report.render.text import summary_line

    overrides = {
        **overrides_of(kw),
        "balance": balance,
        "max_records": max_records,
        "rank_by": rank_by,
        "engine": engine,
    }
    with progress_bar(progress) as heard, stdout_to_stderr():  # plugins print to stderr
        result = run_filter(
            list(paths),
            passed,
            rejected,
            config,
            disable_plugins=disable_plugins,
            progress=heard,
            annotate=annotate,
            **overrides,
        )
    out = result.outputs
    report = result.report
    click.echo(f"{out.passed:,} passed -> {out.passed_path}")
    click.echo(f"{out.rejected:,} rejected -> {out.rejected_path}")
    if out.annotation != ANNOTATION:
        click.echo(f"records have a '_dqe' field of their own: dqe's reasons are under '{out.annotation}'")
    if out.redactions.values:
        by_rule = ", ".join(f"{code} {n:,}" for code, n in out.redactions.rules.items())
        click.echo(
            f"{out.redactions.values:,} spans redacted in {out.redactions.records:,} records ({by_rule}); see {out.annotation}.redactions"
        )
    click.echo(f"gate manifest -> {result.manifest}")
    from rich.console import Console

    Console(highlight=False).print(summary_line(report))
    for m in report.gate.metrics:
        if m.state == "fail":
            click.echo(f"gate: {gate_sentence(m)}", err=True)
    exit_with(report.exit_code)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--to",
    "to",
    required=True,
    help="Target record format: alpaca, sharegpt, openai, self-instruct, questions, or one a plugin adds.",
)
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="Output file (.jsonl, .json or .parquet)."
)
@reading_options
@handle_errors
def convert(
    paths: tuple[Path, ...], to: str, output: Path, config: Path | None, disable_plugins: tuple[str, ...], **kw: Any
) -> None:
    """Rewrite records in another format, keeping every other field.

    Exit 0 when every record was written; 1 when some could not be (each named on stderr, none
    written in its place); 2 on a usage, config or input error."""
    with start_up():
        from dqe.api import convert as run_convert

    with stdout_to_stderr():  # plugins print to stderr
        result = run_convert(list(paths), to, output, config, disable_plugins=disable_plugins, **overrides_of(kw))
    click.echo(f"{result.written:,} records -> {result.output}")
    for line in result.skipped[:20]:
        click.echo(f"skipped {line}", err=True)
    if result.skipped:
        click.echo(f"{len(result.skipped):,} records could not be converted and were not written", err=True)
        exit_with(1)
