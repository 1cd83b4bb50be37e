"""Multiple-choice evaluation (``dqe eval RUN --choices FILE``): the accuracy of the base and the
tuned model on questions the user brings (MMLU-style: question, choices, answer, subject), by
the log-likelihood of each choice.

Each choice is scored as the answer to its question, formatted by the run's template exactly as
training formatted a record: the question is the user's turn, the choice the assistant's turn
with its closing markup (``<|im_end|>``, the end-of-text token), so the score says how likely
the model makes that choice as a whole answer. The choices are not listed in the prompt (the
"cloze" form lm-eval-harness uses for ARC and HellaSwag): the model is not asked to name a
letter that the base model, never taught the template, may not know to give.

Two accuracies, as lm-eval-harness reports them: ``acc`` picks the choice with the highest
summed log-likelihood, ``acc_norm`` the highest log-likelihood per UTF-8 byte of the choice.
Every token costs probability, so the sum favours short choices; dividing by bytes rather than
tokens keeps the normalisation independent of the tokenizer. When the choices are of similar
length the two agree; when they are not, ``acc_norm`` is the fairer one.
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from dqe.engine.config import describe_errors
from dqe.engine.encoding import Encoded
from dqe.errors import InputError
from dqe.io.files import read_items, sniff
from dqe.records import Record, Turn

LETTERS = string.ascii_uppercase
NORMS = ("acc", "acc_norm")  # summed log-likelihood, and per byte of the choice


class Question(BaseModel):
    """One line of a choices file (other keys are left alone: exports carry ids and the like)."""

    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(min_length=1)
    choices: list[StrictStr] = Field(min_length=2, max_length=len(LETTERS))
    answer: StrictInt | StrictStr = Field(description="the right choice: its index from 0, or its letter (A, B, ...)")
    subject: StrictStr | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank")
        return value

    @field_validator("choices")
    @classmethod
    def _no_blank_choice(cls, value: list[str]) -> list[str]:
        blank = [LETTERS[i] for i, c in enumerate(value) if not c.strip()]
        if blank:
            raise ValueError(f"choice {', '.join(blank)} is blank")
        return value

    @property
    def index(self) -> int:
        """The right choice's index (the answer is checked against the choices when read)."""
        if isinstance(self.answer, int):
            return self.answer
        return LETTERS.index(self.answer.strip().upper())

    def answer_problem(self) -> str | None:
        n = len(self.choices)
        if isinstance(self.answer, int):
            return None if 0 <= self.answer < n else f"index {self.answer} is not one of the {n} choices (0 to {n - 1})"
        letter = self.answer.strip().upper()
        if len(letter) == 1 and letter in LETTERS[:n]:
            return None
        return f"{self.answer!r} is not one of the {n} choices (a letter A to {LETTERS[n - 1]}, or an index from 0)"


class ChoiceItem(BaseModel):
    """A question and what each model chose."""

    source: str  # file:line
    subject: str | None
    answer: int
    loglik: dict[str, list[float]]  # per model, per choice: summed log-likelihood
    picked: dict[str, dict[str, int]]  # per model, per norm (acc, acc_norm): the choice it picked


class SubjectScore(BaseModel):
    subject: str
    questions: int
    accuracy: dict[str, dict[str, float | None]]  # per model, per norm


class ChoicesReport(BaseModel):
    """The multiple-choice part of the eval report."""

    file: str
    questions: int  # in the file
    evaluated: int  # scored (the rest did not fit seq-len)
    skipped: list[str] = Field(default_factory=list)  # "file:line: why"
    accuracy: dict[str, dict[str, float | None]]  # per model, per norm
    subjects: list[SubjectScore] = Field(default_factory=list)  # when the file names subjects
    items: list[ChoiceItem] = Field(default_factory=list)


