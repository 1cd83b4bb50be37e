"""What the judge's client sends where: the API key goes to the configured endpoint and nowhere
else, and no credential it was given shows in a message, a finding or a rejected record."""

import base64
import json

import pytest

import dqe
from dqe import ChatClient, EndpointUnavailable, without_credentials
from dqe.testing import record, run_rule
from dqe_judge import plugin
from dqe_judge.rule import LlmJudge


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_the_key_never_leaves(chat_server, elsewhere, status):
    chat_server.redirect = (status, f"{elsewhere.base_url}/chat/completions")
    client = ChatClient(chat_server.base_url, "judge-test", "sk-secret", retries=0)
    with pytest.raises(EndpointUnavailable) as exc:
        client.complete([{"role": "user", "content": "hi"}])
    assert f"the endpoint redirected to {elsewhere.base_url}/chat/completions (HTTP {status})" in str(exc.value)
    assert "set base-url to it" in str(exc.value)
    assert elsewhere.requests == [] and elsewhere.headers == []  # nothing went there, the key least of all


def test_a_redirect_stops_the_run_naming_where_it_went(chat_server, elsewhere, judge_options):
    chat_server.redirect = (302, "https://attacker.example/collect")
    run = run_rule(LlmJudge, [record("Q?", "A.")], judge_options, plugins=[plugin])
    assert run.report.exit_code == 2 and run.passed == [False]
    assert "the endpoint redirected to https://attacker.example/collect (HTTP 302)" in run.errors[0]


def test_without_credentials_removes_the_user_and_password_of_a_url():
    assert without_credentials("https://user:s3cret@judge.example:8443/v1") == "https://judge.example:8443/v1"
    assert without_credentials("http://token@judge.example/v1") == "http://judge.example/v1"
    assert without_credentials("http://judge.example/v1") == "http://judge.example/v1"


def test_credentials_in_base_url_are_sent_as_basic_auth_and_shown_nowhere(chat_server, judge_options):
    url = chat_server.base_url.replace("http://", "http://alice:s3cret@")
    run = run_rule(LlmJudge, [record("Q?", "A.")], {**judge_options, "base-url": url}, plugins=[plugin])
    assert run.passed == [True]
    sent = chat_server.headers[0]["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"alice:s3cret").decode()


def test_a_password_in_base_url_never_reaches_findings_or_rejected_records(judge_options, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://alice:s3cret@127.0.0.1:{port}/v1"
    options = {**judge_options, "base-url": url, "retries": 0}
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(record("Q?", "A.")) + "\n")
    result = dqe.filter(
        data,
        tmp_path / "ok.jsonl",
        tmp_path / "bad.jsonl",
        {"select": ["JDG001"], "rules": {"JDG001": options}},
        plugins=[plugin],
    )
    assert result.report.exit_code == 2
    shown = result.report.model_dump_json() + (tmp_path / "bad.jsonl").read_text()
    assert f"cannot reach http://127.0.0.1:{port}/v1/chat/completions" in shown
    assert "s3cret" not in shown and "alice" not in shown
