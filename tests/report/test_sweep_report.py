"""``fitbench report`` of a sweep run by ``fitbench sweep`` (no comparison stored): the generic report."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.report.sweep import SweepData, load_sweep
from fitbench.store import open_store

_register()
runner = CliRunner()


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    spec = {"kinds": ["estimate", "measure"], "models": ["tiny"], "batch": [1], "precision": ["int8"],
            "hardware": ["edge-npu-slow-dram", "nvdla-nv-small"], "runtime": ["onnxruntime"]}
    (d / "grid.yaml").write_text(yaml.safe_dump(spec))
    res = runner.invoke(app, ["sweep", str(d / "grid.yaml"), "--db", str(d / "r.db"), "-q"])
    assert res.exit_code == 0, res.output
    return d


@pytest.mark.slow  # a real measurement in a child process
def test_generic_report_of_a_sweep(swept):
    store = open_store(swept / "r.db")
    data = load_sweep(store, "grid")
    assert isinstance(data, SweepData)
    rows = data.rows()
    # 2 chips estimated + 1 runtime measured, at batch 1
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    est = {(r["hardware"], r["batch"]): r for r in rows if r["kind"] == "estimate"}
    for (_hw, b), r in est.items():
        assert r["throughput_ips"] == pytest.approx(b / r["latency_s"])  # throughput = batch / latency
    res = runner.invoke(app, ["report", "--db", str(swept / "r.db"), "--sweep", "grid", "-o", str(swept / "s.html"),
                              "-o", str(swept / "s.md"), "-o", str(swept / "s.csv")])
    assert res.exit_code == 0, res.output
    html = (swept / "s.html").read_text()
    assert 'id="fig-throughput"' in html and 'id="fig-latency"' in html
    assert html.count("<script>") == 2
    md = (swept / "s.md").read_text()
    assert sum(1 for line in md.splitlines() if line.startswith("| estimate") or line.startswith("| measure")) == 3
    import pandas as pd

    assert len(pd.read_csv(swept / "s.csv")) == 3


def test_points_that_differ_only_in_input_size_are_told_apart(tmp_path):
    # two input sizes of one model on one chip: the table says which is which, and the throughput plot draws
    # one line per size (it drew one zig-zag line through both, with no column telling the rows apart)
    from fitbench.report.sweep import input_label, sweep_figures

    spec = {"kinds": ["estimate"], "models": [{"zoo": "tiny", "grid": {"resolution": [[32, 32], [64, 64]]}}],
            "batch": [1, 2], "precision": ["int8"], "hardware": ["edge-npu-slow-dram"]}
    (tmp_path / "sizes.yaml").write_text(yaml.safe_dump(spec))
    res = runner.invoke(app, ["sweep", str(tmp_path / "sizes.yaml"), "--db", str(tmp_path / "r.db"), "-q"])
    assert res.exit_code == 0, res.output
    data = load_sweep(open_store(tmp_path / "r.db"), "sizes")
    assert sorted((r["input"], r["batch"]) for r in data.rows()) == [
        ("3x32x32", 1), ("3x32x32", 2), ("3x64x64", 1), ("3x64x64", 2)]
    (fig,) = [g for fid, _, g in sweep_figures(data) if fid == "throughput"]
    assert sorted(t["name"] for t in fig["data"]) == [
        "tiny · 3x32x32 · int8 · edge-npu-slow-dram", "tiny · 3x64x64 · int8 · edge-npu-slow-dram"]
    assert all(t["x"] == [1, 2] for t in fig["data"]) and fig["layout"]["xaxis"]["tickvals"] == [1, 2]
    res = runner.invoke(app, ["report", "--db", str(tmp_path / "r.db"), "--sweep", "sizes", "-o",
                              str(tmp_path / "s.html"), "-o", str(tmp_path / "s.md")])
    assert res.exit_code == 0, res.output
    assert "<td>3x64x64</td>" in (tmp_path / "s.html").read_text()
    assert "| 3x64x64 |" in (tmp_path / "s.md").read_text()
    assert input_label({"input_shapes": {"ids": [4, 384], "types": [4, 384]}}) == "ids 384, types 384"
