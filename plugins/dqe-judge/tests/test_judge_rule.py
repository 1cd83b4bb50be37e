"""JDG001 against the tests' own chat-completions server (conftest.py)."""

import pytest

from dqe.errors import ConfigError
from dqe.testing import assert_findings, conversation, record, run_rule
from dqe_judge import plugin
from dqe_judge.rule import LlmJudge

RIGHT = record("What is 17 * 3?", "17 * 3 = 51.")
WRONG = record("What is 17 * 3?", "17 * 3 = 41. WRONG")


def judge(records, options, **config):
    return run_rule(LlmJudge, records, options, plugins=[plugin], **config)


def test_grades_pass_and_fail(chat_server, judge_options):
    run = judge([RIGHT, WRONG], judge_options)
    assert_findings(
        run,
        {1: "judge: correctness 1 < 2 (correctness 1, helpfulness 4, reasoning 4): The arithmetic is wrong."},
    )
    assert run.scores == [pytest.approx((13 / 3 - 1) / 4), 0.5]
    summary = run.report.dataset["judge"]
    assert summary["judged"] == 2 and summary["unjudged"] == 0 and summary["requests"] == 2
    assert summary["prompt_tokens"] == 200 and summary["completion_tokens"] == 40
    assert summary["criteria"] == {"correctness": 3.0, "helpfulness": 4.0, "reasoning": 4.0}


def test_the_request_speaks_chat_completions(chat_server, judge_options):
    judge(
        [conversation("Hi", "Hello!", "What is 17 * 3?", "51", system="Be brief.")],
        {**judge_options, "api-key": "k-123"},
    )
    [body] = chat_server.requests
    assert body["model"] == "judge-test"
    assert body["response_format"] == {"type": "json_object"} and body["temperature"] == 0.0
    system, user = body["messages"]
    assert system["role"] == "system" and "correctness" in system["content"] and "reasoning" in system["content"]
    assert user["content"].endswith(
        "[system]\nBe brief.\n\n[user]\nHi\n\n[assistant]\nHello!\n\n[user]\nWhat is 17 * 3?\n\n[assistant]\n51"
    )
    assert chat_server.headers[0]["Authorization"] == "Bearer k-123"


def test_thresholds_are_options(chat_server, judge_options):
    run = judge([RIGHT], {**judge_options, "min-score": 4.5})
    assert_findings(run, {0: "mean 4.3 < 4.5"})


def test_a_rerun_costs_nothing(chat_server, judge_options):
    judge([RIGHT, WRONG], judge_options)
    assert len(chat_server.requests) == 2
    again = judge([RIGHT, WRONG, RIGHT], judge_options)
    assert len(chat_server.requests) == 2  # every verdict came from the cache
    assert again.passed == [True, False, True]
    assert again.report.dataset["judge"]["cached"] == 3 and again.report.dataset["judge"]["requests"] == 0


def test_the_cache_key_holds_the_rubric_and_the_model(chat_server, judge_options):
    judge([RIGHT], judge_options)
    judge(
        [RIGHT],
        {
            **judge_options,
            "rubric": {
                "correctness": "facts are right",
                "helpfulness": "useful",
                "reasoning": "sound",
            },
        },
    )
    judge([RIGHT], {**judge_options, "model": "other-judge"})
    assert len(chat_server.requests) == 3


def test_fields_the_judge_does_not_see_do_not_miss_the_cache(chat_server, judge_options):
    judge([{**RIGHT, "id": 1}], judge_options)
    judge([{**RIGHT, "id": 2, "source": "crawl"}], judge_options)
    assert len(chat_server.requests) == 1


def test_identical_records_in_a_batch_are_asked_once(chat_server, judge_options):
    run = judge([RIGHT, RIGHT, RIGHT], judge_options)
    assert run.passed == [True] * 3 and len(chat_server.requests) == 1


def test_concurrency_is_limited(chat_server, judge_options):
    chat_server.delay = 0.2
    records = [record(f"Question {i}?", f"Answer {i}.") for i in range(8)]
    run = judge(records, {**judge_options, "concurrency": 3})
    assert all(run.passed)
    assert chat_server.max_in_flight == 3


