"""--precision fp16 | int8 on onnxruntime converts an fp32 model (onnxruntime's own converters);
the converted model runs, stays close to fp32, costs the same MACs, and the conditions record it."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from measure_fast import FAST
from onnx import TensorProto, helper, numpy_helper

from fitbench.errors import MeasurementError
from fitbench.measure import measure
from fitbench.measure.convert import ConversionCache, convert, model_precision

X_SHAPE = {"x": (1, 3, 32, 32)}
X_DTYPE = {"x": "float32"}
# tiny_convnet MACs at batch 1 (testmodels docstring): conv1 8 out ch x 16x16 out x 3x3x3 taps,
# conv2 16 x 8x8 x 3x3x8, fc 16 x 10
TINY_MACS = 8 * 16 * 16 * (3 * 3 * 3) + 16 * 8 * 8 * (3 * 3 * 8) + 16 * 10


@pytest.fixture(scope="module")
def cache():
    c = ConversionCache()
    yield c
    c.cleanup()


def _run(path, x):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _ops(path) -> set[str]:
    return {n.op_type for n in onnx.load(path).graph.node}


def test_fp16_conversion_has_fp16_weights_and_fp32_io(conv_path, cache):
    c = convert(str(conv_path), "fp16", shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache)
    m = onnx.load(c.path)
    assert not c.as_is and c.actual == "fp16"
    assert {t.data_type for t in m.graph.initializer} == {TensorProto.FLOAT16}
    assert m.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT  # keep_io_types=True
    assert c.tool == "onnxruntime.transformers.float16.convert_float_to_float16"
    assert c.version == ort.__version__ and c.converted_sha256 == _sha(c.path)
    onnx.checker.check_model(m)  # topologically sorted (the converter appends its Casts at the end)


def test_int8_static_is_qdq_per_channel(conv_path, cache):
    c = convert(str(conv_path), "int8", shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache, seed=0)
    m = onnx.load(c.path)
    assert {"QuantizeLinear", "DequantizeLinear"} <= _ops(c.path)
    assert c.tool == "onnxruntime.quantization.quantize_static"
    assert "QDQ per-channel" in c.mode and "8 synthetic samples seeded 0..7" in c.mode
    # per-channel: the scale of conv2's weight has one entry per output channel (16)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    dq = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == "c2w_DequantizeLinear_Output"]
    assert dq and inits[dq[0].input[1]].shape == (16,)
    assert inits[dq[0].input[0]].dtype == np.int8


def test_outputs_stay_close_to_fp32(conv_path, cache):
    # an input outside the calibration set (seeds 0..7); same distribution N(0, 1)
    x = np.random.default_rng(100).standard_normal(X_SHAPE["x"]).astype(np.float32)
    ref = _run(conv_path, x)
    scale = float(np.abs(ref).max())
    # fp16: unit roundoff 2^-11 per rounding; ~5 chained ops with sums of <= 72 terms (fp32
    # accumulation in ORT's kernels) stay within a few units -> 1% of the output range is ample
    y16 = _run(convert(str(conv_path), "fp16", shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache).path, x)
    assert np.abs(y16 - ref).max() <= 1e-2 * scale
    # int8: each of the ~6 quantized tensors rounds to half a step of its range / 255 (about 0.2% of
    # its range); errors add through the layers -> 5% of the output range; a wrong scale or zero
    # point gives errors of the order of the output itself
    y8 = _run(convert(str(conv_path), "int8", shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache).path, x)
    assert np.abs(y8 - ref).max() <= 5e-2 * scale
    assert not np.allclose(y8, ref, rtol=0, atol=1e-7)  # really quantized: not bit-equal to fp32


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_profile_of_converted_model_costs_the_same_macs(conv_path, cache, precision):
    from fitbench.profile import profile

    c = convert(str(conv_path), precision, shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache)
    p32 = profile(str(conv_path), inputs=X_SHAPE)
    pc = profile(c.path, inputs=X_SHAPE)
    assert p32.totals.macs == TINY_MACS
    assert pc.totals.macs == p32.totals.macs and pc.totals.uncosted_count == 0


def test_cache_converts_once_per_sha_and_precision(conv_path):
    c = ConversionCache()
    try:
        a = convert(str(conv_path), "int8", shapes=X_SHAPE, dtypes=X_DTYPE, cache=c)
        b = convert(str(conv_path), "int8", shapes=X_SHAPE, dtypes=X_DTYPE, cache=c)
        assert a is b and len(c.done) == 1
        d = c.dir
    finally:
        c.cleanup()
    import os

    assert not os.path.exists(d)


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_model_already_at_precision_runs_as_is(conv_path, cache, precision):
    converted = convert(str(conv_path), precision, shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache).path
    assert model_precision(onnx.load(converted)) == precision
    again = convert(converted, precision, shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache)
    assert again.as_is and again.path == converted and "already " + precision in again.note


def test_int8_of_fp16_model_is_refused(conv_path, cache):
    c16 = convert(str(conv_path), "fp16", shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache).path
    with pytest.raises(MeasurementError, match="cannot convert a fp16 model to int8"):
        convert(c16, "int8", shapes=X_SHAPE, dtypes=X_DTYPE, cache=cache)


def test_integer_input_model_uses_dynamic_quantization(tmp_path, cache):
    rng = np.random.default_rng(0)
    emb = numpy_helper.from_array(rng.standard_normal((100, 32)).astype(np.float32), "emb")
    w = numpy_helper.from_array(rng.standard_normal((32, 16)).astype(np.float32), "w")
    g = helper.make_graph(
        [helper.make_node("Gather", ["emb", "ids"], ["e"]), helper.make_node("MatMul", ["e", "w"], ["y"])],
        "embed", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [emb, w],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "embed.onnx")
    r = measure(tmp_path / "embed.onnx", precision="int8", **FAST)
    assert r.ok, r.cause
    conv = r.conditions["conversion"]
    assert conv["tool"] == "onnxruntime.quantization.quantize_dynamic"
    assert r.precision == "int8" and r.conditions["input_dtypes"] == {"ids": "int64"}


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_measure_records_the_conversion(conv_path, precision):
    r = measure(conv_path, precision=precision, batch=[1, 2], **FAST)
    assert all(x.ok for x in r), [x.cause for x in r]
    c = r[0].conditions
    assert r[0].precision == precision and c["precision_requested"] == precision
    assert c["conversion"]["as_is"] is False and c["conversion"]["tool_version"] == ort.__version__
    sha = c["converted_model_sha256"]
    assert len(sha) == 64 and sha != c["model_sha256"]
    # one conversion for both batches (dynamic batch dim: the same file runs at batch 1 and 2)
    assert r[1].conditions["converted_model_sha256"] == sha and r[1].batch == 2


def test_fp32_runs_as_is_and_says_so(conv_path):
    r = measure(conv_path, **FAST)
    assert r.ok and r.precision == "fp32"
    assert r.conditions["conversion"]["as_is"] is True and r.conditions["converted_model_sha256"] is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"precision": "bf16"}, "onnxruntime cannot run bf16 here"),
        ({"precision": "int8", "runtime": "torch"}, "the torch runtime does not run int8"),
    ],
)
def test_unsupported_precision_is_one_line(conv_path, kwargs, match):
    model = "tiny-convnet" if kwargs.get("runtime") == "torch" else conv_path
    with pytest.raises(MeasurementError, match=match) as info:
        measure(model, **{**FAST, **kwargs})
    assert "\n" not in str(info.value)
