"""Shape binding: --input, --batch (symbolic and static-1 exports), --dim, and the errors."""

from __future__ import annotations

import tracemalloc

import onnx
import pytest
from onnx import helper
from profile_builders import conv_net, init, layer, make_model, vi

from fitbench.errors import ShapeError
from fitbench.profile import profile


def conv_net_macs(n, h, w):
    """conv_net(): 3->8 3x3 stride 2, then 8->16 3x3 stride 2, 'same' padding."""
    h1, w1 = (h + 1) // 2, (w + 1) // 2
    h2, w2 = (h1 + 1) // 2, (w1 + 1) // 2
    return n * 8 * h1 * w1 * 3 * 9 + n * 16 * h2 * w2 * 8 * 9


def test_input_binds_every_dim():
    prof = profile(conv_net(), inputs={"x": "2x3x32x48"})
    assert prof.conditions.input_shapes == {"x": [2, 3, 32, 48]}
    assert prof.conditions.batch == 2
    assert layer(prof, "conv0").output_shapes == [[2, 8, 16, 24]]
    assert prof.totals.macs == conv_net_macs(2, 32, 48)


def test_input_accepts_a_tuple():
    assert profile(conv_net(), inputs={"x": (1, 3, 8, 8)}).totals.macs == conv_net_macs(1, 8, 8)


def test_batch_and_named_dims():
    prof = profile(conv_net(), batch=4, dims={"H": 16, "W": 8})
    assert prof.conditions.input_shapes == {"x": [4, 3, 16, 8]}
    assert prof.totals.macs == conv_net_macs(4, 16, 8)


def test_static_batch_one_export_rebinds_to_eight():
    static = conv_net(batch=1, h=16, w=16)
    one, eight = profile(static), profile(static, batch=8)
    assert one.conditions.batch == 1 and eight.conditions.batch == 8
    assert eight.conditions.input_shapes == {"x": [8, 3, 16, 16]}
    assert eight.totals.macs == 8 * one.totals.macs == conv_net_macs(8, 16, 16)
    assert layer(eight, "relu1").output_shapes == [[8, 16, 4, 4]]


def test_static_export_with_stale_value_info_rebinds():
    # exporters record intermediate shapes; they must not contradict the new batch
    m = conv_net(batch=1, h=16, w=16)
    m.graph.value_info.append(vi("c0", [1, 8, 8, 8]))
    m.graph.output[0].CopyFrom(vi("r1", [1, 16, 4, 4]))
    prof = profile(m, batch=8)
    assert layer(prof, "conv0").output_shapes == [[8, 8, 8, 8]]
    assert prof.totals.macs == conv_net_macs(8, 16, 16)


def test_flatten_with_minus_one_follows_the_batch():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Reshape", ["c", "shape"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1),
    ]
    inits = [init("w", [4, 3, 1, 1]), init("shape", [2], "int64", [-1, 4 * 8 * 8]), init("fc", [10, 256])]
    prof = profile(make_model(nodes, [vi("x", [1, 3, 8, 8])], ["y"], inits), batch=8)
    assert layer(prof, "fc").macs == 8 * 10 * 256


def test_reshape_constant_pinning_the_batch_names_the_node():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Reshape", ["c", "shape"], ["f"], name="pinned_reshape"),
    ]
    inits = [init("w", [4, 3, 1, 1]), init("shape", [2], "int64", [1, 4 * 8 * 8])]
    m = make_model(nodes, [vi("x", [1, 3, 8, 8])], ["f"], inits)
    assert profile(m).totals.macs == 4 * 64 * 3
    with pytest.raises(ShapeError, match="pinned_reshape"):
        profile(m, batch=8)


def test_unbound_dims_are_named_each():
    with pytest.raises(ShapeError) as err:
        profile(conv_net())
    msg = str(err.value)
    for dim in ("x[0] (N)", "x[2] (H)", "x[3] (W)"):
        assert dim in msg
    with pytest.raises(ShapeError, match=r"x\[2\] \(H\)") as err:
        profile(conv_net(), batch=2, dims={"W": 8})
    assert "(W)" not in str(err.value)


