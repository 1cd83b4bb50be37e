"""What the commands share: error handling, exit codes, the common options, progress and output."""

from __future__ import annotations

import functools
import gc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from dqe.errors import USER_ERRORS

if TYPE_CHECKING:
    from dqe.engine.engine import RunProgress

FORMATS = ("text", "json", "jsonl", "html", "github", "sarif", "junit", "markdown")  # built in; plugins add more


@contextmanager
def start_up() -> Iterator[None]:
    """Imports and the engine's set-up with the cyclic garbage collector off, and what they made
    frozen after: about 120,000 objects that live as long as the process (some 1,800 of them are
    garbage, kept rather than collected), and each collection walked them all again (0.1-0.2 s of
    a small check). Collections after it run as before, over what the check itself makes."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def split_values(values: tuple[str, ...]) -> list[str] | None:
    """``--select DQ1,DQ2 --select PII`` -> ["DQ1", "DQ2", "PII"]; None when not given."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def pairs(values: tuple[str, ...], option: str) -> dict[str, str] | None:
    """``--columns prompt=q,response=a`` -> {"prompt": "q", "response": "a"}."""
    parts = split_values(values)
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


def exit_with(code: int) -> NoReturn:
    raise _Exit(code)


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"dqe: error: {message}", err=True)
    exit_with(code)


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
            fail(str(exc))
        except OSError as exc:  # an I/O error no reader or writer named: still not a gate failure
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
        except KeyboardInterrupt:
            fail("interrupted; no output was written", 130)
        except _Exit:
            raise
        except (SystemExit, GeneratorExit) as exc:
            from dqe.guard import describe

            fail(
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


def disabled_plugins(flags: tuple[str, ...], config: Path | None) -> list[str]:
    """Plugins switched off by --disable-plugin and by the config's disable-plugins (the
    environment's DQE_DISABLE_PLUGINS is read by the plugin loader itself)."""
    from dqe.engine.config import load_config

    return [*flags, *load_config(config).config.disable_plugins]


_READING = [
    click.option(
        "--input-format",
        metavar="FORMAT",
        help="Record format of every input (alpaca, sharegpt, openai, ...); default: detected per file.",
    ),
    click.option(
        "--exclude",
        multiple=True,
        metavar="GLOB",
        help="Leave files out of input folders: a glob matched against each file's path and name (repeatable).",
    ),
    click.option(
        "--columns",
        multiple=True,
        metavar="KEY=FIELD",
        help="Map field names, LLaMA-Factory style: prompt=question,response=answer (keys: prompt, query, response, system, history, messages, tools, chosen, rejected, category, domain, language).",
    ),
]
_SELECTION = [
    click.option(
        "--select",
        multiple=True,
        metavar="CODES",
        help="Run only these rules: codes, prefixes (DQ1), names or ALL; comma-separated.",
    ),
    click.option("--extend-select", multiple=True, metavar="CODES", help="Add rules to the selection."),
    click.option("--ignore", multiple=True, metavar="CODES", help="Leave these rules out."),
]
_RULES = [
    *_SELECTION,
    click.option(
        "--tokenizer",
        metavar="SPEC",
        help="tiktoken:ENCODING (default tiktoken:cl100k_base) or hf:PATH to a local tokenizer.",
    ),
    click.option(
        "--template", metavar="NAME", help="Prompt template used to count tokens (chatml, alpaca, phi3, plain)."
    ),
    click.option(
        "--model",
        metavar="PATH",
        help="Check with the trainer's encoding: this model's tokenizer (its chat template with --template model); runs DQ103-DQ106.",
    ),
    click.option(
        "--train-config",
        type=click.Path(path_type=Path),
        metavar="TOML",
        help="Check with the encoding of this train.toml: its model, template, system prompt and seq-len.",
    ),
    click.option(
        "--scores",
        type=click.Path(path_type=Path),
        metavar="FILE",
        help="The model's scores of the records (dqe score): DQ107, their histograms in the report, --by ifd.",
    ),
    click.option(
        "--workers",
        type=click.IntRange(min=0),
        help=(
            "Worker processes (0, the default: one per core when the first batch's rules cost more than "
            "reading it and the input left holds two batches a worker; 1: none)."
        ),
    ),
]


def _apply(fn: Callable[..., Any], options: list[Callable[..., Any]]) -> Callable[..., Any]:
    for option in reversed(options):
        fn = option(fn)
    return fn


def reading_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options of the commands that read records without running rules (dqe convert)."""
    return _apply(fn, [config_option, *_READING, plugin_option])


def engine_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by the commands that run the engine."""
    return _apply(fn, [config_option, *_RULES, *_READING, plugin_option])


def selection_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options of the commands that run the rules with the default encoding (dqe augment, whose
    --model names the endpoint's model)."""
    return _apply(fn, [config_option, *_SELECTION, *_READING, plugin_option])


def against_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--against",
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="PATH",
        help="Evaluation set (file or folder, repeatable): training records found in it, exactly or nearly, fail DQ403.",
    )(fn)


def ledger_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--ledger",
        type=click.Path(path_type=Path),
        metavar="RUN",
        help="A dqe train run folder: DQ108 lists the records it fitted worst for their length and those it got worse on.",
    )(fn)


def _here(path: str | Path | None) -> str | None:
    """A path given on the command line, absolute (relative to here, not to the config file)."""
    if path is None:
        return None
    return str(Path(path).expanduser().resolve()) if Path(path).expanduser().exists() else str(path)


