"""``dqe check --format``, ``--html``, ``--exit-zero`` and ``--show`` from the command line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from dqe.cli import main
from dqe.cli.options import FORMATS


def run(*args: str):
    return CliRunner().invoke(main, [*args, "--no-progress"], catch_exceptions=False)


# the HTML page (its plots drawn by matplotlib: seconds) is also test_html_beside_another_format's
@pytest.mark.parametrize("fmt", [pytest.param(f, marks=pytest.mark.slow) if f == "html" else f for f in FORMATS])
def test_every_built_in_format(defect_file, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    result = run("check", str(defect_file), "--format", fmt, "-o", str(out))
    assert result.exit_code == 1  # an invalid record fails the gate
    text = out.read_text("utf-8")
    assert text
    if fmt == "json":
        assert json.loads(text)["summary"]["gate"] == "fail"
    elif fmt == "sarif":
        assert json.loads(text)["version"] == "2.1.0"
    elif fmt == "junit":
        assert ET.fromstring(text).tag == "testsuites"
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>")


def test_html_beside_another_format(defect_file, tmp_path):
    sarif, page = tmp_path / "r.sarif", tmp_path / "r.html"
    result = run("check", str(defect_file), "--format", "sarif", "-o", str(sarif), "--html", str(page))
    assert result.exit_code == 1
    assert json.loads(sarif.read_text())["runs"][0]["results"]
    assert 'data-verdict="fail"' in page.read_text("utf-8")
    assert f"report in {sarif} and {page}" in result.stderr


def test_exit_zero_reports_without_failing(defect_file):
    result = run("check", str(defect_file), "--format", "github", "--exit-zero")
    assert result.exit_code == 0
    assert "::error title=dqe gate FAIL::" in result.output


def test_exit_zero_keeps_errors(tmp_path):
    result = run("check", str(tmp_path / "missing.jsonl"), "--exit-zero")
    assert result.exit_code == 2


def test_an_unknown_format_fails_before_checking(defect_file):
    result = run("check", str(defect_file), "--format", "pdf")
    assert result.exit_code == 2
    assert (
        "unknown report format 'pdf'; known: text, json, jsonl, html, github, sarif, junit, markdown" in result.stderr
    )


def test_show_prints_the_failing_records_of_one_rule(defect_file):
    result = run("check", str(defect_file), "--show", "DQ001")
    assert result.exit_code == 1
    out = result.output
    assert out.startswith("DQ001 structure: 3 of 119 records fail")
    assert "data.jsonl:8  rejected" in out
    assert "DQ001 error  turn 2  empty answer" in out  # the finding names the empty turn
    assert "evidence  turns: user > assistant (empty)" in out
    assert "turn 1  user      把这句话翻译成英文：今天天气很好。" in out
    assert "turn 2  assistant (empty)" in out


def test_show_by_name_with_a_limit(defect_file):
    result = run("check", str(defect_file), "--show", "token-length", "--limit", "1")
    assert "DQ101 token-length: 1 of 119 records fail" in result.output
    assert "question  Write a long essay." in result.output
    assert "answer    word word word" in result.output


def test_show_of_a_rule_that_did_not_run(defect_file):
    result = run("check", str(defect_file), "--show", "DQ999")
    assert result.exit_code == 2
    assert "--show DQ999: no such rule in this check" in result.stderr


def test_html_without_its_extra_fails_before_checking(defect_file, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if dqe[html] were not installed
    result = run("check", str(defect_file), "--html", "r.html")
    assert result.exit_code == 2
    assert "the HTML report needs matplotlib: pip install 'dqe[html]'" in result.stderr
