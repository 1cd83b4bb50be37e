"""The plugin manager: built-in plugins, entry-point plugins, and what each one registered.

Built-in rules, formats, templates and features are plugins too, registered through the same
hooks. Loading fails closed: a plugin that does not import, implements an unknown hook or a
hook with a wrong argument, registers something invalid or a code already taken is an error
naming the plugin, and the run stops (exit code 2) unless the user switches the plugin off.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy
from pydantic import BaseModel, Field, create_model

from dqe import hookspecs
from dqe.engine.classifier import TARGETS, Classifier
from dqe.engine.feature import Feature
from dqe.engine.rule import CODE_PATTERN, DatasetRule, RecordRule, Rule, RuleOptions
from dqe.engine.templates import Template
from dqe.errors import PluginError
from dqe.guard import describe
from dqe.io.formats.base import RecordFormat
from dqe.kinds import BY_PLURAL, KINDS, Kind

ENTRY_POINT_GROUP = "dqe"
DISABLE_ENV = "DQE_DISABLE_PLUGINS"

BUILTIN_PLUGINS = (
    "dqe.io.formats.sharegpt",
    "dqe.io.formats.openai",
    "dqe.io.formats.firefly",
    "dqe.io.formats.xtuner",
    "dqe.io.formats.moss",
    "dqe.io.formats.transcript",  # before Alpaca: its answer spellings include chosen
    "dqe.io.formats.preference",  # before Alpaca, for the same reason
    "dqe.io.formats.oasst",  # before Questions: a tree's prompt is a message, not a question alone
    "dqe.io.formats.selfinstruct",  # before Alpaca: a task has an instruction too
    "dqe.io.formats.questions",  # before Alpaca: a question alone has no answer to read
    "dqe.io.formats.alpaca",
    "dqe.engine.templates",
    "dqe.features.tokens",
    "dqe.features.trainer_encoding",
    "dqe.features.model_scores",
    "dqe.features.cot",
    "dqe.features.category",
    "dqe.features.domain",
    "dqe.features.subject",
    "dqe.features.language",
    "dqe.features.text",
    "dqe.features.spelling",
    "dqe.features.machine_style",
    "dqe.rules.structure",
    "dqe.rules.turn_structure",
    "dqe.rules.token_length",
    "dqe.rules.answer_truncated",
    "dqe.rules.no_supervised_tokens",
    "dqe.rules.template_render",
    "dqe.rules.trace_dropped",
    "dqe.rules.poorly_represented",
    "dqe.rules.question_does_not_help",
    "dqe.rules.training_misfit",
    "dqe.rules.length_bounds",
    "dqe.rules.chain_of_thought",
    "dqe.rules.repetition",
    "dqe.rules.boilerplate",
    "dqe.rules.placeholders",
    "dqe.rules.generator_artefact",
    "dqe.rules.broken_markup",
    "dqe.rules.fill_in_slot",
    "dqe.rules.copied_prompt",
    "dqe.rules.misspelling",
    "dqe.rules.machine_style",
    "dqe.rules.language_allowed",
    "dqe.rules.language_mismatch",
    "dqe.rules.duplicates",
    "dqe.rules.contamination",
    "dqe.rules.category_balance",
    "dqe.rules.domain_ratio",
    "dqe.rules.max_records",
    "dqe.report.render",
    "dqe.report.render.sections",
)


class _PluginFacts(BaseModel):
    name: str
    package: str | None = None  # the distribution that ships it
    version: str | None = None
    builtin: bool = False
    disabled: bool = False
    error: str | None = None


# A plugin as `dqe plugins` shows it, with what it registered: one list of names (or codes) per kind.
PluginInfo = create_model(
    "PluginInfo",
    __base__=_PluginFacts,
    **{kind.plural: (list[str], Field(default_factory=list)) for kind in KINDS},
)


@dataclass
class Registry:
    """Everything the enabled plugins registered, and who registered it."""

    plugins: list[PluginInfo] = field(default_factory=list)
    # per kind (dqe.kinds.KINDS), what was registered by its code or name: read as registry.rules,
    # registry.formats, ... (a rule class, a RecordFormat, a Template, a Feature class, a Renderer,
    # a ReportSection, a Classifier class)
    tables: dict[str, dict[str, Any]] = field(default_factory=lambda: {kind.plural: {} for kind in KINDS})
    owner: dict[str, str] = field(default_factory=dict)  # "rule:DQ101" -> plugin name
    disabled: list[str] = field(default_factory=list)  # the names switched off when loading
    # False when a plugin was registered from code: a worker process cannot load it again
    portable: bool = True

    def __getattr__(self, plural: str) -> dict[str, Any]:
        if plural in BY_PLURAL:
            return self.__dict__["tables"][plural]
        raise AttributeError(f"'Registry' object has no attribute {plural!r}")

    @property
    def errors(self) -> list[str]:
        return [p.error for p in self.plugins if p.error]

    def raise_errors(self) -> None:
        if self.errors:
            raise PluginError("\n".join(self.errors))

    def plugin_of(self, kind: str, name: str) -> str:
        return self.owner.get(f"{kind}:{name}", "?")

    def rule_by_name(self, key: str) -> type[Rule] | None:
        """A rule by code (DQ101) or name (token-length)."""
        if key in self.rules:
            return self.rules[key]
        return next((r for r in self.rules.values() if r.name == key), None)


def disabled_from_env() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def canonical(name: str) -> str:
    """Plugin and package names compare like pip's: ``DQE_PII`` is ``dqe-pii``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _fix_hint(name: str) -> str:
    return f"switch it off with --disable-plugin {name} or {DISABLE_ENV}={name}"