def test_batch_binds_every_input_sharing_the_batch():
    node = helper.make_node("Add", ["a", "b"], ["y"], name="add")
    prof = profile(make_model([node], [vi("a", ["batch", 4]), vi("b", ["batch", 4])], ["y"]), batch=3)
    assert prof.conditions.input_shapes == {"a": [3, 4], "b": [3, 4]}
    assert layer(prof, "add").other_ops == 3 * 4


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"inputs": {"nope": "1x3x8x8"}}, "no such input"),
        ({"inputs": {"x": "1x3x8"}}, "rank 4"),
        ({"inputs": {"x": "1x0x8x8"}}, "positive"),
        ({"inputs": {"x": "1x-3x8x8"}}, "positive"),
        ({"inputs": {"x": "1xAx8x8"}}, "integers"),
        ({"batch": 0, "dims": {"H": 8, "W": 8}}, "positive"),
        ({"inputs": {"x": f"1x3x{2**32}x{2**32}"}}, "2\\^63-1"),
    ],
)
def test_bad_bindings(kwargs, match):
    with pytest.raises(ShapeError, match=match):
        profile(conv_net(), **kwargs)


@pytest.mark.parametrize("dim", [0, -3])
def test_non_positive_dim_in_the_model_is_an_error(dim):
    m = make_model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [1, dim, 4])], ["y"])
    with pytest.raises(ShapeError, match=f"x\\[1\\] is {dim}"):
        profile(m)
    # the user can still bind it
    assert profile(m, inputs={"x": "1x5x4"}).totals.other_ops == 5 * 4


def test_huge_shape_profiles_analytically_without_allocating():
    m = conv_net(batch=1, h=100000, w=100000)
    tracemalloc.start()
    try:
        prof = profile(m)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert prof.totals.macs == conv_net_macs(1, 100000, 100000)
    assert prof.totals.largest_activation_bytes == 3 * 100000 * 100000 * 4  # the input itself: 120 GB in fp32
    assert layer(prof, "conv0").output_activation_bytes == 8 * 50000 * 50000 * 4
    assert peak < 50 * 2**20  # nothing of the tensors' size was allocated


def test_reshape_folding_the_batch_into_a_later_dim_names_the_reshape():
    # a batch-1 export flattens with the constant shape [1, -1]: at batch 8 the Gemm after it fails
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Reshape", ["c", "shape"], ["f"], name="flatten_pinned"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1),
    ]
    inits = [init("w", [4, 3, 1, 1]), init("shape", [2], "int64", [1, -1]), init("fc", [10, 256])]
    m = make_model(nodes, [vi("x", [1, 3, 8, 8])], ["y"], inits)
    assert layer(profile(m), "fc").macs == 10 * 256
    with pytest.raises(ShapeError, match="flatten_pinned"):
        profile(m, batch=8)


def test_reshape_keeping_elements_but_pinning_the_batch_names_the_reshape():
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="merge_batch"),
             helper.make_node("Relu", ["y"], ["z"], name="relu")]
    m = make_model(nodes, [vi("x", [1, 3, 4])], ["z"], [init("shape", [2], "int64", [1, -1])])
    with pytest.raises(ShapeError, match="merge_batch"):
        profile(m, batch=8)


def test_batch_binds_a_named_batch_dim_wherever_it_appears():
    node = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")
    prof = profile(make_model([node], [vi("a", ["N", 3]), vi("b", [3, "N"])], ["y"]), batch=4)
    assert prof.conditions.input_shapes == {"a": [4, 3], "b": [3, 4]}
    assert layer(prof, "mm").macs == 4 * 3 * 4


