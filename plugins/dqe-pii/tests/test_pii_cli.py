"""The installed plugin, found through its entry point, as a user meets it on the command line."""

import contextlib
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from click.testing import CliRunner

from dqe.cli import main

DQE = str(Path(sys.executable).with_name("dqe"))

pytestmark = pytest.mark.skipif(
    not any(ep.name == "pii" for ep in entry_points(group="dqe")),
    reason="dqe-pii is not installed: pip install -e ./plugins/dqe-pii",
)


def dqe(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``dqe ARGS`` in this process, which finds the plugin through the same entry point (the
    command itself, in its own process, is run by test_dqe_plugins_lists_the_plugin)."""
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, list(args), env=env)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    records = [
        {
            "instruction": "How do I reach support?",
            "input": "",
            "output": "Write to jane.doe@gmail.com.",
        },
        {"instruction": "我的手机号是多少？", "input": "", "output": "你的手机号是13812345678。"},
        {"instruction": "Pay", "input": "", "output": "Charged 4539 1488 0343 6467."},
        {"instruction": "身份证", "input": "", "output": "11010519491231002X"},
        {
            "instruction": "Deploy",
            "input": "",
            "output": "export KEY=ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        },
        {"instruction": "Say hi.", "input": "", "output": "Hi!"},
    ]
    path = tmp_path / "planted.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_dqe_plugins_lists_the_plugin(tmp_path):
    out = subprocess.run(
        [DQE, "plugins", "--format", "json"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    [pii] = [p for p in json.loads(out.stdout) if p["name"] == "pii"]
    assert pii["package"] == "dqe-pii"
    assert pii["version"] == "0.1.0"
    assert pii["rules"] == ["PII001", "PII002", "PII003", "PII004", "PII005", "PII006"]
    assert pii["features"] == ["pii_text"]


def test_dqe_check_reports_planted_data_with_the_plugin_codes(tmp_path, planted):
    out = dqe("check", str(planted), "--format", "json", cwd=tmp_path)
    assert out.returncode == 1  # the gate fails: 5 of 6 records rejected
    report = json.loads(out.stdout)
    found = {(f["source"].rsplit(":", 1)[1], f["code"]) for f in report["findings"]}
    assert found == {
        ("1", "PII001"),
        ("2", "PII002"),
        ("3", "PII003"),
        ("4", "PII006"),
        ("5", "PII005"),
    }
    assert {r["code"]: r["plugin"] for r in report["rules"]}["PII001"] == "pii"
    assert "jane.doe@gmail.com" not in out.stdout  # messages mask what they report


def test_dqe_rule_prints_the_docs(tmp_path):
    out = dqe("rule", "PII001", cwd=tmp_path)
    assert out.returncode == 0
    text = out.stdout
    assert text.startswith("PII001 email-address  (record rule, severity error, on by default, plugin pii)")
    for part in (
        "What it does:",
        "Why it matters:",
        "Example:",
        "ignore-domains",
        "redact (bool, default False)",
        "[rules.PII001]",
    ):
        assert part in text


def test_disabled_by_name_the_rules_are_gone(tmp_path, planted):
    import os

    out = dqe("check", str(planted), "--format", "json", "--disable-plugin", "pii", cwd=tmp_path)
    assert "PII001" not in {r["code"] for r in json.loads(out.stdout)["rules"]}
    env = {**os.environ, "DQE_DISABLE_PLUGINS": "dqe-pii"}  # the package name works too
    out = dqe("check", str(planted), "--format", "json", cwd=tmp_path, env=env)
    assert "PII001" not in {r["code"] for r in json.loads(out.stdout)["rules"]}
    (tmp_path / "dqe.toml").write_text('disable-plugins = ["pii"]\n')
    out = dqe("check", str(planted), "--format", "json", cwd=tmp_path)
    assert "PII001" not in {r["code"] for r in json.loads(out.stdout)["rules"]}


def test_dqe_filter_redacts_when_configured(tmp_path, planted):
    (tmp_path / "dqe.toml").write_text(
        "".join(f'[rules.PII00{i}]\nseverity = "warning"\nredact = true\n' for i in range(1, 7))
    )
    out = dqe("filter", str(planted), "--passed", "ok.jsonl", "--rejected", "bad.jsonl", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (
        "5 spans redacted in 5 records (PII001 1, PII002 1, PII003 1, PII005 1, PII006 1); see _dqe.redactions"
        in out.stdout
    )
    written = [json.loads(line) for line in (tmp_path / "ok.jsonl").read_text("utf-8").splitlines()]
    assert [r["output"] for r in written[:3]] == [
        "Write to <EMAIL>.",
        "你的手机号是<PHONE>。",
        "Charged <CARD_NUMBER>.",
    ]
