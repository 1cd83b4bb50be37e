"""The commands that describe dqe itself: ``dqe rules``, ``dqe rule CODE``, ``dqe plugins``."""

from __future__ import annotations

from pathlib import Path

import click

from dqe.cli.options import (
    config_option,
    disabled_plugins,
    exit_with,
    fail,
    handle_errors,
    plugin_option,
    stdout_to_stderr,
)


@click.command()
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Also rules that are off by default.")
@config_option
@plugin_option
@handle_errors
def rules(fmt: str, show_all: bool, config: Path | None, disable_plugins: tuple[str, ...]) -> None:
    """Every rule: code, name, scope, severity, one-line summary."""
    from dqe.report.ruledocs import rule_rows

    with stdout_to_stderr():  # plugins print to stderr
        rows = [r for r in rule_rows(disabled_plugins(disable_plugins, config)) if show_all or r["default"]]
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


@click.command()
@click.argument("code")
@config_option
@plugin_option
@handle_errors
def rule(code: str, config: Path | None, disable_plugins: tuple[str, ...]) -> None:
    """What a rule does, why it matters, an example, and its options."""
    from dqe.report.ruledocs import rule_doc

    with stdout_to_stderr():  # plugins print to stderr
        text = rule_doc(code, disabled_plugins(disable_plugins, config))
    if text is None:
        fail(f"no rule '{code}' (see `dqe rules`)")
    click.echo(text)


@click.command()
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@config_option
@plugin_option
@handle_errors
def plugins(fmt: str, config: Path | None, disable_plugins: tuple[str, ...]) -> None:
    """Loaded plugins, their versions and what each adds; broken ones with the reason."""
    from dqe.engine.plugins import load_plugins
    from dqe.kinds import KINDS

    with stdout_to_stderr():  # plugins print to stderr
        registry = load_plugins(disabled=disabled_plugins(disable_plugins, config))
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
                f"{kind.plural} {', '.join(getattr(p, kind.plural))}" for kind in KINDS if getattr(p, kind.plural)
            )
            table.add_row(p.name, p.package or "", p.version or "", status, adds)
        console = Console(highlight=False)
        console.print(table)
        for p in registry.plugins:
            if p.error:
                console.print(f"[red]error:[/] {p.error}", markup=True, highlight=False)
    exit_with(2 if registry.errors else 0)
