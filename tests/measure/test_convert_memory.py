"""Precision conversion runs in a child under the memory guard: estimated first and refused with one line
before any work when it would not fit; calibration bounded (8 samples, batch 1 for a dynamic batch dim) and
recorded; the cache still converts once across batches."""

from __future__ import annotations

import onnx
import pytest
from measure_fast import FAST

from fitbench.errors import MeasurementError
from fitbench.measure import isolate, measure, testmodels
from fitbench.measure.convert import ConversionCache, convert

N_FEAT = 256  # matmul_model(n=256, layers=1): x [N, 256] @ w [256, 256] -> y [N, 256], fp32
MIB = 2**20


@pytest.fixture()
def mm_path(tmp_path):
    p = tmp_path / "mm.onnx"
    onnx.save(testmodels.matmul_model(n=N_FEAT), p)
    return str(p)


def _expected_int8_estimate(calib_batch: int) -> int:
    """The documented rule, by hand: 5 x weight bytes + 2.5 x the bytes of every activation tensor at the
    calibration batch (y, the one MatMul's output) + one sample's input bytes + a 200 MiB runtime allowance."""
    weights = N_FEAT * N_FEAT * 4
    acts = calib_batch * N_FEAT * 4
    inputs = calib_batch * N_FEAT * 4
    return 5 * weights + int(2.5 * acts) + inputs + 200 * MIB


def _no_child(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a conversion child was started")

    monkeypatch.setattr(isolate, "run_isolated", boom)


def test_int8_too_large_for_the_guard_is_refused_before_any_work(mm_path, monkeypatch):
    _no_child(monkeypatch)
    cache = ConversionCache()
    limit = _expected_int8_estimate(1) - 1  # one byte short of the estimate
    with pytest.raises(MeasurementError) as info:
        convert(mm_path, "int8", shapes={"x": (4, N_FEAT)}, dtypes={"x": "float32"}, cache=cache,
                memory_limit_bytes=limit)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("the int8 conversion of mm.onnx (calibration at shapes {'x': [1, 256]})")
    assert f"{_expected_int8_estimate(1) / 2**30:.2f} GiB" in msg
    assert cache.dir is None and not cache.done  # nothing written, nothing converted


def test_measure_refuses_the_conversion_with_one_line(mm_path, monkeypatch):
    _no_child(monkeypatch)
    with pytest.raises(MeasurementError, match="the int8 conversion of") as info:
        measure(mm_path, inputs={"x": (4, N_FEAT)}, precision="int8", memory_limit_bytes=100 * MIB, **FAST)
    assert "\n" not in str(info.value)


def test_conversion_at_its_estimate_runs_and_records_calibration(mm_path):
    cache = ConversionCache()
    try:
        c = convert(mm_path, "int8", shapes={"x": (4, N_FEAT)}, dtypes={"x": "float32"}, cache=cache, seed=3,
                    memory_limit_bytes=_expected_int8_estimate(1))
    finally:
        cache.cleanup()
    d = c.to_dict()
    assert d["tool"] == "onnxruntime.quantization.quantize_static"
    cal = d["calibration"]
    assert cal["samples"] == 8 and cal["seeds"] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert cal["shapes"] == {"x": [1, N_FEAT]} and cal["batch"] == 1 and "dynamic" in cal["rule"]
    mem = d["memory"]
    assert mem["estimate_bytes"] == _expected_int8_estimate(1) == mem["limit_bytes"]
    assert 0 < mem["child_peak_rss_bytes"] <= mem["limit_bytes"]


def test_fixed_batch_calibrates_at_the_bound_batch(tmp_path):
    m = testmodels.matmul_model(n=N_FEAT)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 4  # batch fixed in the file
    p = tmp_path / "fixed.onnx"
    onnx.save(m, p)
    cache = ConversionCache()
    try:
        c = convert(str(p), "int8", shapes={"x": (4, N_FEAT)}, dtypes={"x": "float32"}, cache=cache)
    finally:
        cache.cleanup()
    assert c.calibration["batch"] == 4 and c.calibration["shapes"] == {"x": [4, N_FEAT]}
    assert c.memory["estimate_bytes"] == _expected_int8_estimate(4)


def test_fp16_estimate_is_weights_only(mm_path, monkeypatch):
    _no_child(monkeypatch)
    with pytest.raises(MeasurementError, match="the fp16 conversion of mm.onnx needs about") as info:
        convert(mm_path, "fp16", shapes={"x": (4, N_FEAT)}, dtypes={"x": "float32"},
                memory_limit_bytes=5 * N_FEAT * N_FEAT * 4 + 200 * MIB - 1)
    assert "calibration" not in str(info.value)


def test_conversion_child_over_the_guard_is_killed(mm_path, monkeypatch):
    monkeypatch.setenv("FITBENCH_CONVERT_FAULT", "oom")
    with pytest.raises(MeasurementError, match="int8 conversion failed in its child: out of memory") as info:
        convert(mm_path, "int8", shapes={"x": (4, N_FEAT)}, dtypes={"x": "float32"},
                memory_limit_bytes=400 * MIB, timeout_s=60)
    assert "\n" not in str(info.value)


def test_measure_converts_once_across_batches_and_records_it(conv_path):
    r = measure(conv_path, precision="int8", batch=[2, 3], **FAST)
    assert all(x.ok for x in r), [x.cause for x in r]
    c0, c1 = (x.conditions["conversion"] for x in r)
    assert c0["converted_model_sha256"] == c1["converted_model_sha256"]  # one conversion (ConversionCache)
    assert c0["calibration"]["shapes"] == {"x": [1, 3, 32, 32]} and c0["calibration"]["samples"] == 8
    assert c0["memory"]["child_peak_rss_bytes"] > 0


def test_batch_baked_into_the_graph_falls_back_to_the_bound_batch(tmp_path):
    """Dynamic input dim, but a Reshape to a fixed [4, 256] inside: batch 1 cannot run, so the calibration
    runs at the bound shapes and says why."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.eye(N_FEAT, dtype=np.float32), "w")
    shape = numpy_helper.from_array(np.array([4, N_FEAT], dtype=np.int64), "shape")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Reshape", ["y", "shape"], ["z"])],
        "baked", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", N_FEAT])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], [w, shape],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    p = tmp_path / "baked.onnx"
    onnx.save(m, p)
    cache = ConversionCache()
    try:
        c = convert(str(p), "int8", shapes={"x": (4, N_FEAT)}, dtypes={"x": "float32"}, cache=cache)
    finally:
        cache.cleanup()
    assert c.calibration["batch"] == 4 and c.calibration["rule"].startswith("at the bound shapes: calibration at "
                                                                             "batch 1 failed (int8 quantization failed")
