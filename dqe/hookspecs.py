"""The hooks a dqe plugin can implement: one ``dqe_register_<plural>`` per kind in ``dqe.kinds``.

Every hook takes a ``register`` callback, in the style of simonw/llm: a plugin calls it once per
thing it adds, so the plugin manager knows which plugin added what and can refuse clashes.
The built-in rules and formats are registered through these same hooks:
``dqe_register_rules``, ``dqe_register_formats``, ``dqe_register_templates``,
``dqe_register_features``, ``dqe_register_renderers``, ``dqe_register_sections``,
``dqe_register_classifiers``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from dqe.kinds import KINDS, Kind

hookspec = pluggy.HookspecMarker("dqe")
hookimpl = pluggy.HookimplMarker("dqe")


def _hook(kind: Kind) -> Callable[[Callable[[Any], None]], None]:
    def spec(register: Callable[[Any], None]) -> None: ...

    spec.__name__ = spec.__qualname__ = f"dqe_register_{kind.plural}"
    spec.__doc__ = kind.doc
    return hookspec(spec)


for _kind in KINDS:
    globals()[f"dqe_register_{_kind.plural}"] = _hook(_kind)
