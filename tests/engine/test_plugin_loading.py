"""Plugins that cannot be used: each is an error naming the plugin and the fix, never a
traceback and never a run that goes on as if its rules had passed.

The broken plugins here are real distributions: a module and a ``*.dist-info`` folder with an
``entry_points.txt`` on sys.path, found by ``importlib.metadata`` exactly as an installed
package is.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from dqe.cli import main
from dqe.engine.plugins import load_plugins
from dqe.errors import PluginError

RULE = '''
import polars as pl
from dqe import RecordRule, hookimpl


class Fine(RecordRule):
    """Passes everything."""

    code = "{code}"
    name = "fine-{suffix}"
    summary = "never fails"

    def check(self, batch):
        return batch.select(passed=pl.lit(True))
'''


class Installer:
    """Writes distributions into a folder on sys.path, with unique module names per test."""

    def __init__(self, root: Path):
        self.root = root

    def install(self, dist: str, source: str, *, entry_name: str | None = None, version: str = "1.2.3") -> str:
        module = f"{dist.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[dqe]\n{entry_name or dist} = {module}\n")
        return module


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Installer:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("DQE_DISABLE_PLUGINS", raising=False)
    monkeypatch.chdir(tmp_path)  # no dqe.toml of the project's
    return Installer(root)


def error_of(name: str) -> str:
    [info] = [p for p in load_plugins().plugins if p.name == name]
    assert info.error, f"plugin {name} loaded without an error"
    return info.error


def test_a_working_plugin_shows_its_package_version_and_rules(installed):
    installed.install(
        "dqe-fine",
        RULE.format(code="FINE001", suffix="a")
        + "\n@hookimpl\ndef dqe_register_rules(register):\n    register(Fine)\n",
    )
    registry = load_plugins()
    [info] = [p for p in registry.plugins if p.name == "dqe-fine"]
    assert (info.package, info.version, info.rules, info.error) == (
        "dqe-fine",
        "1.2.3",
        ["FINE001"],
        None,
    )
    assert registry.plugin_of("rule", "FINE001") == "dqe-fine"
    out = CliRunner().invoke(main, ["plugins", "--format", "json"])
    assert out.exit_code == 0
    assert {
        "name": "dqe-fine",
        "package": "dqe-fine",
        "version": "1.2.3",
        "rules": ["FINE001"],
    }.items() <= next(p for p in json.loads(out.output) if p["name"] == "dqe-fine").items()


def test_a_plugin_that_fails_to_import(installed):
    module = installed.install("dqe-broken", "import yaml_that_is_not_installed\n")
    assert error_of("dqe-broken") == (
        f"plugin 'dqe-broken' (package dqe-broken 1.2.3) failed to import {module}: it needs the module "
        "'yaml_that_is_not_installed', which is not installed; pip install --force-reinstall dqe-broken, "
        "or switch it off with --disable-plugin dqe-broken or DQE_DISABLE_PLUGINS=dqe-broken"
    )


def test_a_plugin_that_raises_on_import(installed):
    installed.install("dqe-raises", "x = 1\nraise RuntimeError('no GPU found')\n")
    error = error_of("dqe-raises")
    assert "failed to import" in error and "RuntimeError: no GPU found (at dqe_raises_" in error
    assert error.endswith("or switch it off with --disable-plugin dqe-raises or DQE_DISABLE_PLUGINS=dqe-raises")


def test_a_plugin_that_registers_a_code_already_taken(installed):
    installed.install(
        "dqe-clash",
        RULE.format(code="DQ001", suffix="b") + "\n@hookimpl\ndef dqe_register_rules(register):\n    register(Fine)\n",
    )
    assert error_of("dqe-clash") == (
        "plugin 'dqe-clash' registers rule DQ001, which plugin 'dqe.rules.structure' already registered; a plugin "
        "must claim codes and names of its own (or switch it off with --disable-plugin dqe-clash or DQE_DISABLE_PLUGINS=dqe-clash)"
    )


def test_a_hook_with_a_wrong_argument(installed):
    installed.install(
        "dqe-wrongarg",
        RULE.format(code="WA001", suffix="c") + "\n@hookimpl\ndef dqe_register_rules(add):\n    add(Fine)\n",
    )
    assert error_of("dqe-wrongarg").startswith(
        "plugin 'dqe-wrongarg' implements dqe_register_rules(add), but the hook passes 'register' and nothing else: "
        "write dqe_register_rules(register)"
    )


def test_a_hook_without_the_marker(installed):
    installed.install(
        "dqe-unmarked",
        RULE.format(code="UM001", suffix="d") + "\ndef dqe_register_rules(register):\n    register(Fine)\n",
    )
    assert (
        "defines dqe_register_rules() without @hookimpl, so dqe would never call it: decorate it with @dqe.hookimpl"
        in error_of("dqe-unmarked")
    )


def test_a_misspelt_hook(installed):
    installed.install(
        "dqe-typo",
        RULE.format(code="TY001", suffix="e") + "\n@hookimpl\ndef dqe_register_rule(register):\n    register(Fine)\n",
    )
    assert "implements dqe_register_rule(), which is no dqe hook; did you mean dqe_register_rules?" in error_of(
        "dqe-typo"
    )


def test_an_entry_point_that_names_no_hooks(installed):
    installed.install("dqe-empty", "VALUE = 1\n")
    assert (
        "implements no dqe hook: its entry point must name the module that holds the @hookimpl functions"
        in error_of("dqe-empty")
    )


def test_a_hook_that_raises(installed):
    installed.install(
        "dqe-hookraises",
        "from dqe import hookimpl\n\n@hookimpl\ndef dqe_register_rules(register):\n    raise KeyError('rules.toml')\n",
    )
    error = error_of("dqe-hookraises")
    assert error.startswith("plugin 'dqe-hookraises' failed in dqe_register_rules: KeyError: 'rules.toml'")


def test_an_invalid_rule_class(installed):
    source = (
        RULE.format(code="bad-code", suffix="f")
        + "\n@hookimpl\ndef dqe_register_rules(register):\n    register(Fine)\n"
    )
    installed.install("dqe-badcode", source)
    assert "code 'bad-code' must be a prefix of 2-6 capital letters and 3 digits, like PII001" in error_of(
        "dqe-badcode"
    )


def test_a_broken_plugin_stops_the_run_with_exit_code_2(installed, tmp_path):
    installed.install("dqe-broken", "import yaml_that_is_not_installed\n")
    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "Hi", "output": "Hello"}\n')
    out = CliRunner().invoke(main, ["check", str(data), "--no-progress"])
    assert out.exit_code == 2
    assert "dqe: error: plugin 'dqe-broken' (package dqe-broken 1.2.3) failed to import" in out.stderr
    assert "Traceback" not in out.output
    out = CliRunner().invoke(main, ["plugins"])
    assert out.exit_code == 2 and "error: plugin 'dqe-broken'" in out.output


def test_a_broken_plugin_can_be_switched_off_three_ways(installed, tmp_path, monkeypatch):
    installed.install("dqe-broken", "import yaml_that_is_not_installed\n")
    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "Hi", "output": "Hello"}\n')
    runner = CliRunner()
    assert runner.invoke(main, ["check", str(data), "--no-progress", "--disable-plugin", "dqe-broken"]).exit_code == 0
    assert (
        runner.invoke(
            main,
            ["check", str(data), "--no-progress"],
            env={"DQE_DISABLE_PLUGINS": "other,DQE_Broken"},
        ).exit_code
        == 0
    )
    (tmp_path / "dqe.toml").write_text('disable-plugins = ["dqe-broken"]\n')
    assert runner.invoke(main, ["check", str(data), "--no-progress"]).exit_code == 0
    listed = json.loads(runner.invoke(main, ["plugins", "--format", "json"]).output)
    assert next(p for p in listed if p["name"] == "dqe-broken")["disabled"] is True
    assert runner.invoke(main, ["rules"]).exit_code == 0
    (tmp_path / "dqe.toml").unlink()
    assert runner.invoke(main, ["rules"]).exit_code == 2


def test_disabling_a_plugin_by_package_name(installed):
    installed.install(
        "dqe-fine",
        RULE.format(code="FINE001", suffix="g")
        + "\n@hookimpl\ndef dqe_register_rules(register):\n    register(Fine)\n",
        entry_name="fine",
    )
    assert "FINE001" in load_plugins().rules
    assert "FINE001" not in load_plugins(disabled=["dqe_fine"]).rules
    assert "FINE001" not in load_plugins(disabled=["fine"]).rules


def test_a_rule_that_raises_is_reported_with_its_plugin_and_the_fix(installed, tmp_path):
    source = """
        import polars as pl
        from dqe import RecordRule, hookimpl


        class Crashes(RecordRule):
            \"\"\"Divides by the answer's length.\"\"\"

            code = "CR001"
            name = "crashes"
            summary = "raises on empty answers"

            def check(self, batch):
                ratios = [1 / len(a) for a in batch["answer"]]
                return batch.select(passed=pl.lit(True))


        @hookimpl
        def dqe_register_rules(register):
            register(Crashes)
    """
    installed.install("dqe-crashes", source)
    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "Hi", "output": "Hello"}\n{"instruction": "Hi", "output": ""}\n')
    out = CliRunner().invoke(main, ["check", "d.jsonl", "--no-progress", "--select", "CR001"])
    assert out.exit_code == 2
    text = " ".join(out.output.split())  # as read, not as wrapped
    assert "CR001 (plugin dqe-crashes) d.jsonl:2: ZeroDivisionError: division by zero (at dqe_crashes_" in text
    assert "report it to the authors of plugin 'dqe-crashes' with these records" in text
    assert "to check without it: --ignore CR001 or --disable-plugin dqe-crashes" in text
    report = json.loads(CliRunner().invoke(main, ["check", "d.jsonl", "--format", "json", "--select", "CR001"]).output)
    assert (
        report["summary"]["passed"] == 1 and report["summary"]["rejected"] == 1
    )  # the record it raised on is not a pass
    assert (report["errors"][0]["plugin"], report["errors"][0]["source"]) == (
        "dqe-crashes",
        "d.jsonl:2",
    )


def test_plugin_error_messages_are_plugin_errors(installed):
    installed.install("dqe-broken", "import yaml_that_is_not_installed\n")
    with pytest.raises(PluginError, match="plugin 'dqe-broken'"):
        load_plugins().raise_errors()
