"""Weights (what counts as a parameter), activations, liveness / peak and the Winograd figures."""

from __future__ import annotations

import pytest
from onnx import helper, numpy_helper
from profile_builders import init, layer, make_model, vi

from fitbench.profile import WINOGRAD_F2, WINOGRAD_F4, profile

# ------------------------------------------------------------------ weights


def test_initializers_and_constant_nodes_count_shape_inputs_do_not():
    kernel = numpy_helper.from_array(__import__("numpy").zeros((4, 3, 3, 3), "float32"), "k")
    shape = numpy_helper.from_array(__import__("numpy").array([0, -1], "int64"), "s")
    nodes = [
        helper.make_node("Constant", [], ["w"], name="const_w", value=kernel),
        helper.make_node("Constant", [], ["shape"], name="const_shape", value=shape),
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1] * 4),
        helper.make_node("Reshape", ["c", "shape"], ["r"], name="flatten"),
        helper.make_node("Unsqueeze", ["r", "axes"], ["u"], name="unsq"),
    ]
    inits = [init("b", [4]), init("axes", [1], "int64", [1])]
    prof = profile(make_model(nodes, [vi("x", [2, 3, 8, 8])], ["u"], inits))
    assert layer(prof, "conv").weights == 4 * 3 * 9 + 4  # Constant-node kernel + initializer bias
    assert layer(prof, "flatten").weights == 0  # a shape
    assert layer(prof, "unsq").weights == 0  # axes
    assert layer(prof, "const_w").weights == 0  # counted where it is consumed, not where it is made
    assert prof.totals.weights == 4 * 27 + 4
    assert prof.totals.weight_bytes == (4 * 27 + 4) * 4


def test_shared_weight_counts_once():
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"], name="mm1"),
        helper.make_node("MatMul", ["a", "w"], ["b"], name="mm2"),  # the same tied weight
    ]
    prof = profile(make_model(nodes, [vi("x", [2, 8])], ["b"], [init("w", [8, 8])]))
    assert prof.totals.weights == 8 * 8
    assert layer(prof, "mm1").weights + layer(prof, "mm2").weights == 8 * 8
    assert prof.totals.macs == 2 * (2 * 8 * 8)


def test_embedding_table_is_a_weight_its_indices_are_not():
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"], name="embed")]
    prof = profile(make_model(nodes, [vi("ids", [2, 5], "int64")], ["e"], [init("table", [100, 16])]))
    emb = layer(prof, "embed")
    assert emb.weights == 100 * 16
    assert emb.output_shapes == [[2, 5, 16]]
    assert emb.input_activation_bytes == 2 * 5 * 8  # int64 ids keep their native 8 bytes


def test_cast_of_fp16_weights_is_not_an_activation():
    nodes = [
        helper.make_node("Cast", ["w16"], ["w32"], name="cast_w", to=1),
        helper.make_node("MatMul", ["x", "w32"], ["y"], name="mm"),
    ]
    prof = profile(make_model(nodes, [vi("x", [4, 8])], ["y"], [init("w16", [8, 8], "float16")]))
    assert prof.totals.weights == 64
    assert prof.totals.activation_bytes == (4 * 8 + 4 * 8) * 4  # x and y only


# ------------------------------------------------------------------ liveness


