"""Reading a file strips large initializer payloads before parsing: the profile must not change."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from profile_builders import conv_net, init, make_model, vi
from test_profile_control_flow import loop_body
from test_profile_quantized import qdq_model, qlinear_conv_model

from fitbench.graph.wire import strip_large_initializers
from fitbench.profile import profile


def big_and_small_model():
    nodes = [helper.make_node("MatMul", ["x", "big"], ["a"], name="mm"),
             helper.make_node("Reshape", ["a", "shape"], ["y"], name="rs")]
    big = numpy_helper.from_array(np.arange(64 * 32, dtype=np.float32).reshape(64, 32), "big")
    return make_model(nodes, [vi("x", [2, 64])], ["y"], [big, init("shape", [2], "int64", [-1, 8])])


def test_strip_keeps_everything_but_large_payloads():
    m = big_and_small_model()
    stripped = onnx.ModelProto.FromString(strip_large_initializers(m.SerializeToString(), 1024))
    assert stripped.graph.node == m.graph.node and stripped.graph.input == m.graph.input
    big, shape = stripped.graph.initializer
    assert (big.name, list(big.dims), big.data_type) == ("big", [64, 32], onnx.TensorProto.FLOAT)
    assert not big.raw_data and not big.float_data
    assert numpy_helper.to_array(shape).tolist() == [-1, 8]  # small constants keep their values
    assert stripped.opset_import == m.opset_import and stripped.ir_version == m.ir_version


def loop_model():
    loop = helper.make_node("Loop", ["M", "", "x"], ["y"], name="loop", body=loop_body())
    return make_model([loop], [vi("x", [2, 4])], ["y"], [init("M", [], "int64", 5), init("wb", [4, 4])])


@pytest.mark.parametrize(
    "build,kwargs",
    [(lambda: conv_net(batch=1, h=64, w=64, channels=(3, 32, 64)), {"batch": 2}), (big_and_small_model, {}),
     (qdq_model, {}), (qlinear_conv_model, {}), (loop_model, {})],
    ids=["conv-net", "big-and-small", "qdq", "qlinear-conv", "loop"],
)
def test_profile_from_file_equals_profile_in_memory(tmp_path, build, kwargs):
    m = build()
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    from_file, in_memory = profile(path, **kwargs).to_dict(), profile(m, **kwargs).to_dict()
    for d in (from_file, in_memory):
        d.pop("model")
    assert from_file == in_memory
