"""End to end: the installed plugin, the `dqe` command run in this process beside the tests'
server, and once in its own process."""

import contextlib
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from click.testing import CliRunner

from dqe.cli import main

DQE = str(Path(sys.executable).with_name("dqe"))

pytestmark = pytest.mark.skipif(
    not any(ep.name == "judge" for ep in entry_points(group="dqe")),
    reason="dqe-judge is not installed: pip install -e ./plugins/dqe-judge",
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    records = [
        {"instruction": "What is 17 * 3?", "input": "", "output": "17 * 3 = 51."},
        {"instruction": "What is 2 + 2?", "input": "", "output": "2 + 2 = 5. WRONG"},
        {"instruction": "Name a prime.", "input": "", "output": "7 [[500-once]]"},
    ]
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def dqe(*args: str, cwd: Path, base_url: str) -> subprocess.CompletedProcess:
    env = {
        "DQE_JUDGE_BASE_URL": base_url,
        "DQE_JUDGE_MODEL": "judge-test",
        "DQE_CACHE_DIR": str(cwd / "cache"),
        "DQE_DISABLE_PLUGINS": "pii",  # only the judge's findings here
    }
    (cwd / "dqe.toml").write_text("[rules.JDG001]\nretry-delay = 0.01\n")
    with contextlib.chdir(cwd):  # the plugin is found through its entry point, as by the command
        result = CliRunner().invoke(main, list(args), env=env)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_dqe_check_with_the_judge(chat_server, tmp_path, data):
    out = dqe(
        "check",
        str(data),
        "--extend-select",
        "JDG001",
        "--format",
        "json",
        cwd=tmp_path,
        base_url=chat_server.base_url,
    )
    assert out.returncode == 1, out.stderr  # one record judged wrong: the pass rate fails the gate
    report = json.loads(out.stdout)
    [finding] = report["findings"]
    assert finding["code"] == "JDG001" and finding["source"].endswith("data.jsonl:2")
    assert (
        finding["message"]
        == "judge: correctness 1 < 2 (correctness 1, helpfulness 4, reasoning 4): The arithmetic is wrong."
    )
    judge = report["dataset"]["judge"]
    assert (judge["judged"], judge["unjudged"], judge["requests"], judge["cached"]) == (3, 0, 3, 0)
    assert len(chat_server.requests) == 4  # one retry of the 500

    again = dqe(
        "check",
        str(data),
        "--extend-select",
        "JDG001",
        "--format",
        "json",
        cwd=tmp_path,
        base_url=chat_server.base_url,
    )
    assert again.returncode == 1
    assert json.loads(again.stdout)["dataset"]["judge"]["cached"] == 3
    assert len(chat_server.requests) == 4  # the rerun cost nothing


def test_dqe_filter_keeps_what_the_judge_passed(chat_server, tmp_path, data):
    out = dqe(
        "filter",
        str(data),
        "--passed",
        "ok.jsonl",
        "--rejected",
        "bad.jsonl",
        "--extend-select",
        "JDG001",
        cwd=tmp_path,
        base_url=chat_server.base_url,
    )
    assert out.returncode == 1
    assert [json.loads(x)["output"] for x in (tmp_path / "ok.jsonl").read_text().splitlines()] == [
        "17 * 3 = 51.",
        "7 [[500-once]]",
    ]
    [bad] = [json.loads(x) for x in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert bad["_dqe"]["reasons"][0]["code"] == "JDG001"


def test_dqe_check_with_no_server_stops_with_a_clear_error(tmp_path, data):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = dqe(
        "check",
        str(data),
        "--extend-select",
        "JDG001",
        "--format",
        "json",
        cwd=tmp_path,
        base_url=f"http://127.0.0.1:{port}/v1",
    )
    assert out.returncode == 2
    report = json.loads(out.stdout)
    assert report["summary"]["passed"] == 0  # fail closed
    assert (
        f"cannot reach http://127.0.0.1:{port}/v1/chat/completions: Connection refused"
        in report["errors"][0]["message"]
    )
    assert report["errors"][0]["plugin"] == "judge"


def test_dqe_check_without_an_endpoint_says_what_to_set(tmp_path, data):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DQE_JUDGE", "OPENAI_"))}
    out = subprocess.run(
        [DQE, "check", str(data), "--extend-select", "JDG001"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "dqe: error: rule JDG001 needs 'base-url': set it in [rules.JDG001] or the environment (DQE_JUDGE_BASE_URL)"
    )
