"""dqe: a data-quality engine for LLM fine-tuning data.

``dqe.check`` and ``dqe.filter`` are the Python API (the CLI is a thin layer over them);
``dqe.hookimpl`` and the base classes below are what a plugin needs. Imports are lazy so that
``dqe --help`` starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "hookimpl": "dqe.hookspecs",
    "hookspec": "dqe.hookspecs",
    "check": "dqe.api",
    "filter": "dqe.api",
    "convert": "dqe.api",
    "Report": "dqe.report",
    "FilterResult": "dqe.api",
    "Rule": "dqe.rule",
    "RecordRule": "dqe.rule",
    "DatasetRule": "dqe.rule",
    "RuleOptions": "dqe.rule",
    "DatasetResult": "dqe.rule",
    "GateMetric": "dqe.rule",
    "Feature": "dqe.feature",
    "Classifier": "dqe.classifier",
    "RecordFormat": "dqe.formats.base",
    "RecordError": "dqe.errors",
    "Template": "dqe.templates",
    "Renderer": "dqe.render.base",
    "Record": "dqe.records",
    "Turn": "dqe.records",
    "load_plugins": "dqe.plugins",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from dqe.api import FilterResult, check, convert, filter
    from dqe.classifier import Classifier
    from dqe.errors import RecordError
    from dqe.feature import Feature
    from dqe.formats.base import RecordFormat
    from dqe.hookspecs import hookimpl, hookspec
    from dqe.plugins import load_plugins
    from dqe.records import Record, Turn
    from dqe.render.base import Renderer
    from dqe.report import Report
    from dqe.rule import DatasetResult, DatasetRule, GateMetric, RecordRule, Rule, RuleOptions
    from dqe.templates import Template


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dqe' has no attribute {name!r}")
