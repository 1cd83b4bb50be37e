"""dqe/rules/codes.py, the table a newcomer greps, says what the built-in rules register."""

from __future__ import annotations

import inspect
from pathlib import Path

from dqe.engine.plugins import load_plugins
from dqe.rules.codes import CODES

ROOT = Path(__file__).resolve().parents[2]


def builtin_rules() -> dict:
    registry = load_plugins()
    return {code: cls for code, cls in registry.rules.items() if registry.plugin_of("rule", code).startswith("dqe.")}


def test_every_built_in_rule_is_in_the_table_and_nothing_else():
    assert sorted(builtin_rules()) == sorted(CODES)


def test_the_table_names_each_rule_and_the_file_that_defines_it():
    for code, cls in builtin_rules().items():
        entry = CODES[code]
        assert entry.name == cls.name, code
        assert Path(inspect.getsourcefile(cls)).resolve() == (ROOT / entry.module).resolve(), code


def test_the_packs_named_exist():
    for code, entry in CODES.items():
        if entry.pack:
            assert list((ROOT / "rules").glob(f"{entry.pack}.toml")), f"{code}: rules/{entry.pack}.toml"


def test_the_table_is_in_code_order():
    assert list(CODES) == sorted(CODES)
