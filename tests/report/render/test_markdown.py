"""--format markdown: a summary to paste in a pull request or a dataset card."""

from __future__ import annotations

import dqe
from dqe.report.render.markdown import md, render_markdown


def test_summary_gate_and_rules(full_report):
    text = render_markdown(full_report)
    assert text.startswith("## dqe check: ❌ the gate fails\n")
    assert "**120 records**: 115 passed, 4 rejected, 1 invalid (pass rate 95.8%)" in text
    assert "| invalid-records | 1 | - | fail &gt; 0 | ❌ fail: 1 is above the fail level 0 |" in text
    # the pass rate is what these records did: exact, no interval
    assert "| pass-rate | 0.958 | - | fail &lt; 0.8, warn &lt; 0.95 | ✅ pass |" in text
    assert "| DQ001 | structure | error | **3** | 119 |" in text
    assert "- **duplicates**: rate 5.0%; 3 exact, 3 near, 2 clusters" in text
    assert "<summary>DQ001 structure: 3 records</summary>" in text
    assert "| data.jsonl:4 | error | turn 2: empty answer (evidence: turns: user &gt; assistant (empty)) |" in text


def test_text_from_the_data_cannot_break_the_markdown(write_jsonl):
    path = write_jsonl([{"instruction": "Hi", "output": ""}], name="a|b_<i>x.jsonl")
    text = render_markdown(dqe.check(path))
    assert "<i>" not in text
    assert r"a\|b\_&lt;i&gt;x.jsonl:1" in text


def test_md_escapes_html_and_inline_markup():
    assert md("<script>x</script> | *a* `b`\nc") == r"&lt;script&gt;x&lt;/script&gt; \| \*a\* \`b\` c"
