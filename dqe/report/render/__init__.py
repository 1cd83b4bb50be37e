"""Report renderers by format name (``dqe check --format NAME``).

The built-in renderers are registered through the same hook a plugin uses; each imports its
implementation only when it renders, so that loading plugins stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dqe.errors import PluginError, RenderError
from dqe.guard import blame
from dqe.hookspecs import hookimpl
from dqe.report.renderer import Renderer

if TYPE_CHECKING:
    from dqe.engine.plugins import Registry
    from dqe.report.model import Report

__all__ = ["Renderer", "get_renderer", "prepare", "render", "stream"]


class TextRenderer(Renderer):
    name = "text"
    summary = "the terminal report: files, rules, failing records, data-set metrics, the gate"

    def render(self, report: Report, **options: Any) -> str:
        from dqe.report.render.text import render_text

        return render_text(report, color=bool(options.get("color")), statistics=bool(options.get("statistics")))


class JsonRenderer(Renderer):
    name = "json"
    summary = "one JSON object: summary, gate, rules, dataset, findings (the contract other tools read)"

    def render(self, report: Report, **options: Any) -> str:
        return report.model_dump_json(indent=2) + "\n"


class JsonlRenderer(Renderer):
    name = "jsonl"
    summary = "one object per record: id, source, verdict, every finding (turn, evidence) and its labels"

    def render(self, report: Report, **options: Any) -> str:
        from dqe.report.render.jsonl import render_jsonl

        return render_jsonl(report)

    def stream(self, report: Report, write: Callable[[str], None], **options: Any) -> None:
        from dqe.report.render.jsonl import stream_jsonl

        stream_jsonl(report, write)


class HtmlRenderer(Renderer):
    name = "html"
    summary = "one self-contained HTML page with plots and a searchable table of failing records"

    def prepare(self) -> None:
        from dqe.report.render.html import require_dependencies

        require_dependencies()

    def render(self, report: Report, **options: Any) -> str:
        from dqe.report.render.html import render_html

        return render_html(report, options.get("sections"))


class GithubRenderer(Renderer):
    name = "github"
    summary = "GitHub Actions workflow commands: an annotation at each failing record's file and line"

    def render(self, report: Report, **options: Any) -> str:
        from dqe.report.render.github import render_github

        return render_github(report)


class SarifRenderer(Renderer):
    name = "sarif"
    summary = "SARIF 2.1.0 (code scanning): one result per finding with its location"

    def render(self, report: Report, **options: Any) -> str:
        from dqe.report.render.sarif import render_sarif

        return render_sarif(report)


class JunitRenderer(Renderer):
    name = "junit"
    summary = "JUnit XML: one test case per rule and per gate metric"

    def render(self, report: Report, **options: Any) -> str:
        from dqe.report.render.junit import render_junit

        return render_junit(report)


class MarkdownRenderer(Renderer):
    name = "markdown"
    summary = "a Markdown summary for a pull request, a job summary or a dataset card"

    def render(self, report: Report, **options: Any) -> str:
        from dqe.report.render.markdown import render_markdown

        return render_markdown(report)


BUILTIN_RENDERERS = (
    TextRenderer,
    JsonRenderer,
    JsonlRenderer,
    HtmlRenderer,
    GithubRenderer,
    SarifRenderer,
    JunitRenderer,
    MarkdownRenderer,
)


def get_renderer(registry: Registry, name: str) -> Renderer:
    """The renderer of format ``name`` among those the enabled plugins registered."""
    registry.raise_errors()
    if name not in registry.renderers:
        raise RenderError(f"unknown report format '{name}'; known: {', '.join(registry.renderers)}")
    return registry.renderers[name]


def _label(registry: Registry, name: str) -> str:
    return f"renderer '{name}' (plugin '{registry.plugin_of('renderer', name)}')"


def prepare(registry: Registry, name: str) -> None:
    """Check that format ``name`` can render here, before any record is read."""
    renderer = get_renderer(registry, name)
    with blame(f"{_label(registry, name)} prepare()"):
        renderer.prepare()


def render(registry: Registry, name: str, report: Report, **options: Any) -> str:
    """The report in format ``name``, given the registered report sections (``sections``) among
    its options. A renderer is plugin code: what it raises, or returns that is not text, is a
    PluginError naming it."""
    renderer = get_renderer(registry, name)
    options.setdefault("sections", list(registry.sections.values()))
    with blame(f"{_label(registry, name)} render()"):
        text = renderer.render(report, **options)
    if not isinstance(text, str):
        raise PluginError(f"{_label(registry, name)}: render() returned {type(text).__name__}, expected str")
    return text


def stream(registry: Registry, name: str, report: Report, write: Callable[[str], None], **options: Any) -> None:
    """The report in format ``name``, written with ``write`` as it renders (``Renderer.stream``):
    ``render``'s text, checked as ``render`` checks it, where the renderer streams no other way."""
    renderer = get_renderer(registry, name)
    if type(renderer).stream is Renderer.stream:
        write(render(registry, name, report, **options))
        return
    options.setdefault("sections", list(registry.sections.values()))
    with blame(f"{_label(registry, name)} stream()"):
        renderer.stream(report, write, **options)


@hookimpl
def dqe_register_renderers(register):
    for cls in BUILTIN_RENDERERS:
        register(cls())
