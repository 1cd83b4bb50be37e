"""The ``dqe`` command: a thin layer over ``dqe.api``.

Exit codes: 0 the gate passes, 1 it fails, 2 a usage, config or plugin error, an input that
cannot be read at all, or a rule that raised. Heavy modules (polars, the engine) are imported
inside the commands so that ``dqe --help`` stays fast.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any, NoReturn

import click

from dqe import __version__
from dqe.errors import USER_ERRORS, GateRefused, TrainingInterrupted

FORMATS = ("text", "json", "jsonl", "html", "github", "sarif", "junit", "markdown")  # built in; plugins add more


def _split(values: tuple[str, ...]) -> list[str] | None:
    """``--select DQ1,DQ2 --select PII`` -> ["DQ1", "DQ2", "PII"]; None when not given."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str] | None:
    """``--columns prompt=q,response=a`` -> {"prompt": "q", "response": "a"}."""
    parts = _split(values)
    if parts is None:
        return None
    pairs = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise click.BadParameter(f"'{part}' is not KEY=FIELD", param_hint=option)
        pairs[key.strip()] = value.strip()
    return pairs


class _Exit(SystemExit):
    """dqe's own exit, told apart from a ``SystemExit`` that plugin code raised."""


def _exit(code: int) -> NoReturn:
    raise _Exit(code)


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"dqe: error: {message}", err=True)
    _exit(code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures become one clear line on stderr and exit code 2, not a traceback.

    A ``SystemExit`` or ``GeneratorExit`` that is not dqe's own came from plugin code that no
    guard wraps: the run did not finish, so it is an error (exit code 2), never the exit code
    the plugin chose (``SystemExit(0)`` would pass a CI gate).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:

        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            _fail(str(exc))
        except OSError as exc:  # an I/O error no reader or writer named: still not a gate failure
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}")
        except KeyboardInterrupt:
            _fail("interrupted; no output was written", 130)
        except _Exit:
            raise
        except (SystemExit, GeneratorExit) as exc:
            from dqe.guard import describe

            _fail(
                f"the run was ended by {describe(exc)}, not by dqe: plugin code stopped it, and nothing was checked to the end"
            )

    return wrapper


def plugin_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--disable-plugin",
        "disable_plugins",
        multiple=True,
        metavar="NAME",
        help="Switch a plugin off by name or package (repeatable; also DQE_DISABLE_PLUGINS=a,b).",
    )(fn)


def config_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path),
        help="Config file (dqe.toml or pyproject.toml); default: found by walking up from here.",
    )(fn)


def _disabled(flags: tuple[str, ...], config: Path | None) -> list[str]:
    """Plugins switched off by --disable-plugin and by the config's disable-plugins (the
    environment's DQE_DISABLE_PLUGINS is read by the plugin loader itself)."""
    from dqe.engine.config import load_config

    return [*flags, *load_config(config).config.disable_plugins]


