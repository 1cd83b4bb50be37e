"""Running plugin code so that nothing it raises lets a run pass: fail closed.

Whatever plugin code raises (``SystemExit(0)`` and ``GeneratorExit`` included) becomes a
``PluginError`` that names the plugin and what it was doing, and stops the run with exit code 2.
Only ``KeyboardInterrupt`` goes through as itself, so that Ctrl-C still stops a run; and the
errors dqe invites plugins to raise with a message of their own (``ConfigError``,
``RenderError``) keep it.
"""

from __future__ import annotations

import traceback
from types import TracebackType

from dqe.errors import ConfigError, PluginError, RenderError


def describe(exc: BaseException) -> str:
    """``Type: message (at file.py:12)``: the exception and the line that raised it."""
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _passes(exc: BaseException) -> bool:
    """Exceptions that leave plugin code as themselves."""

    return isinstance(exc, KeyboardInterrupt | PluginError | ConfigError | RenderError)


class blame:  # noqa: N801 - used like a function: ``with blame("rule X (plugin 'p') check()"):``
    """Run plugin code: what it raises becomes a ``PluginError`` naming ``what`` and, when given,
    saying how to run without it (``fix``)."""

    def __init__(self, what: str, fix: str = ""):
        self.what = what
        self.fix = fix

    def __enter__(self) -> blame:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None or _passes(exc):
            return
        raise PluginError(f"{self.what} raised {describe(exc)}" + (f"; {self.fix}" if self.fix else "")) from exc
