"""What a report section is: a plot of one data-set section of the report, with what it says.

The HTML report asks every registered section for its plot, in registration order (the
built-in ones first, through the same ``dqe_register_sections`` hook a plugin uses), so a
plugin that measures something new can show it next to dqe's own plots. A data-set section
that no registered section plots is shown as a table of its numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dqe.engine.gate import MetricResult
    from dqe.report.model import Report


@dataclass
class Plot:
    """One figure of the HTML report."""

    key: str  # the data-set section, also the figure's id
    title: str
    uri: str  # data:image/svg+xml;base64,... ("" for a section with nothing to draw)
    alt: str
    facts: list[str] = field(default_factory=list)  # notes of its own; the report adds the section's
    metrics: list[MetricResult] = field(default_factory=list)  # the report adds the section's gate metrics
    table: list[tuple[str, ...]] = field(default_factory=list)  # rows under the plot
    table_head: tuple[str, ...] = ()


class ReportSection(ABC):
    """Base class of a report section; subclasses set ``key`` (the ``report.dataset`` section
    they show, on the class or the instance) and implement ``plot``."""

    key: str

    @abstractmethod
    def plot(self, report: Report) -> Plot | None:
        """The section's figure, or None when the report has nothing for it (the rule that
        measures it did not run)."""