def liveness_graph():
    """x[1,1000] -> a = x W1 [2000] -> b = a W2 [500] -> c = concat(a, b) [2500] -> y = c W3 [10]."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["a"], name="mm_a"),
        helper.make_node("MatMul", ["a", "w2"], ["b"], name="mm_b"),
        helper.make_node("Concat", ["a", "b"], ["c"], name="cat", axis=1),
        helper.make_node("MatMul", ["c", "w3"], ["y"], name="mm_y"),
    ]
    inits = [init("w1", [1000, 2000]), init("w2", [2000, 500]), init("w3", [2500, 10])]
    return make_model(nodes, [vi("x", [1, 1000])], ["y"], inits)


@pytest.mark.parametrize("prec,per", [("fp32", 4), ("fp16", 2), ("int8", 1)])
def test_peak_live_on_a_hand_built_graph(prec, per):
    prof = profile(liveness_graph(), precision=prec)
    x, a, b, c, y = 1000 * per, 2000 * per, 500 * per, 2500 * per, 10 * per
    # step 0: x,a   step 1: a,b   step 2: a,b,c (a and b die after the concat)   step 3: c,y
    assert prof.totals.peak_live_activation_bytes == max(x + a, a + b, a + b + c, c + y) == a + b + c
    assert prof.totals.largest_activation_bytes == c
    assert prof.totals.largest_activation_tensor.name == "c"
    assert prof.totals.largest_activation_tensor.shape == [1, 2500]
    assert prof.totals.activation_bytes == x + a + b + c + y


def test_graph_input_stays_live_until_its_last_use():
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="r1"),
        helper.make_node("Relu", ["a"], ["b"], name="r2"),
        helper.make_node("Relu", ["b"], ["c"], name="r3"),
        helper.make_node("Add", ["x", "c"], ["y"], name="skip"),
    ]
    prof = profile(make_model(nodes, [vi("x", [1, 100])], ["y"]))
    t = 100 * 4
    # x is alive through every step; each step holds x, the step's input and its output
    assert prof.totals.peak_live_activation_bytes == 3 * t


# ------------------------------------------------------------------ Winograd


def test_winograd_figures():
    nodes = [
        helper.make_node("Conv", ["x", "wa", "ba"], ["a"], name="conv3x3", pads=[1] * 4),
        helper.make_node("Conv", ["a", "wb", "bb"], ["y"], name="conv1x1"),
    ]
    inits = [init("wa", [8, 8, 3, 3]), init("ba", [8]), init("wb", [4, 8, 1, 1]), init("bb", [4])]
    prof = profile(make_model(nodes, [vi("x", [1, 8, 16, 16])], ["y"], inits))
    t = prof.totals
    eligible = 8 * 256 * 8 * 9
    other = 4 * 256 * 8
    f = eligible / (eligible + other)
    assert t.winograd_eligible_macs == eligible
    assert t.winograd_mac_fraction == pytest.approx(f)
    assert t.winograd_speedup_f2 == pytest.approx(1 / ((1 - f) + f / 2.25))
    assert t.winograd_speedup_f4 == pytest.approx(1 / ((1 - f) + f / 4))
    # only the 3x3 kernel grows (16/9 for F(2x2,3x3)); biases and other layers do not
    total_weights = 8 * 8 * 9 + 8 + 4 * 8 + 4
    assert t.winograd_eligible_weights == 8 * 8 * 9
    assert t.winograd_weight_growth_f2 == pytest.approx((total_weights + 8 * 8 * 9 * (16 / 9 - 1)) / total_weights)
    assert (WINOGRAD_F2, WINOGRAD_F4) == (9 * 4 / 16, 9 * 16 / 36)


def test_no_eligible_conv_means_no_speedup():
    prof = profile(make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [vi("x", [2, 8])], ["y"],
                              [init("w", [8, 8])]))
    t = prof.totals
    assert (t.winograd_eligible_macs, t.winograd_mac_fraction) == (0, 0.0)
    assert t.winograd_speedup_f2 == t.winograd_speedup_f4 == t.winograd_weight_growth_f2 == 1.0


def test_constants_that_only_build_shapes_are_not_weights():
    # the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain PyTorch exports for x.view(x.size(0), -1)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsqueeze"),
        helper.make_node("Concat", ["n1", "minus_one"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "w"], ["y"], name="fc"),
    ]
    inits = [init("zero", [], "int64", 0), init("axes", [1], "int64", [0]), init("minus_one", [1], "int64", [-1]),
             init("w", [12, 5])]
    prof = profile(make_model(nodes, [vi("x", [2, 3, 4])], ["y"], inits))
    assert layer(prof, "concat").weights == 0
    assert prof.totals.weights == 12 * 5
    assert layer(prof, "fc").macs == 2 * 12 * 5


def test_initial_states_are_not_weights():
    h = 4
    nodes = [
        helper.make_node("Expand", ["zeros", "state_shape"], ["h0"], name="expand_h0"),
        helper.make_node("GRU", ["x", "W", "R", "", "", "h0"], ["y"], name="gru", hidden_size=h),
    ]
    inits = [init("zeros", [1, 1, h]), init("state_shape", [3], "int64", [1, 2, h]), init("W", [1, 3 * h, 5]),
             init("R", [1, 3 * h, h])]
    prof = profile(make_model(nodes, [vi("x", [6, 2, 5])], ["y"], inits))
    assert prof.totals.weights == 3 * h * 5 + 3 * h * h


def test_a_tensor_read_inside_a_loop_body_stays_live_through_the_loop():
    body = helper.make_graph(
        [helper.make_node("Add", ["xin", "a"], ["xo"], name="body_add"),  # reads `a` from the outer scope
         helper.make_node("Identity", ["cin"], ["cout"], name="body_cond")],
        "body", [vi("i", [], "int64"), vi("cin", [], "bool"), vi("xin", [1, 1000])],
        [vi("cout", [], "bool"), vi("xo", [1, 1000])])
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("Loop", ["M", "", "x"], ["y"], name="loop", body=body)]
    m = make_model(nodes, [vi("x", [1, 1000])], [vi("y", [1, 1000])], [init("M", [], "int64", 2)])
    prof = profile(m)
    t = 1000 * 4
    assert layer(prof, "loop").other_ops == 2 * 1000
    # step 1 (the loop) holds x, a (read by the body) and y
    assert prof.totals.peak_live_activation_bytes == 3 * t


def test_a_tensor_read_twice_by_one_node_is_one_input():
    prof = profile(make_model([helper.make_node("Mul", ["x", "x"], ["y"], name="square")], [vi("x", [3, 5])], ["y"]))
    sq = layer(prof, "square")
    assert sq.input_activation_bytes == 3 * 5 * 4
    assert sq.other_ops == 3 * 5
