"""Report renderers by format name: ``dqe check --format NAME``."""

from __future__ import annotations

from collections.abc import Callable

from dqe.report import Report


def render_json(report: Report, **_: object) -> str:
    return report.model_dump_json(indent=2) + "\n"


def render_jsonl(report: Report, **_: object) -> str:
    """One finding per line, every finding (not a sample)."""
    return report.findings_frame.write_ndjson()


def _text(report: Report, **kwargs: object) -> str:
    from dqe.render.text import render_text

    return render_text(report, **kwargs)  # type: ignore[arg-type]


RENDERERS: dict[str, Callable[..., str]] = {"text": _text, "json": render_json, "jsonl": render_jsonl}
