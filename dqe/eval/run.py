"""``dqe eval`` from start to end: the run folder, the held-out loss, answers, scores, rules,
the report.

The base model is loaded once with the run's adapter on top; the base model's numbers come
from the same weights with the adapter switched off, so the two differ only by the adapter.
Loss batches, encoding and masking are the trainer's own, so the tuned model's test loss is the
one ``dqe train`` wrote into ``run.json`` (on the same records).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from dqe.engine.ledger import LEDGER_FILE, fit_lists, read_ledger
from dqe.engine.plugins import load_plugins
from dqe.errors import ConfigError, RenderError
from dqe.eval.compare import Comparison, compare, same_test_split
from dqe.eval.errors import AnswerChecker
from dqe.eval.generate import Generator
from dqe.eval.multiple_choice import ChoicesReport, Question, choice_metrics, read_questions, score_questions
from dqe.eval.report import (
    MODELS,
    EvalReport,
    EvalSettings,
    Generated,
    HeldOut,
    Metric,
    RunInfo,
    build_examples,
    build_metrics,
    rule_shares,
)
from dqe.eval.runfolder import TrainedRun, open_run
from dqe.io.inputs import refuse_overwriting
from dqe.io.writers import ObjectWriter, OutputSet
from dqe.train.batches import BatchPlan
from dqe.train.encode import encode_examples, make_encoder
from dqe.train.loss import item_logliks, mean_loss
from dqe.train.model import load_base_model, load_tokenizer, pick_device, pick_dtype, quiet_peft
from dqe.train.outputs import device_info

GENERATIONS = "generations.jsonl"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


@dataclass
class EvalResult:
    report: EvalReport
    out: Path  # the folder the generations and reports were written to


def _adapter_off(model: Any, name: str) -> Any:
    """The base model: the adapter switched off for the block (a no-op for the tuned one)."""
    return model.disable_adapter() if name == "base" else nullcontext()


def _loss(
    run: TrainedRun,
    model: Any,
    items: list[Any],
    name: str,
    pad_id: int,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[float | None, int]:
    if not items:
        return None, 0
    b = run.config.batch
    plan = BatchPlan(
        [len(e) for e in items],
        seq_len=b.seq_len,
        rows=b.micro_batch_size,
        packing=run.manifest.get("packing", False),
        seed=0,
    )
    with _adapter_off(model, name):
        return mean_loss(
            model,
            items,
            plan,
            packing=plan.packing,
            pad_id=pad_id,
            device=device,
            dtype=dtype,
            chunk=b.loss_chunk,
        )


def _choices(
    path: Path,
    questions: list[tuple[str, Question]],
    run: TrainedRun,
    model: Any,
    encoder: Any,
    pad_id: int,
    device: torch.device,
    dtype: torch.dtype,
) -> ChoicesReport:
    """Multiple-choice accuracy of both models (``--choices``): each choice's log-likelihood as
    the answer to its question, formatted by the run's template, in the trainer's batches."""
    b = run.config.batch

    def logliks(name: str, items: list[Any]) -> list[float]:
        plan = BatchPlan([len(e) for e in items], seq_len=b.seq_len, rows=b.micro_batch_size, packing=False, seed=0)
        with _adapter_off(model, name):
            return item_logliks(model, items, plan, pad_id=pad_id, device=device, dtype=dtype, chunk=b.loss_chunk)

    return score_questions(questions, encoder.encode, b.seq_len, logliks, MODELS, path)


def evaluate(
    run_dir: Path,
    settings: EvalSettings | None = None,
    *,
    out: Path | None = None,
    plugins: Iterable[object] = (),
    disable_plugins: Iterable[str] = (),
    echo: bool = True,
    written: dict[str, Path] | None = None,
) -> EvalResult:
    """Evaluate the run in ``run_dir``; writes generations and reports to ``out``
    (default ``RUN_DIR/eval``). ``written``: files the caller writes afterwards (the command's
    ``-o``), refused with these when one would replace a file the evaluation reads."""
    from peft import PeftModel

    settings = settings or EvalSettings()
    console = Console(stderr=True, quiet=not echo, highlight=False)
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - clock, 3)
        clock = now

    # 1. The run and its test records; no output may replace them.
    run = open_run(run_dir)
    out = out or run_dir / "eval"
    reads = [run_dir / name for name in ("train_config.json", "run.json", "split.json", LEDGER_FILE)] + [run.test_path]
    fit = fit_lists(read_ledger(run_dir), str(run_dir / LEDGER_FILE))  # what training learned about its records
    outputs = {f"the evaluation's {name}": out / name for name in (GENERATIONS, REPORT_JSON, REPORT_HTML)}
    extra = [p for p in (settings.config, settings.choices) if p is not None]
    refuse_overwriting({**outputs, **(written or {})}, [*reads, *extra])
    config = run.config
    loaded = run.reading_config(settings.config)
    plugins, disable_plugins = list(plugins), list(disable_plugins)
    registry = load_plugins(disabled=[*disable_plugins, *loaded.config.disable_plugins], extra=plugins)
    registry.raise_errors()
    # what scores the answers, set up now so that a mistake costs no generation
    checker = AnswerChecker(loaded, select=settings.rules, plugins=plugins, disable_plugins=disable_plugins)
    questions = read_questions(settings.choices) if settings.choices is not None else None
    device = pick_device(settings.device if settings.device != "auto" else config.device)
    embedder = None
    if settings.embedding_model is not None:
        from dqe.eval.embedding import Embedder

        embedder = Embedder(settings.embedding_model, device)
    examples = run.test_examples(loaded, registry)
    total = len(examples)
    skipped = [f"{e.source}: {e.problem}" for e in examples if e.problem]
    examples = [e for e in examples if e.problem is None]
    if settings.limit is not None:
        examples = examples[: settings.limit]

    # 2. Tokens, as the trainer made them.
    tokenizer = load_tokenizer(config.model)
    encoder = make_encoder(config, tokenizer, registry, loaded.config.columns)
    encoded, ledger = encode_examples(encoder, examples, config.batch.seq_len, config.batch.overlong)
    skipped += [f"{row.source}: not in the loss ({row.dropped})" for row in ledger if row.dropped]
    items = [encoded[e.index] for e in examples if e.index in encoded]
    prompts = encoder.prompts([e.record for e in examples])
    answerable = [(e, p) for e, p in zip(examples, prompts, strict=True) if not isinstance(p, str)]
    skipped += [f"{e.source}: no prompt ({p})" for e, p in zip(examples, prompts, strict=True) if isinstance(p, str)]
    lap("read")

    # 3. The model: base weights with the adapter on top.
    dtype = pick_dtype(config.precision, device)
    precision = str(dtype).removeprefix("torch.")
    console.print(f"loading {config.model} with the adapter of {run_dir} ({device.type}, {precision})")
    base = load_base_model(config, device, dtype)
    with quiet_peft():
        model = PeftModel.from_pretrained(base, str(run.adapter)).eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lap("load")

    # 4. Held-out loss, then answers, for each model.
    losses: dict[str, float | None] = {}
    loss_tokens = 0
    for name in MODELS:
        losses[name], loss_tokens = _loss(run, model, items, name, pad_id, device, dtype)
    lap("loss")
    choices = None
    if settings.choices is not None and questions is not None:
        console.print(f"scoring {len(questions):,} multiple-choice questions with the base and the tuned model")
        choices = _choices(settings.choices, questions, run, model, encoder, pad_id, device, dtype)
        lap("choices")
    generator = Generator(
        tokenizer,
        end_of_turn=encoder.end_of_turn,
        max_prompt_tokens=config.batch.seq_len,
        device=device,
        settings=settings,
    )
    generated: dict[str, list[Generated]] = {}
    for name in MODELS:
        console.print(f"generating {len(answerable):,} answers with the {name} model")
        with _adapter_off(model, name):
            generated[name] = generator.generate(model, [p for _, p in answerable])
        lap(f"generate:{name}")
    del model, base
    if device.type == "cuda":
        torch.cuda.empty_cache()

    # 5. Scores and the rules.
    records = [e.record for e, _ in answerable]
    references = [r.answer for r in records]
    answers = {m: [g.text for g in generated[m]] for m in MODELS}
    similarity = None
    if embedder is not None:
        similarity = embedder.similarity(answers, references)
        del embedder
        lap("similarity")
    chosen = "" if settings.rules is None else " " + ",".join(settings.rules)
    console.print(f"checking the answers with dqe's record rules{chosen}")
    analysis = checker.check(records, answers)
    lap("rules")
    rows = [
        {
            "id": e.id,
            "source": e.source,
            "question": r.question,
            "prompt": tokenizer.decode(p.tolist(), skip_special_tokens=False),
            "reference": r.answer,
            "prompt_truncated": len(p) > config.batch.seq_len,
        }
        for (e, p), r in zip(answerable, records, strict=True)
    ]
    examples_out = build_examples(rows, generated, analysis, similarity)
    checks = {m: analysis.models[m].dataset for m in MODELS}
    losses_run = run.manifest.get("losses") or {}
    outputs = run.manifest.get("outputs") or {}
    report = EvalReport(
        run=RunInfo(
            dir=str(run_dir),
            base_model=config.model,
            template=config.template,
            adapter=str(run.adapter),
            adapter_is=outputs.get("adapter_is"),
            steps=(run.manifest.get("training") or {}).get("steps"),
            test_loss_at_training=losses_run.get("test"),
        ),
        settings=settings,
        device=device_info(device, dtype),
        test=HeldOut(
            records=total,
            evaluated=len(answerable),
            loss_records=len(items),
            loss_tokens=loss_tokens,
            skipped=skipped,
        ),
        metrics=[
            *build_metrics(examples_out, losses, settings.max_new_tokens, checks),
            *(Metric(**row) for row in (choice_metrics(choices) if choices else [])),
        ],
        rules=rule_shares(analysis, len(answerable)),
        checks=checks,
        rule_errors=[f"{m}: {e}" for m in MODELS for e in analysis.models[m].errors],
        outputs={
            "generations": str(out / GENERATIONS),
            "json": str(out / REPORT_JSON),
            "html": str(out / REPORT_HTML),
        },
        timings=timings,
        examples=examples_out,
        choices=choices,
        fit=fit,
    )
    write_outputs(report, out)
    return EvalResult(report=report, out=out)


def write_outputs(report: EvalReport, out: Path) -> None:
    """generations.jsonl, report.html (with the [html] extra) and report.json in ``out``."""
    from dqe.eval.render import render_eval_html

    try:
        html: str | None = render_eval_html(report)
    except RenderError:
        html = None
        report.outputs.pop("html", None)
    with OutputSet() as files:  # the three files or none
        writer = ObjectWriter(files.open(out / GENERATIONS))
        for example in report.examples:
            writer.write(example.model_dump(mode="json"))
        writer.close()
        if html is not None:
            files.open(out / REPORT_HTML).write(html.encode())
        files.open(out / REPORT_JSON).write((report.model_dump_json(indent=2) + "\n").encode())


COMPARISON_JSON = "comparison.json"
COMPARISON_HTML = "comparison.html"


@dataclass
class ComparisonResult:
    comparison: Comparison
    out: Path  # the folder the comparison was written to (RUN_A's evaluation's)


def evaluate_against(
    run_a: Path,
    run_b: Path,
    settings: EvalSettings | None = None,
    *,
    out: Path | None = None,
    plugins: Iterable[object] = (),
    disable_plugins: Iterable[str] = (),
    echo: bool = True,
    written: dict[str, Path] | None = None,
) -> ComparisonResult:
    """Evaluate two runs with the same settings on their shared test split (``run_a`` into
    ``out``, default ``RUN_A/eval``; ``run_b`` into ``RUN_B/eval``) and compare their tuned
    models: ``comparison.json`` and ``comparison.html`` beside RUN_A's report. Runs tested on
    other records are refused before anything is loaded."""
    a, b = open_run(run_a), open_run(run_b)
    same_test_split(a, b)
    out = out or run_a / "eval"
    if (run_b / "eval").resolve() == out.resolve():
        raise ConfigError(f"--out {out}: it is where {run_b}'s evaluation goes; pick another folder")
    plugins = list(plugins)
    results = [
        evaluate(run, settings, out=where, plugins=plugins, disable_plugins=disable_plugins, echo=echo, written=written)
        for run, where in ((run_a, out), (run_b, None))
    ]
    outputs = {"json": str(out / COMPARISON_JSON), "html": str(out / COMPARISON_HTML)}
    comparison = compare(results[0].report, results[1].report, len(a.split["test_ids"]), outputs)
    from dqe.eval.render import render_comparison_html

    try:
        html: str | None = render_comparison_html(comparison)
    except RenderError:
        html = None
        comparison.outputs.pop("html")
    with OutputSet() as files:
        if html is not None:
            files.open(out / COMPARISON_HTML).write(html.encode())
        files.open(out / COMPARISON_JSON).write((comparison.model_dump_json(indent=2) + "\n").encode())
    return ComparisonResult(comparison=comparison, out=out)
