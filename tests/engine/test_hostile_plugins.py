"""Hostile plugins: whatever plugin code raises, returns or does, a run fails closed.

Each case of ``dqe.testing.hostile.CASES`` is a plugin that misbehaves in one place in one way.
A run must then end with an error that names the plugin and the rule (exit code 2, never 0,
never a traceback), stop on Ctrl-C, or, for misbehaviour that cannot change a verdict (printing,
changing its own copy of the batch, being slow), give the same report as a well-behaved run.
Through the Python API, through the ``dqe`` command, and in worker processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

import dqe
from dqe.cli import main
from dqe.errors import PluginError
from dqe.testing.hostile import CASES, NAME, PRINTED, Hostile

GOOD = {"instruction": "Say hello.", "output": "Hello!"}
EMPTY = {"instruction": "Say hello.", "output": ""}  # fails DQ001: shows that no rule's verdict changed
# What each place's error message names besides the plugin.
NAMED = {
    "load": "failed in dqe_register_rules",
    "options": "rule HST001",
    "init": "rule HST001",
    "check": "HST001",
    "collect": "rule HST002",
    "evaluate": "HST002",
    "summarize": "rule HST001",
    "redact": "rule HST001",
    "feature": "feature 'hostile'",
    "classify": "category classifier 'hostile'",
    "render": "renderer 'hostile'",
    "detect": "record format 'hostile'",
    "normalize": "record format 'hostile'",
}


def records_of(plugin: Hostile) -> list[dict]:
    """The plugin's records, and for harmless cases a record DQ001 fails, so that a verdict
    changed by the misbehaviour would show."""
    return plugin.records + ([GOOD, EMPTY] if plugin.expected == "harmless" else [])


def config_of(plugin: Hostile) -> dict:
    config = plugin.config
    if plugin.expected == "harmless":
        config["select"] = [*config["select"], "DQ001"]
    return config


def assert_names_the_plugin(message: str, plugin: Hostile) -> None:
    flat = " ".join(message.split())
    assert NAME in flat and NAMED[plugin.where] in flat, flat


def assert_unchanged(statuses: list[str], plugin: Hostile) -> None:
    assert statuses == ["passed"] * (len(plugin.records) + 1) + ["rejected"]


# The Python API ----------------------------------------------------------------------------


def api_run(plugin: Hostile, tmp_path: Path, **config) -> dqe.Report:
    options = {**config_of(plugin), **config}
    if plugin.command == "filter":
        return dqe.filter(
            records_of(plugin), tmp_path / "ok.jsonl", tmp_path / "bad.jsonl", options, plugins=[plugin]
        ).report
    return dqe.check(records_of(plugin), options, plugins=[plugin], complete=True)


@pytest.mark.parametrize(("where", "how"), [c for c in CASES if c[0] != "render"])
def test_the_python_api_fails_closed(where, how, tmp_path):
    plugin = Hostile(where, how)
    if plugin.expected == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            api_run(plugin, tmp_path)
        return
    if plugin.expected == "harmless":
        report = api_run(plugin, tmp_path)
        assert report.exit_code == 0 and not report.errors and not report.warnings
        assert_unchanged(report.records["status"].to_list(), plugin)
        return
    try:
        report = api_run(plugin, tmp_path)
    except PluginError as exc:
        assert_names_the_plugin(str(exc), plugin)
        return
    # A rule error: the run finished, nothing it raised on passed, and the report says so.
    assert report.exit_code == 2 and report.summary.passed == 0
    assert report.errors and all(e.plugin == NAME and e.code == plugin.code for e in report.errors)


# The dqe command ---------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A folder on sys.path (inherited by worker processes) to install plugins into."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("DQE_DISABLE_PLUGINS", raising=False)
    return root


def install(site: Path, plugin: Hostile) -> None:
    """``plugin`` as an installed distribution: a module and its entry point, as pip leaves them."""
    module = f"dqe_hostile_{uuid.uuid4().hex[:8]}"
    (site / f"{module}.py").write_text(
        f"from dqe.testing.hostile import Hostile\n\nplugin = Hostile({plugin.where!r}, {plugin.how!r})\n"
    )
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[dqe]\n{NAME} = {module}:plugin\n")


def write_inputs(plugin: Hostile, folder: Path, **config) -> list[str]:
    """The data file and dqe.toml for ``plugin``; the command line that runs it."""
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records_of(plugin)))
    lines = [
        f"{key} = {json.dumps(value)}" for key, value in {**config_of(plugin), **config}.items() if key != "classifiers"
    ]
    if "classifiers" in plugin.config:
        lines.append(f'classifiers = {{ category = "{NAME}" }}')
    (folder / "dqe.toml").write_text("\n".join(lines) + "\n")
    if plugin.command == "filter":
        return ["filter", str(data), "--passed", "ok.jsonl", "--rejected", "bad.jsonl", "--no-progress"]
    return ["check", str(data), "--format", plugin.report_format, "--no-progress"]


def assert_cli_fails_closed(plugin: Hostile, code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr
    if plugin.expected == "interrupt":
        assert code == 130 and "interrupted" in stderr
        return
    assert PRINTED not in stdout  # what plugin code prints goes to stderr
    if plugin.expected == "harmless":
        assert code == 0, stderr
        if plugin.command == "check" and plugin.report_format == "json":
            report = json.loads(stdout)
            assert not report["errors"] and report["summary"]["rejected"] == 1
        return
    assert code == 2, (code, stdout, stderr)
    if stdout.strip() and plugin.report_format == "json":  # a rule error: the report, with the error in it
        report = json.loads(stdout)
        assert report["summary"]["passed"] == 0
        assert_names_the_plugin(json.dumps(report["errors"]), plugin)
    else:
        assert_names_the_plugin(stderr, plugin)


@pytest.mark.parametrize(("where", "how"), CASES)
def test_the_dqe_command_fails_closed(where, how, site, tmp_path):
    plugin = Hostile(where, how)
    install(site, plugin)
    result = CliRunner().invoke(main, write_inputs(plugin, tmp_path))
    assert_cli_fails_closed(plugin, result.exit_code, result.stdout, result.stderr)


PROCESS_CASES = [  # (where, how, workers): each place a worker runs plugin code, and printing
    ("check", "print", 1),  # writes to file descriptor 1 of the command's own process
    ("check", "print", 2),
    ("check", "SystemExit(0)", 2),
    ("check", "KeyboardInterrupt", 2),
    ("collect", "SystemExit(0)", 2),
    ("feature", "GeneratorExit", 2),
]


@pytest.mark.slow
@pytest.mark.parametrize(("where", "how", "workers"), PROCESS_CASES)
def test_the_dqe_command_fails_closed_in_its_own_process_and_in_workers(where, how, workers, site, tmp_path):
    """The real command in a process of its own; with two workers and a batch per record, the
    batches run in the workers, and so does the hostile code (and its writes to stdout)."""
    plugin = Hostile(where, how)
    install(site, plugin)
    args = write_inputs(plugin, tmp_path, workers=workers, batch_size=1)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env.pop("DQE_DISABLE_PLUGINS", None)
    done = subprocess.run(
        [Path(sys.executable).parent / "dqe", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert_cli_fails_closed(plugin, done.returncode, done.stdout, done.stderr)
    if plugin.expected == "harmless":
        assert json.loads(done.stdout)["timings"]["workers"] == workers
        assert how != "print" or f"{PRINTED} to file descriptor 1" in done.stderr


@pytest.mark.slow
def test_worker_processes_give_the_report_of_one_process_when_batches_finish_out_of_order(site, tmp_path):
    plugin = Hostile("check", "slow")
    install(site, plugin)
    options = {**config_of(plugin), "batch_size": 1}
    alone = dqe.check(records_of(plugin), options, workers=1, complete=True)
    pooled = dqe.check(records_of(plugin), options, workers=2, complete=True)
    assert pooled.timings["workers"] == 2
    assert pooled.findings_frame.equals(alone.findings_frame) and pooled.records.equals(alone.records)


def test_a_hostile_case_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="no hostile case"):
        Hostile("check", "SystemExit(2)")


def test_an_exit_that_is_not_dqe_s_own_is_still_an_error(monkeypatch, tmp_path):
    """The last line of defence, for plugin code no guard wraps: a SystemExit that is not dqe's
    own ends the command with exit code 2, whatever code it carried."""

    def exits(*args, **kwargs):
        raise SystemExit(0)

    monkeypatch.setattr("dqe.api.make_engine", exits)
    (tmp_path / "d.jsonl").write_text(json.dumps(GOOD) + "\n")
    result = CliRunner().invoke(main, ["check", "d.jsonl", "--no-progress"])
    assert result.exit_code == 2
    assert "the run was ended by SystemExit: 0" in result.stderr and "not by dqe" in result.stderr
