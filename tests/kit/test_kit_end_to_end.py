"""The buyer's journey end to end through the CLI: create a kit for the zoo's ``tiny``, run it with ONNX
Runtime here (as a supplier would with its SUT), verify it, and see it in ``fitbench compare`` and the report
as supplier-measured, ranked on the verified figure beside the chip's estimate."""

from __future__ import annotations

import json
import tarfile

import pytest
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.store import open_store

_register()
runner = CliRunner()
CHIPS = ["nvdla-nv-small", "nvdla-nv-large", "edge-npu-slow-dram"]


def _records(detail_path):
    out = {}
    for line in detail_path.read_text().splitlines():
        if ":::MLLOG" in line:
            rec = json.loads(line[line.index("{"):])
            out[rec["key"]] = rec["value"]
    return out


@pytest.fixture(scope="module")
def journey(tmp_path_factory):
    d = tmp_path_factory.mktemp("journey")
    db = d / "results.db"
    create = runner.invoke(app, ["kit", "create", "tiny", "-o", str(d / "kit"), "--scenario", "single-stream,offline",
                                 "--min-duration", "0.2", "--min-queries", "32", "--samples", "4"])
    run = runner.invoke(app, ["kit", "run", str(d / "kit"), "--runtime", "onnxruntime", "--threads", "1",
                              "-o", str(d / "results")])
    verify = runner.invoke(app, ["kit", "verify", str(d / "kit"), str(d / "results"), "--hw", "nvdla-nv-large",
                                 "--db", str(db)])
    compare = runner.invoke(app, ["compare", "tiny", "--hw", ",".join(CHIPS), "--db", str(db), "--format", "json",
                                  "-o", str(d / "report.html")])
    return {"dir": d, "db": db, "create": create, "run": run, "verify": verify, "compare": compare}


def test_create_writes_the_kit_and_its_archive(journey):
    d = journey["dir"]
    assert journey["create"].exit_code == 0, journey["create"].output
    for rel in ("kit.json", "README.md", "model.onnx", "samples/input0.npy", "reference/output0.npy",
                "loadgen/user.conf"):
        assert (d / "kit" / rel).is_file(), rel
    with tarfile.open(d / "kit.tar.gz") as tar:
        assert "kit/kit.json" in tar.getnames() and "kit/model.onnx" in tar.getnames()
    conf = (d / "kit" / "loadgen" / "user.conf").read_text()
    assert "tiny.SingleStream.min_duration = 200" in conf and "tiny.Offline.min_query_count = 32" in conf


def test_run_writes_loadgen_logs_that_say_valid(journey):
    d = journey["dir"] / "results"
    assert journey["run"].exit_code == 0, journey["run"].output
    for sc in ("single-stream", "offline"):
        assert "Result is : VALID" in (d / sc / "mlperf_log_summary.txt").read_text()
        assert (d / sc / "mlperf_log_detail.txt").stat().st_size > 0
    assert (d / "outputs" / "output0.npy").is_file() and (d / "results.json").is_file()


def test_verify_prints_one_line_per_check_and_stores_with_provenance(journey):
    res = journey["verify"]
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[-1] == "verdict: VERIFIED (supplier-measured, verified)"
    assert all(line.startswith("ok  ") for line in lines[:-1]) and len(lines) >= 10
    rows = open_store(journey["db"]).query(kind="measure", hardware="nvdla-nv-large")
    assert sorted(r.conditions["scenario"] for r in rows) == ["offline", "single-stream"]
    assert {r.conditions["provenance"] for r in rows} == {"supplier-measured, verified"}
    # the stored throughput is LoadGen's: offline samples per second x batch 1, single-stream 1 / mean latency
    for r in rows:
        det = _records(journey["dir"] / "results" / r.conditions["scenario"] / "mlperf_log_detail.txt")
        want = (det["result_samples_per_second"] if r.conditions["scenario"] == "offline"
                else 1e9 / det["result_mean_latency_ns"])
        assert r.metrics["throughput_ips"] == pytest.approx(want, rel=1e-9)
        assert r.batch == 1 and r.model == "tiny"


def test_compare_ranks_the_chip_on_its_verified_figure_beside_its_estimate(journey):
    res = journey["compare"]
    assert res.exit_code == 0, res.output
    comp = json.loads(res.stdout)
    rows = {r["offering"]: r for r in comp["rows"]}
    large = rows["nvdla-nv-large"]
    det = _records(journey["dir"] / "results" / "offline" / "mlperf_log_detail.txt")
    verified = det["result_samples_per_second"]  # batch 1: one sample is one inference
    assert large["figure"] == "supplier-measured, verified"
    assert large["workload_throughput_ips"] == pytest.approx(verified, rel=1e-9)
    est = next(f for o in comp["offerings"] if o["name"] == "nvdla-nv-large" for f in o["workload"]
               if f["batch"] == 1)
    assert large["estimate_throughput_ips"] == est["throughput_ips"]
    assert large["estimate_error"] == pytest.approx(est["throughput_ips"] / verified - 1)
    # ranked on the verified figure: one place below every chip whose (estimated) throughput is higher
    others = [r["workload_throughput_ips"] for n, r in rows.items() if n != "nvdla-nv-large"]
    assert large["workload_rank"] == 1 + sum(t > verified for t in others)
    assert all(r["figure"] == "estimate" for n, r in rows.items() if n != "nvdla-nv-large")
    assert any("nvdla-nv-large is ranked on a supplier measurement verified" in n for n in comp["notes"])


def test_the_report_shows_the_supplier_measured_figure(journey):
    html = (journey["dir"] / "report.html").read_text()
    assert "supplier-measured, verified" in html and "nvdla-nv-large" in html
