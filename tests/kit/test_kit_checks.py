"""The verify rules on hand-made inputs, each expected value worked out here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fitbench.errors import FitbenchError
from fitbench.kit import scenario_settings
from fitbench.kit.manifest import KitError, digest, read_manifest
from fitbench.kit.verify import figures, output_errors, parse_summary, settings_vs_kit, summary_vs_detail


def _outputs(tmp_path, ref, got):
    np.save(tmp_path / "ref.npy", ref)
    (tmp_path / "outputs").mkdir(exist_ok=True)
    np.save(tmp_path / "outputs" / "output0.npy", got)
    kit = {"outputs": [{"name": "y", "file": "ref.npy"}]}
    return output_errors(tmp_path, kit, tmp_path, {}, 1e-3)


def test_tolerance_is_max_abs_error_over_max_abs_reference(tmp_path):
    ref = np.array([[1.0, -2.0, 4.0]], np.float32)
    # 0.002 off on one element: 0.002 / 4 = 5e-4 <= 1e-3
    bad, found = _outputs(tmp_path, ref, ref + np.array([[0, 0.002, 0]], np.float32))
    assert bad == [] and found == ["y 0.0005 <= 0.001"]
    # 0.008 off: 0.008 / 4 = 2e-3 > 1e-3
    bad, _ = _outputs(tmp_path, ref, ref + np.array([[0.008, 0, 0]], np.float32))
    assert bad == ["y: max|y - ref| / max|ref| = 0.002 > tolerance 0.001"]
    bad, _ = _outputs(tmp_path, ref, np.full_like(ref, np.nan))
    assert bad == ["y: max|y - ref| / max|ref| = nan > tolerance 0.001"]
    bad, _ = _outputs(tmp_path, np.array([1, 2, 3]), np.array([1, 2, 4]))
    assert bad == ["y: 1 integer value(s) differ from the reference (exact match)"]


SUMMARY = """SUT name : PySUT
Scenario : SingleStream
90.0th percentile latency (ns) : 187820
Result is : VALID
  Min duration satisfied : Yes
