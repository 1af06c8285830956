"""The micro-benchmark graphs of ``fitbench hw probe``, built in code (ONNX opset 17, no download).

Each builder returns ``(model, feeds, work)``: the ONNX model, its input arrays (seeded) and the work one
call does, in the unit the probe divides by time — MACs for GEMM and conv graphs (one MAC = one
multiply-accumulate), elements for element-wise graphs, bytes for the bandwidth graph. Graphs that chain
several ops of the same kind do so to amortise the per-call cost and ONNX Runtime's layout reorders (its
NCHWc transformer wraps a run of convs in one ReorderInput / ReorderOutput pair).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
_NP = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16}


def _model(nodes, inputs, output: str, inits, name: str, out_type: int = TensorProto.FLOAT) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, [helper.make_tensor_value_info(output, out_type, None)], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    return m


def gemm(n: int, precision: str = "fp32", seed: int = 0) -> tuple[onnx.ModelProto, dict, int]:
    """One ``n x n @ n x n`` product: ``n^3`` MACs. fp32 / fp16: MatMul; int8: MatMulInteger (uint8
    activations x int8 weights -> int32, the product ONNX Runtime's quantized GEMM kernels run)."""
    rng = np.random.default_rng(seed)
    if precision == "int8":
        w = numpy_helper.from_array(rng.integers(-128, 128, (n, n), dtype=np.int8), "w")
        x = rng.integers(0, 256, (n, n), dtype=np.uint8)
        node = helper.make_node("MatMulInteger", ["x", "w"], ["y"])
        inp = helper.make_tensor_value_info("x", TensorProto.UINT8, [n, n])
        out = TensorProto.INT32
    else:
        tp = {"fp32": TensorProto.FLOAT, "fp16": TensorProto.FLOAT16}[precision]
        dt = _NP[tp]
        w = numpy_helper.from_array((rng.standard_normal((n, n)) / np.sqrt(n)).astype(dt), "w")
        x = rng.standard_normal((n, n)).astype(dt)
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
        inp = helper.make_tensor_value_info("x", tp, [n, n])
        out = tp
    return _model([node], [inp], "y", [w], f"gemm{n}_{precision}", out), {"x": x}, n ** 3


def conv_chain(channels: int = 64, size: int = 56, depth: int = 3, depthwise: bool = False,
               seed: int = 0) -> tuple[onnx.ModelProto, dict, int]:
    """``depth`` 3x3 stride-1 convs (pad 1) of ``channels -> channels`` at ``size x size``, batch 1: each
    ``channels^2 x 9 x size^2`` MACs (``depthwise``: ``group = channels``, ``channels x 9 x size^2``)."""
    rng = np.random.default_rng(seed)
    group = channels if depthwise else 1
    cin = channels // group
    inits, nodes, prev = [], [], "x"
    for i in range(depth):
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((channels, cin, 3, 3)) / np.sqrt(cin * 9)).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                      group=group, name=f"conv{i}"))
        prev = f"c{i}"
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])
    x = rng.standard_normal((1, channels, size, size)).astype(np.float32)
    macs = depth * channels * cin * 9 * size * size
    return _model(nodes, [inp], prev, inits, "conv_chain"), {"x": x}, macs


def add_chain(elements: int, depth: int, seed: int = 0) -> tuple[onnx.ModelProto, dict, int]:
    """``depth`` Adds in a chain, each ``y_i = y_(i-1) + c_i`` (``c_i`` a one-element constant, so a
    one-input element-wise op like an activation): ``depth x elements`` element ops."""
    rng = np.random.default_rng(seed)
    inits, nodes, prev = [], [], "x"
    for i in range(depth):
        inits.append(numpy_helper.from_array(np.array([0.5 + i], dtype=np.float32), f"c{i}"))
        nodes.append(helper.make_node("Add", [prev, f"c{i}"], [f"y{i}"], name=f"add{i}"))
        prev = f"y{i}"
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [elements])
    x = rng.standard_normal(elements).astype(np.float32)
    return _model(nodes, [inp], prev, inits, f"add_chain{depth}"), {"x": x}, depth * elements


def stream_add(elements: int) -> tuple[onnx.ModelProto, dict, int]:
    """One ``y = a + b`` over fp32 vectors of ``elements``: bytes moved = 3 x 4 x elements (two read, one
    written; the write-allocate read of ``y`` that a cache may add is not counted, as the estimator's
    traffic does not count it)."""
    a = np.full(elements, 1.5, dtype=np.float32)  # values do not matter; filling hundreds of MiB must be quick
    node = helper.make_node("Add", ["a", "b"], ["y"])
    inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [elements]) for k in ("a", "b")]
    return _model([node], inputs, "y", [], "stream_add"), {"a": a, "b": np.full_like(a, 2.5)}, 3 * 4 * elements


def ffn_block(tokens: int = 128, width: int = 768, hidden: int = 3072, seed: int = 0) -> tuple[onnx.ModelProto,
                                                                                            dict, int]:
    """A transformer feed-forward block at batch 1: ``x @ W1 + b1 -> (tokens x hidden) @ W2 + b2`` (MatMul + Add,
    as the zoo's BERT and ViT write it; ONNX Runtime fuses each pair into a Gemm): ``2 x tokens x width x hidden``
    MACs over ``2 x width x hidden`` fp32 weights (18 MiB at 768 x 3072: far beyond a core's L2)."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.02).astype(np.float32), n)
             for n, s in (("w1", (width, hidden)), ("b1", (hidden,)), ("w2", (hidden, width)), ("b2", (width,)))]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["m1"]), helper.make_node("Add", ["m1", "b1"], ["h"]),
             helper.make_node("MatMul", ["h", "w2"], ["m2"]), helper.make_node("Add", ["m2", "b2"], ["y"])]
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, tokens, width])
    x = rng.standard_normal((1, tokens, width)).astype(np.float32)
    return _model(nodes, [inp], "y", inits, "ffn_block"), {"x": x}, 2 * tokens * width * hidden
