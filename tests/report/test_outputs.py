"""Static outputs (HTML source, Markdown + PNG, CSV, JSON) and the escaping rules, without a browser."""

from __future__ import annotations

import json

import pytest
from evil_names import EVIL_NODE, EVIL_RELU, EVIL_SOURCE

from fitbench.compare import Comparison
from fitbench.errors import FitbenchError
from fitbench.report.card import card_items
from fitbench.report.html import render_html, script_json
from fitbench.report.static import markdown, write_outputs


@pytest.mark.parametrize("value", ["</script><script>alert(1)</script>", "a & b", "<!-- x -->", "\u2028"])
def test_script_json_cannot_close_the_script_element(value):
    text = script_json({"name": value})
    assert not {"<", ">", "&", "\u2028"} & set(text)
    assert json.loads(text) == {"name": value}


def test_html_source_escapes_model_and_spec_strings(evil_comp):
    html = render_html(evil_comp)
    for evil in (EVIL_NODE, EVIL_RELU, EVIL_SOURCE):
        assert evil not in html
    assert html.count("<script") == html.count("<script>") == 2  # plotly.js inlined and the figure loader, no src
    assert "&lt;script&gt;window.__pwned" in html
    assert "<link" not in html  # no stylesheet or font fetched either


def test_markdown_escapes_and_links_the_pngs(evil_comp, tmp_path):
    files = write_outputs(evil_comp, tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text()
    assert EVIL_NODE not in md and "\\<script\\>" in md and "&lt;" not in md  # backslash-escaped, no entities
    pngs = [p for p in files if p.suffix == ".png"]
    assert {p.name for p in pngs} == {"r-throughput.png", "r-layers.png", "r-bounds.png"}  # no input-size curve
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({p.name})" in md
    # the ranking table: header, rule, one row per offering
    table = [line for line in md.splitlines() if line.startswith("| ") and "TOPS tells you" not in line]
    assert sum(1 for line in table if line.split("|")[1].strip() in ("streamer", "holder")) == 2


def test_csv_and_json(full_comp, tmp_path):
    write_outputs(full_comp, tmp_path / "c.csv")
    write_outputs(full_comp, tmp_path / "c.json")
    import pandas as pd

    df = pd.read_csv(tmp_path / "c.csv")
    n_figures = sum(len(o.workload) + len(o.baseline) for o in full_comp.offerings)
    assert len(df) == n_figures
    assert {"offering", "workload", "batch", "latency_s", "throughput_ips", "rank", "method"} <= set(df.columns)
    measured = df[df.method == "measured"]
    assert set(measured.batch) == {1, 4}
    again = Comparison.from_dict(json.loads((tmp_path / "c.json").read_text()))
    assert [r.offering for r in again.rows] == [r.offering for r in full_comp.rows]
    assert "<!DOCTYPE html>" in render_html(again)


def test_card_states_every_condition(full_comp):
    card = full_comp.card
    work = card["workloads"][0]
    assert work["model"] == "tiny" and len(work["sha256"]) == 64
    assert work["input_shapes"] == {"input": [1, 3, 64, 64]}
    assert work["weight_precision"] == "int8"
    assert {o["name"] for o in card["offerings"]} == {"streamer", "holder", "edge-npu-slow-dram",
                                                       "onnxruntime (this machine)"}
    edge = next(o for o in card["offerings"] if o["name"] == "edge-npu-slow-dram")
    assert edge["source"] and edge["spec"]["sram_bytes"] > 0
    meas = card["measurements"][0]["conditions"]
    assert meas["model_sha256"] and "onnxruntime" in json.dumps(meas)
    assert card["fitbench_version"] and card["date"]
    headings = [h for h, _ in card_items(card)]
    assert headings[0] == "Run" and any(h.startswith("Measurement:") for h in headings)


def test_measured_offering_is_ranked_with_the_estimates(full_comp):
    row = next(r for r in full_comp.rows if r.kind == "runtime")
    assert row.workload_rank is not None and row.baseline_rank is None and row.tops_rank is None
    m = full_comp.measurements[0]
    assert m["latencies_s"] and len(m["latencies_s"]) == m["result"]["latency"]["count"]


def test_unknown_format_is_a_clear_error(full_comp, tmp_path):
    with pytest.raises(FitbenchError, match="unknown report format"):
        write_outputs(full_comp, tmp_path / "r.pdf")


def test_markdown_without_images(full_comp):
    md = markdown(full_comp)
    assert md.startswith("# fitbench: tiny 64x64 vs tiny 32x32")
