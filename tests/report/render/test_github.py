"""--format github: workflow commands GitHub Actions turns into annotations on file and line."""

from __future__ import annotations

import re

from dqe.report.render.github import command, escape_data, escape_property, render_github

# ::level key=value,key=value::message, with the properties' own separators escaped.
ANNOTATION = re.compile(
    r"^::(error|warning|notice)( (file|line|title)=[^,:\n]*(,(file|line|title)=[^,:\n]*)*)?::[^\n]*$"
)


def test_every_line_is_a_workflow_command(report):
    lines = render_github(report).splitlines()
    assert lines
    for line in lines:
        assert ANNOTATION.match(line), line


def test_a_failing_record_is_annotated_at_its_file_and_line(report):
    lines = render_github(report).splitlines()
    assert (
        "::error file=data.jsonl,line=4,title=dqe DQ001 structure::turn 2: empty answer "
        "(evidence: turns: user > assistant (empty))"
    ) in lines
    assert any(
        line.startswith("::error file=data.jsonl,line=12,title=dqe DQ101 token-length::5034 tokens > 4096")
        for line in lines
    )


def test_the_gate_is_annotated(report):
    lines = render_github(report).splitlines()
    assert any(
        line.startswith("::error title=dqe gate%3A invalid-records::invalid-records = 1 (fail;") for line in lines
    )
    assert lines[-1].startswith(
        "::error title=dqe gate FAIL::120 records: 115 passed, 4 rejected, 1 invalid; gate fail"
    )


def test_escaping_keeps_one_command_per_line():
    assert escape_data("50% done\nnext\r") == "50%25 done%0Anext%0D"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"
    line = command("warning", "two\nlines", file="dir,odd:name.jsonl", line=3)
    assert line == "::warning file=dir%2Codd%3Aname.jsonl,line=3::two%0Alines"
