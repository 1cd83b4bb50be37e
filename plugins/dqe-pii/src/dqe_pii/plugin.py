"""The entry point dqe loads (``[project.entry-points.dqe] pii = "dqe_pii.plugin"``)."""

from __future__ import annotations

from dqe import hookimpl
from dqe_pii.rules import RULES
from dqe_pii.text import PiiText


@hookimpl
def dqe_register_features(register):
    register(PiiText)


@hookimpl
def dqe_register_rules(register):
    for rule in RULES:
        register(rule)
