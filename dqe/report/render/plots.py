"""The HTML report's plots, drawn with matplotlib and embedded as SVG data URIs.

Each function takes plain numbers (never a Report) and returns a ``data:image/svg+xml`` URI.
An SVG shown through ``<img>`` is a document of its own: it cannot run script, its ids cannot
clash with the page's, and the page needs no network to show it. Text stays text in the SVG
(``svg.fonttype = none``), so the browser draws labels with its own fonts, Chinese included,
and mathtext is off, so a ``$`` in a category name is just a dollar sign.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

# Colours: question / answer / total, then warn / fail and a neutral mark.
BLUE, ORANGE, GREY, AMBER, RED, INK = "#2b6cb0", "#dd6b20", "#718096", "#b7791f", "#c53030", "#1a202c"

_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "dqe",  # the same data gives the same SVG
    "text.parse_math": False,
    "font.size": 9,
    "font.family": "sans-serif",
    "font.sans-serif": [
        "DejaVu Sans",
        "Noto Sans CJK SC",
        "Noto Sans CJK JP",
        "PingFang SC",
        "Microsoft YaHei",
        "Arial",
    ],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.grid": True,
    "grid.color": "#e2e8f0",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.frameon": False,
}
_WIDTH = 6.4  # inches; the page scales the image to its column


@contextmanager
def _figure(height: float, width: float = _WIDTH) -> Iterator[Figure]:
    with rc_context(_STYLE), warnings.catch_warnings():
        # Glyphs missing from the font matplotlib measures with (CJK labels) are drawn by
        # the browser, which has them; matplotlib's warning about them is noise here.
        warnings.simplefilter("ignore", UserWarning)
        yield Figure(figsize=(width, height), layout="constrained")


def svg_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    with rc_context(_STYLE), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _thousands(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}"


def _height(bars: int) -> float:
    return min(1.0 + 0.26 * max(bars, 2), 9.0)


def token_histogram(
    question: np.ndarray, answer: np.ndarray, total: np.ndarray | None, cap: int | None, over: int | None
) -> str:
    """Records per token length (log-spaced bins), question, answer and the formatted total,
    with the trainer's cap (DQ101 max-tokens) as a vertical line. Empty parts (0 tokens) have
    no place on a log axis; the legend counts them."""
    arrays = [a for a in (question, answer, total) if a is not None and a.size]
    top = max([int(a.max()) for a in arrays] + [cap or 1, 2])
    edges = np.unique(np.geomspace(1, top * 1.15 + 1, 48).round())
    with _figure(3.0) as fig:
        ax = fig.add_subplot()
        for values, label, color, style in (
            (question, "question", BLUE, "-"),
            (answer, "answer", ORANGE, "-"),
            (total, "formatted total", GREY, "--"),
        ):
            if values is None or not values.size:
                continue
            empty = int((values == 0).sum())
            counts, _ = np.histogram(values[values > 0], bins=edges)
            name = f"{label} ({empty:,} empty)" if empty else label
            ax.stairs(counts, edges, label=name, color=color, linewidth=1.4, linestyle=style)
        if cap:
            note = f"max-tokens {cap:,}" + (f": {over:,} over" if over is not None else "")
            ax.axvline(cap, color=RED, linewidth=1.2)
            ax.annotate(
                note,
                xy=(cap, 1),
                xycoords=("data", "axes fraction"),
                xytext=(-4, -4),
                textcoords="offset points",
                ha="right",
                va="top",
                color=RED,
            )
        ax.set_xscale("log")
        ax.set_xlim(1, edges[-1])
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_xlabel("tokens (log scale)")
        ax.set_ylabel("records")
        ax.legend(loc="upper left")
        return svg_uri(fig)


def score_histograms(ifd: tuple[Sequence[float], Sequence[int]], ppl: tuple[Sequence[float], Sequence[int]]) -> str:
    """Records per IFD (1 marked: at or above it the question does not help) and per
    perplexity with the question (log-spaced bins), side by side; each an (edges, counts) pair."""
    with _figure(2.8) as fig:
        left, right = fig.subplots(1, 2)
        for ax, (edges, counts), color, label in (
            (left, ifd, BLUE, "IFD (perplexity with / without the question)"),
            (right, ppl, ORANGE, "perplexity of the answer with the question"),
        ):
            ax.stairs(counts, edges, fill=True, color=color, alpha=0.8)
            ax.set_xlabel(label)
            ax.set_ylabel("records")
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        left.axvline(1.0, color=RED, linewidth=1.2)
        right.set_xscale("log")
        return svg_uri(fig)


def share_bars(
    title: str,
    labels: Sequence[str],
    shares: Sequence[float],
    *,
    marks: Sequence[float | None] | None = None,
    mark_label: str = "target",
    colors: Sequence[str] | None = None,
    notes: Sequence[str] | None = None,
) -> str:
    """Horizontal bars of shares (0..1), first label on top, each with an optional mark (a
    target or a threshold) drawn as a black tick across its bar."""
    n = len(labels)
    with _figure(_height(n)) as fig:
        ax = fig.add_subplot()
        y = np.arange(n)
        ax.barh(y, shares, color=list(colors) if colors else BLUE, height=0.62)
        if marks is not None:
            ys = [i for i, m in enumerate(marks) if m is not None]
            if ys:
                ax.vlines(
                    [marks[i] for i in ys],
                    [i - 0.42 for i in ys],
                    [i + 0.42 for i in ys],
                    color=INK,
                    linewidth=1.8,
                    label=mark_label,
                )
                fig.legend(loc="outside lower right")
        for i, share in enumerate(shares):
            note = notes[i] if notes and notes[i] else ""
            # shares under 1% go unlabelled (their bar says it): dozens of "0.2%" labels bury the marks
            text = note if share < 0.01 else f"{share * 100:.1f}%" + (f"  {note}" if note else "")
            if not text:
                continue
            ax.annotate(
                text, xy=(share, i), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8, color=INK
            )
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        top = max([*shares, *(m for m in (marks or []) if m is not None), 0.01])
        ax.set_xlim(0, min(1.0, top * 1.25) if top < 0.8 else 1.05)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="y", visible=False)
        if title:
            ax.set_title(title)
        return svg_uri(fig)


def paired_bars(
    title: str, labels: Sequence[str], first: Sequence[int], second: Sequence[int], names: tuple[str, str]
) -> str:
    """Two counts per label side by side (question and answer languages)."""
    n = len(labels)
    with _figure(_height(n * 1.4)) as fig:
        ax = fig.add_subplot()
        y = np.arange(n)
        ax.barh(y - 0.19, first, height=0.38, color=BLUE, label=names[0])
        ax.barh(y + 0.19, second, height=0.38, color=ORANGE, label=names[1])
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_xlabel("records")
        ax.grid(axis="y", visible=False)
        fig.legend(loc="outside lower right")  # below the axes: inside, it covered the longest bars
        if title:
            ax.set_title(title)
        return svg_uri(fig)


def count_bars(
    title: str,
    labels: Sequence[str],
    counts: Sequence[int],
    *,
    colors: Sequence[str] | None = None,
    xlabel: str = "records",
    width: float = _WIDTH,
) -> str:
    """Horizontal bars of counts, first label on top, each labelled with its number."""
    n = len(labels)
    with _figure(_height(n), width) as fig:
        ax = fig.add_subplot()
        y = np.arange(n)
        ax.barh(y, counts, color=list(colors) if colors else BLUE, height=0.62)
        for i, count in enumerate(counts):
            ax.annotate(
                f"{count:,}",
                xy=(count, i),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color=INK,
            )
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, max([*counts, 1]) * 1.15)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        if title:
            ax.set_title(title)
        return svg_uri(fig)
