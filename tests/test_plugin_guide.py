"""docs/plugins.md stays true: its files are the template plugin's, its 30-line example works
when copied into a fresh package, every example runs, and every hook is documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import types
import uuid
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

import dqe
from dqe import hookspecs
from dqe.engine.plugins import load_plugins
from dqe.report.render import render

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text("utf-8")
TEMPLATE = ROOT / "plugins" / "dqe-plugin-template"
BLOCK = r"```[a-z]*\n(.*?)```"
FILES = dict(re.findall(r"<!-- file: (\S+) -->\n" + BLOCK, GUIDE, re.DOTALL))
EXAMPLES = re.findall(r"<!-- example -->\n" + BLOCK, GUIDE, re.DOTALL)

ECHO = {
    "instruction": "Name three primes below ten.",
    "input": "",
    "output": "Name three primes below ten. 2, 3 and 5.",
}
FINE = {"instruction": "Name three primes below ten.", "input": "", "output": "2, 3 and 5."}


def test_the_guide_shows_the_template_files_as_they_are():
    assert set(FILES) == {"src/dqe_echo/__init__.py", "pyproject.toml", "tests/test_echo.py"}
    for name, text in FILES.items():
        assert text == (TEMPLATE / name).read_text("utf-8"), f"docs/plugins.md and {TEMPLATE.name}/{name} differ"


def test_the_rule_is_30_lines():
    code = [line for line in FILES["src/dqe_echo/__init__.py"].splitlines() if line.strip()]
    assert len(code) <= 30


def test_every_hook_is_documented_with_its_signature():
    for name in (n for n in dir(hookspecs) if n.startswith("dqe_")):
        assert re.search(rf"### `{name}\(register: ", GUIDE), f"docs/plugins.md does not document the hook {name}"


def _fresh_package(root: Path) -> Path:
    package = root / "dqe-echo"
    for name, text in FILES.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, "utf-8")
    (package / "README.md").write_text("# dqe-echo\n")
    return package


def test_the_example_copied_into_a_fresh_package_runs_through_its_entry_point(tmp_path, monkeypatch):
    """As installed, without pip: the module and a dist-info folder with the guide's entry point."""
    project = tomllib.loads(FILES["pyproject.toml"])["project"]
    [(entry_name, target)] = project["entry-points"]["dqe"].items()
    module = f"{target}_{uuid.uuid4().hex[:8]}"  # the template's own dqe_echo may be importable here
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{module}.py").write_text(FILES["src/dqe_echo/__init__.py"], "utf-8")
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (info / "entry_points.txt").write_text(f"[dqe]\n{entry_name} = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("DQE_DISABLE_PLUGINS", raising=False)

    registry = load_plugins()
    [echo] = [p for p in registry.plugins if p.name == "echo"]
    assert (echo.package, echo.version, echo.rules, echo.error) == (
        "dqe-echo",
        "0.1.0",
        ["ECHO001"],
        None,
    )
    report = dqe.check([ECHO, FINE], {}, select=["ECHO001"])
    assert [(f.record, f.code, f.message) for f in report.findings] == [(0, "ECHO001", "answer repeats the question")]


@pytest.mark.slow
def test_the_example_copied_into_a_fresh_package_installs_with_pip(tmp_path):
    """The real thing: pip builds and installs the fresh package; the dqe command finds it."""
    try:
        distribution("dqe-echo")
        pytest.skip("dqe-echo is installed in this environment; its entry point would clash with the fresh copy")
    except PackageNotFoundError:
        pass
    package = _fresh_package(tmp_path)
    site = tmp_path / "site"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(package),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ, "PYTHONPATH": str(site), "DQE_DISABLE_PLUGINS": ""}
    dqe_cmd = str(Path(sys.executable).with_name("dqe"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([dqe_cmd, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    listed = run("plugins", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    echo = next(p for p in json.loads(listed.stdout) if p["name"] == "echo")
    assert (echo["package"], echo["version"], echo["rules"]) == ("dqe-echo", "0.1.0", ["ECHO001"])
    assert run("rule", "ECHO001").stdout.startswith(
        "ECHO001 answer-echoes-question  (record rule, severity error, on by default, plugin echo)"
    )
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(ECHO) + "\n" + json.dumps(FINE) + "\n")
    checked = run("check", str(data), "--select", "ECHO001", "--format", "json")
    assert checked.returncode == 1  # half the records fail: the pass-rate gate fails
    assert [(f["source"], f["code"]) for f in json.loads(checked.stdout)["findings"]] == [(f"{data}:1", "ECHO001")]


@pytest.mark.parametrize("source", EXAMPLES, ids=lambda s: re.search(r"register\(\s*(\w+)", s).group(1))
def test_every_example_in_the_guide_is_a_working_plugin(source):
    module = types.ModuleType(f"guide_example_{uuid.uuid4().hex[:8]}")
    exec(compile(source, module.__name__, "exec"), module.__dict__)
    registry = load_plugins(extra=[module])
    [info] = [p for p in registry.plugins if p.name == module.__name__]
    assert info.error is None and (
        info.rules
        or info.formats
        or info.templates
        or info.features
        or info.renderers
        or info.sections
        or info.classifiers
    )
    if info.rules:
        records = [
            {"instruction": "Say hi.", "input": "", "output": "Hi"},
            {"instruction": "Greet me.", "input": "", "output": "Hello there, friend"},
        ]
        report = dqe.check(records, {}, plugins=[module], select=info.rules)
        assert report.exit_code in (0, 1) and not report.errors
    if info.formats:
        report = dqe.check([{"prompt": "2+2?", "completion": "4"}], {}, plugins=[module], select=["DQ001"])
        assert report.files[0].format == "prompt-completion" and report.summary.passed == 1
    if info.sections:
        report = dqe.check([FINE], {}, plugins=[module], select=["DQ001"])
        report.dataset["judge"] = {"mean_score": 0.73}  # what the section shows, as a judge rule would measure it
        page = render(registry, "html", report)
        assert 'id="section-judge"' in page and "LLM judge scores" in page and "0.73" in page
    if info.templates:
        report = dqe.check([FINE], {}, plugins=[module], select=["DQ101"], template="acme-chat")
        assert report.dataset["tokens"]["template"] == "acme-chat"
