"""Small ONNX builders and a plain spec for single-layer estimator tests.

Single-layer models are profiled at INT8, so one element is one byte: bytes in the tests are element
counts written out as arithmetic.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fitbench.profile import profile


def conv_model(cin: int = 64, cout: int = 64, hw: int | tuple[int, int] = 56, k: int = 3, stride: int = 1,
               group: int = 1, batch: int = 1, relu: bool = False, bn: bool = False) -> onnx.ModelProto:
    """x[batch, cin, H, W] -> Conv(k x k, same padding) [-> BatchNormalization] [-> Relu]."""
    h, w = (hw, hw) if isinstance(hw, int) else hw
    weight = numpy_helper.from_array(np.zeros((cout, cin // group, k, k), np.float32), "W")
    inits = [weight]
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="conv", pads=[k // 2] * 4, strides=[stride] * 2,
                              group=group)]
    last = "y"
    if bn:
        for nm in ("s", "b", "m", "v"):
            inits.append(numpy_helper.from_array(np.ones(cout, np.float32), nm))
        nodes.append(helper.make_node("BatchNormalization", [last, "s", "b", "m", "v"], ["bn"], name="bn"))
        last = "bn"
    if relu:
        nodes.append(helper.make_node("Relu", [last], ["r"], name="relu"))
        last = "r"
    ho, wo = -(-h // stride), -(-w // stride)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, cin, h, w])
    y = helper.make_tensor_value_info(last, TensorProto.FLOAT, [batch, cout, ho, wo])
    graph = helper.make_graph(nodes, "one_conv", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def residual_model(c: int = 16, hw: int = 8) -> onnx.ModelProto:
    """x -> Conv1x1 -> Add(conv, x) -> Relu: the Add and Relu fuse into the conv; the skip is an extra input."""
    weight = numpy_helper.from_array(np.zeros((c, c, 1, 1), np.float32), "W")
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="conv"),
             helper.make_node("Add", ["y", "x"], ["s"], name="add"),
             helper.make_node("Relu", ["s"], ["r"], name="relu")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])
    r = helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, c, hw, hw])
    graph = helper.make_graph(nodes, "residual", [x], [r], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def pool_model(c: int = 8, hw: int = 16) -> onnx.ModelProto:
    """x -> MaxPool 2x2 stride 2: no MACs, other_ops = output elements x 4."""
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2])]
    graph = helper.make_graph(nodes, "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, hw // 2, hw // 2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def spec(**overrides) -> dict:
    """A plain spec: 1024 INT8 MACs/cycle at 1 GHz, no array, no vector rate, 64 MiB SRAM, 10 GB/s, overlap."""
    d = {"name": "unit", "source": "test", "clock": "1 GHz", "macs_per_cycle": {"int8": 1024}, "sram": "64 MiB",
         "dram_bandwidth": "10 GB/s", "overlap": True}
    d.update(overrides)
    return {k: v for k, v in d.items() if v is not None}


def prof(model: onnx.ModelProto):
    return profile(model, precision="int8")
