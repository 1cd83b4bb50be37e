"""Plugins: registered in-process or through the `dqe` entry-point group, and failing closed."""

from __future__ import annotations

import textwrap

import polars as pl
import pytest
from click.testing import CliRunner

import dqe
from dqe.cli import main
from dqe.engine.plugins import load_plugins
from dqe.errors import PluginError

GOOD = {"instruction": "Say hi.", "output": "Hi there!"}


class ShoutingRule(dqe.RecordRule):
    """Fails answers written in capitals."""

    code = "TST001"
    name = "shouting"
    summary = "answer in capital letters"

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        shouting = pl.col("answer").str.contains(r"^[^a-z]*[A-Z][^a-z]*$")
        return batch.select(passed=~shouting, message=pl.when(shouting).then(pl.lit("answer is shouting")))


class ShoutingPlugin:
    @dqe.hookimpl
    def dqe_register_rules(self, register):
        register(ShoutingRule)


def test_a_plugin_object_works_like_a_builtin():
    report = dqe.check([GOOD, {"instruction": "Say hello.", "output": "HELLO THERE!"}], plugins=[ShoutingPlugin()])
    assert report.summary.rejected == 1
    assert [(f.code, f.message) for f in report.findings] == [("TST001", "answer is shouting")]


def test_duplicate_code_is_refused_naming_both_plugins():
    class Clash(dqe.RecordRule):
        code = "DQ101"
        name = "clash"
        summary = "takes a built-in code"

        def check(self, batch):
            return batch.select(passed=pl.lit(True))

    class ClashPlugin:
        @dqe.hookimpl
        def dqe_register_rules(self, register):
            register(Clash)

    registry = load_plugins(extra=[ClashPlugin()])
    assert any(
        "registers rule DQ101, which plugin 'dqe.rules.token_length' already registered" in e for e in registry.errors
    )
    with pytest.raises(PluginError):
        dqe.check([GOOD], plugins=[ClashPlugin()])


def test_a_hook_with_an_unknown_argument_names_the_plugin():
    class Wrong:
        @dqe.hookimpl
        def dqe_register_rules(self, register, extra):
            register(ShoutingRule)

    (error,) = load_plugins(extra=[Wrong()]).errors
    assert error.startswith("plugin 'Wrong-0' implements dqe_register_rules(register, extra)")


def test_an_invalid_rule_class_is_refused_with_the_fix():
    class NoCode(dqe.RecordRule):
        name = "nameless"
        summary = "x"

        def check(self, batch):
            return batch.select(passed=pl.lit(True))

    class Bad:
        @dqe.hookimpl
        def dqe_register_rules(self, register):
            register(NoCode)

    (error,) = load_plugins(extra=[Bad()]).errors
    assert "rule NoCode has no 'code'" in error


class Exploding(dqe.RecordRule):
    code = "TST002"
    name = "exploding"
    summary = "raises on records that mention 'boom'"

    def check(self, batch):
        if batch["question"].str.contains("boom").any():
            raise ZeroDivisionError("boom")
        return batch.select(passed=pl.lit(True))


class ExplodingPlugin:
    @dqe.hookimpl
    def dqe_register_rules(self, register):
        register(Exploding)


def test_a_rule_that_raises_names_the_rule_and_the_record_and_never_passes(write_jsonl):
    path = write_jsonl([GOOD, {"instruction": "boom", "output": "x"}, {"instruction": "Say bye.", "output": "Bye!"}])
    report = dqe.check(path, plugins=[ExplodingPlugin()])
    assert report.exit_code == 2
    (error,) = report.errors
    assert error.code == "TST002" and error.source == f"{path}:2" and "ZeroDivisionError: boom" in error.message
    records = report.records
    assert records["status"].to_list() == ["passed", "rejected", "passed"]
    assert records["reasons"][1][0].startswith("TST002: rule raised ZeroDivisionError")


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install a plugin distribution on sys.path, the way pip would: a module and a dist-info."""

    monkeypatch.delenv("DQE_DISABLE_PLUGINS")

    def install(module_source: str, name: str = "dqe_shout", dist: str = "dqe-shout"):
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        (site / f"{name}.py").write_text(textwrap.dedent(module_source))
        info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[dqe]\nshout = {name}\n")
        monkeypatch.syspath_prepend(str(site))
        return site

    return install


PLUGIN_SOURCE = """
    import polars as pl
    import dqe

    class Shouting(dqe.RecordRule):
        code = "SHT001"
        name = "shouting"
        summary = "answer in capital letters"

        def check(self, batch):
            loud = pl.col("answer").str.to_uppercase() == pl.col("answer")
            return batch.select(passed=~loud, message=pl.when(loud).then(pl.lit("shouting")))

    @dqe.hookimpl
    def dqe_register_rules(register):
        register(Shouting)
