"""One record model from reader to trainer: a conversation.

At the edges (the Python API, ``dqe.testing``, ``dqe convert``) a record is the pydantic model
``Record``; inside the engine a batch of records is one polars frame with the columns of
``BATCH_SCHEMA``, so that rules can work on whole columns at once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool_call", "tool"]
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool_call", "tool")


class Turn(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class Source(BaseModel):
    """Where a record came from: a file and a 1-based line (a row number for Parquet)."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Record(BaseModel):
    """A normalized conversation that keeps the object it was read from."""

    system: str | None = None
    turns: list[Turn] = Field(default_factory=list)
    tools: str | None = None
    category: str | None = None
    domain: str | None = None
    language: str | None = None
    format: str = "alpaca"
    source: Source | None = None
    original: dict[str, Any] = Field(default_factory=dict)

    @property
    def question(self) -> str:
        """The last user turn before the final answer: what the answer responds to."""
        return next((t.content for t in reversed(self.turns) if t.role == "user"), "")

    @property
    def answer(self) -> str:
        return next((t.content for t in reversed(self.turns) if t.role == "assistant"), "")


def batch_schema() -> dict[str, Any]:
    """The columns of every batch handed to a rule (rules may rely on each of them)."""
    import polars as pl

    return {
        "_idx": pl.UInt64,  # position of the record in the run, 0-based, unique
        "_file": pl.UInt32,  # index into the run's list of files
        "_line": pl.UInt32,  # 1-based line (JSON, JSONL) or row (Parquet)
        "_id": pl.String,  # content hash of the original object: stable across reformatting
        "_format": pl.String,
        "system": pl.String,
        "turns": pl.List(pl.Struct({"role": pl.String, "content": pl.String})),
        "tools": pl.String,
        "category": pl.String,
        "domain": pl.String,
        "language": pl.String,
        "question": pl.String,  # last user turn (derived, for rules)
        "answer": pl.String,  # last assistant turn (derived, for rules)
        "input": pl.String,  # Alpaca's input, also in the last user turn after the instruction and a newline
    }
