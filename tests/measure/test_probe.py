"""``fitbench hw probe``: the quick probe on this machine gives a spec that loads, with sane figures, and
estimates a zoo model; the derivations on hand numbers; bad input is one line and exit 2."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from fitbench.cli import hw as hw_cli
from fitbench.errors import MeasurementError
from fitbench.hardware.estimator import estimate
from fitbench.hardware.spec import load_hardware
from fitbench.measure.probe import dispatch_overhead, macs_per_cycle, net_rate, probe
from fitbench.profile import profile

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    hw_cli.register(a)
    return a


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    res = probe(threads=1, quick=True)
    path = tmp_path_factory.mktemp("probe") / "this-cpu.yaml"
    path.write_text(res.to_yaml())
    return res, load_hardware(str(path))


# ------------------------------------------------------------------ derivations on hand numbers

def test_macs_per_cycle_is_the_rate_over_the_clock_rounded():
    assert macs_per_cycle(52.0e9, 2.6e9) == 20          # 52 GMAC/s at 2.6 GHz
    assert macs_per_cycle(20.49e9, 2.596e9) == 8        # 7.89 -> 8
    assert macs_per_cycle(7.5e9, 1e9) == 8              # half rounds up
    assert macs_per_cycle(0.2e9, 3e9) == 1              # never 0
    with pytest.raises(ValueError):
        macs_per_cycle(0.0, 1e9)


def test_dispatch_overhead_from_two_chain_lengths():
    # 5 us per call, 0.3 us per op: t(1) = 5.3 us, t(200) = 5 + 200 x 0.3 = 65 us
    assert dispatch_overhead(5.3e-6, 65e-6) == pytest.approx(0.3e-6, rel=1e-9)
    assert dispatch_overhead(10e-6, 60e-6, n_short=10, n_long=110) == pytest.approx(0.5e-6, rel=1e-9)
    with pytest.raises(ValueError):
        dispatch_overhead(1e-6, 2e-6, n_short=5, n_long=5)


def test_net_rate_takes_the_fixed_costs_out():
    assert net_rate(100.0, 2.0, 1.0) == pytest.approx(100.0)      # 100 units in 2 s of which 1 s fixed
    assert net_rate(3 * 4 * 2**20, 1e-3) == pytest.approx(12 * 2**20 / 1e-3)
    with pytest.raises(ValueError):
        net_rate(1.0, 1e-6, 2e-6)


# ------------------------------------------------------------------ the probe on this machine

def _llc_bytes() -> int | None:
    """The largest cache level's size from sysfs, read here independently of the probe."""
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    best = (0, 0)
    for idx in base.glob("index*") if base.is_dir() else []:
        if (idx / "type").read_text().strip() == "Instruction":
            continue
        text = (idx / "size").read_text().strip()
        mult = {"K": 1024, "M": 1024 ** 2}.get(text[-1], 1)
        best = max(best, (int((idx / "level").read_text()), int(text.rstrip("KM")) * mult))
    return best[1] or None


def test_probe_figures_are_positive_and_sane(probed):
    res, _ = probed
    f = res.figures
    for name in ("per_call", "dispatch", "gemm_fp32", "conv", "depthwise", "matmul", "vector", "bandwidth"):
        assert name in f and math.isfinite(f[name].value), name
        x = f[name]
        assert x.samples >= 5 and x.calls_per_sample >= 1, name
        assert 0 < x.min_s <= x.p25_s <= x.median_s <= x.p75_s <= x.max_s, name
    # a GEMM rate between 1 GFLOP/s and 10 TFLOP/s (a MAC is 2 FLOPs)
    assert 1e9 <= 2 * f["gemm_fp32"].value <= 10e12
    assert 1e9 <= 2 * f["conv"].value <= 10e12 and 1e9 <= 2 * f["matmul"].value <= 10e12
    assert 0.1e9 <= 2 * f["depthwise"].value <= 10e12
    assert 1e9 <= f["bandwidth"].value <= 1e12                    # 1 GB/s .. 1 TB/s
    assert 0.1e9 <= f["vector"].value <= 1e13                      # element ops/s
    assert 0 < f["per_call"].value < 10e-3                         # a tiny session.run: under 10 ms
    assert -1e-6 < f["dispatch"].value < 1e-3                      # per op: under 1 ms (noise may dip below 0)
    if "gemm_int8" in f:
        assert 1e9 <= 2 * f["gemm_int8"].value <= 100e12


