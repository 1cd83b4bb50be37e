"""The kinds of thing a plugin can register, in one table.

The hooks (``dqe.hookspecs``: one ``dqe_register_<plural>`` per kind), the loader's registry and
its record of what each plugin added (``dqe.engine.plugins``), and ``dqe plugins`` all read this
table, so a new kind is one row here plus the check of what it accepts.
"""

from __future__ import annotations

from typing import NamedTuple


class Kind(NamedTuple):
    name: str  # "rule": in messages and in the registry's owner keys ("rule:DQ101")
    plural: str  # "rules": the hook dqe_register_rules, Registry.rules, PluginInfo.rules, `dqe plugins`
    key: str  # the attribute that names a registered thing: a rule's code, anything else's name
    doc: str  # what the hook's register() takes


KINDS: tuple[Kind, ...] = (
    Kind("rule", "rules", "code", "Register rule classes: ``register(MyRule)`` for each subclass of ``dqe.Rule``."),
    Kind("format", "formats", "name", "Register record formats (readers and writers): ``register(MyFormat())``."),
    Kind("template", "templates", "name", "Register prompt templates: ``register(Template(...))``."),
    Kind("feature", "features", "name", "Register per-record features several rules share: ``register(MyFeature)``."),
    Kind(
        "renderer",
        "renderers",
        "name",
        "Register report renderers (``dqe check --format NAME``): ``register(MyRenderer())``.",
    ),
    Kind(
        "section",
        "sections",
        "key",
        "Register report sections, a plot of a data-set section in the HTML report: ``register(MySection())``\n"
        "for each ``dqe.ReportSection``.",
    ),
    Kind(
        "classifier",
        "classifiers",
        "name",
        "Register category or domain classifiers: ``register(MyClassifier)`` for each subclass\n"
        'of ``dqe.Classifier``; a config picks one with ``classifiers = {category = "name"}``.',
    ),
)

BY_PLURAL = {kind.plural: kind for kind in KINDS}
