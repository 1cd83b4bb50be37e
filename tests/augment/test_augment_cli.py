"""`dqe augment` as a user runs it: what it prints, its exit codes, and a run that continues."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dqe.cli import main
from tests.augment.server import GOOD, REFUSAL, reply


def dqe(*args, env=None):
    result = CliRunner().invoke(main, ["augment", *map(str, args)], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow  # two whole runs; the command's wiring is the config-table test's, a round's lines test_run's
def test_augment_prints_each_round_and_exits_0_once_the_category_is_grown(chat_server, data, tmp_path):
    chat_server.script = [reply(GOOD[0], REFUSAL), reply(GOOD[1])]
    common = [data, "--out", tmp_path / "gen", "--base-url", chat_server.base_url, "--model", "writer"]
    code, out, err = dqe(*common, "--category", "translation", "--count", "2", "--rounds", "1")
    assert code == 1
    assert "round 1 · translation · asked 2, got 2 · 1 accepted · 1 rejected" in err
    assert "DQ203 boilerplate ×1" in err
    assert out.strip().endswith(
        "1 rounds, 1 records accepted -> "
        + str(tmp_path / "gen")
        + "; still wanted: translation 1; the budget of 1 rounds is spent (raise --rounds)"
    )

    code, out, err = dqe(*common, "--rounds", "2")
    assert code == 0 and "still wanted: none; every category has the records it needs" in out
    assert len((tmp_path / "gen" / "generated.jsonl").read_text().splitlines()) == 2


def test_a_bad_option_or_an_endpoint_that_refuses_the_key_exits_2(chat_server, data, tmp_path):
    code, _, err = dqe(data, "--out", tmp_path / "gen", "--base-url", chat_server.base_url)
    assert code == 2 and "dqe: error: dqe augment needs --model" in err

    chat_server.script = [401]
    code, _, err = dqe(
        data, "--out", tmp_path / "gen", "--base-url", chat_server.base_url, "--model", "writer",
        "--category", "translation", "--count", "1", "--api-key-env", "WRITER_KEY",
        env={"WRITER_KEY": "sk-wrong"},
    )  # fmt: skip
    assert code == 2
    assert (
        "the endpoint refused the key (HTTP 401" in err
        and "set $WRITER_KEY (--api-key-env names another variable)" in err
    )
    assert "sk-wrong" not in err
    assert json.loads((tmp_path / "gen" / "state.json").read_text())["rounds"] == []


def test_the_augment_table_of_the_config_sets_the_endpoint(chat_server, data, tmp_path):
    (tmp_path / "dqe.toml").write_text(
        f'[augment]\nbase-url = "{chat_server.base_url}"\nmodel = "writer"\nper-round = 5\n'
    )
    chat_server.script = [reply(GOOD[0])]
    code, _, _ = dqe(
        data, "--out", tmp_path / "gen", "--category", "translation", "--count", "1", "--config", tmp_path / "dqe.toml"
    )
    assert code == 0 and chat_server.requests[0]["model"] == "writer"
