"""ECHO001: the answer repeats the question word for word."""

import polars as pl
from pydantic import Field

from dqe import RecordRule, RuleOptions, hookimpl


class EchoOptions(RuleOptions):
    min_chars: int = Field(20, ge=1, description="shortest question that counts when repeated")


class AnswerEchoesQuestion(RecordRule):
    """Fails a record whose answer contains its whole question, word for word."""

    code = "ECHO001"
    name = "answer-echoes-question"
    summary = "the answer repeats the question verbatim"
    why = "A model trained on echoes learns to pad its answers with the prompt."
    example = "'List the first three primes.' -> 'List the first three primes. 2, 3, 5.' fails"
    Options = EchoOptions

    def check(self, batch: pl.DataFrame) -> pl.DataFrame:
        question = pl.col("question").str.strip_chars()
        long_enough = question.str.len_chars() >= self.options.min_chars
        echoed = long_enough & pl.col("answer").str.contains(question, literal=True)
        message = pl.when(echoed).then(pl.lit("answer repeats the question"))
        return batch.select(passed=~echoed, message=message)


@hookimpl
def dqe_register_rules(register):
    register(AnswerEchoesQuestion)
