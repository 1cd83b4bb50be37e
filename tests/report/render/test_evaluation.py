"""The evaluation report (dqe eval) as text, JSON and HTML, from numbers given by hand: the
metrics with their differences, the rule shares, the examples side by side, nothing unescaped."""

from __future__ import annotations

import json

import pytest
from defects import PAYLOAD
from evalreport import eval_report
from htmlpage import Page

from dqe.eval.render import render_eval_html, render_eval_text
from dqe.eval.report import EvalReport


@pytest.fixture(scope="module")
def evaluation() -> EvalReport:
    return eval_report()


def test_metrics_and_their_differences(evaluation):
    m = {x.name: x for x in evaluation.metrics}
    assert (m["loss"].diff, m["loss"].improved) == (-0.5, True)
    assert m["perplexity"].base == pytest.approx(7.389056) and m["perplexity"].improved
    assert m["unfinished"].base == pytest.approx(1 / 3) and m["unfinished"].tuned == 0.0
    # "It is <script>document.title=...": 15 words, 3 in order in "It is a script tag." (5):
    # P 3/15, R 3/5, F1 0.3; the Chinese answer is the reference; "Blue." shares nothing
    assert [round(e.tuned.rougeL, 3) for e in evaluation.examples] == [0.3, 1.0, 0.0]
    assert m["rougeL"].tuned == pytest.approx(1.3 / 3) and m["rougeL"].base == pytest.approx(1 / 3)
    assert [e.verdict for e in evaluation.examples] == ["tuned-better", "tuned-better", "tuned-worse"]
    assert "similarity" not in m and "judge" not in m  # neither was asked for


def test_rule_shares_per_model(evaluation):
    rows = {r.code: (r.base, r.tuned) for r in evaluation.rules}
    assert rows == {"DQ001": (1, 0), "DQ302": (1, 0), "any": (2, 0)}
    assert evaluation.examples[1].base.flags[0].message == "question zh, answer en"


def test_text_report(evaluation):
    text = render_eval_text(evaluation)
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert lines["loss"][1:] == ["2", "1.5", "-0.5", "better"]
    assert lines["unfinished"][1:4] == ["33.3%", "0.0%", "-33.3"]
    assert lines["DQ302"][2:] == ["1", "(33.3%)", "0", "(0.0%)", "-33.3", "pp"]
    assert "3 of 4 test records answered (greedy, max 16 new tokens)" in " ".join(text.split())
    assert "generations  runs/x/eval/generations.jsonl" in text


def test_json_report_round_trips_with_the_differences(evaluation):
    data = json.loads(evaluation.model_dump_json())
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
    assert EvalReport.model_validate(data) == evaluation


def test_html_side_by_side_and_escaped(evaluation):
    html = render_eval_html(evaluation)
    page = Page(html)
    assert PAYLOAD not in html
    assert "Explain &lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html
    assert len(page.all("script")) == 1 and "pwned" not in page.title
    assert not [attrs for _, attrs in page.elements if any(k.startswith("on") for k in attrs)]
    rows = [r for r in page.all("tr") if "data-record" in r]
    assert [r["data-status"] for r in rows] == ["tuned-better", "tuned-better", "tuned-worse"]
    assert [r["data-codes"].split() for r in rows] == [["base:DQ001"], ["base:DQ302"], []]
    options = [o["value"] for o in page.all("option")]
    assert "base:DQ302" in options and "tuned-worse" in options  # the check evaluation's filters
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
    assert "法国的首都是巴黎。" in html and "runs/x/test.jsonl:4: not in the loss (too-long)" in html
    assert next(f for f in page.all("figure"))["data-plot"] == "rules"
    csp = next(m["content"] for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy")
    assert csp.startswith("default-src 'none'; img-src data:;")