def engine_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the commands that run the engine."""
    options = [
        config_option,
        click.option(
            "--select",
            multiple=True,
            metavar="CODES",
            help="Run only these rules: codes, prefixes (DQ1), names or ALL; comma-separated.",
        ),
        click.option("--extend-select", multiple=True, metavar="CODES", help="Add rules to the selection."),
        click.option("--ignore", multiple=True, metavar="CODES", help="Leave these rules out."),
        click.option(
            "--tokenizer",
            metavar="SPEC",
            help="tiktoken:ENCODING (default tiktoken:cl100k_base) or hf:PATH to a local tokenizer.",
        ),
        click.option(
            "--template", metavar="NAME", help="Prompt template used to count tokens (chatml, alpaca, phi3, plain)."
        ),
        click.option(
            "--input-format",
            metavar="FORMAT",
            help="Record format of every input (alpaca, sharegpt, openai); default: detected per file.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=0),
            help="Worker processes (0, the default: one per core for inputs over 64 MB whose rules cost more than reading; 1: none).",
        ),
        click.option(
            "--columns",
            multiple=True,
            metavar="KEY=FIELD",
            help="Map field names, LLaMA-Factory style: prompt=question,response=answer (keys: prompt, query, response, system, history, messages, tools, category, domain, language).",
        ),
        plugin_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def against_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--against",
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="PATH",
        help="Evaluation set (file or folder, repeatable): training records found in it, exactly or nearly, fail DQ403.",
    )(fn)


def _overrides(kw: dict[str, Any]) -> dict[str, Any]:
    overrides = {
        "select": _split(kw.pop("select")),
        "extend_select": _split(kw.pop("extend_select")),
        "ignore": _split(kw.pop("ignore")),
        "tokenizer": kw.pop("tokenizer"),
        "template": kw.pop("template"),
        "input_format": kw.pop("input_format"),
        "columns": _pairs(kw.pop("columns"), "--columns"),
        "workers": kw.pop("workers"),
        # Paths given on the command line are relative to here, not to the config file.
        "against": [str(p.resolve()) for p in kw.pop("against", ())] or None,
    }
    return {k: v for k, v in overrides.items() if v is not None}


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what plugin code prints to stderr while it runs, so that a report on stdout (JSON a
    tool reads) holds nothing else: ``print`` and writes to file descriptor 1 both, and those of
    worker processes started meanwhile, which inherit the descriptor."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no descriptor 1 or 2 (a daemon): Python-level output is still redirected
        saved = None
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A records counter on stderr for long runs; nothing when stderr is not a terminal."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("checking {task.completed:,} records"),
        TextColumn("[dim]{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(file=getattr(sys.stderr, "stream", sys.stderr)),  # its cursor movements are dqe's own
        transient=True,
    ) as progress:
        task = progress.add_task("check", total=None, rate="")

        def update(done: int) -> None:
            elapsed = progress.tasks[0].elapsed or 0
            rate = f"{done / elapsed:,.0f} records/s" if elapsed > 0 else ""
            progress.update(task, completed=done, rate=rate)

        yield update


def _write(texts: dict[Path | None, str]) -> None:
    """Each text to its file (None: standard output); the files all or none."""
    from dqe.io.writers import OutputSet

    with OutputSet() as files:
        for path, text in texts.items():
            if path is not None:
                files.open(path).write(text.encode())
    if None in texts:
        click.echo(texts[None], nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dqe")
def main() -> None:
    """dqe: check, filter and gate LLM fine-tuning (SFT) data, then train only on what passed.

    \b
    dqe check data.jsonl                      report; exit 0 pass, 1 fail, 2 error
    dqe filter data.jsonl --passed ok.jsonl --rejected bad.jsonl
    dqe train --model PATH --data ok.jsonl --template alpaca --out runs/exp1
    dqe eval runs/exp1                        loss, ROUGE, rules on answers: base vs tuned
    dqe rules / dqe rule DQ101 / dqe plugins
    """
    from dqe.report.terminal import TerminalStream

    # Everything a command writes, the report, messages, what plugins print, can quote data:
    # no control sequence in it reaches the terminal (or the CI log that plays it back).
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, TerminalStream):
            setattr(sys, name, TerminalStream(stream))


@main.command()
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
@click.option("--no-progress", is_flag=True, help="No progress counter on stderr.")
@against_option
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
    no_progress: bool,
    config: Path | None,
    disable_plugins: tuple[str, ...],
    **kw: Any,
) -> None:
    """Check instruction data (JSON, JSONL, Parquet; Alpaca, ShareGPT, OpenAI messages)."""
    from dqe.api import guard_outputs, make_engine
    from dqe.report.model import build_report
    from dqe.report.render import prepare, render

    color = output is None and fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    with stdout_to_stderr():  # what plugin code prints must not mix into the report on stdout
        # Config, plugins, renderers and output paths are checked before the run, so a mistake costs no check.
        engine = make_engine(config, (), disable_plugins, _overrides(kw))
        for name in (fmt, "html") if html_path is not None else (fmt,):
            prepare(engine.registry, name)
        written = {name: path for name, path in (("-o/--output", output), ("--html", html_path)) if path is not None}
        inputs = guard_outputs(engine, list(paths), written)
        with progress_bar(not no_progress) as progress:
            report = build_report(engine.run(inputs, progress), complete=all_findings)
        if show is not None:
            from dqe.report.render.show import render_show

            text = render_show(report, show, limit=limit, color=color)
        else:
            text = render(engine.registry, fmt, report, color=color, statistics=statistics)
        page = render(engine.registry, "html", report) if html_path is not None else None
    _write({output: text, **({html_path: page} if page is not None else {})})
    if output is not None or html_path is not None:
        s = report.summary
        written = " and ".join(str(p) for p in (output, html_path) if p is not None)
        click.echo(
            f"{s.records:,} records: {s.passed:,} passed, {s.rejected:,} rejected, {s.invalid:,} invalid; gate {s.gate}; report in {written}",
            err=True,
        )
    code = report.exit_code
    _exit(0 if exit_zero and code == 1 else code)


@main.command()
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


@main.command(name="filter")
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
    "--annotate",
    is_flag=True,
    help="Add each record's labels (category, domain, languages per turn, chain of thought, tokens) "
    "under _dqe.labels, passed records included.",
)
@click.option("--no-progress", is_flag=True, help="No progress counter on stderr.")
@against_option
@engine_options
@handle_errors
def filter_(
    paths: tuple[Path, ...],
    passed: Path,
    rejected: Path,
    balance: bool | None,
    max_records: int | None,
    annotate: bool,
    no_progress: bool,
    config: Path | None,
    disable_plugins: tuple[str, ...],
    **kw: Any,
) -> None:
    """Split data into passed and rejected records; every input record lands in exactly one."""
    from dqe.api import filter as run_filter
    from dqe.io.inputs import ANNOTATION
    from dqe.report.render.common import gate_sentence
    from dqe.report.render.text import summary_line

    overrides = {**_overrides(kw), "balance": balance, "max_records": max_records}
    with progress_bar(not no_progress) as progress, stdout_to_stderr():  # plugins print to stderr
        result = run_filter(
            list(paths),
            passed,
            rejected,
            config,
            disable_plugins=disable_plugins,
            progress=progress,
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
    _exit(report.exit_code)


@main.command()
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Also rules that are off by default.")
@config_option
@plugin_option
@handle_errors
def rules(fmt: str, show_all: bool, config: Path | None, disable_plugins: tuple[str, ...]) -> None:
    """Every rule: code, name, scope, severity, one-line summary."""
    from dqe.report.ruledocs import rule_rows

    with stdout_to_stderr():  # plugins print to stderr
        rows = [r for r in rule_rows(_disabled(disable_plugins, config)) if show_all or r["default"]]
    if fmt == "json":
        import json

        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("code", "name", "scope", "severity", "summary"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["code"],
            r["name"],
            r["scope"],
            r["severity"],
            r["summary"] + ("" if r["default"] else " [dim](off by default)[/]"),
        )
    Console(highlight=False).print(table)


@main.command()
@click.argument("code")
@config_option
@plugin_option
@handle_errors
def rule(code: str, config: Path | None, disable_plugins: tuple[str, ...]) -> None:
    """What a rule does, why it matters, an example, and its options."""
    from dqe.report.ruledocs import rule_doc

    with stdout_to_stderr():  # plugins print to stderr
        text = rule_doc(code, _disabled(disable_plugins, config))
    if text is None:
        _fail(f"no rule '{code}' (see `dqe rules`)")
    click.echo(text)


@main.command()
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@config_option
@plugin_option
@handle_errors
def plugins(fmt: str, config: Path | None, disable_plugins: tuple[str, ...]) -> None:
    """Loaded plugins, their versions and what each adds; broken ones with the reason."""
    from dqe.engine.plugins import load_plugins

    with stdout_to_stderr():  # plugins print to stderr
        registry = load_plugins(disabled=_disabled(disable_plugins, config))
    if fmt == "json":
        import json

        click.echo(json.dumps([p.model_dump() for p in registry.plugins], indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for col in ("plugin", "package", "version", "status", "adds"):
            table.add_column(col, overflow="fold")
        for p in registry.plugins:
            status = "[red]error[/]" if p.error else "[dim]disabled[/]" if p.disabled else "ok"
            adds = ", ".join(
                f"{kind} {', '.join(names)}"
                for kind, names in (
                    ("rules", p.rules),
                    ("formats", p.formats),
                    ("templates", p.templates),
                    ("features", p.features),
                    ("renderers", p.renderers),
                    ("classifiers", p.classifiers),
                )
                if names
            )
            table.add_row(p.name, p.package or "", p.version or "", status, adds)
        console = Console(highlight=False)
        console.print(table)
        for p in registry.plugins:
            if p.error:
                console.print(f"[red]error:[/] {p.error}", markup=True, highlight=False)
    _exit(2 if registry.errors else 0)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, help="Target record format: alpaca, sharegpt or openai.")
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="Output file (.jsonl, .json or .parquet)."
)
@engine_options
@handle_errors
def convert(
    paths: tuple[Path, ...], to: str, output: Path, config: Path | None, disable_plugins: tuple[str, ...], **kw: Any
) -> None:
    """Rewrite records in another format, keeping every other field."""
    from dqe.api import convert as run_convert

    with stdout_to_stderr():  # plugins print to stderr
        result = run_convert(list(paths), to, output, config, disable_plugins=disable_plugins, **_overrides(kw))
    click.echo(f"{result.written:,} records -> {result.output}")
    for line in result.skipped[:20]:
        click.echo(f"skipped {line}", err=True)
    if result.skipped:
        click.echo(f"{len(result.skipped):,} records could not be converted and were not written", err=True)
        _exit(1)


def _require_train_extra(command: str) -> None:
    """Exit 2 with the install command when torch, transformers or peft is missing."""
    missing = [name for name in ("torch", "transformers", "peft") if importlib.util.find_spec(name) is None]
    if missing:
        _fail(f"dqe {command} needs the [train] extra (missing: {', '.join(missing)}): pip install 'dqe[train]'")


@main.command()
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
@click.option("--lora-r", type=int, help="LoRA rank.")
@click.option("--seed", type=int)
@click.option("--merge/--no-merge", default=None, help="Also save the base model with the adapter merged in.")
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
def train(config_file: Path | None, resume: Path | None, force: bool, quiet: bool, **options: Any) -> None:
    """Fine-tune a LoRA adapter on the records that passed the gate, and only on them.

    \b
    dqe train --model PATH --data ok.jsonl --template alpaca --out runs/exp1
    dqe train --config train.toml --resume runs/exp1
    """
    _require_train_extra("train")
    from dqe.train.config import load_train_config, read_train_table
    from dqe.train.run import resume_config
    from dqe.train.run import train as run_train

    names = {
        "lr": "optim.lr",
        "seq_len": "batch.seq_len",
        "micro_batch_size": "batch.micro_batch_size",
        "grad_accum": "batch.grad_accum",
        "lora_r": "lora.r",
    }
    overrides = {names.get(k, k): v for k, v in options.items() if v is not None}
    if resume is not None:
        config = resume_config(resume, read_train_table(config_file) if config_file else None, overrides)
    else:
        config = load_train_config(config_file, overrides)
    if force:
        click.secho(
            "dqe train --force: the gate's refusals become warnings, and the run manifest says so",
            fg="red",
            bold=True,
            err=True,
        )
    try:
        result = run_train(config, force=force, resume=resume, echo=not quiet)
    except GateRefused as exc:
        click.secho(f"dqe: refusing to train on {config.data}:", fg="red", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        click.echo("(dqe train --force trains anyway and records that in the run manifest)", err=True)
        _exit(1)
    except TrainingInterrupted as exc:
        click.echo(f"dqe: {exc}; continue with: dqe train --resume {config.out}", err=True)
        _exit(130)
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


@main.command(name="eval")
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
@plugin_option
@handle_errors
def eval_(
    run_dir: Path,
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
    """
    _require_train_extra("eval")
    from dqe.eval.render import render_eval_html, render_eval_text
    from dqe.eval.report import EvalSettings
    from dqe.eval.run import evaluate

    settings = EvalSettings(rules=_split(rules), config=config, **options)
    if fmt == "html":
        from dqe.report.render.html import require_dependencies

        require_dependencies()
    with stdout_to_stderr():  # plugins print to stderr
        written = {"-o/--output": output} if output is not None else None
        result = evaluate(run_dir, settings, out=out, disable_plugins=disable_plugins, echo=not quiet, written=written)
    report = result.report
    if fmt == "json":
        text = report.model_dump_json(indent=2) + "\n"
    elif fmt == "html":
        text = render_eval_html(report)
    else:
        text = render_eval_text(report, color=output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    _write({output: text})
    if output is not None:
        click.echo(f"report in {output}; generations and reports in {result.out}", err=True)
