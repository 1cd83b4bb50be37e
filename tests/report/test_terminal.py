"""Nothing dqe prints sends a terminal a control sequence: record text, file names, plugin
messages and config values all reach it as visible escapes, and a JSON report stays exact."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dqe
from dqe.cli import main
from dqe.report.render.show import render_show
from dqe.report.render.text import render_text
from dqe.report.terminal import CONTROL, keep_colours, visible

HOSTILE = (
    "\x1b]0;window title\x07"  # OSC: sets the window title
    "\x1b]8;;https://example.com\x1b\\a hidden link\x1b]8;;\x1b\\"  # OSC 8: a link that shows other text
    "\x1b[2J\x1b[8mconcealed\x1b[0m"  # CSI: clears the screen, conceals text
    "NUL\x00 BEL\x07 BS\x08 CR\r DEL\x7f C1-CSI\x9b31m NEL\x85 "
    "\u202eexe.txt\u202c \u2066isolate\u2069"  # bidi: shows 'txt.exe' reversed
)
RAW = re.compile(f"[{CONTROL}]|\r(?!\n)")
SGR = re.compile(r"\x1b\[[0-9;]*m")


def only_text_and_colours(output: str) -> bool:
    return RAW.search(SGR.sub("", output)) is None


def test_visible_writes_every_control_character_but_newline_and_tab_as_its_escape():
    assert visible("a\tb\nc\r\nd") == "a\tb\nc\r\nd"  # a CRLF line end is a line end
    assert visible("shown\rhidden") == "shown\\u000dhidden"  # a lone CR would write over the line
    assert visible("\x1b]0;t\x07") == "\\u001b]0;t\\u0007"
    assert visible("\x00\x7f\x9b\u202e\u2066") == "\\u0000\\u007f\\u009b\\u202e\\u2066"
    assert RAW.search(visible(HOSTILE)) is None


def test_keep_colours_keeps_only_dqe_s_own_colour_sequences():
    assert keep_colours("\x1b[1;31mFAIL\x1b[0m") == "\x1b[1;31mFAIL\x1b[0m"
    assert keep_colours("\x1b]0;t\x07\x1b[2J") == "\\u001b]0;t\\u0007\\u001b[2J"


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_a_json_report_printed_to_a_terminal_decodes_to_the_same_values(text):
    """Escapes are JSON's own: made visible for the terminal, the JSON means what it meant."""
    document = json.dumps({"message": text, text: [text]}, ensure_ascii=False)
    shown = keep_colours(document)
    assert RAW.search(shown) is None
    assert json.loads(shown) == json.loads(document)


class Echo(dqe.RecordRule):
    """Fails every record, quoting its answer in the message, as many rules do."""

    code = "ECH001"
    name = "echo\x1b]0;rule name\x07"
    summary = "quotes the answer"

    def check(self, batch):
        return batch.select(passed=pl.lit(False), message=pl.format("answer was {}", "answer"))


class EchoPlugin:
    __name__ = "echo-plugin\u202e"

    @dqe.hookimpl
    def dqe_register_rules(self, register):
        register(Echo)


def hostile_report(payload: str, folder) -> dqe.Report:
    path = folder / ("data" + payload[:20].replace("/", "").replace("\x00", "") + ".jsonl")  # a file name holds no NUL
    path.write_text(json.dumps({"instruction": payload, "output": payload, "category": payload}) + "\n", "utf-8")
    return dqe.check(path, plugins=[EchoPlugin()], select=["ECH001", "DQ001"], complete=True)


@pytest.mark.parametrize("color", [False, True])
def test_the_text_report_and_show_print_data_as_text_in_colour_or_not(tmp_path, color):
    report = hostile_report(HOSTILE, tmp_path)
    for output in (render_text(report, color=color), render_show(report, "ECH001", color=color)):
        assert only_text_and_colours(output)
        assert "\x1b[8mconcealed" not in output  # a colour sequence from the data is shown, not obeyed
        assert "\\u001b]0;window title\\u0007" in output
    assert "\x1b[" in render_text(report, color=True)  # dqe's own colours stay


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # examples: the profile's (tests/conftest.py)
@given(
    st.text(
        alphabet=st.sampled_from(
            ["a", " ", "\n", "\t", "\x1b", "]", "[", "\x07", "\x9b", "\u202e", "\x00", "m", "1", ";"]
        ),
        min_size=1,
        max_size=30,
    )
)
def test_generated_control_sequences_never_reach_the_text_report(tmp_path, text):
    report = hostile_report("q " + text, tmp_path)
    assert only_text_and_colours(render_text(report, color=True))
    assert only_text_and_colours(render_show(report, "ECH001", color=True))


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "github", "markdown", "sarif", "junit"])
def test_no_format_printed_by_the_dqe_command_sends_a_control_sequence(tmp_path, fmt):
    name = "in\x1b]0;title\x07put\u202e.jsonl"
    (tmp_path / name).write_text(json.dumps({"instruction": HOSTILE, "output": HOSTILE}) + "\n")
    result = CliRunner().invoke(main, ["check", name, "--format", fmt, "--no-progress", "--select", "DQ001,DQ204"])
    assert result.exit_code in (0, 1), result.output
    assert only_text_and_colours(result.stdout) and only_text_and_colours(result.stderr)
    if fmt == "json":
        assert json.loads(result.stdout)["files"][0]["path"] == name  # exact, through the escapes


def test_error_messages_quoting_a_file_name_or_a_value_print_it_as_text(tmp_path):
    name = "bad\x1b]0;title\x07.jsonl"
    (tmp_path / name).write_text('{"no_known_key": 1}\n')
    result = CliRunner().invoke(main, ["check", name, "--no-progress"])
    assert result.exit_code == 2 and "bad\\u001b]0;title\\u0007.jsonl: unknown record format" in result.stderr
    (tmp_path / "dqe.toml").write_text('select = ["\\u001b]0;title\\u0007"]\n')
    result = CliRunner().invoke(main, ["check", name, "--no-progress"])
    assert result.exit_code == 2 and "'\\u001b]0;title\\u0007' matches no rule" in result.stderr
    assert only_text_and_colours(result.stderr)


def test_a_report_written_to_stdout_as_it_renders_is_made_visible_too(capfd, monkeypatch):
    import sys

    from dqe.cli.options import stdout_to_stderr
    from dqe.report.terminal import TerminalStream

    monkeypatch.setattr(sys, "stdout", TerminalStream(sys.__stdout__))  # as the dqe command sets it
    with stdout_to_stderr() as write:  # --format jsonl writes through this, on descriptor 1
        print("a plugin's print")
        write('{"message": "\x1b]0;title\x07"}\n')
    out, err = capfd.readouterr()
    assert out == '{"message": "\\u001b]0;title\\u0007"}\n' and "a plugin's print" in err
