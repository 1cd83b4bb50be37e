"""The hooks a dqe plugin can implement.

Every hook takes a ``register`` callback, in the style of simonw/llm: a plugin calls it once per
thing it adds, so the plugin manager knows which plugin added what and can refuse clashes.
The built-in rules and formats are registered through these same hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("dqe")
hookimpl = pluggy.HookimplMarker("dqe")


@hookspec
def dqe_register_rules(register: Callable[[type], None]) -> None:
    """Register rule classes: ``register(MyRule)`` for each subclass of ``dqe.Rule``."""


@hookspec
def dqe_register_formats(register: Callable[[Any], None]) -> None:
    """Register record formats (readers and writers): ``register(MyFormat())``."""


@hookspec
def dqe_register_templates(register: Callable[[Any], None]) -> None:
    """Register prompt templates: ``register(Template(...))``."""


@hookspec
def dqe_register_features(register: Callable[[type], None]) -> None:
    """Register per-record features several rules share: ``register(MyFeature)``."""


@hookspec
def dqe_register_renderers(register: Callable[[Any], None]) -> None:
    """Register report renderers (``dqe check --format NAME``): ``register(MyRenderer())``."""


@hookspec
def dqe_register_classifiers(register: Callable[[type], None]) -> None:
    """Register category or domain classifiers: ``register(MyClassifier)`` for each subclass
    of ``dqe.Classifier``; a config picks one with ``classifiers = {category = "name"}``."""
