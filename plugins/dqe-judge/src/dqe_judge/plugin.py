"""The entry point dqe loads (``[project.entry-points.dqe] judge = "dqe_judge.plugin"``)."""

from __future__ import annotations

from dqe import hookimpl
from dqe_judge.rule import LlmJudge


@hookimpl
def dqe_register_rules(register):
    register(LlmJudge)
