"""Which rules run, with which options and severity: ``select``, ``extend-select``, ``ignore``.

Patterns are codes (``DQ101``), prefixes (``DQ1``, ``PII``), rule names (``token-length``) or
``ALL``. A pattern that matches no rule, an unknown rule in ``[rules]`` and a bad option value
are configuration errors naming the key.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import ValidationError

from dqe.engine.config import Config, describe_errors
from dqe.engine.plugins import Registry
from dqe.engine.rule import Rule, RuleOptions, Severity
from dqe.errors import ConfigError
from dqe.guard import blame

SEVERITIES = ("error", "warning", "info")


class Selected(NamedTuple):
    cls: type[Rule]
    options: RuleOptions
    severity: Severity


def _match(pattern: str, registry: Registry, key: str) -> set[str]:
    if pattern.upper() == "ALL":
        return set(registry.rules)
    found = {code for code, cls in registry.rules.items() if code.startswith(pattern.upper()) or cls.name == pattern}
    if not found:
        prefixes = sorted({code.rstrip("0123456789") for code in registry.rules})
        raise ConfigError(
            f"'{key}': '{pattern}' matches no rule (rule prefixes: {', '.join(prefixes)}; see `dqe rules`)"
        )
    return found


def select_rules(config: Config, registry: Registry) -> list[Selected]:
    if config.select is None:
        chosen = {code for code, cls in registry.rules.items() if cls.default_enabled}
    else:
        chosen = set().union(*(_match(p, registry, "select") for p in config.select))
    chosen |= set().union(*(_match(p, registry, "extend-select") for p in config.extend_select))
    chosen -= set().union(*(_match(p, registry, "ignore") for p in config.ignore))

    configured: dict[str, tuple[RuleOptions, Severity]] = {}
    for key, table in config.rules.items():
        cls = registry.rule_by_name(key)
        if cls is None:
            raise ConfigError(f"'rules.{key}': no such rule (see `dqe rules`)")
        if not isinstance(table, dict):
            raise ConfigError(f"'rules.{key}': expected a table of options")
        table = dict(table)
        severity = table.pop("severity", cls.severity)
        if severity not in SEVERITIES:
            raise ConfigError(f"'rules.{key}.severity': '{severity}' is not one of {', '.join(SEVERITIES)}")
        with _options_of(cls, registry):
            try:
                options = cls.Options.model_validate(table)
            except ValidationError as exc:
                raise ConfigError(describe_errors(exc, f"rules.{key}.")) from None
        configured[cls.code] = (options, severity)

    selected = []
    for code in sorted(chosen):
        cls = registry.rules[code]
        if code not in configured:
            with _options_of(cls, registry):
                configured[code] = (cls.Options(), cls.severity)
        selected.append(Selected(cls, *configured[code]))
    return selected


def _options_of(cls: type[Rule], registry: Registry) -> blame:
    """Validating a rule's options runs its plugin's validators: plugin code."""
    return blame(f"rule {cls.code} (plugin '{registry.plugin_of('rule', cls.code)}') options")
