"""Renderers are plugins: ``dqe_register_renderers`` adds a format, with the usual checks."""

from __future__ import annotations

import pytest

import dqe
from dqe import hookimpl
from dqe.engine.plugins import load_plugins
from dqe.errors import PluginError, RenderError
from dqe.report.render import get_renderer
from dqe.report.renderer import Renderer


class CsvSummary(Renderer):
    name = "csv-summary"
    summary = "failures per rule as CSV"

    def render(self, report, **options):
        return "code,failed\n" + "".join(f"{r.code},{r.failed}\n" for r in report.rules)


class CsvPlugin:
    @hookimpl
    def dqe_register_renderers(self, register):
        register(CsvSummary())


class JsonAgain(CsvSummary):
    name = "json"


class Clash:
    @hookimpl
    def dqe_register_renderers(self, register):
        register(JsonAgain())


class NotARenderer:
    @hookimpl
    def dqe_register_renderers(self, register):
        register(object())


def test_built_in_renderers_are_registered_like_any_plugin():
    registry = load_plugins()
    assert list(registry.renderers) == ["text", "json", "jsonl", "html", "github", "sarif", "junit", "markdown"]
    info = next(p for p in registry.plugins if p.name == "dqe.report.render")
    assert info.renderers == list(registry.renderers)


def test_a_plugin_adds_a_format():
    registry = load_plugins(extra=[CsvPlugin()])
    renderer = registry.renderers["csv-summary"]
    report = dqe.check([{"instruction": "Hi", "output": ""}], select=["DQ001", "DQ101"])
    assert renderer.render(report) == "code,failed\nDQ000,0\nDQ001,1\nDQ101,0\n"


def test_a_name_taken_or_a_wrong_object_is_refused():
    clash = load_plugins(extra=[Clash()])
    assert any("renderer json" in e and "already registered" in e for e in clash.errors)
    wrong = load_plugins(extra=[NotARenderer()])
    assert any("not a dqe.Renderer instance" in e for e in wrong.errors)


def test_get_renderer_names_the_known_formats():
    with pytest.raises(RenderError, match="unknown report format 'pdf'; known: text, json"):
        get_renderer(load_plugins(), "pdf")
    with pytest.raises(PluginError, match="not a dqe.Renderer instance"):
        load_plugins(extra=[NotARenderer()]).raise_errors()
