"""The HTML report in a real browser: headless Chromium opens a report of a generated data
set; the test reads the rendered page (verdict, plots drawn, failing records with their
reasons) and takes a screenshot, and checks that hostile record text did not run.

Needs Chromium (Debian's ``chromium`` package; ``DQE_CHROMIUM`` names another binary) and
skips without it. ``DQE_SCREENSHOT_DIR`` keeps the screenshot for a person to look at.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from htmlpage import Page

from dqe.report.render.html import render_html

pytestmark = pytest.mark.slow

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",  # let load handlers run before the DOM is read
)


def chromium() -> str:
    found = os.environ.get("DQE_CHROMIUM") or next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
            if shutil.which(n)
        ),
        None,
    )
    if not found:
        pytest.skip("Chromium not found (apt-get install chromium, or set DQE_CHROMIUM)")
    return found


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    chromium()  # skips before any report is rendered


def browse(tmp_path: Path, url: str, *args: str) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    done = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def rows(dom: str) -> dict[str, tuple[str, str]]:
    """data-record -> (the row's attributes, its text), from Chromium's serialized DOM."""
    found = re.findall(r'<tr class="record"([^>]*)>(.*?)</tr>', dom, re.S)
    out = {}
    for attrs, inner in found:
        record = re.search(r'data-record="(\d+)"', attrs).group(1)
        out[record] = (attrs, html.unescape(re.sub(r"<[^>]+>", " ", inner)))
    return out


@pytest.fixture
def page(full_report, tmp_path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render_html(full_report), encoding="utf-8")
    return path


def test_the_rendered_page_shows_verdict_plots_and_reasons(page, tmp_path):
    dom = browse(tmp_path, page.as_uri(), "--dump-dom")
    parsed = Page(dom)
    verdict = parsed.by_id("verdict")
    assert verdict["data-verdict"] == "fail"
    assert re.search(r'id="verdict"[^>]*>.*?<span class="verdict-value">FAIL</span>', dom, re.S)
    figures = parsed.all("figure")
    assert len(figures) == 7
    assert all(f.get("data-drawn") == "yes" for f in figures), figures  # every SVG decoded and drawn
    table = rows(dom)
    attrs, text = table["7"]
    assert "hidden" not in attrs
    assert "DQ001" in text and "empty answer" in text and "今天天气很好" in text
    assert "5034 tokens > 4096" in table["11"][1]


def test_hostile_record_text_shows_as_text_and_does_not_run(page, tmp_path):
    dom = browse(tmp_path, page.as_uri(), "--dump-dom")
    parsed = Page(dom)
    assert "pwned" not in parsed.title  # the payload sets document.title when it runs
    assert not [img for img in parsed.all("img") if img.get("src") == "x"]
    assert "<script>document.title='pwned'</script><img src=x onerror=" in rows(dom)["3"][1]
    assert len(parsed.all("script")) == 1


def test_the_payload_does_run_when_not_escaped(tmp_path):
    """A control: the same payload, unescaped in a bare page, changes the title, so the test
    above would see it run."""
    from defects import PAYLOAD

    bare = tmp_path / "bare.html"
    bare.write_text(f"<!DOCTYPE html><html><head><title>bare</title></head><body>{PAYLOAD}</body></html>")
    assert "pwned" in Page(browse(tmp_path, bare.as_uri(), "--dump-dom")).title


def test_a_fragment_filters_the_records(page, tmp_path):
    dom = browse(tmp_path, page.as_uri() + "#rule=DQ101", "--dump-dom")
    visible = [record for record, (attrs, _) in rows(dom).items() if "hidden" not in attrs]
    assert visible == ["11"]
    assert re.search(r'<span id="shown">1</span>', dom)


def test_the_evaluation_page_filters_answers_and_keeps_hostile_text_inert(tmp_path):
    """dqe eval's page runs the check report's script on its table of answers."""
    from evalreport import eval_report

    from dqe.eval.render import render_eval_html

    path = tmp_path / "eval.html"
    path.write_text(render_eval_html(eval_report()), encoding="utf-8")
    dom = browse(tmp_path, path.as_uri() + "#rule=base%3ADQ302", "--dump-dom")
    visible = [record for record, (attrs, _) in rows(dom).items() if "hidden" not in attrs]
    assert visible == ["1"] and "法国的首都是巴黎。" in rows(dom)["1"][1]
    parsed = Page(dom)
    assert "pwned" not in parsed.title and len(parsed.all("script")) == 1
    assert [f.get("data-drawn") for f in parsed.all("figure")] == ["yes"]


def test_screenshot(page, tmp_path):
    shot = tmp_path / "report.png"
    browse(tmp_path, page.as_uri(), f"--screenshot={shot}", "--window-size=1400,3400")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    keep = os.environ.get("DQE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report-generated.png")


# Read inside a page that frames the report at a given width: the page's scroll and window
# widths, and for each card (a plot's, a panel) how far its box runs past its content.
LAYOUT_SCRIPT = """
var d = document.getElementById("f").contentDocument;
var cards = Array.prototype.map.call(d.querySelectorAll(".plot-card, .panel"), function (card) {
  var style = getComputedStyle(card), box = card.getBoundingClientRect(), bottom = box.top;
  Array.prototype.forEach.call(card.children, function (child) {
    bottom = Math.max(bottom, child.getBoundingClientRect().bottom + parseFloat(getComputedStyle(child).marginBottom));
  });
  var inner = box.bottom - parseFloat(style.paddingBottom) - parseFloat(style.borderBottomWidth);
  return {name: card.id || card.getAttribute("aria-label") || card.className, height: box.height, slack: inner - bottom};
});
document.getElementById("out").textContent = JSON.stringify({
  scroll: d.documentElement.scrollWidth, client: d.documentElement.clientWidth, cards: cards});
"""


def layout(page: Path, tmp_path: Path, width: int) -> dict:
    """Layout facts of ``page`` in a window ``width`` px wide (see LAYOUT_SCRIPT)."""
    frame = tmp_path / f"frame-{width}.html"
    frame.write_text(
        f'<html><body style="margin:0"><iframe id="f" src="{page.name}" style="width:{width}px;height:900px;border:0">'
        f'</iframe><div id="out">pending</div><script>document.getElementById("f").onload = function () {{'
        f"{LAYOUT_SCRIPT}}};</script></body></html>",
        encoding="utf-8",
    )
    dom = browse(tmp_path, frame.as_uri(), "--allow-file-access-from-files", "--dump-dom")
    return json.loads(html.unescape(re.search(r'<div id="out">(.*?)</div>', dom, re.S).group(1)))


@pytest.mark.parametrize("width", [400, 1400])
def test_the_page_never_scrolls_sideways(page, tmp_path, width):
    """A layout fact, not pixels: at a phone's width and a desktop's, the page is no wider than
    the window (a wide table scrolls inside its card)."""
    facts = layout(page, tmp_path, width)
    assert facts["scroll"] == facts["client"], (
        f"{width} px: the page is {facts['scroll']} px wide in a {facts['client']} px window"
    )


@pytest.mark.parametrize("width", [400, 1400])
def test_no_card_is_stretched_past_what_it_holds(page, tmp_path, width):
    """A card as tall as its content: a short plot beside a tall one does not become a mostly
    empty box (the chain-of-thought card once stretched to about 2,000 px)."""
    cards = layout(page, tmp_path, width)["cards"]
    assert len(cards) >= 7  # the plot cards and the panels were measured
    stretched = [(c["name"], round(c["height"]), round(c["slack"])) for c in cards if c["slack"] > 24]
    assert not stretched, f"{width} px: cards taller than their content (name, height, empty px): {stretched}"