def test_transient_failures_are_retried(chat_server, judge_options):
    records = [
        record("a", "51 [[500-once]]"),
        record("b", "51 [[429-once]]"),
        record("c", "51 [[fenced]]"),
    ]
    run = judge(records, judge_options)
    assert_findings(run, [])
    assert len(chat_server.requests) == 5


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            "[[500]]",
            'not judged: HTTP 500 from the endpoint: {"error": "overloaded"} (after 3 attempts)',
        ),
        (
            "[[not-json]]",
            "not judged: malformed response: not a chat completion: '<html>Bad Gateway</html>' (after 3 attempts)",
        ),
        ("[[no-choices]]", "not judged: malformed response: not a chat completion"),
        (
            "[[prose]]",
            "not judged: malformed verdict: no JSON object in the reply: 'This answer looks fine to me.' (after 3 attempts)",
        ),
        (
            "[[partial]]",
            "not judged: malformed verdict: no score from 1 to 5 for 'reasoning' (got None) (after 3 attempts)",
        ),
    ],
)
def test_failing_and_malformed_responses_fail_closed(chat_server, judge_options, answer, message):
    run = judge([record("q", answer), RIGHT], {**judge_options, "retries": 2})
    assert_findings(run, {0: message})
    assert run.report.dataset["judge"]["unjudged"] == 1
    assert run.report.summary.gate == "fail"  # judge-unjudged > 0
    assert [m.state for m in run.report.gate.metrics if m.name == "judge-unjudged"] == ["fail"]
    # Nothing unjudged is cached: the next run asks again.
    judge([record("q", answer)], {**judge_options, "retries": 0})
    assert sum(n for asked, n in chat_server.seen.items() if asked.endswith(answer)) == 4


def test_slow_responses_time_out(chat_server, judge_options):
    run = judge([record("q", "51 [[slow]]"), RIGHT], {**judge_options, "timeout": 0.3, "retries": 1})
    assert_findings(run, {0: "not judged: timed out after 0.3 s (after 2 attempts)"})


def test_budget_of_records(chat_server, judge_options):
    judge([RIGHT], judge_options)  # cached: free
    records = [RIGHT] + [record(f"Question {i}?", f"Answer {i}.") for i in range(4)]
    run = judge(records, {**judge_options, "budget-records": 2})
    assert_findings(
        run,
        {
            3: "not judged: the budget of 2 records for this run is spent (raise budget-records)",
            4: "budget",
        },
    )
    assert len(chat_server.requests) == 3


def test_budget_of_tokens(chat_server, judge_options):
    records = [record(f"Question {i}?", f"Answer {i}.") for i in range(3)]
    run = judge(records, {**judge_options, "budget-tokens": 150, "concurrency": 1})
    assert_findings(run, {2: "the budget of 150 tokens for this run is spent (raise budget-tokens)"})  # 120 a call


def test_an_unreachable_endpoint_is_an_error_and_nothing_passes(judge_options, unused_port):
    options = {**judge_options, "base-url": f"http://127.0.0.1:{unused_port}/v1", "retries": 1}
    run = judge([RIGHT, WRONG], options)
    assert run.passed == [False, False]
    assert run.report.exit_code == 2
    assert (
        f"JudgeUnavailable: cannot reach http://127.0.0.1:{unused_port}/v1/chat/completions: Connection refused (after 2 attempts)"
        in run.errors[0]
    )
    assert "start the server or fix base-url" in run.errors[0]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"api-key": "bad-key"}, "the endpoint refused the key (HTTP 401"),
        (
            {"model": "missing-model"},
            "base-url should end in /v1, and model 'missing-model' must exist",
        ),
    ],
)
def test_a_refused_key_or_a_wrong_model_stops_the_run(chat_server, judge_options, options, message):
    records = [RIGHT, WRONG, record("a", "b")]
    run = judge(records, {**judge_options, **options, "concurrency": 1})
    assert run.passed == [False, False, False] and run.report.exit_code == 2
    assert message in run.errors[0]
    assert len(chat_server.requests) == 1  # the first refusal stops every later call


def test_endpoint_and_model_from_the_environment(chat_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DQE_JUDGE_BASE_URL", chat_server.base_url)
    monkeypatch.setenv("DQE_JUDGE_MODEL", "env-model")
    monkeypatch.setenv("DQE_JUDGE_API_KEY", "env-key")
    run = judge([RIGHT], {"cache-dir": str(tmp_path)})
    assert run.passed == [True]
    assert chat_server.requests[0]["model"] == "env-model"
    assert chat_server.headers[0]["Authorization"] == "Bearer env-key"


def test_no_endpoint_is_a_config_error(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"rule JDG001 needs 'base-url': set it in \[rules.JDG001\] or the environment \(DQE_JUDGE_BASE_URL\)",
    ):
        judge([RIGHT], {"cache-dir": str(tmp_path)})


def test_off_by_default(chat_server, judge_options):
    from dqe.engine.plugins import load_plugins

    assert load_plugins(extra=[plugin]).rules["JDG001"].default_enabled is False


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
