"""Rule documentation for ``dqe rules`` and ``dqe rule CODE``, from the rule classes."""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Iterable
from typing import Any

from dqe.engine.plugins import load_plugins
from dqe.engine.rule import Rule
from dqe.report.model import INVALID_RULE


def rule_rows(disabled: Iterable[str] = ()) -> list[dict[str, Any]]:
    registry = load_plugins(disabled=disabled)
    registry.raise_errors()
    rows = [
        {
            **{k: INVALID_RULE[k] for k in ("code", "name", "summary")},
            "scope": "record",
            "severity": "error",
            "default": True,
            "plugin": "dqe",
        }
    ]
    for code in sorted(registry.rules):
        cls = registry.rules[code]
        rows.append(
            {
                "code": code,
                "name": cls.name,
                "scope": cls.scope,
                "severity": cls.severity,
                "default": cls.default_enabled,
                "plugin": registry.plugin_of("rule", code),
                "summary": cls.summary,
            }
        )
    return rows


def _options(cls: type[Rule]) -> list[str]:
    lines = []
    for name, field in cls.Options.model_fields.items():
        key = field.alias or name
        annotation = getattr(field.annotation, "__name__", None) or str(field.annotation).replace("typing.", "")
        default = field.get_default(call_default_factory=True)
        description = f"  {field.description}" if field.description else ""
        lines.append(f"  {key} ({annotation}, default {default!r}){description}")
    return lines


def rule_doc(key: str, disabled: Iterable[str] = ()) -> str | None:
    if key.upper() == INVALID_RULE["code"] or key == INVALID_RULE["name"]:
        r = INVALID_RULE
        return f"{r['code']} {r['name']} (reader, always on)\n\n{r['summary']}\n\nWhy it matters:\n{_wrap(r['why'])}\n\nExample:\n{_wrap(r['example'])}\n"
    registry = load_plugins(disabled=disabled)
    registry.raise_errors()
    cls = registry.rule_by_name(key.upper()) or registry.rule_by_name(key)
    if cls is None:
        return None
    plugin = registry.plugin_of("rule", cls.code)
    parts = [
        f"{cls.code} {cls.name}  ({cls.scope} rule, severity {cls.severity}, "
        f"{'on' if cls.default_enabled else 'off'} by default, plugin {plugin})",
        "",
        cls.summary,
    ]
    what = inspect.getdoc(cls)
    if what:
        parts += ["", "What it does:", _wrap(what)]
    if cls.why:
        parts += ["", "Why it matters:", _wrap(cls.why)]
    if cls.example:
        parts += ["", "Example:", _wrap(cls.example)]
    options = _options(cls)
    parts += ["", "Options:" if options else "Options: none (severity can still be set)"]
    parts += options
    parts += [
        "",
        "Configure it in dqe.toml (or [tool.dqe.rules.…] in pyproject.toml):",
        f"  [rules.{cls.code}]",
        f'  severity = "{cls.severity}"',
    ]
    for name, field in cls.Options.model_fields.items():
        value = field.get_default(call_default_factory=True)
        key = field.alias or name
        # TOML has no null: an option that is unset by default is shown commented out.
        parts.append(f"  # {key} = ...  (unset by default)" if value is None else f"  {key} = {_toml(value)}")
    return "\n".join(parts) + "\n"


def _toml(value: Any) -> str:
    """A default value as TOML, so that the printed config block can be pasted as it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml(v)}" for k, v in value.items()) + " }"
        )
    return repr(value)


def _wrap(text: str) -> str:
    return "\n".join(textwrap.fill(p, 96, initial_indent="  ", subsequent_indent="  ") for p in text.split("\n\n"))
