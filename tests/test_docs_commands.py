"""Every `dqe` command the README and docs/ show still runs as written: each is run on the demo
data (the file names it uses stand for its records), and must exit 0 or 1 (a gate verdict), never
2 (an option that no longer exists, a value it no longer takes). Commands that need what a test
cannot have here are named and left out: a model (train, eval, score and the score file it makes, a run's --ledger), an endpoint (the judge, augment), the guide's
example plugin (installed by test_plugin_guide), a Ray cluster (tests/ray runs `--engine ray`), and
shell pipes."""

from __future__ import annotations

import re
import shlex
import shutil

import pytest
from click.testing import CliRunner

from dqe.cli import main
from tests.support import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NEEDS_MORE = (
    "dqe train",
    "dqe eval",
    "--ledger",
    "dqe augment",
    "dqe score",
    "--scores",
    "JDG001",
    "ECHO001",
    "--disable-plugin echo",
    "--engine ray",
    "|",
    ">>",
)
DATA_NAMES = ("data.jsonl", "data.json", "train.jsonl", "old.jsonl", "new.jsonl", "eval.jsonl")


def shown_commands() -> dict[str, str]:
    """Each command the pages show, once (`dqe check data.jsonl` is on four), with the pages that show it."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            for line in block.splitlines():
                command = line.strip().removeprefix("$ ")
                if command.startswith("dqe ") and not any(part in command for part in NEEDS_MORE):
                    pages = found.setdefault(command.split("  #", 1)[0].split(" #", 1)[0].strip(), [])
                    if page.name not in pages:
                        pages.append(page.name)
    return {command: ", ".join(pages) for command, pages in found.items()}


COMMANDS = shown_commands()


def test_the_pages_show_commands():
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize(("command", "page"), COMMANDS.items(), ids=[f"{p}: {c}" for c, p in COMMANDS.items()])
def test_a_command_the_docs_show_runs(page, command, tmp_path):
    demo = ROOT / "examples" / "demo.jsonl"
    for name in DATA_NAMES:
        shutil.copy(demo, tmp_path / name)
    args = shlex.split(command)[1:]
    args = [
        str(ROOT.parent / "shared" / a.removeprefix("../shared/")) if a.startswith("../shared/") else a for a in args
    ]
    if args[:1] == ["diff"]:  # compares two reports the page made with the lines before it (of the same records here)
        CliRunner().invoke(main, ["check", "old.jsonl", "--format", "json", "-o", "before.json", "--no-progress"])
        shutil.copy(tmp_path / "before.json", tmp_path / "after.json")
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), f"{page}: `{command}` exited {result.exit_code}:\n{result.output[-2000:]}"