"""


def run(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_an_entry_point_plugin_is_listed_and_runs(installed, write_jsonl):
    installed(PLUGIN_SOURCE)
    code, out = run("plugins")
    assert code == 0 and "shout" in out and "dqe-shout" in out and "1.2.3" in out and "SHT001" in out
    code, out = run("check", write_jsonl([GOOD, *[{"instruction": "x", "output": "LOUD"}] * 5]))
    assert code == 1 and "SHT001" in out and "shouting" in out
    assert run("rule", "SHT001")[0] == 0


def test_a_plugin_that_fails_to_import_stops_the_run_until_switched_off(installed, write_jsonl, tmp_path):
    installed("import not_a_module_anywhere\n", name="dqe_broken", dist="dqe-broken")
    data = write_jsonl([GOOD])
    code, out = run("check", data)
    assert code == 2
    assert "plugin 'shout' (package dqe-broken 1.2.3) failed to import dqe_broken" in out
    assert "not_a_module_anywhere" in out
    assert "--disable-plugin shout" in out
    assert run("check", data, "--disable-plugin", "shout")[0] == 0
    assert run("check", data, env={"DQE_DISABLE_PLUGINS": "dqe-broken"})[0] == 0
    (tmp_path / "dqe.toml").write_text('disable-plugins = ["shout"]\n')
    assert run("check", data)[0] == 0
    code, out = run("plugins")
    assert code == 0 and "disabled" in out
    (tmp_path / "dqe.toml").unlink()
    code, out = run("plugins")
    assert code == 2 and "error" in out


def test_builtin_plugins_can_be_switched_off_too(write_jsonl):
    data = write_jsonl([{"instruction": "x", "output": ""}])
    assert run("check", data)[0] == 1
    code, out = run("check", data, "--disable-plugin", "dqe.rules.structure")
    assert code == 0


def test_an_unknown_plugin_to_switch_off_is_named_with_the_loaded_ones(write_jsonl, tmp_path):
    data = write_jsonl([GOOD])
    code, out = run("check", data, "--disable-plugin", "dqe.rules.structur")
    flat = " ".join(out.split())
    assert code == 2
    assert (
        "--disable-plugin / disable-plugins: no plugin 'dqe.rules.structur' (did you mean dqe.rules.structure?)" in flat
    )
    assert "loaded plugins: dqe.io.formats.sharegpt, " in flat
    (tmp_path / "dqe.toml").write_text('disable-plugins = ["dqe-pi"]\n')
    code, out = run("check", data)
    assert code == 2 and "no plugin 'dqe-pi'" in out
    for command in (["rules"], ["rule", "DQ001"], ["plugins"]):
        assert run(*command)[0] == 2
    (tmp_path / "dqe.toml").unlink()
    with pytest.raises(PluginError, match="no plugin 'nope'"):
        dqe.check([GOOD], disable_plugins=["nope"])


def test_names_in_the_environment_may_be_plugins_this_machine_lacks(write_jsonl, monkeypatch):
    """DQE_DISABLE_PLUGINS is set for a whole CI machine or shell, not for one project."""
    monkeypatch.setenv("DQE_DISABLE_PLUGINS", "dqe-not-installed-here")
    assert run("check", write_jsonl([GOOD]))[0] == 0
