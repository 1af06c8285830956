"""Small ONNX graphs for the estimator v2 terms: FC layers, an LSTM, an embedding, a KV-cache read, a Transpose.

Profiled at INT8 (one byte per element), so bytes below are element counts written out as arithmetic.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def _model(nodes, inputs, outputs, inits, name="m") -> onnx.ModelProto:
    return helper.make_model(helper.make_graph(nodes, name, inputs, outputs, inits), opset_imports=OPSET)


def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def fc_model(widths: list[int], batch: int = 1) -> onnx.ModelProto:
    """x[batch, widths[0]] -> MatMul -> ... one MatMul per consecutive pair (no bias): weights w_i x w_{i+1}."""
    nodes, inits = [], []
    last = "x"
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        inits.append(numpy_helper.from_array(np.zeros((a, b), np.float32), f"W{i}"))
        nodes.append(helper.make_node("MatMul", [last, f"W{i}"], [f"y{i}"], name=f"fc{i}"))
        last = f"y{i}"
    return _model(nodes, [_vi("x", [batch, widths[0]])], [_vi(last, [batch, widths[-1]])], inits, "fc")


def lstm_model(seq: int, hidden: int, inp: int, batch: int = 1) -> onnx.ModelProto:
    """X[batch, seq, inp] (layout 1: the batch leads, as the profile binds it) -> LSTM(hidden), one direction,
    no bias: W [1, 4H, inp], R [1, 4H, H]; Y [batch, seq, 1, hidden]."""
    w = numpy_helper.from_array(np.zeros((1, 4 * hidden, inp), np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 4 * hidden, hidden), np.float32), "R")
    node = helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="lstm", hidden_size=hidden, layout=1)
    return _model([node], [_vi("x", [batch, seq, inp])], [_vi("y", [batch, seq, 1, hidden])], [w, r], "lstm")


def embedding_model(vocab: int, dim: int, tokens: int) -> onnx.ModelProto:
    """ids[1, tokens] (int64) -> Gather(table[vocab, dim]) -> [1, tokens, dim]."""
    table = numpy_helper.from_array(np.zeros((vocab, dim), np.float32), "table")
    node = helper.make_node("Gather", ["table", "ids"], ["e"], name="embed", axis=0)
    return _model([node], [_vi("ids", [1, tokens], TensorProto.INT64)], [_vi("e", [1, tokens, dim])], [table],
                  "embedding")


def kv_read_model(heads: int, context: int, head_dim: int) -> onnx.ModelProto:
    """One decode step's attention scores: q[1,h,1,d] @ transpose(concat(past_key[1,h,C,d], k[1,h,1,d]))."""
    nodes = [
        helper.make_node("Concat", ["past_key", "k"], ["present_key"], name="cat", axis=2),
        helper.make_node("Transpose", ["present_key"], ["kt"], name="kt", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
    ]
    inputs = [_vi("q", [1, heads, 1, head_dim]), _vi("k", [1, heads, 1, head_dim]),
              _vi("past_key", [1, heads, context, head_dim])]
    outputs = [_vi("scores", [1, heads, 1, context + 1]), _vi("present_key", [1, heads, context + 1, head_dim])]
    return _model(nodes, inputs, outputs, [], "kv")


def transpose_model(c: int, hw: int) -> onnx.ModelProto:
    """x[1, c, hw, hw] -> Transpose NCHW -> NHWC."""
    node = helper.make_node("Transpose", ["x"], ["y"], name="t", perm=[0, 2, 3, 1])
    return _model([node], [_vi("x", [1, c, hw, hw])], [_vi("y", [1, hw, hw, c])], [], "transpose")


def two_conv_model(c: int = 64, hw: int = 56) -> onnx.ModelProto:
    """x -> Conv 3x3 (c -> c) -> Conv 1x1 (c -> c): two layers of different cost, for pipeline stages."""
    w1 = numpy_helper.from_array(np.zeros((c, c, 3, 3), np.float32), "W1")
    w2 = numpy_helper.from_array(np.zeros((c, c, 1, 1), np.float32), "W2")
    nodes = [helper.make_node("Conv", ["x", "W1"], ["y1"], name="conv3", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["y1", "W2"], ["y2"], name="conv1")]
    return _model(nodes, [_vi("x", [1, c, hw, hw])], [_vi("y2", [1, c, hw, hw])], [w1, w2], "two_conv")


def attention_model(heads: int = 4, seq: int = 128, d: int = 64) -> onnx.ModelProto:
    """softmax(q @ kt) @ v with q, v [1, h, s, d] and kt [1, h, d, s] as inputs: one attention block."""
    nodes = [helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
             helper.make_node("Softmax", ["scores"], ["probs"], name="softmax", axis=-1),
             helper.make_node("MatMul", ["probs", "v"], ["out"], name="pv")]
    inputs = [_vi("q", [1, heads, seq, d]), _vi("kt", [1, heads, d, seq]), _vi("v", [1, heads, seq, d])]
    return _model(nodes, inputs, [_vi("out", [1, heads, seq, d])], [], "attention")
