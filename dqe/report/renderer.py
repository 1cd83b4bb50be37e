"""What a report renderer is. ``dqe check --format NAME`` looks NAME up among the renderers
that plugins registered (the built-in ones too, through the same hook), so a plugin can add a
format its CI or dashboard reads."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from dqe.report.model import Report


class Renderer(ABC):
    """Base class of a report format; subclasses set ``name`` and ``summary``.

    ``render`` gets the finished report and keyword options it may ignore: ``color`` (the
    output is a terminal), ``statistics`` (only failures per rule were asked for) and
    ``sections`` (the registered ``ReportSection``s, built-in ones first). ``stream`` writes
    the report as it renders it; by default the text ``render`` returns. A
    report loaded from JSON has no per-record frames (``Report.has_records``); a renderer
    should still render what the JSON holds.
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""

    def prepare(self) -> None:  # noqa: B027 - optional, nothing to prepare by default
        """Called before the check runs: raise ``RenderError`` when this renderer cannot run
        here (a missing optional dependency), so that no long check is wasted."""

    @abstractmethod
    def render(self, report: Report, **options: Any) -> str:
        """The whole report as text (HTML, XML and JSON are text too)."""

    def stream(self, report: Report, write: Callable[[str], None], **options: Any) -> None:
        """Write the report with ``write``, in pieces: the text ``render`` returns, unless a
        format overrides this to write a range of records at a time (``Report.record_parts``),
        so that a report whose records are elsewhere (``--engine ray``) is never held whole."""
        write(self.render(report, **options))