_HOOKS = {name: inspect.signature(getattr(hookspecs, name)) for name in dir(hookspecs) if name.startswith("dqe_")}


def _hook_problem(pm: pluggy.PluginManager, plugin: object, name: str) -> str | None:
    """Why ``plugin``'s hook functions would be ignored or refused, in words that say the fix.

    pluggy ignores a hook function without the ``@hookimpl`` marker and accepts a marked
    function whose name is no hook; both lose the plugin's rules without a word, so both are
    errors here. A wrong argument name is caught too, with the signature the hook has.
    """
    for attr in dir(plugin):
        if not attr.startswith("dqe_"):
            continue
        fn = getattr(plugin, attr, None)
        if not callable(fn):
            continue
        marked = pm.parse_hookimpl_opts(plugin, attr) is not None
        spec = _HOOKS.get(attr)
        if spec is None:
            if marked:
                close = difflib.get_close_matches(attr, _HOOKS, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                return f"plugin '{name}' implements {attr}(), which is no dqe hook; {hint}the hooks are {', '.join(sorted(_HOOKS))}"
            continue
        if not marked:
            return f"plugin '{name}' defines {attr}() without @hookimpl, so dqe would never call it: decorate it with @dqe.hookimpl"
        try:
            params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
        except (TypeError, ValueError):
            continue
        wanted = list(spec.parameters)
        unknown = [p.name for p in params if p.name not in wanted]
        if unknown:
            return (
                f"plugin '{name}' implements {attr}({', '.join(p.name for p in params)}), but the hook passes "
                f"{', '.join(repr(w) for w in wanted)} and nothing else: write {attr}({', '.join(wanted)})"
            )
    return None


def _validate_rule(rule: Any) -> str | None:
    """Why ``rule`` cannot be registered, or None when it is fine."""
    if not (isinstance(rule, type) and issubclass(rule, Rule)):
        return f"registered {rule!r}, which is not a subclass of dqe.RecordRule or dqe.DatasetRule"
    label = f"rule {rule.__name__}"
    if not issubclass(rule, RecordRule | DatasetRule):
        return f"{label} must subclass dqe.RecordRule or dqe.DatasetRule"
    for attr in ("code", "name", "summary"):
        if not isinstance(getattr(rule, attr, None), str) or not getattr(rule, attr):
            return f"{label} has no '{attr}' (a class attribute string)"
    if not CODE_PATTERN.match(rule.code):
        return f"{label}: code '{rule.code}' must be a prefix of 2-6 capital letters and 3 digits, like PII001"
    if rule.severity not in ("error", "warning", "info"):
        return f"{label}: severity '{rule.severity}' must be error, warning or info"
    if not (isinstance(rule.Options, type) and issubclass(rule.Options, RuleOptions)):
        return f"{label}: Options must subclass dqe.RuleOptions"
    if rule.__abstractmethods__:
        return f"{label} does not implement {', '.join(sorted(rule.__abstractmethods__))}"
    return None


class _Loader:
    def __init__(self, disabled: set[str]):
        self.disabled = disabled
        self.pm = pluggy.PluginManager("dqe")
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.infos: dict[str, PluginInfo] = {}

    def is_disabled(self, *names: str | None) -> bool:
        return any(canonical(n) in self.disabled for n in names if n)

    def add(self, plugin: object, info: PluginInfo) -> None:
        self.registry.plugins.append(info)
        if info.disabled:
            return
        try:
            problem = _hook_problem(self.pm, plugin, info.name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the plugin object's own attribute lookups raised
            problem = f"plugin '{info.name}' cannot be inspected: {describe(exc)}"
        if problem:
            info.error = f"{problem} (or {_fix_hint(info.name)})"
            return
        try:
            self.pm.register(plugin, name=info.name)
        except pluggy.PluginValidationError as exc:
            info.error = f"plugin '{info.name}' implements a hook wrongly: {exc}; {_fix_hint(info.name)}"
        except ValueError as exc:  # the same name registered twice
            info.error = f"plugin '{info.name}' cannot be registered: {str(exc).splitlines()[0]}"
        else:
            self.infos[info.name] = info
            if not info.builtin and not self.pm.get_hookcallers(plugin):
                info.error = (
                    f"plugin '{info.name}' implements no dqe hook: its entry point must name the module that holds "
                    f"the @hookimpl functions (like 'dqe_foo.plugin'), not a class or function ({_fix_hint(info.name)})"
                )

    def collect(self) -> Registry:
        registry = self.registry
        for kind in KINDS:
            hook_name = f"dqe_register_{kind.plural}"
            hook = getattr(self.pm.hook, hook_name)
            for impl in hook.get_hookimpls():  # in registration order: built-ins first, so they keep their codes
                info = self.infos[impl.plugin_name]
                if info.error:
                    continue
                try:
                    impl.function(**{arg: self._register(kind, info) for arg in impl.argnames})
                except PluginError as exc:
                    info.error = str(exc)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # SystemExit(0) too: a plugin must not end the run as a pass
                    info.error = f"plugin '{info.name}' failed in {hook_name}: {describe(exc)}; {_fix_hint(info.name)}"
        return registry

    def _register(self, kind: Kind, info: PluginInfo) -> Callable[[Any], None]:
        registry = self.registry

        def register(thing: Any) -> None:
            problem = _ACCEPTS[kind.name](thing)
            if problem:
                raise PluginError(f"plugin '{info.name}'{problem}")
            key = getattr(thing, kind.key)
            table = registry.tables[kind.plural]
            if key in table:
                first = registry.owner[f"{kind.name}:{key}"]
                raise PluginError(
                    f"plugin '{info.name}' registers {kind.name} {key}, which plugin '{first}' already registered; "
                    f"a plugin must claim codes and names of its own (or {_fix_hint(info.name)})"
                )
            table[key] = thing
            registry.owner[f"{kind.name}:{key}"] = info.name
            getattr(info, kind.plural).append(key)

        return register


def _instance_of(base: type | str, article: str) -> Callable[[Any], str | None]:
    """``base``: a class, or where one lives ("module:Class"), imported when a plugin first
    registers one: the report's base classes sit in a layer above the engine, as the built-in
    plugins that register them do (BUILTIN_PLUGINS)."""

    def check(thing: Any) -> str | None:
        cls = base if isinstance(base, type) else _named_class(base)
        return None if isinstance(thing, cls) else f" registered {thing!r}, not {article}"

    return check


def _named_class(where: str) -> type:
    module, name = where.split(":")
    return getattr(importlib.import_module(module), name)


def _subclass_of(base: type, label: str) -> Callable[[Any], str | None]:
    def check(thing: Any) -> str | None:
        if not (isinstance(thing, type) and issubclass(thing, base)) or thing.__abstractmethods__:
            return f" registered {thing!r}, not a {label} subclass"
        return None

    return check


def _accepts_rule(thing: Any) -> str | None:
    problem = _validate_rule(thing)
    return f": {problem}" if problem else None


def _accepts_classifier(thing: Any) -> str | None:
    problem = _subclass_of(Classifier, "dqe.Classifier")(thing)
    if problem is None and getattr(thing, "target", None) not in TARGETS:
        return f': classifier {thing.__name__} needs \'target\' = "category" or "domain"'
    return problem


# What each kind accepts (dqe.kinds.KINDS): None, or the refusal that follows "plugin 'x'".
_ACCEPTS: dict[str, Callable[[Any], str | None]] = {
    "rule": _accepts_rule,
    "format": _instance_of(RecordFormat, "a dqe.RecordFormat instance"),
    "template": _instance_of(Template, "a dqe.Template"),
    "feature": _subclass_of(Feature, "dqe.Feature"),
    "renderer": _instance_of("dqe.report.renderer:Renderer", "a dqe.Renderer instance"),
    "section": _instance_of("dqe.report.section:ReportSection", "a dqe.ReportSection instance"),
    "classifier": _accepts_classifier,
}


def _describe_import_error(exc: Exception, target: str) -> str:
    """The import failure in one line, saying whether a dependency is missing."""
    if isinstance(exc, ModuleNotFoundError) and exc.name and not target.startswith(exc.name):
        return f"it needs the module '{exc.name}', which is not installed"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{at}"


def load_plugins(disabled: Iterable[str] = (), extra: Iterable[object] = ()) -> Registry:
    """Load built-in and installed plugins, minus the disabled ones (names or packages).

    ``extra`` registers plugin objects directly (modules or instances with hookimpls), as a
    test or a notebook does; they behave exactly like installed ones.
    """
    off = {canonical(n) for n in (*disabled, *disabled_from_env())}
    loader = _Loader(off)
    from dqe import __version__

    for module_name in BUILTIN_PLUGINS:
        info = PluginInfo(name=module_name, package="dqe", version=__version__, builtin=True)
        info.disabled = loader.is_disabled(module_name)
        loader.add(None if info.disabled else importlib.import_module(module_name), info)

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(name=ep.name, package=dist.name if dist else None, version=dist.version if dist else None)
        info.disabled = "all" in off or loader.is_disabled(ep.name, info.package)
        plugin = None
        if not info.disabled:
            try:
                plugin = ep.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                package = f" (package {info.package} {info.version})" if info.package else ""
                where = _describe_import_error(exc, ep.value)
                fix = f"pip install --force-reinstall {info.package}" if info.package else "reinstall it"
                info.error = (
                    f"plugin '{ep.name}'{package} failed to import {ep.value}: {where}; {fix}, or {_fix_hint(ep.name)}"
                )
                loader.registry.plugins.append(info)
                continue
        loader.add(plugin, info)

    for i, plugin in enumerate(extra):
        if loader.pm.is_registered(plugin):  # installed too: it is loaded already
            continue
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{i}"
        info = PluginInfo(name=name, disabled=loader.is_disabled(name))
        loader.registry.portable &= info.disabled
        loader.add(plugin, info)
    loader.registry.disabled = sorted(off)
    _require_known(loader.registry, disabled)
    return loader.collect()


def _require_known(registry: Registry, disabled: Iterable[str]) -> None:
    """A name to switch off that matches no plugin is an error: a typo would leave the plugin
    on in silence. (``DQE_DISABLE_PLUGINS`` may name plugins a machine lacks: it is set for a
    whole shell or CI machine, not for one project.)"""
    known = {canonical(n) for p in registry.plugins for n in (p.name, p.package) if n} | {"all"}
    unknown = [n for n in dict.fromkeys(disabled) if canonical(n) not in known]
    if not unknown:
        return
    names = [p.name for p in registry.plugins]
    problems = []
    for name in unknown:
        close = difflib.get_close_matches(name, names, n=1)
        problems.append(f"no plugin '{name}'" + (f" (did you mean {close[0]}?)" if close else ""))
    raise PluginError(
        f"--disable-plugin / disable-plugins: {'; '.join(problems)}; loaded plugins: {', '.join(names)} "
        "(plugins are named by their entry point or their package, see `dqe plugins`)"
    )
