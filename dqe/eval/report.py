"""The evaluation report: metrics of the base and the tuned model side by side, the share of
answers each rule flags, and every test prompt with its reference and both answers.

``EvalReport`` serializes to the JSON report (``report.json``); ``generations.jsonl`` holds its
``examples``, one per line. Building it needs no torch: the numbers come in plain.
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import fmean
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from dqe import __version__
from dqe.engine.ledger import FitLists
from dqe.eval.errors import ErrorAnalysis, Flag
from dqe.eval.multiple_choice import ChoicesReport
from dqe.eval.rouge import NAMES, rouge

MODELS = ("base", "tuned")
Stop = Literal["eos", "end-of-turn", "length"]


class EvalSettings(BaseModel):
    """How answers are generated and checked (``dqe eval`` options)."""

    max_new_tokens: int = Field(256, ge=1, description="most tokens generated per answer")
    temperature: float = Field(0.0, ge=0, description="0: greedy decoding; above 0: sampling")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling (with temperature > 0)")
    batch_size: int = Field(8, ge=1, description="prompts generated at once (left-padded)")
    limit: int | None = Field(None, ge=1, description="evaluate only the first N test records")
    seed: int = Field(0, description="seed of sampling")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    rules: list[str] | None = Field(
        None,
        description="record rules run on the answers (codes, prefixes, names); default: those the config enables",
    )
    embedding_model: Path | None = Field(
        None,
        description="a local sentence-transformers folder: mean cosine similarity to the reference",
    )
    config: Path | None = Field(None, description="dqe config for reading records and for the rules")
    choices: Path | None = Field(
        None, description="multiple-choice questions (JSONL: question, choices, answer, subject): accuracy"
    )


class Generated(BaseModel):
    """One answer as the model produced it."""

    text: str
    stopped: Stop  # the end-of-text token, the template's end of turn, or max-new-tokens
    tokens: int  # tokens generated, the stop included


class Answer(BaseModel):
    text: str
    stopped: Stop
    tokens: int
    rouge1: float
    rouge2: float
    rougeL: float  # noqa: N815
    similarity: float | None = None
    flags: list[Flag] = Field(default_factory=list)


class Example(BaseModel):
    """A test record: its prompt and reference, and each model's answer."""

    id: str
    source: str  # file:line in the training data
    question: str  # the last user turn
    prompt: str  # the text the models continued, as the template formats it
    reference: str
    prompt_truncated: bool = False  # longer than seq-len: only its last seq-len tokens were given
    base: Answer
    tuned: Answer

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> Literal["tuned-better", "tuned-worse", "same"]:
        """Which answer is closer to the reference by ROUGE-L."""
        diff = self.tuned.rougeL - self.base.rougeL
        return "same" if abs(diff) < 1e-9 else "tuned-better" if diff > 0 else "tuned-worse"


class Metric(BaseModel):
    name: str
    description: str
    better: Literal["lower", "higher"] | None  # None: neither is better (a length)
    base: float | None
    tuned: float | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def diff(self) -> float | None:
        """tuned - base."""
        return None if self.base is None or self.tuned is None else self.tuned - self.base

    @property
    def improved(self) -> bool | None:
        if self.diff is None or self.better is None or abs(self.diff) < 1e-12:
            return None
        return (self.diff < 0) == (self.better == "lower")


class RuleShare(BaseModel):
    """How many answers of each model a rule flagged."""

    code: str  # "any" for answers flagged by any rule
    name: str
    summary: str
    base: int
    tuned: int
    answers: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def base_share(self) -> float:
        return self.base / self.answers if self.answers else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tuned_share(self) -> float:
        return self.tuned / self.answers if self.answers else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def diff(self) -> float:
        return self.tuned_share - self.base_share


class RunInfo(BaseModel):
    dir: str
    base_model: str
    template: str
    adapter: str
    adapter_is: str | None = None
    steps: int | None = None
    test_loss_at_training: float | None = None  # run.json's losses.test


class HeldOut(BaseModel):
    records: int  # in test.jsonl
    evaluated: int  # prompts answered (after --limit)
    loss_records: int  # records the loss covers (those the trainer could encode)
    loss_tokens: int  # supervised tokens the loss averages over
    skipped: list[str] = Field(default_factory=list)  # "file:line: why" of records left out