def test_probe_spec_loads_and_says_where_its_numbers_come_from(probed):
    res, spec = probed
    import onnxruntime

    assert spec.kind == "cpu" and spec.compute_efficiency == 1.0 and spec.dram_efficiency == 1.0
    assert spec.host_link is not None and spec.host_link.bandwidth is None      # on-soc: no copy
    assert spec.tdp_w is None
    assert f"measured by fitbench hw probe on {res.date}, threads 1, onnxruntime {onnxruntime.__version__}" \
        in spec.source
    f = res.figures
    # the spec's figures are the measured ones, derived by hand here
    assert spec.macs_per_cycle["fp32"] == max(1, math.floor(f["gemm_fp32"].value / spec.clock_hz + 0.5))
    assert spec.dram_bandwidth == pytest.approx(f["bandwidth"].value, rel=1e-3)
    assert spec.inference_overhead == pytest.approx(f["per_call"].value, rel=1e-3)
    assert spec.layer_overhead == pytest.approx(max(f["dispatch"].value, 0.0), rel=1e-3, abs=1e-12)
    assert spec.vector_ops_per_cycle * spec.clock_hz == pytest.approx(f["vector"].value, rel=1e-3)
    engines = {e.name: e for e in spec.engines}
    assert engines["depthwise"].runs == ("depthwise",) and engines["conv"].runs == ("conv",)
    assert engines["matmul"].runs == ("matmul",)
    for name in ("conv", "depthwise", "matmul"):
        assert engines[name].macs_per_cycle["fp32"] == max(1, math.floor(f[name].value / spec.clock_hz + 0.5))
    llc = _llc_bytes()
    if llc is not None:
        assert spec.sram_bytes == llc
    assert "gemm_fp16" not in f or spec.macs_per_cycle.get("fp16")


def test_probe_spec_estimates_the_tiny_zoo_model(probed):
    _, spec = probed
    est = estimate(profile("tiny", precision="fp32"), spec, batch=[1, 8], precision="fp32")
    p1, p8 = est.point(1), est.point(8)
    assert p1.feasible and p8.feasible
    assert p1.latency_s >= spec.inference_overhead and math.isfinite(p8.latency_s)
    assert p8.latency_s > p1.latency_s


def test_probe_rejects_zero_threads():
    with pytest.raises(MeasurementError, match="positive integer"):
        probe(threads=0, quick=True)


# ------------------------------------------------------------------ the command

@pytest.mark.parametrize("args, fragment", [
    (["hw", "probe", "--threads", "0", "--quick"], "--threads must be a positive integer"),
    (["hw", "probe", "--quick", "-o", "/no/such/folder/cpu.yaml"], "no such folder"),
])
def test_hw_probe_bad_input_is_one_line_exit_2(app, args, fragment):
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_hw_probe_writes_a_spec_file(app, tmp_path, probed, monkeypatch):
    res, _ = probed
    monkeypatch.setattr("fitbench.measure.probe.probe", lambda threads, quick: res)
    out = tmp_path / "this-cpu.yaml"
    r = runner.invoke(app, ["hw", "probe", "--quick", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert f"written to {out}" in r.output and "gemm_fp32" in r.output
    d = yaml.safe_load(out.read_text())
    assert d["kind"] == "cpu" and load_hardware(str(out)).name == res.name
