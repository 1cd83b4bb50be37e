"""The dqe command as a user runs it: exit codes, formats, outputs, and a fast --help."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dqe.cli import main
from tests.support import ROOT

GOOD = {"instruction": "Name a primary colour.", "input": "", "output": "Red is a primary colour."}
EMPTY_ANSWER = {"instruction": "Summarize the text.", "input": "Some text.", "output": ""}


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def test_help_does_not_import_torch_or_polars():
    code = (
        "import sys\n"
        "from dqe.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'polars') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


def test_the_collector_is_back_on_after_the_set_up_whatever_its_end(write_jsonl, tmp_path):
    # start-up runs with the cyclic garbage collector off; the check and whatever follows do not
    assert run("check", write_jsonl([GOOD]))[0] == 0
    assert gc.isenabled()
    bad = tmp_path / "dqe.toml"
    bad.write_text("select = 3\n")
    assert run("check", write_jsonl([GOOD]), "--config", bad)[0] == 2
    assert gc.isenabled()


def test_clean_data_passes_with_exit_0(write_jsonl):
    others = [
        ("What is 2 + 2?", "2 + 2 is 4."),
        ("Who wrote Hamlet?", "William Shakespeare."),
        ("Name a planet.", "Mars."),
    ]
    code, out = run("check", write_jsonl([GOOD, *({"instruction": q, "output": a} for q, a in others)]))
    assert code == 0
    assert "gate PASS" in out


def test_failing_gate_exits_1_and_names_the_record(write_jsonl):
    # the pass rate is exact, not an estimate: one bad record of two fails the gate
    path = write_jsonl([GOOD, EMPTY_ANSWER])
    code, out = run("check", path)
    assert code == 1
    assert f"{path}:2" in out and "empty answer" in out


def test_rules_with_nothing_to_check_say_so(write_jsonl):
    code, out = run("check", write_jsonl([GOOD]), "--select", "DQ001,DQ403")
    assert "contamination (skipped: no --against)" in out


def test_missing_file_exits_2_with_its_name(tmp_path):
    code, out = run("check", tmp_path / "nope.jsonl")
    assert code == 2 and "nope.jsonl: no such file" in out


def test_unknown_format_exits_2(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("instruction,output\n")
    code, out = run("check", path)
    assert code == 2 and "unknown format" in out
    path = path.rename(tmp_path / "data.csv")  # a CSV: how to write it as JSON Lines
    code, out = run("check", path)
    assert code == 2 and "data.csv: CSV is not read" in out and ".write_ndjson('data.jsonl')" in out


def test_unrecognised_records_exit_2_with_a_hint(write_jsonl):
    code, out = run("check", write_jsonl([{"foo": 1, "bar": 2}]))
    assert code == 2 and "unknown record format (keys seen: bar, foo)" in out


def test_unrecognised_records_exit_2_with_the_columns_that_would_read_them(write_jsonl):
    # XTuner's toy sets: the answer field's name says which it is, wherever it comes
    toy = {
        "toy_output": "Sleep, eat well, move.",
        "toy_system": "You are a helpful AI assistant.",
        "toy_input": "How to study English?",
    }
    code, out = run("check", write_jsonl([toy]))
    assert code == 2 and "--columns prompt=toy_input,response=toy_output,system=toy_system" in out
    code, out = run("check", write_jsonl([{"q": "Capital of France?", "a": "The capital is Paris.", "id": "x1"}]))
    assert code == 2 and "--columns prompt=q,response=a " in out
    # three prose fields named for no role: no guess by place (gorilla's API zoo)
    api = {
        "api_name": "Gmail API - Users.stop",
        "api_call": "service.users().stop(userId='me', body = {})",
        "functionality": "Stops push notifications.",
    }
    code, out = run("check", write_jsonl([api]))
    assert code == 2 and "--columns prompt=FIELD,response=FIELD" in out
    # a field named for an answer that holds an id is not the answer (FastChat's answer files)
    answer = {"answer_id": "8haRLA69xWwfB8", "question_id": 1, "text": "Here are tips.", "model_id": "vicuna-13b"}
    code, out = run("check", write_jsonl([answer]))
    assert code == 2 and "--columns prompt=text,response=answer_id" not in out and "prompt=FIELD,response=FIELD" in out
    code, out = run("check", write_jsonl([{"text": "The history of the town goes back to 1200."}]))
    assert code == 2 and "one text field, 'text', and no question or answer: text alone (pretraining text" in out
    # MOSS's user_prompts: one field, named as a question: questions alone, read as such
    code, out = run("check", write_jsonl([{"user_prompt": "How do I keep basil alive indoors?"}]))
    assert code == 2 and "--input-format questions --columns prompt=user_prompt" in out


def test_records_keyed_by_id_in_one_object_exit_2_saying_how_to_write_them_out(tmp_path):
    # ToolBench's tooleval results: {"35735": {"query": ...}, "36137": {...}}
    keyed = {
        "35735": {"query": "Decode this VIN.", "answer": "A 2014 BMW."},
        "3674": {"query": "Hi", "answer": "Hello"},
    }
    path = tmp_path / "G1_instruction.json"
    path.write_text(json.dumps(keyed, indent=2))
    code, out = run("check", path)
    assert code == 2 and "one JSON object of 2 objects under keys of their own (35735, 3674, ...)" in out
    assert "(jq -c 'to_entries[] | {id: .key} + .value' G1_instruction.json > records.jsonl)" in out


def test_records_wrapped_in_one_object_exit_2_saying_where_they_are(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "1.1", "data": [{"instruction": "Say hi.", "output": "Hi!"}] * 2}, indent=2))
    code, out = run("check", path)
    assert code == 2 and "one JSON object whose 'data' holds a list of 2 objects" in out
    assert "(jq '.data' squad.json > records.json)" in out


@pytest.mark.parametrize("command", ["check", "filter", "convert"])
def test_the_columns_help_names_every_key_a_mapping_takes(command):
    # preference data is mapped with chosen= and rejected= as LLaMA-Factory's dataset_info.json does
    from dqe.io.formats.base import Columns

    code, out = run(command, "--help")
    help_text = " ".join(out.split())
    keys = help_text.split("(keys: ", 1)[1].split(")", 1)[0]
    assert code == 0 and keys.split(", ") == list(Columns.model_fields)


def test_one_object_holding_one_conversation_is_never_read_from_its_rejected_side(tmp_path):
    # a preference pair that lost its chosen side: the hint must not offer the rejected answer to check
    rejected = [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Lyon."}]
    path = tmp_path / "pair.json"
    path.write_text(json.dumps({"id": "pair-7", "rejected": rejected}, indent=2))
    code, out = run("check", path)
    assert code == 2 and "unknown record format (keys seen: id, rejected)" in out
    assert 'messages = "rejected"' not in out and "jq '.rejected'" not in out


def test_flat_message_exports_exit_2_saying_to_read_the_trees(write_jsonl):
    # Open Assistant's messages.jsonl: one message a line, each linked to its parent by id
    messages = [
        {"message_id": "6f1d", "parent_id": None, "text": "Hi!", "role": "prompter"},
        {"message_id": "4a24", "parent_id": "6f1d", "text": "Hello! How can I help?", "role": "assistant"},
    ]
    code, out = run("check", write_jsonl(messages))
    assert code == 2 and "each linked to the one it answers by 'parent_id'" in out
    assert "Read the message trees instead (Open Assistant's *.trees.jsonl" in out


def test_one_object_holding_one_conversation_exits_2_saying_how_to_map_its_turns(tmp_path):
    # ToolTalk's files: one conversation each, its turns {index, role, text}, not a list of records
    turns = [{"index": 0, "role": "user", "text": "Wake me at 7."}, {"index": 1, "role": "assistant", "text": "Done."}]
    path = tmp_path / "AddAlarm-easy.json"
    path.write_text(json.dumps({"name": "AddAlarm-easy", "conversation": turns}, indent=2))
    code, out = run("check", path)
    assert code == 2 and "one JSON object, one conversation: its 'conversation' holds 2 turns" in out
    assert 'read it with [columns] messages = "conversation" and [tags] content_tag = "text"' in out
    config = tmp_path / "dqe.toml"
    config.write_text('[columns]\nmessages = "conversation"\n[tags]\ncontent_tag = "text"\n')
    assert run("check", path, "--config", config, "--select", "DQ001")[0] == 0


def test_json_report_follows_the_contract(write_jsonl, tmp_path):
    out_file = tmp_path / "report.json"
    code, _ = run("check", write_jsonl([GOOD, EMPTY_ANSWER, "{broken"]), "--format", "json", "-o", out_file)
    assert code == 1
    report = json.loads(out_file.read_text())
    assert report["summary"] == {"records": 3, "passed": 1, "rejected": 1, "invalid": 1, "errors": 0, "gate": "fail"}
    rules = {r["code"]: r for r in report["rules"]}
    assert set(rules["DQ001"]) >= {"code", "name", "scope", "severity", "evaluated", "failed"}
    assert rules["DQ001"]["failed"] == 1 and rules["DQ000"]["failed"] == 1
    assert report["dataset"]["tokens"]["total"]["max"] > 0
    assert report["dataset"]["records"]["pass_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert {f["code"] for f in report["findings"]} == {"DQ000", "DQ001"}
    assert report["findings_complete"] is True
    assert {m["name"]: m["state"] for m in report["gate"]["metrics"]}["invalid-records"] == "fail"


def test_findings_are_sampled_per_rule_unless_all_are_asked_for(write_jsonl, tmp_path):
    path = write_jsonl([EMPTY_ANSWER] * 30)
    _, out = run("check", path, "--format", "json", "--ignore", "DQ4")
    report = json.loads(out)
    assert len(report["findings"]) == 20 and report["findings_complete"] is False
    _, out = run("check", path, "--format", "json", "--all-findings", "--ignore", "DQ4")
    assert len(json.loads(out)["findings"]) == 30


def test_jsonl_format_prints_one_record_a_line_with_its_findings_and_labels(write_jsonl):
    _, out = run("check", write_jsonl([EMPTY_ANSWER, GOOD, EMPTY_ANSWER]), "--format", "jsonl", "--ignore", "DQ4")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["source"].rsplit(":", 1)[1], r["verdict"]) for r in lines] == [
        ("1", "rejected"),
        ("2", "passed"),
        ("3", "rejected"),
    ]
    assert [f["code"] for f in lines[0]["findings"]] == ["DQ001"] and lines[1]["findings"] == []
    labels = lines[1]["labels"]
    assert labels["tokens"] > 0 and labels["languages"] == ["und", "en"]  # a code per turn: the question is too short
    assert set(labels["cot"]) == {"need", "score"}


def test_jsonl_names_the_turn_a_finding_is_about(write_jsonl):
    looping = " ".join(["The cat sat on the mat again."] * 30)
    conversation = {
        "conversations": [
            {"from": "human", "value": "Tell me about cats."},
            {"from": "gpt", "value": looping},
            {"from": "human", "value": "Thanks, and dogs?"},
            {"from": "gpt", "value": "Dogs are loyal companions that have lived with people for thousands of years."},
        ]
    }
    _, out = run("check", write_jsonl([conversation]), "--format", "jsonl", "--select", "DQ202")
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert [(f["code"], f["turn"]) for f in record["findings"]] == [("DQ202", 2)]


def test_statistics_counts_failures_per_rule(write_jsonl):
    _, out = run("check", write_jsonl([EMPTY_ANSWER, EMPTY_ANSWER, GOOD]), "--statistics")
    assert out.splitlines()[0].split() == ["2", "DQ001", "structure"]


def test_select_and_ignore(write_jsonl):
    path = write_jsonl([EMPTY_ANSWER])
    assert run("check", path, "--ignore", "DQ001")[0] == 0
    code, out = run("check", path, "--select", "DQ1")
    assert code == 0 and "DQ001" not in out.split("Rules")[1].split("Dataset")[0]
    code, out = run("check", path, "--select", "XX9")
    assert code == 2 and "'select': 'XX9' matches no rule" in out


def test_max_tokens_from_a_config_file(write_jsonl, tmp_path):
    (tmp_path / "dqe.toml").write_text("[rules.DQ101]\nmax-tokens = 5\n")
    code, out = run("check", write_jsonl([GOOD]))
    assert code == 1 and "tokens > 5" in out


def test_bad_config_key_exits_2_naming_it(write_jsonl, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.dqe]\nselct = ['DQ1']\n")
    code, out = run("check", write_jsonl([GOOD]))
    assert code == 2 and "unknown key 'tool.dqe.selct'" in out
    (tmp_path / "pyproject.toml").write_text("[tool.dqe.rules.DQ101]\nmax-tokens = 'lots'\n")
    code, out = run("check", write_jsonl([GOOD]))
    assert code == 2 and "rules.DQ101.max-tokens" in out


def test_filter_splits_every_record_and_writes_a_manifest(write_jsonl, tmp_path):
    src = write_jsonl([GOOD, EMPTY_ANSWER, "{broken", GOOD])
    ok, bad = tmp_path / "ok.jsonl", tmp_path / "bad.jsonl"
    code, out = run("filter", src, "--passed", ok, "--rejected", bad, "--ignore", "DQ4")  # GOOD twice
    assert code == 1  # a quarter invalid fails the gate, but both outputs are written
    passed = [json.loads(line) for line in ok.read_text().splitlines()]
    rejected = [json.loads(line) for line in bad.read_text().splitlines()]
    assert passed == [GOOD, GOOD]
    assert rejected[0]["_dqe"]["reasons"][0]["code"] == "DQ001"
    assert {k: v for k, v in rejected[0].items() if k != "_dqe"} == EMPTY_ANSWER
    assert rejected[1]["_dqe"]["raw"] == "{broken" and rejected[1]["_dqe"]["status"] == "invalid"
    assert (tmp_path / "ok.jsonl.manifest.json").exists()


def test_filter_refuses_the_same_file_for_both_outputs(write_jsonl, tmp_path):
    code, out = run("filter", write_jsonl([GOOD]), "--passed", tmp_path / "x.jsonl", "--rejected", tmp_path / "x.jsonl")
    assert code == 2 and "are the same file" in out


def test_convert_alpaca_to_sharegpt_keeps_other_fields(write_jsonl, tmp_path):
    out_file = tmp_path / "out.jsonl"
    code, _ = run(
        "convert", write_jsonl([{**GOOD, "id": 7, "system": "Be brief."}]), "--to", "sharegpt", "-o", out_file
    )
    assert code == 0
    converted = json.loads(out_file.read_text())
    assert converted == {
        "conversations": [{"from": "human", "value": GOOD["instruction"]}, {"from": "gpt", "value": GOOD["output"]}],
        "system": "Be brief.",
        "id": 7,
    }


def test_rules_rule_and_plugins_commands():
    code, out = run("rules")
    assert code == 0 and "DQ101" in out and "token-length" in out
    code, out = run("rule", "DQ101")
    assert code == 0 and "Why it matters" in out and "max-tokens" in out
    code, out = run("rule", "token-length")
    assert code == 0 and out.startswith("DQ101")
    assert run("rule", "NOPE999")[0] == 2
    code, out = run("plugins")
    assert code == 0 and "dqe.rules.token_length" in out


def test_columns_map_non_standard_field_names(write_jsonl):
    path = write_jsonl([{"question": "2+2?", "answer": "4"}, {"question": "Capital of Peru?", "answer": ""}])
    code, out = run("check", path, "--columns", "prompt=question,response=answer")
    assert code == 1 and f"{path}:2" in out and "empty answer" in out
    code, out = run("check", path, "--columns", "prompt=question,answer")
    assert code == 2 and "'answer' is not KEY=FIELD" in out
    code, out = run("check", path, "--columns", "promt=question")
    assert code == 2 and "unknown key 'columns.promt'" in out


def test_an_empty_file_is_reported_and_fails_the_gate(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    code, out = run("check", path)
    assert code == 1 and "empty file" in out and "passed-records" in out


# -- no output replaces an input ---------------------------------------------------------------


def spellings(path):
    """The same file named five ways: as given, relative with '..', resolved, a symbolic link, a hard link."""
    link, hard = path.with_name("link.jsonl"), path.with_name("hard.jsonl")
    link.symlink_to(path)
    os.link(path, hard)
    return [path, path.parent / ".." / path.parent.name / path.name, path.resolve(), link, hard]


def test_filter_refuses_to_write_over_an_input(write_jsonl, tmp_path):
    src = write_jsonl([GOOD, EMPTY_ANSWER])
    before = src.read_bytes()
    for same in spellings(src):
        for option in ("--passed", "--rejected"):
            other = tmp_path / "other.jsonl"
            outputs = {"--passed": other, "--rejected": other.with_name("bad.jsonl"), option: same}
            code, out = run("filter", src, *[x for kv in outputs.items() for x in kv])
            assert code == 2 and f"{option} {same} is an input" in out and "refusing to overwrite it" in out
            assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "hard.jsonl", "link.jsonl"]


def test_filter_refuses_an_input_folder_file_and_the_config(tmp_path):
    (tmp_path / "data").mkdir()
    src = tmp_path / "data" / "a.jsonl"
    src.write_text(json.dumps(GOOD) + "\n")
    code, out = run("filter", tmp_path / "data", "--passed", src, "--rejected", tmp_path / "bad.jsonl")
    assert code == 2 and "is an input" in out
    (tmp_path / "dqe.toml").write_text("select = ['DQ001']\n")
    code, out = run("filter", src, "--passed", tmp_path / "ok.jsonl", "--rejected", "dqe.toml")
    assert code == 2 and "--rejected dqe.toml is an input" in out
    assert (tmp_path / "dqe.toml").read_text() == "select = ['DQ001']\n"
    code, out = run("filter", src, "--passed", tmp_path / "ok.jsonl", "--rejected", "ok.jsonl.manifest.json")
    assert code == 2 and "are the same file" in out


@pytest.mark.parametrize(
    "args",
    [
        ["check", "{src}", "-o", "{same}"],
        ["check", "{src}", "--html", "{same}"],
        ["check", "{src}", "--against", "{same}", "-o", "{same}"],
        ["convert", "{src}", "--to", "sharegpt", "-o", "{same}"],
    ],
)
def test_every_command_that_writes_refuses_an_input(write_jsonl, args):
    src = write_jsonl([GOOD])
    before = src.read_bytes()
    for same in spellings(src):
        code, out = run(*[a.format(src=src, same=same) for a in args])
        assert code == 2 and f"{same} is an input" in out
        assert src.read_bytes() == before


def test_check_refuses_one_file_for_two_reports(write_jsonl, tmp_path):
    code, out = run("check", write_jsonl([GOOD]), "-o", tmp_path / "r.html", "--html", tmp_path / "r.html")
    assert code == 2 and "are the same file" in out


# -- I/O errors --------------------------------------------------------------------------------


def test_an_output_that_cannot_be_written_exits_2_naming_it(write_jsonl, tmp_path):
    src = write_jsonl([GOOD])
    (tmp_path / "a-file").write_text("")
    code, out = run("filter", src, "--passed", tmp_path / "a-file" / "ok.jsonl", "--rejected", tmp_path / "bad.jsonl")
    assert code == 2 and f"{tmp_path / 'a-file' / 'ok.jsonl'}: cannot be written (Not a directory)" in out
    code, out = run("check", src, "-o", tmp_path / "a-file" / "report.txt")
    assert code == 2 and "report.txt: cannot be written" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "data.jsonl"]


def test_a_full_disk_exits_2_and_leaves_no_output(write_jsonl, tmp_path):
    """A real write error from the OS: files may not grow past 4 kB (EFBIG, as ENOSPC would)."""
    import resource
    import signal

    src = write_jsonl([{**GOOD, "id": i} for i in range(200)])

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    env = {**os.environ, "DQE_DISABLE_PLUGINS": "all", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from dqe.cli import main; main()", "filter", str(src), "--select", "DQ001"]
    done = subprocess.run(
        [*command, "--passed", "ok.jsonl", "--rejected", "bad.jsonl"],
        cwd=tmp_path,
        env=env,
        preexec_fn=small_files,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == "dqe: error: ok.jsonl: cannot be written (File too large); no output was written\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl"]


def test_progress_asked_for_off_a_terminal_is_plain_lines(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Say {i}.", "output": f"{i}."}) + "\n" for i in range(30)))
    result = CliRunner().invoke(main, ["check", str(data), "--select", "DQ001", "--progress", "--format", "json"])
    assert "checking 100%: 30 records" in result.stderr and "data-set rules: 30 records" in result.stderr
    quiet = CliRunner().invoke(main, ["check", str(data), "--select", "DQ001", "--format", "json"])
    assert "checking" not in quiet.stderr  # not a terminal: nothing unless asked


def test_a_model_folder_without_a_tokenizer_exits_2_naming_it(write_jsonl, tmp_path):
    (tmp_path / "weights").mkdir()
    code, output = run("check", write_jsonl([GOOD]), "--model", tmp_path / "weights")
    assert code == 2
    assert f"'model': {tmp_path / 'weights'} holds no tokenizer" in output.replace("\n", "")


def test_a_template_that_does_not_exist_exits_2_naming_the_key(write_jsonl, english_model):
    code, output = run("check", write_jsonl([GOOD]), "--model", english_model, "--template", "alpacca")
    assert code == 2
    assert "'template': no template 'alpacca'" in output
