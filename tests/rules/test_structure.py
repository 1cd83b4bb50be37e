"""DQ001 structure: hand-written cases, each failing for one reason, and the real files."""

from __future__ import annotations

import pytest

import dqe
from tests.conftest import REAL_FILES, real


def messages(*turns):
    return {"messages": [{"role": r, "content": c} for r, c in turns]}


def dq001(record):
    report = dqe.check([record], select=["DQ001"])
    return [f.message for f in report.findings if f.code == "DQ001"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"instruction": "Hi", "output": "Hello"}, None),
        ({"instruction": "", "output": "Hello"}, "empty instruction"),
        ({"instruction": "Hi", "output": " \n"}, "empty answer"),
        ({"instruction": "Hi", "output": "x", "history": [["", "a"]]}, "turn 1 (user) is empty"),
        (messages(("assistant", "I start"), ("user", "odd")), "the first turn is assistant, not user"),
        (messages(("user", "a"), ("user", "b"), ("assistant", "c")), "turn 2: user after user"),
        (messages(("user", "a")), "no answer (no assistant turn)"),
        (messages(("user", "a"), ("tool", "result"), ("assistant", "c")), "turn 2: tool after user"),
        (messages(("user", "weather?"), ("assistant", "sunny")), None),
    ],
)
def test_cases(record, message):
    assert dq001(record) == ([message] if message else [])


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_real_files_pass(name):
    report = dqe.check(real(name), select=["DQ001"])
    assert report.summary.rejected == 0
