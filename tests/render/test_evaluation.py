"""The evaluation report (dqe eval) as text, JSON and HTML, from numbers given by hand: the
metrics with their differences, the rule shares, the examples side by side, nothing unescaped."""

from __future__ import annotations

import json

import pytest
from defects import PAYLOAD
from htmlpage import Page

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
from dqe.render.evaluation import render_eval_html, render_eval_text

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


@pytest.fixture(scope="module")
def report() -> EvalReport:
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


def test_metrics_and_their_differences(report):
    m = {x.name: x for x in report.metrics}
    assert (m["loss"].diff, m["loss"].improved) == (-0.5, True)
    assert m["perplexity"].base == pytest.approx(7.389056) and m["perplexity"].improved
    assert m["unfinished"].base == pytest.approx(1 / 3) and m["unfinished"].tuned == 0.0
    # "It is <script>document.title=...": 15 words, 3 in order in "It is a script tag." (5):
    # P 3/15, R 3/5, F1 0.3; the Chinese answer is the reference; "Blue." shares nothing
    assert [round(e.tuned.rougeL, 3) for e in report.examples] == [0.3, 1.0, 0.0]
    assert m["rougeL"].tuned == pytest.approx(1.3 / 3) and m["rougeL"].base == pytest.approx(1 / 3)
    assert [e.verdict for e in report.examples] == ["tuned-better", "tuned-better", "tuned-worse"]
    assert "similarity" not in m and "judge" not in m  # neither was asked for


def test_rule_shares_per_model(report):
    rows = {r.code: (r.base, r.tuned) for r in report.rules}
    assert rows == {"DQ001": (1, 0), "DQ302": (1, 0), "any": (2, 0)}
    assert report.examples[1].base.flags[0].message == "question zh, answer en"


def test_text_report(report):
    text = render_eval_text(report)
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert lines["loss"][1:] == ["2", "1.5", "-0.5", "better"]
    assert lines["unfinished"][1:4] == ["33.3%", "0.0%", "-33.3"]
    assert lines["DQ302"][2:] == ["1", "(33.3%)", "0", "(0.0%)", "-33.3", "pp"]
    assert "3 of 4 test records answered (greedy, max 16 new tokens)" in " ".join(text.split())
    assert "generations  runs/x/eval/generations.jsonl" in text


def test_json_report_round_trips_with_the_differences(report):
    data = json.loads(report.model_dump_json())
    assert data["kind"] == "evaluation"
    assert data["metrics"][0] == {
        **data["metrics"][0],
        "name": "loss",
        "base": 2.0,
        "tuned": 1.5,
        "diff": -0.5,
    }
    assert data["rules"][-1]["code"] == "any" and data["rules"][-1]["tuned_share"] == 0.0
    assert data["examples"][0]["tuned"]["stopped"] == "end-of-turn"
    assert EvalReport.model_validate(data) == report


def test_html_side_by_side_and_escaped(report):
    html = render_eval_html(report)
    page = Page(html)
    assert PAYLOAD not in html
    assert "Explain &lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
    assert len(page.all("script")) == 1 and "pwned" not in page.title
    assert not [attrs for _, attrs in page.elements if any(k.startswith("on") for k in attrs)]
    rows = [r for r in page.all("tr") if "data-record" in r]
    assert [r["data-status"] for r in rows] == ["tuned-better", "tuned-better", "tuned-worse"]
    assert [r["data-codes"].split() for r in rows] == [["base:DQ001"], ["base:DQ302"], []]
    options = [o["value"] for o in page.all("option")]
    assert "base:DQ302" in options and "tuned-worse" in options  # the check report's filters
    metrics = {r["data-metric"] for r in page.all("tr") if "data-metric" in r}
    assert {
        "loss",
        "perplexity",
        "rouge1",
        "rouge2",
        "rougeL",
        "unfinished",
        "answer_tokens",
    } <= metrics
    assert '<td class="num better">-0.5</td>' in html
    assert (
        "法国的首都是巴黎。" in html and "runs/x/test.jsonl:4: not in the loss (too-long)" in html
    )
    assert next(f for f in page.all("figure"))["data-plot"] == "rules"
    csp = next(
        m["content"] for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp.startswith("default-src 'none'; img-src data:;")
