"""A hand-built evaluation report (dqe eval): three test records, hostile text in a question
and an answer, a Chinese record, base and tuned answers checked with DQ001 and DQ302."""

from __future__ import annotations

from defects import PAYLOAD

from dqe.eval.errors import check_answers
from dqe.eval.report import (
    EvalReport,
    EvalSettings,
    Generated,
    HeldOut,
    RunInfo,
    build_examples,
    build_metrics,
    rule_shares,
)
from dqe.records import Record, Turn

ITEMS = [
    {"question": f"Explain {PAYLOAD} please.", "reference": "It is a script tag."},
    {"question": "法国的首都是哪座城市？请用一句话回答。", "reference": "法国的首都是巴黎。"},
    {"question": "Name a primary colour.", "reference": "Red is a primary colour."},
]
BASE = [
    Generated(text="", stopped="length", tokens=16),
    Generated(text="The capital is Paris.", stopped="eos", tokens=6),
    Generated(text="Red is a primary colour.", stopped="eos", tokens=7),
]
TUNED = [
    Generated(text=f"It is {PAYLOAD}", stopped="end-of-turn", tokens=9),
    Generated(text="法国的首都是巴黎。", stopped="eos", tokens=8),
    Generated(text="Blue.", stopped="eos", tokens=3),
]


def eval_report() -> EvalReport:
    records = [
        Record(
            turns=[
                Turn(role="user", content=i["question"]),
                Turn(role="assistant", content=i["reference"]),
            ]
        )
        for i in ITEMS
    ]
    analysis = check_answers(
        records,
        {"base": [g.text for g in BASE], "tuned": [g.text for g in TUNED]},
        select=["DQ001", "DQ302"],
    )
    rows = [
        {
            "id": f"id{n}",
            "source": f"runs/x/test.jsonl:{n + 1}",
            "prompt": f"### Instruction:\n{i['question']}\n\n### Response:\n",
            **i,
        }
        for n, i in enumerate(ITEMS)
    ]
    examples = build_examples(rows, {"base": BASE, "tuned": TUNED}, analysis)
    checks = {m: analysis.models[m].dataset for m in ("base", "tuned")}
    return EvalReport(
        run=RunInfo(
            dir="runs/x",
            base_model="models/tiny",
            template="alpaca",
            adapter="runs/x/adapter",
            adapter_is="best validation (step 6)",
            test_loss_at_training=1.5,
        ),
        settings=EvalSettings(max_new_tokens=16),
        device={"type": "cpu", "dtype": "float32", "name": "x86_64"},
        test=HeldOut(
            records=4,
            evaluated=3,
            loss_records=3,
            loss_tokens=30,
            skipped=["runs/x/test.jsonl:4: not in the loss (too-long)"],
        ),
        metrics=build_metrics(examples, {"base": 2.0, "tuned": 1.5}, 16, checks),
        rules=rule_shares(analysis, 3),
        checks=checks,
        rule_errors=[],
        outputs={"generations": "runs/x/eval/generations.jsonl", "json": "runs/x/eval/report.json"},
        timings={"generate:base": 0.5},
        examples=examples,
    )