QPS w/o loadgen overhead        : 5463.70
90.00 percentile latency (ns)   : 187820
min_duration (ms): 200
"""
DETAIL = {"effective_scenario": "SingleStream", "result_validity": "VALID",
          "result_90.00_percentile_latency_ns": 187820, "result_qps_without_loadgen_overhead": 5463.7,
          "effective_min_duration_ms": 200}


def test_summary_figures_are_checked_against_the_detail_log():
    s = parse_summary(SUMMARY)
    assert s["Result is"] == "VALID" and s["Min duration satisfied"] == "Yes"
    assert summary_vs_detail(s, DETAIL) == []
    edited = parse_summary(SUMMARY.replace(": 187820\nResult", ": 93910\nResult"))
    assert summary_vs_detail(edited, DETAIL) == ["90.0th percentile latency (ns): summary 93910, detail log 187820"]
    # the summary prints QPS to 2 decimals (27.62) where the detail log has 27.625: equal to that rounding
    qps = {"result_qps_with_loadgen_overhead": 27.625}
    assert summary_vs_detail({"Result is": "VALID", "QPS w/ loadgen overhead": "27.62"}, qps) == []
    assert summary_vs_detail({"Result is": "VALID", "QPS w/ loadgen overhead": "27.52"}, qps) == [
        "QPS w/ loadgen overhead: summary 27.52, detail log 27.625"]
    assert summary_vs_detail(parse_summary("Scenario : SingleStream\n"), DETAIL) == [
        "the summary has no 'Result is' line"]


def test_settings_must_equal_the_kit():
    cfg = scenario_settings("server", min_duration_s=2, min_queries=100, target_qps=40, latency_bound_ms=15)
    log = {"requested_scenario": "Server", "effective_scenario": "Server", "requested_test_mode": "PerformanceOnly",
           "requested_min_duration_ms": 2000, "requested_max_duration_ms": 62000, "requested_min_query_count": 100,
           "requested_server_target_qps": 40, "requested_server_target_latency_ns": 15_000_000,
           "requested_server_target_latency_percentile": 0.99}
    assert cfg["max_duration_ms"] == 62000  # max(2 x 2 s, 2 s + 60 s)
    assert settings_vs_kit(cfg, log) == []
    assert settings_vs_kit(cfg, {**log, "requested_server_target_latency_ns": 30_000_000}) == [
        "latency bound (ns): log 30000000, kit 15000000"]
    assert settings_vs_kit(cfg, {k: v for k, v in log.items() if k != "requested_min_query_count"}) == [
        "min query count: not in the detail log, kit 100"]
    with pytest.raises(FitbenchError, match="--target-qps and --latency-bound"):
        scenario_settings("server")


def test_figures_from_the_detail_log():
    # batch 4; single-stream mean latency 2 ms -> 4 / 0.002 = 2000 inferences/s
    ss = figures({"scenario": "single-stream"}, {"result_mean_latency_ns": 2_000_000,
                                                 "result_50.00_percentile_latency_ns": 1_500_000}, 4)
    assert ss["throughput_ips"] == pytest.approx(2000) and ss["latency_p50_s"] == pytest.approx(0.0015)
    # offline 250 samples (batches) per second x 4 = 1000 inferences/s
    assert figures({"scenario": "offline"}, {"result_samples_per_second": 250.0}, 4)["throughput_ips"] == 1000
    # multi-stream: 8 samples per query, mean query latency 16 ms -> 8 x 4 / 0.016 = 2000
    ms = figures({"scenario": "multi-stream", "samples_per_query": 8}, {"result_mean_latency_ns": 16_000_000}, 4)
    assert ms["throughput_ips"] == pytest.approx(2000)


def test_manifest_digest_catches_an_edit(tmp_path):
    doc = {"format": "fitbench-kit/1", "files": {}, "name": "x"}
    doc["digest"] = digest(doc)
    (tmp_path / "kit.json").write_text(json.dumps(doc))
    assert read_manifest(tmp_path, "kit.json", "fitbench-kit/1", "kit")["name"] == "x"
    (tmp_path / "kit.json").write_text(json.dumps({**doc, "name": "y"}))
    with pytest.raises(KitError, match="was edited after it was written"):
        read_manifest(tmp_path, "kit.json", "fitbench-kit/1", "kit")
    with pytest.raises(KitError, match="is not a fitbench-kit-results/1 manifest"):
        read_manifest(tmp_path, "kit.json", "fitbench-kit-results/1", "results folder")


@pytest.mark.parametrize("args,message", [
    (["--scenario", "server"], "the server scenario needs the application's load and budget: --target-qps and "
                               "--latency-bound (ms)"),
    (["--scenario", "nightly"], "unknown scenario 'nightly'"),
    (["--tolerance", "int8=lots"], "--tolerance expects PRECISION=VALUE with a number, got int8='lots'"),
    (["--precision", "fp8"], "unknown precision 'fp8'"),
    (["--min-duration", "0"], "kit settings must be positive"),
    (["--sample-file", "input=missing.npy"], "sample file for 'input' not found: missing.npy"),
])
def test_create_bad_input_is_one_line(args, message, tmp_path):
    from typer.testing import CliRunner

    from fitbench.cli.app import _register, app

    _register()
    res = CliRunner().invoke(app, ["kit", "create", "tiny", "-o", str(tmp_path / "kit"), *args])
    assert res.exit_code == 2, res.output
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: " + message), err
    assert not (tmp_path / "kit").exists()


def test_create_uses_the_buyers_samples_and_refuses_a_used_folder(tmp_path):
    from fitbench.kit import create_kit

    x = np.random.default_rng(3).standard_normal((3, 1, 3, 32, 32)).astype(np.float32)  # 3 batches of 1
    np.save(tmp_path / "x.npy", x)
    kit = create_kit("tiny", tmp_path / "kit", sample_files={"input": str(tmp_path / "x.npy")}, archive=False,
                     scenarios=[scenario_settings("single-stream", min_duration_s=0.1)])
    assert kit.manifest["samples"]["count"] == 3 and kit.archive is None
    assert np.array_equal(np.load(tmp_path / "kit" / "samples" / "input0.npy"), x)
    with pytest.raises(KitError, match="already exists and is not empty"):
        create_kit("tiny", tmp_path / "kit")
