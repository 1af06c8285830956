"""If / Loop / Scan: bodies costed times the trip count when it is known, otherwise uncosted."""

from __future__ import annotations

from onnx import helper
from profile_builders import init, layer, make_model, vi

from fitbench.profile import profile

MM = 2 * 4 * 4  # one MatMul of a [2, 4] state by a [4, 4] weight


def loop_body(cond_node: helper.NodeProto | None = None, weight: str = "wb") -> object:
    nodes = [helper.make_node("MatMul", ["xin", weight], ["xo"], name="body_mm")]
    nodes.append(cond_node or helper.make_node("Identity", ["cin"], ["cout"], name="body_cond"))
    return helper.make_graph(nodes, "body", [vi("i", [], "int64"), vi("cin", [], "bool"), vi("xin", [2, 4])],
                             [vi("cout", [], "bool"), vi("xo", [2, 4])])


def test_loop_with_constant_trip_count():
    loop = helper.make_node("Loop", ["M", "", "x"], ["y"], name="loop", body=loop_body())
    m = make_model([loop], [vi("x", [2, 4])], ["y"], [init("M", [], "int64", 5), init("wb", [4, 4])])
    prof = profile(m)
    lp = layer(prof, "loop")
    assert lp.rule == "loop"
    assert lp.macs == 5 * MM
    assert prof.totals.macs == 5 * MM
    assert prof.uncosted == []
    # the body's weight (read from the outer scope) is a model parameter, counted once
    assert prof.totals.weights == 4 * 4
    assert lp.weights == 4 * 4


def test_loop_with_constant_true_condition_input():
    loop = helper.make_node("Loop", ["M", "c", "x"], ["y"], name="loop", body=loop_body())
    m = make_model([loop], [vi("x", [2, 4])], ["y"],
                   [init("M", [], "int64", 3), init("c", [], "bool", True), init("wb", [4, 4])])
    assert layer(profile(m), "loop").macs == 3 * MM


def test_loop_with_runtime_trip_count_is_uncosted():
    loop = helper.make_node("Loop", ["M", "", "x"], ["y"], name="loop", body=loop_body())
    m = make_model([loop], [vi("x", [2, 4]), vi("M", [], "int64")], ["y"], [init("wb", [4, 4])])
    prof = profile(m)
    assert layer(prof, "loop").macs is None
    assert [(u.op_type, u.nodes) for u in prof.uncosted] == [("Loop", ["loop"])]
    assert "trip count" in prof.uncosted[0].reason


def test_loop_whose_body_decides_when_to_stop_is_uncosted():
    stop = helper.make_node("Less", ["i", "limit"], ["cout"], name="body_less")
    loop = helper.make_node("Loop", ["M", "", "x"], ["y"], name="loop", body=loop_body(stop))
    m = make_model([loop], [vi("x", [2, 4])], ["y"],
                   [init("M", [], "int64", 100), init("limit", [], "int64", 7), init("wb", [4, 4])])
    prof = profile(m)
    assert layer(prof, "loop").macs is None
    assert "data-dependent" in prof.uncosted[0].reason


def test_nested_loops_multiply_trip_counts():
    inner = helper.make_node("Loop", ["M2", "", "xin"], ["xo"], name="inner", body=loop_body())
    outer_body = helper.make_graph(
        [inner, helper.make_node("Identity", ["cin"], ["cout"], name="outer_cond")], "outer_body",
        [vi("i", [], "int64"), vi("cin", [], "bool"), vi("xin", [2, 4])], [vi("cout", [], "bool"), vi("xo", [2, 4])])
    outer = helper.make_node("Loop", ["M", "", "x"], ["y"], name="outer", body=outer_body)
    m = make_model([outer], [vi("x", [2, 4])], ["y"],
                   [init("M", [], "int64", 3), init("M2", [], "int64", 4), init("wb", [4, 4])])
    prof = profile(m)
    assert layer(prof, "outer").macs == 3 * 4 * MM
    assert prof.totals.weights == 4 * 4


def branch(name: str, weight: str) -> object:
    return helper.make_graph([helper.make_node("MatMul", ["x", weight], [f"{name}_y"], name=f"{name}_mm")], name, [],
                             [vi(f"{name}_y", [2, 3])])


def test_if_with_constant_condition_costs_the_taken_branch():
    then_g = branch("then", "wt")
    else_g = helper.make_graph([helper.make_node("Relu", ["x"], ["else_y"], name="else_relu")], "else", [],
                               [vi("else_y", [2, 4])])
    node = helper.make_node("If", ["cond"], ["y"], name="if", then_branch=then_g, else_branch=else_g)
    inits = [init("wt", [4, 3])]
    taken = make_model([node], [vi("x", [2, 4])], ["y"], [*inits, init("cond", [], "bool", True)])
    not_taken = make_model([node], [vi("x", [2, 4])], ["y"], [*inits, init("cond", [], "bool", False)])
    p_then, p_else = profile(taken), profile(not_taken)
    assert (layer(p_then, "if").macs, layer(p_then, "if").other_ops) == (2 * 4 * 3, 0)
    assert (layer(p_else, "if").macs, layer(p_else, "if").other_ops) == (0, 2 * 4)
    # weights of both branches are parameters of the model
    assert p_then.totals.weights == p_else.totals.weights == 4 * 3