def read_questions(path: Path) -> list[tuple[str, Question]]:
    """The questions of a choices file (JSON Lines, a JSON array or Parquet), each with its
    file:line; an ``InputError`` naming the line and the key at the first bad one."""
    if not path.is_file():
        raise InputError(f"{path}: no such choices file")
    sniffed = sniff(path)
    if sniffed is None:
        raise InputError(f"{path}: the choices file is empty")
    out = []
    for item in read_items(path, sniffed):
        where = f"{path}:{item.line}"
        if item.error is not None or item.obj is None:
            raise InputError(f"{where}: {item.error or 'not a question'}")
        try:
            question = Question.model_validate(item.obj)
        except ValidationError as exc:
            raise InputError(f"{where}: {describe_errors(exc, '')}") from None
        problem = question.answer_problem()
        if problem:
            raise InputError(f"{where}: 'answer': {problem}")
        out.append((where, question))
    if not out:
        raise InputError(f"{path}: the choices file holds no question")
    return out


def choice_records(question: Question) -> list[Record]:
    """One record per choice: the question as the user's turn, the choice as the answer."""
    return [
        Record(turns=[Turn(role="user", content=question.question), Turn(role="assistant", content=choice)])
        for choice in question.choices
    ]


def pick(loglik: Sequence[float], choices: Sequence[str]) -> dict[str, int]:
    """The choice each accuracy picks: the highest log-likelihood, summed and per byte."""
    per_byte = [ll / max(1, len(c.encode())) for ll, c in zip(loglik, choices, strict=True)]
    return {
        "acc": max(range(len(loglik)), key=lambda i: loglik[i]),
        "acc_norm": max(range(len(per_byte)), key=lambda i: per_byte[i]),
    }


def _accuracy(items: Sequence[ChoiceItem], models: Sequence[str]) -> dict[str, dict[str, float | None]]:
    return {
        m: {n: (sum(i.picked[m][n] == i.answer for i in items) / len(items)) if items else None for n in NORMS}
        for m in models
    }


def score_questions(
    questions: Sequence[tuple[str, Question]],
    encode: Callable[[list[Record]], list[Encoded | str]],
    seq_len: int,
    logliks: Callable[[str, list[Encoded]], list[float]],
    models: Sequence[str],
    file: Path,
) -> ChoicesReport:
    """Score every question with each model. ``encode`` is the run's encoder; ``logliks(model,
    items)`` the summed log-likelihood of each item's supervised tokens under that model."""
    kept: list[tuple[str, Question, list[Encoded]]] = []
    skipped: list[str] = []
    for source, question in questions:
        encoded = encode(choice_records(question))
        bad = next((e for e in encoded if isinstance(e, str)), None)
        if bad is not None:
            skipped.append(f"{source}: the template cannot render it ({bad})")
        elif max(len(e) for e in encoded if not isinstance(e, str)) > seq_len:
            skipped.append(f"{source}: longer than seq-len ({seq_len} tokens) with a choice")
        else:
            kept.append((source, question, [e for e in encoded if not isinstance(e, str)]))
    flat = [e for _, _, encoded in kept for e in encoded]
    scores = {m: logliks(m, flat) for m in models}
    items: list[ChoiceItem] = []
    at = 0
    for source, question, encoded in kept:
        n = len(encoded)
        loglik = {m: scores[m][at : at + n] for m in models}
        at += n
        items.append(
            ChoiceItem(
                source=source,
                subject=question.subject,
                answer=question.index,
                loglik=loglik,
                picked={m: pick(loglik[m], question.choices) for m in models},
            )
        )
    by_subject: dict[str, list[ChoiceItem]] = defaultdict(list)
    for item in items:
        if item.subject is not None:
            by_subject[item.subject].append(item)
    return ChoicesReport(
        file=str(file),
        questions=len(questions),
        evaluated=len(items),
        skipped=skipped,
        accuracy=_accuracy(items, models),
        subjects=[
            SubjectScore(subject=s, questions=len(rows), accuracy=_accuracy(rows, models))
            for s, rows in sorted(by_subject.items())
        ],
        items=items,
    )


def choice_metrics(report: ChoicesReport) -> list[dict[str, Any]]:
    """The two accuracies as rows of the eval report's metrics (``Metric`` fields)."""
    labels = {
        "acc": "multiple-choice accuracy: the choice with the highest log-likelihood",
        "acc_norm": "multiple-choice accuracy: the highest log-likelihood per byte of the choice",
    }
    return [
        {
            "name": f"choices_{n}",
            "description": labels[n],
            "better": "higher",
            **{m: report.accuracy[m][n] for m in report.accuracy},
        }
        for n in NORMS
    ]
