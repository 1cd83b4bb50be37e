"""The augment loop end to end against a real HTTP server that speaks chat completions: rounds,
screening, the feedback prompt, review, budgets, resuming, provenance and credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dqe
from dqe.augment.run import AugmentError, AugmentResult, augment
from dqe.errors import ConfigError, InputError
from tests.augment.server import COPY, EMPTY, GOOD, OFF_CATEGORY, REFUSAL, ScriptedServer, reply


def run(data: Path, out: Path, server, lines: list[str] | None = None, **kw) -> AugmentResult:
    settings = {"base_url": server.base_url, "model": "writer", "retry_delay": 0.01, "retries": 1}
    settings.update(kw.pop("settings", {}))
    kw.setdefault("category", "translation")
    kw.setdefault("count", 4)
    echo = lines.append if lines is not None else (lambda line: None)
    return augment([str(data)], out, settings=settings, echo=echo, **kw)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def state(out: Path) -> dict:
    return json.loads((out / "state.json").read_text())


def test_a_round_keeps_what_every_rule_passes_and_says_why_the_rest_failed(chat_server, data, tmp_path):
    chat_server.script = [reply(GOOD[0], GOOD[1], REFUSAL, COPY, EMPTY, OFF_CATEGORY, fenced=True)]
    lines: list[str] = []
    result = run(data, tmp_path / "out", chat_server, lines, count=2)

    assert result.exit_code == 0 and result.accepted == 2 and result.short == {}
    kept = jsonl(tmp_path / "out" / "generated.jsonl")
    assert [r["instruction"] for r in kept] == [GOOD[0]["instruction"], GOOD[1]["instruction"]]
    provenance = kept[0]["_dqe"]["generated"]
    assert provenance["endpoint"] == chat_server.base_url and provenance["model"] == "writer"
    assert (
        provenance["round"] == 1 and provenance["category"] == "translation" and len(provenance["prompt_sha256"]) == 64
    )
    reasons = [r["_dqe"]["reasons"] for r in jsonl(tmp_path / "out" / "rejected.jsonl")]
    assert reasons == [
        ['DQ203 boilerplate: answer: AI disclaimer: "as an AI language model I"'],
        ["DQ401 exact-duplicate: exact duplicate of " + str(data) + ":1"],
        ["DQ001 structure: empty answer"],
        ["off-category: classified as math, not translation"],
    ]
    assert lines[0] == "round 1 · translation · asked 2, got 6 · 2 accepted · 4 rejected"
    assert "DQ203 boilerplate ×1" in lines[1] and "off-category ×1" in lines[1]
    assert any("open the door" in line and "DQ203" in line for line in lines)


def test_the_next_prompt_names_the_most_common_mistakes(chat_server, data, tmp_path):
    chat_server.script = [
        reply(GOOD[0], REFUSAL, REFUSAL | {"instruction": "Translate 'hi' into Greek."}, COPY),
        reply(GOOD[1]),
    ]
    run(data, tmp_path / "out", chat_server, count=2)

    first, second = chat_server.prompt(0), chat_server.prompt(1)
    assert "Mistakes to avoid" not in first
    assert 'Write 2 new training records of the task category "translation"' in first
    assert '{"instruction": "Translate \'good morning\' into French.", "input": "", "output": "Bonjour."}' in first
    mistakes = second.split("Mistakes to avoid (why earlier records were rejected):\n", 1)[1].splitlines()
    assert mistakes[0].startswith("- AI disclaimers, refusals, apologies") and "(2 rejected so far;" in mistakes[0]
    assert (
        mistakes[1].startswith("- the same conversation text as another record")
        and "(1 rejected so far;" in mistakes[1]
    )
    assert "Write 1 new training records" in second  # only what is still wanted


@pytest.mark.slow  # the feedback itself is test_the_next_prompt_names_the_most_common_mistakes
def test_a_model_that_heeds_the_feedback_is_accepted_more_often(chat_server, data, tmp_path):
    """The scripted model refuses until the prompt warns against it: round 2 learns."""

    def model(prompt: str) -> str:
        if "AI disclaimers" in prompt:
            return reply(*GOOD[2:6])
        return reply(GOOD[0], REFUSAL, REFUSAL | {"instruction": "Translate 'hi' into Greek."}, EMPTY)

    chat_server.script = [model, model]
    run(data, tmp_path / "out", chat_server, count=5)
    rounds = state(tmp_path / "out")["rounds"]
    assert [(r["received"], r["accepted"]) for r in rounds] == [(4, 1), (4, 4)]


def test_a_malformed_reply_or_a_failed_request_is_a_rejected_round_not_a_crash(chat_server, data, tmp_path):
    chat_server.script = ["I cannot produce JSON today.", 500, 500, "[1, 2]", reply(GOOD[0])]
    lines: list[str] = []
    result = run(data, tmp_path / "out", chat_server, lines, count=1)

    assert result.exit_code == 0 and result.rounds == 4
    logged = state(tmp_path / "out")["rounds"]
    assert logged[0]["reasons"] == {"malformed reply": 1}
    assert logged[1]["failed"].startswith("HTTP 500 from the endpoint") and "(after 2 attempts)" in logged[1]["failed"]
    assert state(tmp_path / "out")["requests"] == 5  # the failed round's retry counts
    assert logged[2]["reasons"] == {"unreadable": 2}
    assert lines[0].startswith("round 1 · translation · asked 1 · malformed reply: no JSON array or JSON lines")
    rejected = jsonl(tmp_path / "out" / "rejected.jsonl")
    assert rejected[0]["_dqe"]["reply"] == "I cannot produce JSON today."  # nothing the model said is lost
    assert "a reply that is not a JSON array of record objects" in chat_server.prompt(3)


@pytest.mark.parametrize(
    ("budget", "stopped"),
    [
        # one budget in the default run; the others stop the same loop (slow: each a whole run)
        pytest.param({"rounds": 2}, "the budget of 2 rounds is spent (raise --rounds)", marks=pytest.mark.slow),
        ({"requests": 1}, "the budget of 1 requests is spent (raise --requests)"),
        pytest.param(
            {"tokens": 900}, "the budget of 900 tokens is spent (1,000 used; raise --tokens)", marks=pytest.mark.slow
        ),
    ],
)
def test_a_budget_stops_the_run_with_exit_code_1(chat_server, data, tmp_path, budget, stopped):
    chat_server.script = [reply(GOOD[0]), reply(GOOD[1]), reply(GOOD[2])]
    result = run(data, tmp_path / "out", chat_server, settings=budget)
    assert result.exit_code == 1 and result.stopped == stopped
    assert result.short == {"translation": 4 - len(chat_server.requests)}


@pytest.mark.slow  # a second run is also the review test's; a copy of kept records, the duplicate test's
def test_a_second_run_continues_and_never_keeps_a_record_twice(chat_server, data, tmp_path):
    out = tmp_path / "out"
    chat_server.script = [reply(GOOD[0], GOOD[1])]
    first = run(data, out, chat_server, settings={"rounds": 1})
    assert first.exit_code == 1 and first.short == {"translation": 2}

    chat_server.script = [reply(GOOD[0], GOOD[1], GOOD[2]), reply(GOOD[3])]  # the model repeats itself
    second = run(data, out, chat_server, settings={"rounds": 3}, category=None, count=None)
    assert second.exit_code == 0 and second.accepted == 2
    kept = jsonl(out / "generated.jsonl")
    assert [r["_dqe"]["generated"]["round"] for r in kept] == [1, 1, 2, 3]
    assert len({r["instruction"] for r in kept}) == 4
    repeats = [r["_dqe"]["reasons"] for r in jsonl(out / "rejected.jsonl")]
    assert repeats == [[f"DQ401 exact-duplicate: exact duplicate of {out / 'generated.jsonl'}:{n}"] for n in (1, 2)]


def test_review_stops_after_a_round_and_the_next_run_reads_the_marks(chat_server, data, tmp_path):
    out = tmp_path / "out"
    chat_server.script = [reply(GOOD[0], GOOD[1], REFUSAL)]
    result = run(data, out, chat_server, review=True, count=3)
    assert result.exit_code == 0 and result.stopped == "round waiting for review in review-round-1.jsonl"
    assert not (out / "generated.jsonl").exists()
    lines = jsonl(out / "review-round-1.jsonl")
    assert [line["mark"] for line in lines] == [None, None] and lines[0]["record"]["instruction"] == GOOD[0][
        "instruction"
    ]

    with pytest.raises(InputError, match=r"review-round-1.jsonl:1: 'mark' is None; set it to \"accept\" or \"reject\""):
        run(data, out, chat_server, review=True, category=None, count=None)

    lines[0]["mark"] = "accept"
    lines[1] |= {"mark": "reject", "note": "Italian needs the accent on è"}
    (out / "review-round-1.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    chat_server.script = [reply(GOOD[2], GOOD[3])]
    result = run(data, out, chat_server, category=None, count=None)

    assert result.exit_code == 0 and result.accepted == 3
    kept = [r["instruction"] for r in jsonl(out / "generated.jsonl")]
    assert kept == [GOOD[0]["instruction"], GOOD[2]["instruction"], GOOD[3]["instruction"]]
    prompt = chat_server.prompt(1)
    assert "Records a reviewer rejected (do not write records like these):" in prompt
    assert "Dov'è la stazione?" in prompt and "reviewer: Italian needs the accent on è" in prompt
    assert any(
        r["_dqe"]["reasons"] == ["reviewer: Italian needs the accent on è"] for r in jsonl(out / "rejected.jsonl")
    )


def test_categories_below_their_share_are_grown_when_none_is_named(chat_server, data, tmp_path):
    chat_server.script = [reply(*GOOD[:1])] * 20
    result = run(data, tmp_path / "out", chat_server, category=None, count=None, settings={"rounds": 1})
    targets = state(tmp_path / "out")["targets"]
    # six records in five categories, 28 wanted: a balanced 6 holds one of each, so one each for the 23 lacking
    assert len(targets) == 23 and set(targets.values()) == {1} and "translation" not in targets
    assert result.exit_code == 1
    # a category without seeds is shown the data's fields in records of other categories
    category = state(tmp_path / "out")["rounds"][0]["category"]
    assert f'Records of the data set, of other categories (write "{category}" records with these fields):' in (
        chat_server.prompt(0)
    )


def test_the_check_counts_the_records_it_generated(chat_server, data, tmp_path):
    chat_server.script = [reply(GOOD[0], GOOD[1])]
    run(data, tmp_path / "out", chat_server, count=2)
    report = dqe.check([data, tmp_path / "out" / "generated.jsonl"])
    assert report.dataset["records"]["generated"] == 2 and report.dataset["records"]["total"] == 8


def test_the_key_goes_to_the_endpoint_and_is_never_shown_or_forwarded(chat_server, data, tmp_path, monkeypatch):
    monkeypatch.setenv("WRITER_KEY", "sk-very-secret")
    url = chat_server.base_url.replace("http://", "http://alice:pa55@")
    chat_server.script = [reply(GOOD[0], REFUSAL)]
    lines: list[str] = []
    run(data, tmp_path / "out", chat_server, lines, count=1, settings={"base_url": url, "api_key_env": "WRITER_KEY"})

    assert chat_server.headers[0]["Authorization"] == "Bearer sk-very-secret"
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir()) + "\n".join(lines)
    assert chat_server.base_url in written
    assert "sk-very-secret" not in written and "pa55" not in written and "alice" not in written


def test_an_endpoint_that_redirects_stops_the_run_and_the_key_goes_nowhere_else(
    chat_server, data, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    with ScriptedServer() as elsewhere:
        chat_server.redirect = f"{elsewhere.base_url}/chat/completions"
        with pytest.raises(AugmentError, match=f"the endpoint redirected to {elsewhere.base_url}/chat/completions"):
            run(data, tmp_path / "out", chat_server)
    assert elsewhere.requests == [] and len(chat_server.requests) == 1
    assert state(tmp_path / "out")["rounds"] == [] and state(tmp_path / "out")["requests"] == 1


def test_tokens_are_estimated_where_the_endpoint_reports_no_usage(chat_server, data, tmp_path):
    chat_server.usage = False
    chat_server.script = [reply(GOOD[0])]
    run(data, tmp_path / "out", chat_server, count=1)
    logged = state(tmp_path / "out")["rounds"][0]
    assert (
        logged["prompt_tokens"] == len(chat_server.prompt(0) + chat_server.requests[0]["messages"][0]["content"]) // 4
    )
    assert logged["completion_tokens"] == len(reply(GOOD[0])) // 4


def test_usage_errors_name_what_to_fix(chat_server, data, tmp_path):
    with pytest.raises(ConfigError, match=r"dqe augment needs --model \(or 'model' in \[augment\] of the config\)"):
        augment([str(data)], tmp_path / "out", settings={"base_url": chat_server.base_url})
    with pytest.raises(ConfigError, match="--category and --count go together"):
        run(data, tmp_path / "out", chat_server, count=None)
    with pytest.raises(InputError, match="may not be, hold or lie inside an input"):
        run(data, tmp_path, chat_server)
    with pytest.raises(ConfigError, match=r"'augment.per_round': Input should be less than or equal to 200"):
        run(data, tmp_path / "out", chat_server, settings={"per_round": 500})


def test_seeds_from_a_file_are_shown_in_the_datas_format(chat_server, data, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    chat = {
        "conversations": [{"from": "human", "value": "Translate 'yes' into Czech."}, {"from": "gpt", "value": "Ano."}]
    }
    seeds.write_text(json.dumps(chat) + "\n")
    chat_server.script = [reply(GOOD[0])]
    run(data, tmp_path / "out", chat_server, count=1, seeds=seeds)
    prompt = chat_server.prompt(0)
    assert '{"instruction": "Translate \'yes\' into Czech.", "input": "", "output": "Ano."}' in prompt
    assert "good morning" not in prompt  # the data's own seeds give way to the file's


def test_a_record_the_duplicate_rule_kept_over_a_data_record_is_still_a_copy(chat_server, tmp_path):
    """The duplicate rules keep the better of two records: here the generated one, since the
    data's copy also fails DQ203. It is rejected all the same, naming the data record."""
    question = "Translate 'good night, sleep well and sweet dreams to all of you' into Dutch."
    answer = "Goedenacht, slaap lekker en dromen zoet voor jullie allemaal."
    data = tmp_path / "data.jsonl"
    flawed = {"instruction": question, "input": "", "output": answer + " As an AI language model, I hope this helps."}
    data.write_text(json.dumps(flawed) + "\n")
    chat_server.script = [reply({"instruction": question, "input": "", "output": answer}, GOOD[0])]
    run(data, tmp_path / "out", chat_server, count=2, settings={"rounds": 1})
    assert [r["_dqe"]["reasons"] for r in jsonl(tmp_path / "out" / "rejected.jsonl")] == [
        [f"DQ402 near-duplicate: near-duplicate of {data}:1"]
    ]


def test_a_state_file_it_cannot_continue_from_stops_the_run_naming_it(chat_server, data, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "state.json").write_text('{"targets": "translation"}')
    with pytest.raises(
        InputError, match=r"out/state.json: not a state file dqe augment can continue from \(1 validation error"
    ):
        run(data, tmp_path / "out", chat_server)
    assert chat_server.requests == []