def test_batch_that_no_input_takes_is_noted_not_applied():
    m = make_model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [4, 3])], ["y"])
    assert profile(m, batch=4).conditions.batch == 4
    prof = profile(m, batch=8)
    # the numbers are for the shapes the model declares, and the profile says the batch was not applied
    assert prof.conditions.batch == 4 and prof.conditions.input_shapes == {"x": [4, 3]}
    assert any("batch 8 not applied" in note for note in prof.conditions.notes)
    assert prof.totals.other_ops == 4 * 3


def test_bind_shapes_returns_a_model_that_still_has_its_weights():
    from fitbench.graph.onnx_io import bind_shapes

    m = conv_net(batch=1, h=16, w=16)
    bound_model, shapes, batch = bind_shapes(m, batch=8)
    assert (shapes, batch) == ({"x": (8, 3, 16, 16)}, 8)
    assert [t.raw_data for t in bound_model.graph.initializer] == [t.raw_data for t in m.graph.initializer]
    assert [d.dim_value for d in bound_model.graph.input[0].type.tensor_type.shape.dim] == [8, 3, 16, 16]
    onnx.checker.check_model(bound_model)


def test_batch_overrides_the_leading_dim_of_an_explicit_input():
    prof = profile(conv_net(), inputs={"x": "1x3x16x16"}, batch=8)
    assert prof.conditions.input_shapes == {"x": [8, 3, 16, 16]}
    assert prof.conditions.batch == 8


def test_the_callers_model_is_not_modified():
    m = conv_net(batch=1, h=16, w=16)
    before = m.SerializeToString()
    profile(m, batch=8)
    assert m.SerializeToString() == before


def test_initializers_listed_as_graph_inputs_are_weights_not_inputs():
    # IR version 3 style: every initializer is also a graph input
    m = conv_net(batch=1, h=16, w=16)
    for t in m.graph.initializer:
        m.graph.input.append(vi(t.name, list(t.dims)))
    prof = profile(m, batch=2)
    assert prof.conditions.input_shapes == {"x": [2, 3, 16, 16]}
    assert prof.totals.weights == 8 * 3 * 9 + 8 + 16 * 8 * 9 + 16
    assert prof.totals.macs == conv_net_macs(2, 16, 16)


def dynamic_heads_model():
    """x.reshape(B, S, 3, 4, C // 12) computed from x.shape, as dynamic-axes exports of attention do.

    ONNX's own data propagation stops at the Div, so the profile folds the shape arithmetic itself.
    """
    nodes = [helper.make_node("Shape", ["x"], ["shape"], name="shape")]
    for i, dim in enumerate("nsc"):
        nodes.append(helper.make_node("Gather", ["shape", f"i{i}"], [dim], name=f"gather_{dim}", axis=0))
    nodes += [
        helper.make_node("Div", ["c", "twelve"], ["hd"], name="head_dim"),
        *[helper.make_node("Unsqueeze", [v, "axes0"], [f"u{v}"], name=f"unsq_{v}") for v in ("n", "s", "hd")],
        helper.make_node("Concat", ["un", "us", "three", "four", "uhd"], ["target"], name="target", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["r"], name="split_heads"),
        helper.make_node("Transpose", ["r"], ["t"], name="to_heads", perm=[2, 0, 3, 1, 4]),
        helper.make_node("Gather", ["t", "i0"], ["q"], name="q", axis=0),
        helper.make_node("Gather", ["t", "i1"], ["k"], name="k", axis=0),
        helper.make_node("Transpose", ["k"], ["kt"], name="kT", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="scores"),
    ]
    inits = [init("i0", [], "int64", 0), init("i1", [], "int64", 1), init("i2", [], "int64", 2),
             init("twelve", [], "int64", 12), init("axes0", [1], "int64", [0]), init("three", [1], "int64", [3]),
             init("four", [1], "int64", [4])]
    return make_model(nodes, [vi("x", ["batch", "seq", 96])], ["scores"], inits)


