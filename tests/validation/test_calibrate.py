"""Calibration: exact recovery on synthetic points, one point -> one parameter, the band on held-out points,
point parsing, LoadGen / store sources, the calibrated YAML round trip, and the CLI's one-line errors."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.hardware.estimator import estimate
from fitbench.hardware.spec import load_hardware
from fitbench.profile import profile
from fitbench.validation.calibrate import (
    BOUND_PARAMETER,
    PRIOR_BAND,
    CalibrationError,
    CalibrationPoint,
    band_factor,
    calibrate,
    parse_point,
    parse_points,
    points_from_loadgen,
    points_from_store,
    spec_yaml,
)

_register()
runner = CliRunner()

BASE = {"name": "synthetic-chip", "source": "test: a made-up chip", "clock": "1 GHz",
        "macs_per_cycle": {"int8": 2048}, "sram": "2 MiB", "dram_bandwidth": "20 GB/s"}
# the truth: compute efficiency 0.6, 4 us per layer (the base copy leaves both at the generic defaults 1 and 0)
TRUTH = {**BASE, "compute_efficiency": 0.6, "layer_overhead": "4 us"}


@pytest.fixture(scope="module")
def profiles():
    return {m: profile(m, precision="int8") for m in ("resnet18", "mobilenet-v2", "mobilenet-v3-large")}


def synth(spec, profiles, model, batch, metric):
    ep = estimate(profiles[model], load_hardware(spec), batch=[batch], precision="int8").points[0]
    value = ep.latency_s if metric == "latency_s" else ep.throughput_ips
    return CalibrationPoint(model=model, batch=batch, metric=metric, value=value, source="synthetic")


def test_fit_recovers_a_known_spec(profiles):
    pts = [synth(TRUTH, profiles, "resnet18", 1, "latency_s"), synth(TRUTH, profiles, "resnet18", 8, "throughput_ips"),
           synth(TRUTH, profiles, "mobilenet-v2", 1, "latency_s"),
           synth(TRUTH, profiles, "mobilenet-v2", 16, "throughput_ips")]
    cal = calibrate(BASE, pts, params=["compute_efficiency", "layer_overhead"])
    assert cal.start == {"compute_efficiency": 1.0, "layer_overhead": 0.0}
    assert cal.fitted["compute_efficiency"] == pytest.approx(0.6, rel=1e-3)
    assert cal.fitted["layer_overhead"] == pytest.approx(4e-6, rel=1e-3)
    assert max(abs(r) for r in cal.residuals) < 1e-6
    s = cal.spec
    assert s.provenance == "calibrated" and s.name == "synthetic-chip-calibrated"
    assert s.calibration["base_spec_hash"] == load_hardware(BASE).spec_hash()
    assert len(s.calibration["points"]) == 4 and len(s.calibration["residuals"]) == 4
    assert "calibrated by fitbench on 4 point(s)" in s.source and "residual" in s.source
    # N = 4 > k = 2: the band comes from the residuals (exp(2 sqrt(sum r^2 / 2)) ~ 1 for an exact fit)
    assert cal.band_basis == "fit" and cal.band_factor == pytest.approx(1.0, abs=1e-5)


def test_one_point_fits_its_dominant_bound_parameter_exactly(profiles):
    pt = synth(TRUTH, profiles, "resnet18", 1, "latency_s")
    base_ep = estimate(profiles["resnet18"], load_hardware(BASE), batch=[1], precision="int8").points[0]
    bound = max(base_ep.bound_share.items(), key=lambda kv: kv[1])[0]
    cal = calibrate(BASE, [pt])
    assert list(cal.fitted) == [BOUND_PARAMETER[bound]]
    assert bound in cal.choice and BOUND_PARAMETER[bound] in cal.choice
    assert cal.points[0].after == pytest.approx(pt.value, rel=1e-6)
    # N = k = 1: no spare point, the stated prior
    assert cal.band_basis == "prior" and cal.band_factor == PRIOR_BAND


def test_one_point_fits_one_parameter_even_when_several_are_allowed(profiles):
    pt = synth(TRUTH, profiles, "mobilenet-v2", 4, "throughput_ips")
    cal = calibrate(BASE, [pt], params=["compute_efficiency", "layer_overhead"])
    assert len(cal.fitted) == 1
    assert cal.points[0].after == pytest.approx(pt.value, rel=1e-6)


def test_band_contains_the_truth_on_held_out_points(profiles):
    # the truth also differs in DRAM efficiency, which is not fitted: the residuals are not zero
    truth = {**TRUTH, "dram_efficiency": 0.4, "dram_bandwidth": "5 GB/s"}
    fit_on = [synth(truth, profiles, "resnet18", b, "throughput_ips") for b in (1, 4, 16)]
    fit_on += [synth(truth, profiles, "mobilenet-v2", b, "throughput_ips") for b in (1, 4, 16)]
    cal = calibrate(BASE, fit_on, params=["compute_efficiency", "layer_overhead"])
    assert cal.band_basis == "fit" and cal.band_factor > 1.01
    s = math.sqrt(sum(r * r for r in cal.residuals) / (6 - 2))
    assert cal.band_factor == pytest.approx(math.exp(2 * s))
    # held out: another model of the same kind (a far-off one, e.g. a two-layer toy, is outside what a fit on
    # CNNs says), and the fitted models at other batches and metrics
    held = [synth(truth, profiles, "mobilenet-v3-large", b, "throughput_ips") for b in (1, 8)]
    held += [synth(truth, profiles, "resnet18", 2, "latency_s"), synth(truth, profiles, "mobilenet-v2", 8,
                                                                       "latency_s")]
    for p in held:
        ep = estimate(profiles[p.model], cal.spec, batch=[p.batch], precision="int8").points[0]
        got = ep.latency_s if p.metric == "latency_s" else ep.throughput_ips
        assert ep.error_band == pytest.approx(cal.band_factor)
        assert 1 / cal.band_factor <= got / p.value <= cal.band_factor, p


def test_band_formula():
    assert band_factor([0.1, -0.1, 0.1], 1)[0] == pytest.approx(math.exp(2 * math.sqrt(0.03 / 2)))
    assert band_factor([0.1], 1) == (PRIOR_BAND, "prior")


def test_calibrated_yaml_loads_back_and_estimates_identically(profiles, tmp_path):
    pts = [synth(TRUTH, profiles, "resnet18", 1, "latency_s"), synth(TRUTH, profiles, "resnet18", 8, "throughput_ips")]
    cal = calibrate(BASE, pts, name="my-chip")
    path = tmp_path / "my-chip.yaml"
    path.write_text(spec_yaml(cal.spec))
    back = load_hardware(str(path))
    assert back.name == "my-chip" and back.provenance == "calibrated"
    assert back.calibration["band_factor"] == cal.band_factor
    for b in (1, 8):
        a = estimate(profiles["mobilenet-v2"], cal.spec, batch=[b], precision="int8").points[0]
        c = estimate(profiles["mobilenet-v2"], back, batch=[b], precision="int8").points[0]
        assert c.latency_s == a.latency_s and c.error_band == a.error_band == cal.band_factor


def test_parse_point():
    p = parse_point("resnet50:batch=32:ips=4000:precision=fp16:resolution=224x224")
    assert (p.model, p.batch, p.metric, p.value, p.precision, p.params) == (
        "resnet50", 32, "throughput_ips", 4000.0, "fp16", {"resolution": "224x224"})
    q = parse_point("bert-large:latency=2.5ms:seq_len=384")
    assert (q.batch, q.metric, q.value, q.params, q.precision) == (1, "latency_s", 0.0025, {"seq_len": 384}, "int8")
    assert len(parse_points("resnet50:batch=1:latency=1ms; resnet50:batch=8:ips=900")) == 2


@pytest.mark.parametrize("text", ["resnet50", "resnet50:ips=4000", "resnet50:batch=0:ips=4", "resnet50:batch=2:ips=-1",
                                  "resnet50:batch=1:latency=3 parsecs", "resnet50:batch=1:ips=3:latency=1ms",
                                  "resnet50:batch=1:ips=3:colour=red", "resnet50:batch=1:ips=3:precision=int3",
                                  "resnet50:batch=1:ips=3:resolution=big", ":batch=1:ips=3", "resnet50:batch"])
def test_bad_points_are_one_line_errors(text):
    with pytest.raises(CalibrationError) as exc:
        parse_point(text)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("args", [["nvidia-t4", "--point", "resnet50:batch=x:ips=3"],
                                  ["nvidia-t4"],
                                  ["nvidia-t4", "--point", "resnet50:batch=1:ips=3", "--params", "clock"],
                                  ["no-such-chip", "--point", "resnet50:batch=1:ips=3"],
                                  ["nvidia-t4", "--from-loadgen-log", "/no/such/dir", "--model", "resnet50"]])
def test_cli_bad_input_one_line_exit_2(args):
    r = runner.invoke(app, ["calibrate", *args])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_cli_calibrate_writes_a_spec(tmp_path):
    out = tmp_path / "t4.yaml"
    # MLPerf Inference v1.1 closed, Lenovo T4x1_TRT ResNet-50 SingleStream: 90th percentile 819062 ns
    # (mlcommons/inference_results_v1.1 closed/Lenovo/results/T4x1_TRT/resnet50/SingleStream/performance/run_1)
    r = runner.invoke(app, ["calibrate", "nvidia-t4", "--point", "resnet50:batch=1:latency=0.819062ms", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "layer_overhead" in r.output and f"x/÷{PRIOR_BAND:.3g}" in r.output
    spec = load_hardware(str(out))
    assert spec.name == "nvidia-t4-calibrated" and spec.calibration["fitted"].keys() == {"layer_overhead"}
    prof = profile("resnet50", precision="int8")
    ep = estimate(prof, spec, batch=[1], precision="int8").points[0]
    assert ep.latency_s == pytest.approx(0.819062e-3, rel=1e-5)


def test_loadgen_summaries(tmp_path):
    (tmp_path / "ss").mkdir()
    (tmp_path / "ss" / "mlperf_log_summary.txt").write_text(
        "================================================\nMLPerf Results Summary\n"
        "================================================\nSUT name : PySUT\nScenario : SingleStream\n"
        "Mode     : PerformanceOnly\n90th percentile latency (ns) : 819062\nResult is : VALID\n")
    (tmp_path / "off").mkdir()
    (tmp_path / "off" / "mlperf_log_summary.txt").write_text(
        "Scenario : Offline\nMode     : PerformanceOnly\nSamples per second: 5808.47\nResult is : VALID\n")
    pts = points_from_loadgen(tmp_path, model="resnet50", batch=4)
    got = sorted((p.metric, p.value, p.batch) for p in pts)
    assert got == [("latency_s", pytest.approx(819062e-9), 4), ("throughput_ips", 5808.47, 4)]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "mlperf_log_summary.txt").write_text("Scenario : Offline\n")
    with pytest.raises(CalibrationError, match="Samples per second"):
        points_from_loadgen(tmp_path / "bad", model="resnet50")


def test_points_from_store(tmp_path):
    from fitbench.store import ResultRecord, open_store

    st = open_store(tmp_path / "r.db")
    st.put(ResultRecord(kind="measure", model="resnet18", batch=1, precision="fp32", runtime="onnxruntime",
                        metrics={"scenario": "single-stream", "latency": {"p50_ms": 2.0}, "throughput": 500.0}))
    st.put(ResultRecord(kind="measure", model="resnet18", batch=8, precision="fp32", runtime="onnxruntime",
                        metrics={"scenario": "offline", "latency": {"p50_ms": 9.0}, "throughput": 880.0}))
    st.put(ResultRecord(kind="measure", model="mobilenet-v2", batch=1, precision="fp32", runtime="onnxruntime",
                        status="failed", cause="boom", metrics={}))
    pts = sorted(points_from_store(st, model="resnet18"), key=lambda p: p.batch)
    assert [(p.metric, p.value, p.batch, p.precision) for p in pts] == [
        ("latency_s", 0.002, 1, "fp32"), ("throughput_ips", 880.0, 8, "fp32")]
    with pytest.raises(CalibrationError, match="no successful measurement"):
        points_from_store(st, model="mobilenet-v2")


def _base_yaml(tmp_path):
    import yaml

    path = tmp_path / "synthetic.yaml"
    path.write_text(yaml.safe_dump(BASE))
    return str(path)


def test_cli_from_loadgen_log_and_json(tmp_path, profiles):
    truth = synth(TRUTH, profiles, "mobilenet-v2", 1, "latency_s")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "mlperf_log_summary.txt").write_text(
        f"Scenario : SingleStream\n90th percentile latency (ns) : {round(truth.value * 1e9)}\n")
    r = runner.invoke(app, ["calibrate", _base_yaml(tmp_path), "--from-loadgen-log", str(tmp_path / "logs"),
                            "--model", "mobilenet-v2", "--format", "json"])
    assert r.exit_code == 0, r.output
    import json

    d = json.loads(r.stdout)
    assert len(d["points"]) == 1 and d["points"][0]["point"]["metric"] == "latency_s"
    assert d["points"][0]["ratio_after"] == pytest.approx(1.0, abs=1e-6)
    assert d["calibrated_spec"]["provenance"] == "calibrated" and d["band_basis"] == "prior"


def test_cli_from_results_db(tmp_path, profiles):
    from fitbench.store import ResultRecord, open_store

    truth = [synth(TRUTH, profiles, "resnet18", b, "throughput_ips") for b in (1, 8, 32)]
    db = tmp_path / "r.db"
    st = open_store(db)
    for p in truth:
        st.put(ResultRecord(kind="measure", model="resnet18", batch=p.batch, precision="int8", runtime="x",
                            metrics={"scenario": "offline", "throughput": p.value}))
    st.close()
    r = runner.invoke(app, ["calibrate", _base_yaml(tmp_path), "--from", str(db), "--model", "resnet18",
                            "--params", "compute_efficiency,layer_overhead"])
    assert r.exit_code == 0, r.output
    assert "Error band" in r.output and "from the fit residuals" in r.output
    r = runner.invoke(app, ["calibrate", _base_yaml(tmp_path), "--from", str(tmp_path / "none.db")])
    assert r.exit_code == 2 and r.output.strip().startswith("error: ") and len(r.output.strip().splitlines()) == 1


# a fast chip: the per-layer overhead moves its predictions most, then compute, then DRAM
FAST_CHIP = {**BASE, "macs_per_cycle": {"int8": 65536}, "dram_bandwidth": "200 GB/s", "sram": "8 MiB"}


def test_several_points_fit_the_rates_before_the_overheads(profiles):
    pts = [synth(TRUTH, profiles, "resnet18", 1, "latency_s"), synth(TRUTH, profiles, "resnet18", 16, "throughput_ips")]
    cal = calibrate(FAST_CHIP, pts)
    # the overhead moves these predictions more than either rate does (by sensitivity it would come first),
    # yet the two rates are the two parameters fitted
    sens = cal.sensitivity
    assert sens["layer_overhead"] > sens["compute_efficiency"] > sens["dram_efficiency"] > 1e-6
    assert list(cal.fitted) == ["compute_efficiency", "dram_efficiency"]
    assert "rates" in cal.choice and "2 distinct condition(s)" in cal.choice


def test_the_same_condition_from_several_sources_fits_one_parameter(profiles):
    a = synth(TRUTH, profiles, "resnet18", 8, "throughput_ips")
    b = CalibrationPoint(model=a.model, batch=a.batch, metric=a.metric, value=a.value * 1.1, source="another lab")
    cal = calibrate(BASE, [a, b])
    assert len(cal.fitted) == 1 and "1 distinct condition(s)" in cal.choice
    # N = 2 > k = 1: the band comes from the two residuals, which straddle the fit: ln(1.1) apart
    assert cal.band_basis == "fit"
    r1, r2 = cal.residuals
    assert r1 - r2 == pytest.approx(math.log(1.1), rel=1e-3)
    assert cal.band_factor == pytest.approx(math.exp(2 * math.sqrt(r1 * r1 + r2 * r2)))