def overrides_of(kw: dict[str, Any]) -> dict[str, Any]:
    overrides = {
        "select": split_values(kw.pop("select", ())),
        "extend_select": split_values(kw.pop("extend_select", ())),
        "ignore": split_values(kw.pop("ignore", ())),
        "tokenizer": kw.pop("tokenizer", None),
        "template": kw.pop("template", None),
        # a model folder named here is relative to here; a Hugging Face id stays as it is
        "model": _here(kw.pop("model", None)),
        "train_config": _here(kw.pop("train_config", None)),
        "ledger": _here(kw.pop("ledger", None)),
        "scores": _here(kw.pop("scores", None)),
        "input_format": kw.pop("input_format"),
        "columns": pairs(kw.pop("columns"), "--columns"),
        "workers": kw.pop("workers", None),
        "exclude": list(kw.pop("exclude")) or None,
        # Paths given on the command line are relative to here, not to the config file.
        "against": [str(p.resolve()) for p in kw.pop("against", ())] or None,
    }
    return {k: v for k, v in overrides.items() if v is not None}


@contextmanager
def stdout_to_stderr() -> Iterator[Callable[[str], None]]:
    """Send what plugin code prints to stderr while it runs, so that a report on stdout (JSON a
    tool reads) holds nothing else: ``print`` and writes to file descriptor 1 both, and those of
    worker processes started meanwhile, which inherit the descriptor. Yields a writer to the
    real standard output, for a report written as it is rendered (``--format jsonl``)."""
    original = sys.stdout
    original.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no descriptor 1 or 2 (a daemon): Python-level output is still redirected
        saved = None
    # the real stdout on its own descriptor, or the stream that stands for it (a test's capture)
    real = original if saved is None or not _on_descriptor_1(original) else _reopened(saved, original)
    try:
        with redirect_stdout(sys.stderr):
            yield real.write
    finally:
        real.flush()
        if real is not original:
            real.close()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _on_descriptor_1(stream: Any) -> bool:
    try:
        return stream.fileno() == 1
    except (AttributeError, OSError, ValueError):
        return False


def _reopened(fd: int, like: Any) -> Any:
    """A text stream on a copy of ``fd``, encoded as ``like``, and made visible as ``like`` is
    (the ``dqe`` command's ``TerminalStream``: no control sequence reaches a terminal)."""
    from dqe.report.terminal import TerminalStream

    stream = os.fdopen(os.dup(fd), "w", encoding=like.encoding, errors=like.errors)
    return TerminalStream(stream) if isinstance(like, TerminalStream) else stream


_PHASES = {"reading": "checking", "dataset rules": "data-set rules", "writing": "writing outputs"}


@contextmanager
def progress_bar(shown: bool | None) -> Iterator[Callable[[RunProgress], None] | None]:
    """A progress bar on stderr for long runs: the phase, the share done of the inputs' bytes
    (of the records, while writing), records, rate and time left. ``shown``: None for only when
    stderr is a terminal (--progress / --no-progress say yes or no)."""
    terminal = sys.stderr.isatty()
    if not (shown or (shown is None and terminal)):
        yield None
        return
    if not terminal:  # asked for where no bar can be drawn (a log file, CI): a line every few seconds
        yield _progress_lines()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[records]:,} records"),
        TextColumn("[dim]{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[left]}"),
        console=Console(file=getattr(sys.stderr, "stream", sys.stderr)),  # its cursor movements are dqe's own
        transient=True,
    ) as bar:
        task = bar.add_task("checking", total=None, records=0, rate="", left="")
        phase = "reading"

        def update(where: RunProgress) -> None:
            nonlocal phase
            nonlocal task
            if where.phase != phase:  # a new phase, with its own total (or none) and its own clock
                phase = where.phase
                bar.remove_task(task)
                task = bar.add_task(_PHASES[phase], total=where.total, records=where.records, rate="", left="")
            bar.update(task, total=where.total, completed=where.done or 0, records=where.records)
            state = bar.tasks[0]
            elapsed, remaining = state.elapsed or 0, state.time_remaining
            rate = f"{where.records / elapsed:,.0f} records/s" if phase == "reading" and elapsed > 0 else ""
            left = f"· {int(remaining) // 60}:{int(remaining) % 60:02d} left" if remaining is not None else ""
            bar.update(task, rate=rate, left=left)

        yield update


def _progress_lines() -> Callable[[RunProgress], None]:
    """Progress as plain lines on stderr: at each new phase and at most every 5 seconds."""
    import time

    start = time.monotonic()
    last: dict[str, Any] = {"phase": None, "at": 0.0}

    def update(where: RunProgress) -> None:
        now = time.monotonic()
        if where.phase == last["phase"] and now - last["at"] < 5:
            return
        last.update(phase=where.phase, at=now)
        share = f" {where.done / where.total:.0%}" if where.done is not None and where.total else ""
        rate = f", {where.records / (now - start):,.0f} records/s" if where.phase == "reading" and now > start else ""
        click.echo(f"{_PHASES[where.phase]}{share}: {where.records:,} records{rate}", err=True)

    return update


def write_outputs(texts: dict[Path | None, str]) -> None:
    """Each text to its file (None: standard output); the files all or none."""
    from dqe.io.writers import OutputSet

    with OutputSet() as files:
        for path, text in texts.items():
            if path is not None:
                files.open(path).write(text.encode())
    if None in texts:
        click.echo(texts[None], nl=False)