def test_shape_arithmetic_onnx_cannot_propagate_is_folded():
    prof = profile(dynamic_heads_model(), batch=2, dims={"seq": 10})
    assert prof.uncosted == []
    assert layer(prof, "split_heads").output_shapes == [[2, 10, 3, 4, 96 // 12]]
    assert layer(prof, "scores").macs == 2 * 4 * 10 * 10 * (96 // 12)
    # the shape nodes are still layers of the profile (zero cost), in their order
    assert [x.name for x in prof.layers][:2] == ["shape", "gather_n"]


def test_dims_only_small_initializers_do_not_break_folding():
    # model builders (the zoo) emit initializers with dims only; folding must skip their values
    m = dynamic_heads_model()
    nodes = list(m.graph.node)
    nodes.append(helper.make_node("Add", ["scores", "bias"], ["out"], name="add_bias"))
    bias = onnx.TensorProto(name="bias", dims=[10], data_type=onnx.TensorProto.FLOAT)  # no data
    m2 = make_model(nodes, [vi("x", ["batch", "seq", 96])], ["out"], [*m.graph.initializer, bias])
    prof = profile(m2, batch=2, dims={"seq": 10})
    assert layer(prof, "add_bias").other_ops == 2 * 4 * 10 * 10
    assert layer(prof, "add_bias").weights == 10


def test_a_model_file_read_for_running_keeps_its_embedded_weights(tmp_path):
    # fitbench run FILE --batch 8 on a static-batch-1 export rebinds the file it read and runs it:
    # reading must keep the embedded weights (conv1's 16x8x3x3 = 1152 elements are large enough to be
    # left out when only profiling), or ONNX Runtime refuses the rebound model
    import numpy as np
    import onnxruntime as ort

    from fitbench.graph.onnx_io import bind_shapes, read_model_file

    m = conv_net(batch=1, h=16, w=16)
    path = tmp_path / "m.onnx"
    onnx.save_model(m, path)
    read, _sha = read_model_file(path)
    assert [t.raw_data for t in read.graph.initializer] == [t.raw_data for t in m.graph.initializer]
    bound, _, _ = bind_shapes(read, batch=8)
    sess = ort.InferenceSession(bound.SerializeToString(), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"x": np.zeros((8, 3, 16, 16), np.float32)})[0]
    assert out.shape == (8, 16, 4, 4)  # 16 -> 8 -> 4 with two stride-2 convs


@pytest.mark.parametrize(
    ("model", "inputs", "zoo_params", "batch"),
    [
        # DESIGN's first journey: `fitbench profile yolov3 --input 1x3x1080x1920` builds YOLOv3 at 1080x1920
        ("yolov3", {"": "1x3x1080x1920"}, {"resolution": (1080, 1920)}, 1),
        ("yolov3", {"input": "2x3x416x416"}, {"resolution": (416, 416)}, 2),
        ("bert-base", {"input_ids": "4x64"}, {"seq_len": 64}, 4),
    ],
)
def test_input_dims_of_a_zoo_model_set_its_size(model, inputs, zoo_params, batch):
    by_input = profile(model, inputs=inputs)
    by_params = profile(model, batch=batch, **zoo_params)
    assert by_input.totals.macs == by_params.totals.macs
    assert by_input.conditions.input_shapes == by_params.conditions.input_shapes
    assert by_input.conditions.batch == batch


def test_input_dims_without_a_name_bind_the_only_input():
    prof = profile(conv_net(), inputs={"": "2x3x32x48"})
    assert prof.conditions.input_shapes == {"x": [2, 3, 32, 48]}
    assert prof.totals.macs == conv_net_macs(2, 32, 48)


def test_input_dims_without_a_name_on_a_two_input_model_is_an_error():
    a, b = vi("a", [1, 4]), vi("b", [1, 4])
    m = make_model([helper.make_node("Add", ["a", "b"], ["y"])], [a, b], [vi("y", [1, 4])])
    with pytest.raises(ShapeError, match="without a name needs a model with one input"):
        profile(m, inputs={"": "2x4"})
