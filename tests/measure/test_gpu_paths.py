"""The CUDA code paths, tested without a GPU: the synchronise is inside the timed callable (fakes record
the order of calls), host-to-device copies are inside or outside it as ``include_h2d`` says, a session that
fell back to the CPU and a missing device are refused with one line; the host memory guard leaves a GPU's
activations to the GPU; benchmarks/gpu_check.py exits 0 with one line where no GPU exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from measure_fast import FAST

from fitbench.errors import MeasurementError
from fitbench.measure import measure
from fitbench.measure.memory import CUDA_HOST_ALLOWANCE, host_estimate_bytes
from fitbench.measure.runtimes.onnxruntime import check_session_providers, cuda_call, cuda_index

ROOT = Path(__file__).resolve().parents[2]


class _Out:
    def __init__(self, name):
        self.name = name


class _Binding:
    def __init__(self, log):
        self.log = log

    def bind_output(self, name, device, idx):
        self.log.append(("bind_output", name, device, idx))

    def bind_cpu_input(self, name, arr):
        self.log.append(("bind_cpu_input", name))

    def bind_ortvalue_input(self, name, value):
        self.log.append(("bind_ortvalue_input", name, value))

    def synchronize_inputs(self):
        self.log.append(("synchronize_inputs",))

    def synchronize_outputs(self):
        self.log.append(("synchronize_outputs",))


class _Session:
    def __init__(self, log):
        self.log = log
        self.binding = _Binding(log)

    def io_binding(self):
        return self.binding

    def get_outputs(self):
        return [_Out("y")]

    def run_with_iobinding(self, binding):
        self.log.append(("run",))


class _Ort:
    def __init__(self, log):
        outer = self

        class OrtValue:
            @staticmethod
            def ortvalue_from_numpy(arr, device, idx):
                outer.log.append(("ortvalue_from_numpy", device, idx))
                return "on-device"

        self.log = log
        self.OrtValue = OrtValue


def _ort_call(include_h2d, device_id=0):
    log: list = []
    call = cuda_call(_Session(log), _Ort(log), {"x": np.zeros((1, 4), np.float32)}, device_id, include_h2d)
    before = list(log)
    log.clear()
    call()
    return before, log


def test_ort_cuda_call_without_h2d_binds_inputs_once_and_synchronises_in_the_call():
    before, timed = _ort_call(include_h2d=False, device_id=1)
    assert ("bind_output", "y", "cuda", 1) in before  # outputs stay on the device: no D2H copy timed
    assert ("ortvalue_from_numpy", "cuda", 1) in before and before[-1] == ("synchronize_inputs",)
    assert timed == [("run",), ("synchronize_outputs",)]


def test_ort_cuda_call_with_h2d_copies_inputs_inside_the_call():
    before, timed = _ort_call(include_h2d=True)
    assert not any(e[0] in ("bind_cpu_input", "ortvalue_from_numpy") for e in before)
    assert timed == [("bind_cpu_input", "x"), ("run",), ("synchronize_outputs",)]


def test_ort_session_that_fell_back_to_cpu_is_refused():
    with pytest.raises(MeasurementError, match="could not start its CUDA provider") as info:
        check_session_providers(["CPUExecutionProvider"], "cuda:0")
    assert "\n" not in str(info.value)
    check_session_providers(["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda")
    check_session_providers(["CPUExecutionProvider"], "cpu")


@pytest.mark.parametrize("device, idx", [("cuda", 0), ("cuda:0", 0), ("cuda:3", 3), ("cpu", 0)])
def test_cuda_index(device, idx):
    assert cuda_index(device) == idx


@pytest.mark.parametrize("device", ["cuda:x", "cuda:-1"])
def test_bad_cuda_index_is_one_line(device):
    with pytest.raises(MeasurementError, match="cuda"):
        cuda_index(device)


class _FakeTensor:
    def __init__(self, log, where="host"):
        self.log, self.where = log, where

    def is_floating_point(self):
        return True

    def to(self, target, non_blocking=False):
        if isinstance(target, _FakeDevice):
            self.log.append(("h2d",))
            return _FakeTensor(self.log, "device")
        return self

    def pin_memory(self):
        return self


class _FakeDevice:
    type = "cuda"


class _FakeTorch:
    def __init__(self, log):
        outer = self
        self.log = log

        class cuda:
            @staticmethod
            def synchronize():
                outer.log.append(("synchronize",))

        self.cuda = cuda

    def from_numpy(self, arr):
        return _FakeTensor(self.log)

    def inference_mode(self):
        import contextlib

        return contextlib.nullcontext()


@pytest.mark.parametrize("include_h2d, timed", [
    (False, [("module",), ("synchronize",)]),
    (True, [("h2d",), ("module",), ("synchronize",)]),
])
def test_torch_cuda_call_synchronises_inside_the_timed_call(include_h2d, timed):
    from fitbench.measure.runtimes.torch import TorchRunner

    log: list = []
    r = object.__new__(TorchRunner)
    r.torch, r.device, r.dtype, r.include_h2d = _FakeTorch(log), _FakeDevice(), "float16", include_h2d
    r.module = lambda *xs: log.append(("module",))
    call = r.make_call({"x": np.zeros((1, 3), np.float32)})
    log.clear()
    call()
    assert log == timed


def test_cuda_device_without_a_gpu_is_refused_before_any_child(conv_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has onnxruntime's CUDA provider")
    with pytest.raises(MeasurementError, match="--device cuda: onnxruntime has no cuda device here") as info:
        measure(conv_path, device="cuda", **FAST)
    assert "\n" not in str(info.value)


def test_host_guard_leaves_gpu_activations_to_the_gpu():
    est = {"estimate_bytes": 5 * 100 + 4 * 30 + 7 + 200, "peak_activation_bytes": 30}
    assert host_estimate_bytes(est, "cpu") == 827
    assert host_estimate_bytes(est, "cuda") == 827 - 120 + CUDA_HOST_ALLOWANCE


def _gpu_check():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.pop(0)
    return gpu_check


@pytest.mark.parametrize("device_name, spec", [
    ("NVIDIA H200", "nvidia-h200"),
    ("NVIDIA H100 PCIe", "nvidia-h100-pcie"),
    ("NVIDIA H100 80GB HBM3", "nvidia-h100-sxm"),
    ("NVIDIA A100-SXM4-80GB", "nvidia-a100-sxm4-80gb"),
    ("NVIDIA A100-PCIE-40GB", "nvidia-a100-pcie-40gb"),
    ("Tesla T4", "nvidia-t4"),
    ("NVIDIA A10", "nvidia-a10"),
    ("NVIDIA GeForce RTX 4090", None),
])
def test_gpu_check_picks_the_catalog_spec_by_device_name(device_name, spec):
    from fitbench.hardware.spec import catalog_names

    names = catalog_names()
    assert spec is None or spec in names
    assert _gpu_check().catalog_spec(device_name, names) == spec


def test_gpu_check_without_a_gpu_says_so_and_exits_0():
    gc = _gpu_check()
    if gc.gpu_name() is not None:
        pytest.skip("this machine has a CUDA GPU")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")], capture_output=True,
                          text=True, timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "gpu_check: no CUDA GPU present on this machine; nothing measured"


def test_gpu_check_table_with_fake_runs(monkeypatch, capsys):
    """The printing path of a lent GPU, without one: fake ``fitbench run`` rows and estimates; the ratio lines
    are computed here by hand (batch-64 / batch-1 images/s)."""
    gc = _gpu_check()
    monkeypatch.setattr(gc, "gpu_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(gc, "runtimes_with_cuda", lambda: ["torch"])
    monkeypatch.setattr(gc, "estimates", lambda spec: {"resnet50": {1: 1000.0, 64: 8000.0},
                                                       "yolov3": {1: 100.0, 64: 150.0}})
    measured = {"resnet50": {1: 500.0, 64: 6000.0}, "yolov3": {1: 40.0, 64: 50.0}}

    def fake_run(model, res, runtime, args, out, wall_s):
        return [{"batch": b, "status": "ok", "throughput": measured[model][b]} for b in (1, 64)], ""

    monkeypatch.setattr(gc, "run_point", fake_run)
    assert gc.main([]) == 0
    out = capsys.readouterr().out
    assert "catalog spec nvidia-h200" in out
    assert "resnet50  torch        batch-64 / batch-1: measured 12.00x, estimated 8.00x" in out
    assert "yolov3    torch        batch-64 / batch-1: measured 1.25x, estimated 1.50x" in out
    assert "onnxruntime  skipped: no CUDA device for it here" in out
    assert "0 failed measurement(s)" in out


def test_gpu_check_counts_a_failed_point(monkeypatch, capsys):
    gc = _gpu_check()
    monkeypatch.setattr(gc, "gpu_name", lambda: "NVIDIA H200")
    monkeypatch.setattr(gc, "runtimes_with_cuda", lambda: ["onnxruntime"])
    monkeypatch.setattr(gc, "estimates", lambda spec: {})
    monkeypatch.setattr(gc, "run_point", lambda *a, **k: ([], "error: the runtime crashed"))
    assert gc.main([]) == 1
    out = capsys.readouterr().out
    assert "failed: error: the runtime crashed" in out and "2 failed measurement(s)" in out
