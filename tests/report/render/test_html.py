"""--format html: one self-contained page; every plot, every failing record, nothing unescaped."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET

import polars as pl
import pytest
from defects import PAYLOAD
from htmlpage import Page

import dqe
from dqe.report.model import Report
from dqe.report.render.html import render_html, select_failing


def svg_of(uri: str) -> str:
    assert uri.startswith("data:image/svg+xml;base64,")
    return base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")


def test_every_section_has_its_plot(full_report):
    page = Page(render_html(full_report))
    figures = {f["data-plot"] for f in page.all("figure")}
    assert figures == {"rules", "tokens", "categories", "languages", "domains", "cot", "duplicates"}
    for img in page.all("img"):
        svg = ET.fromstring(svg_of(img["src"]))  # a whole, well-formed SVG document
        assert svg.tag.endswith("svg")
        assert img["alt"]


def test_sections_the_rules_did_not_produce_are_left_out(defect_file):
    report = dqe.check(defect_file, select=["DQ001", "DQ101"])
    html = render_html(report)
    page = Page(html)
    assert {f["data-plot"] for f in page.all("figure")} == {"rules", "tokens"}
    for section in ("categories", "languages", "domains", "cot", "duplicates"):
        assert page.by_id(f"section-{section}") is None


def test_the_model_scores_are_drawn_when_a_score_file_is_given(tmp_path, write_jsonl):
    from tests.support import write_scores

    records = [{"instruction": f"Question {n}.", "output": f"Answer {n}."} for n in range(6)]
    scores = write_scores(tmp_path / "scores.jsonl", records, [0.5, 0.7, 0.9, 1.1, 2.5, None])
    report = dqe.check(write_jsonl(records), select=["DQ001"], scores=str(scores))
    html = render_html(report)
    assert "scores" in {f["data-plot"] for f in Page(html).all("figure")}
    assert "5 of 6 records scored with tiny (template alpaca); 2 at or above IFD 1" in html
    histogram = report.dataset["scores"]["histograms"]["ifd"]
    assert sum(histogram["counts"]) == 5 and histogram["counts"][-1] == 1  # IFD 2.5 counted at 2


class Broken(dqe.ReportSection):
    key = "cot"

    def plot(self, report):
        raise ZeroDivisionError("no records")


class Misdrawn(dqe.ReportSection):
    key = "cot"

    def plot(self, report):
        return "<svg/>"


def test_a_section_that_raises_or_returns_no_plot_is_named(full_report):
    with pytest.raises(dqe.PluginError, match=r"report section 'cot' plot\(\) raised ZeroDivisionError: no records"):
        render_html(full_report, [Broken()])
    with pytest.raises(dqe.PluginError, match="report section 'cot': plot\\(\\) returned str, expected a dqe.Plot"):
        render_html(full_report, [Misdrawn()])


def test_a_data_set_section_no_section_plots_is_a_table(full_report):
    page = Page(render_html(full_report, sections=[]))
    assert {f["data-plot"] for f in page.all("figure")} == {"rules"}
    assert page.by_id("section-cot") is not None  # its numbers, as rows


def test_gate_verdict_and_metrics(full_report):
    html = render_html(full_report)
    page = Page(html)
    assert page.by_id("verdict")["data-verdict"] == "fail"
    metrics = {m["data-metric"]: m["class"] for m in page.all("tr") if "data-metric" in m}
    assert metrics["invalid-records"] == "metric state-fail"
    assert metrics["duplicate-rate"] == "metric state-warn"
    assert metrics["vertical-share"] == "metric state-pass"
    assert "fail &gt; 0.1, warn &gt; 0.03" in html


def test_each_failing_record_with_every_reason_and_its_text(full_report):
    html = render_html(full_report)
    page = Page(html)
    rows = {r["data-record"]: r for r in page.all("tr") if "data-record" in r}
    assert set(rows) == {"3", "7", "11", "15", "20"}
    assert rows["11"]["data-codes"] == "DQ101" and rows["11"]["data-status"] == "rejected"
    assert rows["20"]["data-codes"] == "DQ000" and rows["20"]["data-status"] == "invalid"
    assert "data.jsonl:12</code>" in html
    assert "5034 tokens &gt; 4096 (tiktoken:cl100k_base)" in html
    assert "把这句话翻译成英文：今天天气很好。" in html  # Chinese text as it is
    assert "{&#34;instruction&#34;: &#34;cut off&#34;," in html  # the raw text of the broken line
    assert "more characters not shown" in html  # the 5,000-word answer is clipped


def test_record_text_is_escaped_never_markup(full_report):
    html = render_html(full_report)
    page = Page(html)
    assert PAYLOAD not in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=x onerror=" in html
    assert len(page.all("script")) == 1  # the page's own
    assert not [attrs for _, attrs in page.elements if any(k.startswith("on") for k in attrs)]
    assert not [img for img in page.all("img") if img.get("src") == "x"]
    assert "pwned" not in page.title


def test_text_in_plots_is_escaped_and_not_math(full_report):
    page = Page(render_html(full_report))
    svg = svg_of(page.by_id("plot-categories") and next(i["src"] for i in page.all("img") if "categor" in i["alt"]))
    assert "&lt;b&gt;bold&lt;/b&gt; $x$ category" in svg
    assert "<b>" not in svg


def test_self_contained_and_offline(full_report):
    html = render_html(full_report)
    page = Page(html)
    for tag, attrs in page.elements:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, key, value[:60])
    assert not page.all("link")
    assert "@import" not in html and "url(http" not in html
    csp = next(m["content"] for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy")
    assert csp.startswith("default-src 'none'; img-src data:;")
    script = page.scripts[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp  # only this script may run


def test_a_report_loaded_from_json_still_renders(full_report):
    loaded = Report.model_validate_json(full_report.model_dump_json())
    html = render_html(loaded)
    page = Page(html)
    assert {f["data-plot"] for f in page.all("figure")} == {
        "rules",
        "categories",
        "languages",
        "domains",
        "cot",
        "duplicates",
    }
    assert "text not available" in html
    assert "data.jsonl:4</code>" in html


def test_select_failing_takes_the_first_records_of_each_rule():
    findings = pl.DataFrame(
        {"record": [1, 2, 3, 4, 5, 6, 2, 9], "code": ["A", "A", "A", "A", "A", "A", "B", "B"]},
    )
    assert select_failing(findings, per_rule=2, limit=100) == [1, 2, 9]
    assert select_failing(findings, per_rule=10, limit=4) == [1, 2, 9]  # 4 // 2 rules = 2 each
    assert select_failing(findings.clear()) == []


def test_plot_text_keeps_chinese_as_text(full_report):
    full_report.dataset["categories"]["counts"]["文言文翻译"] = 5
    page = Page(render_html(full_report))
    svg = svg_of(next(i["src"] for i in page.all("img") if "categor" in i["alt"]))
    assert re.search(r"<text[^>]*>文言文翻译</text>", svg)


def test_rules_that_found_nothing_are_folded_below_those_that_did():
    report = dqe.check([{"instruction": "Say hi.", "output": ""}, {"instruction": "Say hi.", "output": "Hi."}])
    html = render_html(report)
    before, quiet = html.split('<details class="quiet-rules"', 1)
    loud = {r.code for r in report.rules if r.failed or r.errors or r.skipped}
    nothing = [r.code for r in report.rules if r.code not in loud]
    assert loud and nothing
    assert all(f'data-code="{code}"' in before for code in loud)
    assert not any(f'data-code="{code}"' in before for code in nothing)
    assert f"{len(nothing)} rules found nothing: {', '.join(nothing)}" in quiet
