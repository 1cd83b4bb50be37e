"""The layering, checked with import-linter: the contracts in pyproject.toml ([tool.importlinter]).

Layers by stage, as DESIGN.md draws them (cli > eval > train > testing > api > report > engine >
rules | features > io > core); the check path without torch, transformers, peft or dqe.train;
built-in rules that do not import each other; rules and plugins on the public surface only; and
no cycles in any package.
"""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_every_import_contract_is_kept(capsys):
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "0 broken" in report