class EvalReport(BaseModel):
    tool: str = "dqe"
    kind: str = "evaluation"
    version: str = __version__
    run: RunInfo
    settings: EvalSettings
    device: dict[str, Any]
    test: HeldOut
    metrics: list[Metric]
    rules: list[RuleShare]
    checks: dict[str, dict[str, Any]]  # per model: the data-set sections of the check of its answers
    rule_errors: list[str]
    outputs: dict[str, str]
    timings: dict[str, float]
    examples: list[Example]
    choices: ChoicesReport | None = None  # with --choices: multiple-choice accuracy, per subject
    # the training records the run fitted worst for their length and those it got worse on (its ledger)
    fit: FitLists | None = None

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def build_examples(
    items: list[dict[str, Any]],
    generated: dict[str, list[Generated]],
    analysis: ErrorAnalysis,
    similarity: dict[str, list[float]] | None = None,
) -> list[Example]:
    """The examples, each answer scored against its reference.

    ``items`` hold the fields of ``Example`` other than the answers (``id``, ``source``,
    ``question``, ``prompt``, ``reference``, ``prompt_truncated``), one per record.
    """
    out = []
    for i, item in enumerate(items):
        answers = {}
        for model in MODELS:
            g = generated[model][i]
            scores = rouge(g.text, item["reference"])
            answers[model] = Answer(
                text=g.text,
                stopped=g.stopped,
                tokens=g.tokens,
                **dict(zip(NAMES, scores, strict=True)),
                similarity=similarity[model][i] if similarity else None,
                flags=analysis.models[model].flags[i],
            )
        out.append(Example(**item, **answers))
    return out


def build_metrics(
    examples: list[Example],
    losses: dict[str, float | None],
    max_new_tokens: int,
    checks: dict[str, dict[str, Any]],
) -> list[Metric]:
    """Loss, perplexity, ROUGE, similarity and the judge's grade, base against tuned."""

    def per_model(fn: Any) -> dict[str, Any]:
        return {m: fn(m) for m in MODELS}

    def answers(model: str) -> list[Answer]:
        return [getattr(e, model) for e in examples]

    rows = [
        Metric(
            name="loss",
            description="mean cross-entropy per answer token of the test split (teacher-forced)",
            better="lower",
            **losses,
        ),
        Metric(
            name="perplexity",
            description="exp(loss)",
            better="lower",
            **per_model(lambda m: math.exp(losses[m]) if losses[m] is not None else None),
        ),
    ]
    for name, label in (
        ("rouge1", "unigrams"),
        ("rouge2", "bigrams"),
        ("rougeL", "longest common subsequence"),
    ):
        rows.append(
            Metric(
                name=name,
                description=f"ROUGE F1 against the reference, {label} (words; characters in Chinese and Japanese)",
                better="higher",
                **per_model(lambda m, n=name: _mean([getattr(a, n) for a in answers(m)])),
            )
        )
    if examples and examples[0].base.similarity is not None:
        rows.append(
            Metric(
                name="similarity",
                description="mean cosine similarity of answer and reference embeddings",
                better="higher",
                **per_model(lambda m: _mean([a.similarity for a in answers(m)])),
            )
        )
    grades = per_model(lambda m: (checks.get(m, {}).get("judge") or {}).get("mean_grade"))
    if any(v is not None for v in grades.values()):
        rows.append(
            Metric(
                name="judge",
                description="the LLM judge's mean grade, 1 to 5 (JDG001)",
                better="higher",
                **grades,
            )
        )
    rows += [
        Metric(
            name="unfinished",
            description=f"share of answers cut at max-new-tokens ({max_new_tokens}) unfinished",
            better="lower",
            **per_model(lambda m: _mean([float(a.stopped == "length") for a in answers(m)])),
        ),
        Metric(
            name="answer_tokens",
            description="mean tokens generated per answer",
            better=None,
            **per_model(lambda m: _mean([float(a.tokens) for a in answers(m)])),
        ),
    ]
    return rows


def rule_shares(analysis: ErrorAnalysis, answers: int) -> list[RuleShare]:
    """Per rule (and for any rule) the answers of each model it flagged."""
    rows = [
        RuleShare(
            code=r.code,
            name=r.name,
            summary=r.summary,
            base=analysis.failed("base", r.code),
            tuned=analysis.failed("tuned", r.code),
            answers=answers,
        )
        for r in analysis.rules
    ]
    rows.append(
        RuleShare(
            code="any",
            name="any rule",
            summary="answers flagged by at least one rule",
            base=analysis.flagged("base"),
            tuned=analysis.flagged("tuned"),
            answers=answers,
        )
    )
    return rows
