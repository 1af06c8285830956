"""Quantized ops and models: MACs follow the float op, integer tensors keep their native bytes."""

from __future__ import annotations

import pytest
from onnx import helper
from profile_builders import init, layer, make_model, vi

from fitbench.profile import profile


def qlinear_conv_model():
    inits = [
        init("xs", [], value=0.1), init("xz", [], "uint8", 128),
        init("w", [4, 3, 3, 3], "int8"), init("ws", [], value=0.02), init("wz", [], "int8", 0),
        init("ys", [], value=0.2), init("yz", [], "uint8", 128), init("b", [4], "int32"),
    ]
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"], name="qconv",
                            pads=[1] * 4)
    return make_model([node], [vi("x", [1, 3, 8, 8], "uint8")], [vi("y", None, "uint8")], inits)


def test_qlinear_conv():
    prof = profile(qlinear_conv_model())
    q = layer(prof, "qconv")
    assert q.macs == 1 * 4 * 8 * 8 * 3 * 9
    assert q.other_ops == 4 * 64 + 4 * 64  # requantise every output, plus the int32 bias add
    # weights: kernel, bias, and the six quantisation scalars (constants the graph consumes)
    assert q.weights == 4 * 3 * 9 + 4 + 6
    # int8 kernel 1 B, int32 bias 4 B, uint8/int8 zero points 1 B, float scales at the fp32 weight precision
    assert q.weight_bytes == 108 * 1 + 4 * 4 + 3 * 1 + 3 * 4
    assert q.input_activation_bytes == 3 * 64 * 1  # uint8 input keeps its native size
    assert q.output_activation_bytes == 4 * 64 * 1
    assert q.winograd_eligible is True


def test_quantized_tensors_keep_native_size_whatever_the_precision():
    fp32 = profile(qlinear_conv_model(), precision="fp32")
    fp16 = profile(qlinear_conv_model(), precision="fp16")
    # only the three float scales change size (4 B -> 2 B); integer tensors stay as they are
    assert fp32.totals.weight_bytes - fp16.totals.weight_bytes == 3 * (4 - 2)
    assert fp32.totals.activation_bytes == fp16.totals.activation_bytes == 3 * 64 + 4 * 64


def test_qlinear_matmul():
    inits = [init("as", [], value=0.1), init("az", [], "uint8", 0), init("b", [4, 5], "int8"),
             init("bs", [], value=0.1), init("bz", [], "int8", 0), init("ys", [], value=0.1),
             init("yz", [], "uint8", 0)]
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"], name="qmm")
    prof = profile(make_model([node], [vi("a", [2, 3, 4], "uint8")], [vi("y", None, "uint8")], inits))
    q = layer(prof, "qmm")
    assert q.macs == 2 * 3 * 4 * 5
    assert q.other_ops == 2 * 3 * 5
    assert q.output_shapes == [[2, 3, 5]]


def test_conv_integer_and_matmul_integer():
    nodes = [
        helper.make_node("ConvInteger", ["x", "w", "xz"], ["c"], name="cint"),
        helper.make_node("MatMulInteger", ["a", "b"], ["m"], name="mmint"),
    ]
    inits = [init("w", [4, 3, 3, 3], "uint8"), init("xz", [], "uint8", 3), init("b", [4, 5], "uint8")]
    m = make_model(nodes, [vi("x", [1, 3, 8, 8], "uint8"), vi("a", [3, 4], "uint8")],
                   [vi("c", None, "int32"), vi("m", None, "int32")], inits)
    prof = profile(m, precision="int8")
    cint, mmint = layer(prof, "cint"), layer(prof, "mmint")
    assert cint.macs == 4 * 6 * 6 * 3 * 9
    assert cint.output_activation_bytes == 4 * 36 * 4  # int32 accumulators: 4 bytes each
    assert mmint.macs == 3 * 4 * 5
    assert mmint.output_activation_bytes == 3 * 5 * 4


def qdq_model():
    """x -> Q -> DQ -> Conv(W = DQ(int8 kernel)) -> y: the usual QDQ export of an int8 model."""
    inits = [init("s", [], value=0.1), init("z", [], "uint8", 128), init("wq", [4, 3, 3, 3], "int8"),
             init("ws", [4], value=[0.1] * 4), init("wz", [4], "int8")]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], name="q_x"),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"], name="dq_x"),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], name="dq_w", axis=0),
        helper.make_node("Conv", ["xd", "wd"], ["y"], name="conv", pads=[1] * 4),
    ]
    return make_model(nodes, [vi("x", [1, 3, 8, 8])], ["y"], inits)


def test_qdq_model():
    prof = profile(qdq_model())
    assert layer(prof, "conv").macs == 4 * 64 * 27
    assert layer(prof, "q_x").other_ops == 3 * 64
    assert layer(prof, "dq_x").other_ops == 3 * 64
    assert layer(prof, "dq_w").other_ops == 4 * 27
    assert prof.totals.macs == 4 * 64 * 27
    # the int8 kernel is counted once, at 1 byte, where the graph reads it (not again as fp32 at the Conv)
    assert prof.totals.weights == 108 + 1 + 1 + 4 + 4
    assert prof.totals.weight_bytes == 108 * 1 + (4 + 1) + (4 * 4 + 4 * 1)
    assert layer(prof, "conv").weights == 0
    # the dequantised kernel is computed from constants only: it is not an activation
    assert prof.totals.activation_bytes == 3 * 64 * 4 + 3 * 64 * 1 + 3 * 64 * 4 + 4 * 64 * 4
    assert layer(prof, "conv").input_activation_bytes == 3 * 64 * 4


@pytest.mark.parametrize("prec,per", [("int8", 1), ("fp16", 2), ("bf16", 2), ("fp32", 4)])
def test_precision_bytes_of_a_float_model(prec, per):
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1] * 4)
    m = make_model([node], [vi("x", [2, 3, 16, 16])], ["y"], [init("w", [8, 3, 3, 3]), init("b", [8])])
    prof = profile(m, precision=prec)
    assert prof.totals.weight_bytes == (8 * 27 + 8) * per
    assert prof.totals.activation_bytes == (2 * 3 * 256 + 2 * 8 * 256) * per
    assert prof.totals.largest_activation_bytes == 2 * 8 * 256 * per
    assert prof.conditions.weight_precision == prof.conditions.activation_precision == prec


def test_weight_and_activation_precision_differ():
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1] * 4)
    m = make_model([node], [vi("x", [1, 3, 16, 16])], ["y"], [init("w", [8, 3, 3, 3])])
    prof = profile(m, weight_precision="int8", activation_precision="fp16")
    assert prof.totals.weight_bytes == 8 * 27 * 1
    assert prof.totals.activation_bytes == (3 * 256 + 8 * 256) * 2
    assert (prof.conditions.weight_precision, prof.conditions.activation_precision) == ("int8", "fp16")
    assert prof.totals.macs == profile(m, precision="fp32").totals.macs  # precision never changes MACs
