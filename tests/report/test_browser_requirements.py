"""The "Meets your requirements?" section in headless Chromium: at the top, its plots render, the latency budget
is drawn on every latency-vs-batch plot with the chosen batch marked, no console errors, nothing fetched.

Uses Debian's ``/usr/bin/chromium`` through Playwright (never ``playwright install``), like test_browser.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's chromium is not installed ({CHROMIUM})"),
]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compare"))

from hand_chips import matmul_model  # noqa: E402
from test_requirements import A, B, C, camera_app  # noqa: E402


@pytest.fixture(scope="module")
def req_report(tmp_path_factory):
    from fitbench.compare import compare
    from fitbench.report.html import write_html

    d = tmp_path_factory.mktemp("req")
    mm = matmul_model(d / "mm.onnx")
    comp = compare(mm, hw=[A, B, C], baseline=f"{mm}:batch=64", batch_curve=(1,),
                   app=camera_app(power_w=8.0, max_chips=4))
    return comp, write_html(comp, d / "req.html")


@pytest.fixture(scope="module")
def page(req_report):
    from playwright.sync_api import sync_playwright

    _, path = req_report
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = b.new_page(viewport={"width": 1280, "height": 900})
        errors, requests = [], []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:"))
              else None)
        pg.goto(path.as_uri())
        pg.wait_for_function("Array.from(document.querySelectorAll('div.plot'))"
                             ".every(d => d.querySelector('.main-svg'))", timeout=30_000)
        yield pg, errors, requests
        b.close()


def test_section_is_first_and_its_plots_render(page, req_report):
    pg, errors, requests = page
    comp, _ = req_report
    assert pg.eval_on_selector_all("h2", "els => els.map(e => e.id)")[0] == "requirements"
    ids = pg.eval_on_selector_all("div.req-plot", "els => els.map(e => e.id)")
    # one latency-vs-batch plot per offering, then power vs load and chips vs load
    assert ids == [f"fig-req-latency-{i}" for i in range(3)] + ["fig-req-power", "fig-req-chips"]
    for fid in ids:
        assert pg.locator(f"#{fid} .main-svg").count() >= 1, fid
        assert pg.locator(f"#{fid} .trace").count() >= 2, fid
    assert errors == [] and requests == []


def test_budget_line_and_chosen_batch_on_every_latency_plot(page, req_report):
    pg, _, _ = page
    comp, _ = req_report
    for i, v in enumerate(comp.requirements.verdicts):
        legend = pg.eval_on_selector_all(f"#fig-req-latency-{i} .legendtext", "els => els.map(e => e.textContent)")
        assert "latency budget (48 ms)" in legend, legend
        assert f"chosen batch {v.batch}" in legend, legend
        # the budget trace is drawn at y = 48 ms over the plotted batches
        ys = pg.evaluate(f"document.getElementById('fig-req-latency-{i}').data"
                         ".find(t => t.name.startsWith('latency budget')).y")
        assert ys == [48.0, 48.0]
    chips = pg.eval_on_selector_all("#fig-req-chips .legendtext", "els => els.map(e => e.textContent)")
    assert "chip limit (4)" in chips and any(t.startswith("required load (200") for t in chips)


def test_verdict_table_lists_every_offering_with_its_failures(page, req_report):
    pg, _, _ = page
    rows = pg.locator("#requirements-table tbody tr")
    assert rows.count() == 3
    text = {r.locator("td").nth(1).inner_text(): r.inner_text() for r in rows.all()}
    assert "meets" in text["b"]
    assert "power" in text["a"] and "2 W (25%) over the 8 W budget" in text["a"]
    assert "latency" in text["c"] and "over the 48 ms budget" in text["c"]
    picks = pg.locator("ul.picks li").all_inner_texts()
    assert any("would pick c" in p and "fails the latency requirement" in p for p in picks)
