"""A record rule of the tests' own, standing for any rule a plugin registers (or one merged
later): dqe eval runs whatever record rules are registered and selected."""

from __future__ import annotations

import polars as pl

from dqe import RecordRule, hookimpl


class NoBanana(RecordRule):
    """Flags answers that mention a banana."""

    code = "EVL901"
    name = "no-banana"
    summary = "the answer mentions a banana"

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        bad = batch["answer"].str.contains("(?i)banana")
        messages = pl.Series([("mentions a banana" if b else None) for b in bad], dtype=pl.String)
        return pl.DataFrame({"passed": ~bad, "message": messages})


class BananaPlugin:
    __name__ = "tests.eval:banana"

    @hookimpl
    def dqe_register_rules(self, register):
        register(NoBanana)
