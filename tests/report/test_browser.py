"""The HTML report in headless Chromium: every plot renders, no console errors, no network, no injected script.

Uses Debian's ``/usr/bin/chromium`` through Playwright (never ``playwright install``).
"""

from __future__ import annotations

import io
import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's chromium is not installed ({CHROMIUM})"),
]

from evil_names import EVIL_NODE, EVIL_RELU, EVIL_SOURCE  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_report(browser, path):
    """Open ``path``; return the page, its console errors and every non-file request."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:"))
            else None)
    page.goto(path.as_uri())
    page.wait_for_function("Array.from(document.querySelectorAll('div.plot'))"
                           ".every(d => d.querySelector('.main-svg'))", timeout=30_000)
    return page, errors, requests


def not_blank(png: bytes) -> float:
    """Share of pixels that are not (near) white."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    hist = img.histogram()
    return 1 - sum(hist[245:]) / sum(hist)


def test_every_plot_renders_offline_without_errors(browser, report_dir):
    page, errors, requests = open_report(browser, report_dir / "full.html")
    ids = page.eval_on_selector_all("div.plot", "els => els.map(e => e.id)")
    assert ids == ["fig-ranks", "fig-throughput", "fig-input-size", "fig-layers", "fig-bounds", "fig-roofline",
                   "fig-latency"]
    for fid in ids:
        assert page.locator(f"#{fid}.js-plotly-plot .main-svg").count() >= 1, fid
        # every plot drew data: traces (scatter/bar/box) or a heatmap image
        drawn = page.locator(f"#{fid} .trace, #{fid} .hm, #{fid} image").count()
        assert drawn >= 1, fid
    assert page.locator(".js-plotly-plot .main-svg").count() >= 2 * len(ids)
    assert errors == []
    assert requests == []  # plotly.js is inlined: nothing is fetched
    png = page.screenshot(full_page=True)
    assert not_blank(png) > 0.02
    page.close()


def test_tables_hold_the_rankings(browser, report_dir, full_comp):
    page, errors, _ = open_report(browser, report_dir / "full.html")
    rows = page.locator("#ranking-table tbody tr").count()
    assert rows == len(full_comp.offerings)  # 3 chips + ONNX Runtime measured here
    assert page.locator("#measured-table tbody tr").count() == len(full_comp.measurements) == 2
    assert errors == []
    page.close()


def test_markup_in_model_and_spec_names_is_shown_as_text(browser, report_dir):
    page, errors, _ = open_report(browser, report_dir / "evil.html")
    assert page.evaluate("window.__pwned") is None  # no injected script ran
    assert page.locator("img[src=x]").count() == 0
    text = page.inner_text("#layers-table")
    assert EVIL_NODE in text and EVIL_RELU.split(" onerror")[0] in text
    page.locator("details", has_text="Offering: streamer").first.evaluate("d => d.open = true")
    assert EVIL_SOURCE in page.inner_text(".card")
    assert EVIL_NODE in page.title()
    # names inside plots are drawn as text by plotly too
    tick_names = page.evaluate(
        "Array.from(document.querySelectorAll('#fig-bounds .ytick text')).map(t => t.textContent)")
    assert tick_names == ["streamer", "holder"]
    # plotly received the names entity-escaped, so it draws them as text and builds no element from them
    layer_text = page.evaluate("document.getElementById('fig-layers').data[0].text.join(' ')")
    assert "&lt;script&gt;" in layer_text and "<script" not in layer_text
    assert page.evaluate("document.scripts.length") == 2  # plotly.js and the figure loader: nothing else
    assert page.evaluate("document.querySelectorAll('svg script, svg foreignObject').length") == 0
    assert errors == []
    page.close()