def test_if_with_runtime_condition_is_uncosted():
    node = helper.make_node("If", ["cond"], ["y"], name="if", then_branch=branch("then", "wt"),
                            else_branch=branch("else", "we"))
    m = make_model([node], [vi("x", [2, 4]), vi("cond", [], "bool")], ["y"], [init("wt", [4, 3]), init("we", [4, 3])])
    prof = profile(m)
    assert layer(prof, "if").macs is None
    assert prof.uncosted[0].op_type == "If"
    assert prof.totals.weights == 2 * 4 * 3


def test_scan_costs_every_iteration():
    body = helper.make_graph([helper.make_node("MatMul", ["xt", "wb"], ["yt"], name="scan_mm")], "scan_body",
                             [vi("xt", [2, 4])], [vi("yt", [2, 3])])
    node = helper.make_node("Scan", ["x"], ["y"], name="scan", body=body, num_scan_inputs=1, scan_input_axes=[1])
    m = make_model([node], [vi("x", [2, 6, 4])], ["y"], [init("wb", [4, 3])])
    prof = profile(m)
    sc = layer(prof, "scan")
    assert sc.macs == 6 * 2 * 4 * 3
    assert sc.output_shapes == [[6, 2, 3]]
    assert prof.totals.weights == 4 * 3


def test_loop_body_with_unknown_op_is_uncosted():
    nodes = [helper.make_node("Mystery", ["xin"], ["xo"], name="body_mystery", domain="my.ops"),
             helper.make_node("Identity", ["cin"], ["cout"], name="body_cond")]
    body = helper.make_graph(nodes, "body", [vi("i", [], "int64"), vi("cin", [], "bool"), vi("xin", [2, 4])],
                             [vi("cout", [], "bool"), vi("xo", [2, 4])])
    loop = helper.make_node("Loop", ["M", "", "x"], ["y"], name="loop", body=body)
    m = make_model([loop], [vi("x", [2, 4])], ["y"], [init("M", [], "int64", 5)], extra_opsets={"my.ops": 1})
    prof = profile(m)
    assert layer(prof, "loop").macs is None
    assert "Mystery" in prof.uncosted[0].reason


def test_loop_outputs_get_shapes_so_that_later_layers_are_costed():
    # the body returns the state with the shape it received, and a per-iteration scan output
    nodes = [helper.make_node("MatMul", ["xin", "wb"], ["xo"], name="body_mm"),
             helper.make_node("Identity", ["xo"], ["scan_out"], name="body_copy"),
             helper.make_node("Identity", ["cin"], ["cout"], name="body_cond")]
    body = helper.make_graph(nodes, "body", [vi("i", [], "int64"), vi("cin", [], "bool"), vi("xin", [2, 4])],
                             [vi("cout", [], "bool"), vi("xo", [2, 4]), vi("scan_out", [2, 4])])
    outer = [helper.make_node("Loop", ["M", "", "x"], ["state", "stacked"], name="loop", body=body),
             helper.make_node("MatMul", ["state", "wb"], ["after"], name="after_loop"),
             helper.make_node("Relu", ["stacked"], ["stacked_relu"], name="relu_stacked")]
    m = make_model(outer, [vi("x", [2, 4])], ["after", "stacked_relu"], [init("M", [], "int64", 5),
                                                                        init("wb", [4, 4])])
    prof = profile(m)
    assert layer(prof, "loop").output_shapes == [[2, 4], [5, 2, 4]]
    assert layer(prof, "after_loop").macs == MM
    assert layer(prof, "relu_stacked").other_ops == 5 * 2 * 4
    assert prof.uncosted == []


def test_a_body_tensor_shaped_only_by_inference_is_costed(tmp_path):
    """The body declares no shapes at all: ONNX shape inference gives ``h`` and ``o`` theirs (in the inferred
    model's copy of the body), and the If is costed from them, from a file as from a ModelProto."""
    import onnx

    def body(name: str):
        nodes = [helper.make_node("Relu", ["x"], ["h"], name=f"{name}_relu"),
                 helper.make_node("Add", ["h", "h"], ["o"], name=f"{name}_add")]
        return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info("o", onnx.TensorProto.FLOAT, None)])

    node = helper.make_node("If", ["c"], ["y"], name="if", then_branch=body("then"), else_branch=body("else"))
    m = make_model([node], [vi("x", [2, 8])], ["y"], [init("c", [], "bool", True)])
    path = tmp_path / "if.onnx"
    onnx.save_model(m, path)
    for source in (m, path):
        prof = profile(source)
        assert prof.uncosted == []
        assert layer(prof, "if").other_ops == 2 * 8 + 2 * 8  # Relu + Add on [2, 8]
