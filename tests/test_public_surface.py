"""The built-in rules, the plugins and the plugin guide use the public surface only.

dqe promises that its built-in rules are plugins like any third party's: they import ``dqe``
(and ``dqe.testing`` in tests), never a module inside the package, and so do the plugins in
``plugins/`` and the examples in docs/plugins.md. Every name they take from ``dqe`` is in its
``__all__``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import dqe

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = re.compile(r"^dqe(\.testing(\..+)?)?$")


def _sources() -> list[tuple[str, str]]:
    files = [*sorted((ROOT / "dqe" / "rules").rglob("*.py")), *sorted(ROOT.glob("plugins/*/src/**/*.py"))]
    sources = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files]
    guide = ROOT / "docs" / "plugins.md"
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", guide.read_text(encoding="utf-8"), re.S)):
        sources.append((f"docs/plugins.md, python block {i + 1}", block))
    return sources


SOURCES = _sources()


def _dqe_imports(source: str) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import of dqe or a module in it, in functions too."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "dqe":
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "dqe"]
    return found


def test_the_sources_are_found():
    names = [name for name, _ in SOURCES]
    assert "dqe/rules/duplicates.py" in names
    assert any(n.startswith("plugins/dqe-pii/") for n in names) and any(
        n.startswith("plugins/dqe-judge/") for n in names
    )
    assert any(n.startswith("docs/plugins.md") for n in names)


@pytest.mark.parametrize(("where", "source"), SOURCES, ids=[name for name, _ in SOURCES])
def test_imports_only_the_public_surface(where, source):
    private = [f"{where}:{line}: {module}" for line, module, _ in _dqe_imports(source) if not PUBLIC.match(module)]
    assert private == []


@pytest.mark.parametrize(("where", "source"), SOURCES, ids=[name for name, _ in SOURCES])
def test_names_taken_from_dqe_are_in_its_all(where, source):
    missing = [
        f"{where}:{line}: {name}"
        for line, module, names in _dqe_imports(source)
        if module == "dqe"
        for name in names
        if name not in dqe.__all__
    ]
    assert missing == []


def test_every_public_name_resolves():
    for name in dqe.__all__:
        assert getattr(dqe, name) is not None, name


def test_the_type_stub_names_every_public_name_and_where_it_lives():
    """dqe/__init__.pyi gives editors and type checkers the lazy namespace: the same names, from
    the same modules, so it cannot drift from ``_LAZY``."""
    stub = ast.parse((ROOT / "dqe" / "__init__.pyi").read_text(encoding="utf-8"))
    imported = {
        alias.name: node.module for node in stub.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert imported == dqe._LAZY
    [declared] = [n.value for n in stub.body if isinstance(n, ast.Assign) and n.targets[0].id == "__all__"]
    assert ast.literal_eval(declared) == dqe.__all__


def test_a_private_import_is_caught():
    source = "from dqe import RecordRule\nfrom dqe.engine.config import ConfigError\nimport dqe.engine.turns\n"
    found = [module for _, module, _ in _dqe_imports(source) if not PUBLIC.match(module)]
    assert found == ["dqe.engine.config", "dqe.engine.turns"]
