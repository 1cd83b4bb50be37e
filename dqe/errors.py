"""Every error dqe raises on purpose, in one module: what a user can cause, with its exit code.

The CLI catches these in one place and prints their message (which names the file, line or key)
instead of a traceback. A plugin raises ``ConfigError`` for a bad option of its own and
``RenderError`` for a renderer that cannot run here; whatever else plugin code raises becomes a
``PluginError`` (see ``dqe.guard``).
"""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """A configuration that cannot be used (exit code 2); the message names the key."""


class TokenizerError(ConfigError):
    """A tokenizer spec that cannot be loaded (a config error: exit code 2)."""


class PluginError(Exception):
    """A plugin that cannot be used; the run stops with exit code 2."""


class InputError(Exception):
    """An input that cannot be read at all: a missing file, an unknown format (exit code 2)."""


class NotDataError(InputError):
    """A file that is clearly not records, such as a description of data sets: left out of a
    folder with a note, an error when named on its own."""


class RecordError(ValueError):
    """A record that cannot be read as its format; the message names the field at fault."""


class OutputError(Exception):
    """An output that cannot be written (exit code 2); the message names the file."""


class RenderError(Exception):
    """A renderer that cannot run here, such as a missing optional dependency (exit code 2)."""


class GateRefused(Exception):
    """Training refused because the data did not clear the gate (exit code 1)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems

    def __reduce__(self) -> tuple:  # pickled whole: a training process reports it to the one that started it
        return type(self), (self.problems,)


class TrainingInterrupted(Exception):
    """Ctrl-C: the run stopped at a step boundary and saved a checkpoint there."""

    def __init__(self, step: int, checkpoint: Path):
        super().__init__(f"interrupted after step {step}; checkpoint saved in {checkpoint}")
        self.step = step
        self.checkpoint = checkpoint

    def __reduce__(self) -> tuple:
        return type(self), (self.step, self.checkpoint)


# What the CLI reports as an error (exit code 2) with its message alone, no traceback.
USER_ERRORS = (ConfigError, InputError, OutputError, PluginError, RecordError, RenderError)
