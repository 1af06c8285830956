"""Cost rules, one table per op family; every expected value is written as arithmetic.

Convention: MAC = one multiply-accumulate; bias/BN/activations/pooling/element-wise/softmax/norms
are other_ops, never MACs.
"""

from __future__ import annotations

import pytest
from onnx import helper
from profile_builders import init, layer, make_model, single_op, vi

from fitbench.errors import UncostedOpError
from fitbench.profile import profile

# ------------------------------------------------------------------ convolutions

CONV_CASES = [
    # id, x shape, w shape, attrs, output shape, MACs = N x Cout x prod(out) x Cin/group x prod(kernel)
    ("1d", [2, 4, 20], [8, 4, 3], {"pads": [1, 1]}, [2, 8, 20], 2 * 8 * 20 * 4 * 3),
    ("2d-same", [1, 3, 32, 32], [16, 3, 3, 3], {"pads": [1, 1, 1, 1]}, [1, 16, 32, 32], 16 * 32 * 32 * 3 * 9),
    ("2d-strided", [1, 3, 32, 32], [16, 3, 3, 3], {"pads": [1] * 4, "strides": [2, 2]}, [1, 16, 16, 16],
     16 * 16 * 16 * 3 * 9),
    ("2d-valid-5x5", [1, 3, 32, 32], [8, 3, 5, 5], {}, [1, 8, 28, 28], 8 * 28 * 28 * 3 * 25),
    ("2d-asym-pad", [1, 3, 10, 10], [4, 3, 3, 3], {"pads": [0, 1, 2, 0]}, [1, 4, 10, 9], 4 * 10 * 9 * 3 * 9),
    ("grouped", [1, 8, 16, 16], [12, 2, 3, 3], {"group": 4, "pads": [1] * 4}, [1, 12, 16, 16], 12 * 256 * 2 * 9),
    ("depthwise", [1, 8, 16, 16], [8, 1, 3, 3], {"group": 8, "pads": [1] * 4}, [1, 8, 16, 16], 8 * 256 * 1 * 9),
    ("dilated", [1, 4, 16, 16], [4, 4, 3, 3], {"dilations": [2, 2]}, [1, 4, 12, 12], 4 * 12 * 12 * 4 * 9),
    ("3d", [1, 2, 8, 8, 8], [4, 2, 3, 3, 3], {"pads": [1] * 6}, [1, 4, 8, 8, 8], 4 * 512 * 2 * 27),
    ("same-upper-s2", [3, 3, 15, 15], [4, 3, 3, 3], {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, [3, 4, 8, 8],
     3 * 4 * 64 * 3 * 9),
    ("1x1", [2, 64, 7, 7], [128, 64, 1, 1], {}, [2, 128, 7, 7], 2 * 128 * 49 * 64),
]


@pytest.mark.parametrize("x,w,attrs,out,macs", [c[1:] for c in CONV_CASES], ids=[c[0] for c in CONV_CASES])
def test_conv_macs(x, w, attrs, out, macs):
    prof = profile(single_op("Conv", x, {"w": w}, **attrs))
    conv = layer(prof, "op")
    assert conv.output_shapes == [out]
    assert conv.macs == macs
    assert conv.other_ops == 0  # no bias
    assert conv.weights == w[0] * w[1] * w[2] * (w[3] if len(w) > 3 else 1) * (w[4] if len(w) > 4 else 1)
    assert sum(g.macs for g in conv.gemms) == macs
    assert prof.totals.flops == 2 * macs


def test_conv_bias_is_other_ops_not_macs():
    prof = profile(single_op("Conv", [1, 3, 8, 8], {"w": [4, 3, 3, 3], "b": [4]}, pads=[1] * 4))
    conv = layer(prof, "op")
    assert conv.macs == 4 * 64 * 3 * 9
    assert conv.other_ops == 4 * 64  # one add per output element
    assert conv.weights == 4 * 3 * 9 + 4


@pytest.mark.parametrize(
    "w,attrs,eligible",
    [
        ([8, 8, 3, 3], {"pads": [1] * 4}, True),
        ([8, 8, 3, 3], {"pads": [1] * 4, "strides": [2, 2]}, False),
        ([8, 8, 3, 3], {"dilations": [2, 2]}, False),
        ([8, 4, 3, 3], {"group": 2, "pads": [1] * 4}, False),
        ([8, 8, 5, 5], {}, False),
        ([8, 8, 1, 1], {}, False),
    ],
)
def test_winograd_eligibility(w, attrs, eligible):
    prof = profile(single_op("Conv", [1, 8, 16, 16], {"w": w}, **attrs))
    assert layer(prof, "op").winograd_eligible is eligible


CONV_T_CASES = [
    # id, x, w [Cin, Cout/group, k...], attrs, output shape, MACs = N x Cin x prod(in) x Cout/group x prod(k)
    ("s2", [1, 4, 5, 5], [4, 3, 3, 3], {"strides": [2, 2]}, [1, 3, 11, 11], 1 * 4 * 25 * 3 * 9),
    ("s1", [2, 4, 6, 6], [4, 5, 3, 3], {}, [2, 5, 8, 8], 2 * 4 * 36 * 5 * 9),
    ("asym-stride-outpad-grouped", [2, 6, 4, 5], [6, 2, 3, 4],
     {"strides": [2, 3], "output_padding": [1, 2], "group": 3},
     [2, 6, (4 - 1) * 2 + 3 + 1, (5 - 1) * 3 + 4 + 2], 2 * 6 * 20 * 2 * 12),
    ("1d-padded", [1, 8, 10], [8, 4, 4], {"strides": [2], "pads": [1, 1]}, [1, 4, (10 - 1) * 2 + 4 - 2],
     1 * 8 * 10 * 4 * 4),
    ("depthwise", [1, 8, 7, 7], [8, 1, 2, 2], {"strides": [2, 2], "group": 8}, [1, 8, 14, 14], 8 * 49 * 1 * 4),
]


@pytest.mark.parametrize("x,w,attrs,out,macs", [c[1:] for c in CONV_T_CASES], ids=[c[0] for c in CONV_T_CASES])
def test_conv_transpose_macs(x, w, attrs, out, macs):
    prof = profile(single_op("ConvTranspose", x, {"w": w}, **attrs))
    ct = layer(prof, "op")
    assert ct.output_shapes == [out]
    assert ct.macs == macs
    assert sum(g.macs for g in ct.gemms) == macs
    assert ct.winograd_eligible is False


# ------------------------------------------------------------------ matrix products

GEMM_CASES = [
    # id, A, B, attrs, bias, MACs = M x N x K, other = M x N with a bias
    ("plain", [5, 3], [3, 4], {}, None, 5 * 4 * 3, 0),
    ("transB-bias", [5, 3], [4, 3], {"transB": 1}, [4], 5 * 4 * 3, 5 * 4),
    ("transA", [3, 5], [3, 4], {"transA": 1}, None, 5 * 4 * 3, 0),
    ("transA-transB-bias2d", [7, 2], [6, 7], {"transA": 1, "transB": 1}, [2, 6], 2 * 6 * 7, 2 * 6),
]


@pytest.mark.parametrize("a,b,attrs,bias,macs,other", [c[1:] for c in GEMM_CASES], ids=[c[0] for c in GEMM_CASES])
def test_gemm(a, b, attrs, bias, macs, other):
    weights = {"b": b} if bias is None else {"b": b, "c": bias}
    prof = profile(single_op("Gemm", a, weights, **attrs))
    g = layer(prof, "op")
    assert (g.macs, g.other_ops) == (macs, other)
    assert g.weights == b[0] * b[1] + (0 if bias is None else bias[0] * (bias[1] if len(bias) > 1 else 1))


MATMUL_CASES = [
    # id, A, B, MACs = prod(broadcast batch) x M x N x K
    ("2d", [3, 4], [4, 5], 3 * 4 * 5),
    ("batched", [2, 3, 4], [2, 4, 5], 2 * 3 * 4 * 5),
    ("broadcast-b", [2, 3, 4], [4, 5], 2 * 3 * 4 * 5),
    ("broadcast-both", [2, 1, 3, 4], [5, 4, 6], 2 * 5 * 3 * 4 * 6),
    ("1d-left", [4], [2, 4, 5], 2 * 4 * 5),
    ("1d-right", [2, 3, 4], [4], 2 * 3 * 4),
    ("1d-both", [4], [4], 4),
    ("attention-scores", [2, 8, 128, 64], [2, 8, 64, 128], 2 * 8 * 128 * 128 * 64),
]


@pytest.mark.parametrize("a,b,macs", [c[1:] for c in MATMUL_CASES], ids=[c[0] for c in MATMUL_CASES])
def test_matmul(a, b, macs):
    node = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")
    prof = profile(make_model([node], [vi("a", a), vi("b", b)], ["y"]))
    mm = layer(prof, "mm")
    assert mm.macs == macs
    assert mm.other_ops == 0
    assert mm.weights == 0  # both operands are activations here


EINSUM_CASES = [
    # id, equation, shapes, MACs (product over every distinct index of each pairwise step), other_ops
    ("batched-matmul", "bij,bjk->bik", [[2, 3, 4], [2, 4, 5]], 2 * 3 * 4 * 5, 0),
    ("matmul", "ij,jk->ik", [[3, 4], [4, 5]], 3 * 4 * 5, 0),
    ("implicit-output", "ij,jk", [[3, 4], [4, 5]], 3 * 4 * 5, 0),
    ("attention", "bhqd,bhkd->bhqk", [[2, 4, 6, 8], [2, 4, 9, 8]], 2 * 4 * 6 * 9 * 8, 0),
    ("dot", "i,i->", [[7], [7]], 7, 0),
    ("outer", "i,j->ij", [[3], [5]], 3 * 5, 0),
    ("bilinear-chain", "ij,jk,kl->il", [[2, 3], [3, 4], [4, 5]], 2 * 3 * 4 + 2 * 4 * 5, 0),
    ("transpose", "ij->ji", [[3, 5]], 0, 3 * 5),
    ("ellipsis-matmul", "...ij,...jk->...ik", [[2, 3, 4, 5], [2, 3, 5, 6]], 2 * 3 * 4 * 5 * 6, 0),
    ("ellipsis-broadcast", "...ij,jk->...ik", [[2, 3, 4, 5], [5, 6]], 2 * 3 * 4 * 5 * 6, 0),
]


@pytest.mark.parametrize("eq,shapes,macs,other", [c[1:] for c in EINSUM_CASES], ids=[c[0] for c in EINSUM_CASES])
def test_einsum(eq, shapes, macs, other):
    names = [f"x{i}" for i in range(len(shapes))]
    node = helper.make_node("Einsum", names, ["y"], name="es", equation=eq)
    prof = profile(make_model([node], [vi(n, s) for n, s in zip(names, shapes)], ["y"]))
    es = layer(prof, "es")
    assert (es.macs, es.other_ops) == (macs, other)
    assert prof.uncosted == []


# ------------------------------------------------------------------ recurrent

RNN_CASES = [
    # id, op, direction, seq, batch, input, hidden, layout, gates, other ops per step-row-direction
    ("lstm-fwd", "LSTM", "forward", 7, 2, 5, 4, 0, 4, 9 * 4 + 8 * 4),
    ("lstm-bidi", "LSTM", "bidirectional", 7, 2, 5, 4, 0, 4, 9 * 4 + 8 * 4),
    ("lstm-bidi-batch-first", "LSTM", "bidirectional", 6, 3, 8, 16, 1, 4, 9 * 16 + 8 * 16),
    ("gru-bidi", "GRU", "bidirectional", 10, 2, 6, 8, 0, 3, 7 * 8 + 6 * 8),
    ("gru-reverse", "GRU", "reverse", 10, 1, 6, 8, 0, 3, 7 * 8 + 6 * 8),
    ("rnn-bidi", "RNN", "bidirectional", 5, 4, 3, 6, 0, 1, 1 * 6 + 2 * 6),
]


@pytest.mark.parametrize(
    "op,direction,seq,batch,inp,hidden,layout,gates,per_step",
    [c[1:] for c in RNN_CASES], ids=[c[0] for c in RNN_CASES],
)
def test_recurrent(op, direction, seq, batch, inp, hidden, layout, gates, per_step):
    dirs = 2 if direction == "bidirectional" else 1
    x = [batch, seq, inp] if layout else [seq, batch, inp]
    weights = {"W": [dirs, gates * hidden, inp], "R": [dirs, gates * hidden, hidden], "B": [dirs, 2 * gates * hidden]}
    prof = profile(single_op(op, x, weights, direction=direction, hidden_size=hidden, layout=layout))
    r = layer(prof, "op")
    # every direction, every time step: input and recurrent products for every gate
    assert r.macs == dirs * seq * batch * gates * hidden * (inp + hidden)
    assert r.other_ops == dirs * seq * batch * per_step
    assert r.weights == dirs * gates * hidden * inp + dirs * gates * hidden * hidden + dirs * 2 * gates * hidden
    expect_y = [batch, seq, dirs, hidden] if layout else [seq, dirs, batch, hidden]
    assert r.output_shapes[0] == expect_y


# ------------------------------------------------------------------ fused attention

def test_onnx_attention_opset23_4d():
    b, h, sq, skv, d = 2, 4, 6, 9, 8
    node = helper.make_node("Attention", ["q", "k", "v"], ["y"], name="att")
    m = make_model([node], [vi("q", [b, h, sq, d]), vi("k", [b, h, skv, d]), vi("v", [b, h, skv, d])], ["y"],
                   opset=23)
    prof = profile(m)
    att = layer(prof, "att")
    assert att.output_shapes == [[b, h, sq, d]]  # onnx 1.23 shape inference knows Attention-23
    assert att.macs == b * h * sq * skv * d + b * h * sq * skv * d  # Q K^T, then P V
    assert att.other_ops == 4 * b * h * sq * skv
    assert att.rule == "attention"


def test_onnx_attention_3d_grouped_query():
    b, sq, skv, hq, hkv, d = 1, 5, 7, 8, 2, 4
    node = helper.make_node("Attention", ["q", "k", "v"], ["y"], name="att", q_num_heads=hq, kv_num_heads=hkv)
    m = make_model([node], [vi("q", [b, sq, hq * d]), vi("k", [b, skv, hkv * d]), vi("v", [b, skv, hkv * d])],
                   ["y"], opset=23)
    att = layer(profile(m), "att")
    assert att.macs == 2 * b * hq * sq * skv * d


def test_onnx_attention_with_past_key_values():
    b, h, sq, past, d = 1, 2, 1, 15, 8
    node = helper.make_node("Attention", ["q", "k", "v", "", "pk", "pv"], ["y", "present_k", "present_v"],
                            name="att")
    m = make_model(
        [node],
        [vi("q", [b, h, sq, d]), vi("k", [b, h, sq, d]), vi("v", [b, h, sq, d]), vi("pk", [b, h, past, d]),
         vi("pv", [b, h, past, d])],
        ["y", "present_k", "present_v"], opset=23)
    att = layer(profile(m), "att")
    # a decode step attends over the past plus the new token
    assert att.macs == 2 * b * h * sq * (past + sq) * d


def test_ms_attention():
    b, s, din, heads, hidden = 2, 6, 16, 4, 16
    m = single_op("Attention", [b, s, din], {"w": [din, 3 * hidden], "bias": [3 * hidden]}, domain="com.microsoft",
                  num_heads=heads)
    att = layer(profile(m), "op")
    proj = b * s * din * 3 * hidden
    scores = b * heads * s * s * (hidden // heads)
    context = b * heads * s * s * (hidden // heads)
    assert att.macs == proj + scores + context
    assert att.other_ops == b * s * 3 * hidden + 4 * b * heads * s * s
    assert att.weights == din * 3 * hidden + 3 * hidden


def test_ms_multi_head_attention():
    b, s, length, hidden, heads = 2, 6, 9, 16, 4
    node = helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["y"], name="mha", domain="com.microsoft",
                            num_heads=heads)
    m = make_model([node], [vi("q", [b, s, hidden]), vi("k", [b, length, hidden]), vi("v", [b, length, hidden])],
                   ["y"], extra_opsets={"com.microsoft": 1})
    mha = layer(profile(m), "mha")
    assert mha.macs == b * s * length * hidden + b * s * length * hidden
    assert mha.other_ops == 4 * b * heads * s * length


def test_attention_as_matmul_softmax_graph():
    b, h, s, d = 1, 2, 10, 8
    nodes = [
        helper.make_node("Transpose", ["k"], ["kt"], name="kT", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
        helper.make_node("Softmax", ["scores"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["y"], name="pv"),
    ]
    m = make_model(nodes, [vi(n, [b, h, s, d]) for n in "qkv"], ["y"])
    prof = profile(m)
    assert prof.totals.macs == b * h * s * s * d * 2
    assert layer(prof, "softmax").other_ops == 3 * b * h * s * s
    assert layer(prof, "softmax").macs == 0


# ------------------------------------------------------------------ other ops

OTHER_CASES = [
    # id, op, x shape, weights, attrs, other ops (never MACs)
    ("relu", "Relu", [2, 3, 4, 4], {}, {}, 2 * 3 * 16),
    ("add-const", "Add", [2, 3, 4, 4], {"c": [3, 1, 1]}, {}, 2 * 3 * 16),
    ("sum-3", "Sum", [2, 8], {"c": [2, 8], "d": [8]}, {}, 2 * 2 * 8),
    ("softmax", "Softmax", [4, 10], {}, {}, 3 * 40),
    ("batchnorm", "BatchNormalization", [2, 3, 4, 4], {"s": [3], "b": [3], "m": [3], "v": [3]}, {}, 2 * 2 * 48),
    ("layernorm", "LayerNormalization", [2, 5, 8], {"g": [8], "b": [8]}, {"axis": -1}, 6 * 80),
    ("layernorm-no-bias", "LayerNormalization", [2, 5, 8], {"g": [8]}, {"axis": -1}, 5 * 80),
    ("maxpool-3x3-s2", "MaxPool", [1, 4, 9, 9], {}, {"kernel_shape": [3, 3], "strides": [2, 2]}, 4 * 4 * 4 * 9),
    ("avgpool-2x2", "AveragePool", [1, 4, 8, 8], {}, {"kernel_shape": [2, 2], "strides": [2, 2]}, 4 * 16 * 4),
    ("global-avg", "GlobalAveragePool", [2, 16, 7, 7], {}, {}, 2 * 16 * 49),
    ("reduce-mean", "ReduceMean", [2, 16, 7, 7], {}, {"axes": [2, 3]}, 2 * 16 * 49),
    ("sigmoid", "Sigmoid", [3, 7], {}, {}, 21),
]


@pytest.mark.parametrize("op,x,w,attrs,other", [c[1:] for c in OTHER_CASES], ids=[c[0] for c in OTHER_CASES])
def test_other_ops(op, x, w, attrs, other):
    prof = profile(single_op(op, x, w, **attrs))
    node = layer(prof, "op")
    assert node.macs == 0
    assert node.other_ops == other
    assert prof.totals.macs == 0 and prof.totals.other_ops == other


@pytest.mark.parametrize("mode,taps", [("nearest", 1), ("linear", 2 * 2), ("cubic", 4 * 4)])
def test_resize(mode, taps):
    scales = init("scales", [4], value=[1, 1, 2, 2])
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode=mode)
    prof = profile(make_model([node], [vi("x", [1, 3, 8, 8])], ["y"], [scales]))
    up = layer(prof, "up")
    assert up.output_shapes == [[1, 3, 16, 16]]
    assert up.other_ops == 3 * 16 * 16 * taps
    assert up.weights == 0  # scales are sizes, not parameters


def test_data_movement_ops_cost_nothing_and_shape_inputs_are_not_weights():
    shape = init("shape", [2], "int64", [2, -1])
    node = helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")
    prof = profile(make_model([node], [vi("x", [2, 3, 4])], ["y"], [shape]))
    rs = layer(prof, "rs")
    assert (rs.macs, rs.other_ops, rs.weights, rs.rule) == (0, 0, 0, "data-movement")
    assert rs.output_shapes == [[2, 12]]


@pytest.mark.parametrize("op,reduction,other", [
    ("ScatterND", None, 0),                    # plain overwrite: data movement only
    ("ScatterND", "add", 3 * 4),               # updates [3, 4]: one add per update element
    ("ScatterElements", "mul", 3 * 4),
])
def test_scatter_counts_its_reduction(op, reduction, other):
    attrs = {} if reduction is None else {"reduction": reduction}
    if op == "ScatterND":
        idx = init("idx", [3, 1], "int64", [[0], [2], [4]])    # three rows of a [6, 4] tensor
    else:
        idx = init("idx", [3, 4], "int64", [[0] * 4, [2] * 4, [4] * 4])
    node = helper.make_node(op, ["x", "idx", "u"], ["y"], name="sc", **attrs)
    prof = profile(make_model([node], [vi("x", [6, 4]), vi("u", [3, 4])], ["y"], [idx]))
    sc = layer(prof, "sc")
    assert (sc.macs, sc.other_ops, sc.weights) == (0, other, 0)  # indices are not weights


# ------------------------------------------------------------------ uncosted

def test_unknown_op_is_listed_never_zero():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1] * 4),
        helper.make_node("FancyOp", ["c"], ["f1"], name="fancy_a", domain="my.ops"),
        helper.make_node("FancyOp", ["f1"], ["f2"], name="fancy_b", domain="my.ops"),
    ]
    m = make_model(nodes, [vi("x", [1, 3, 8, 8])], ["f2"], [init("w", [4, 3, 3, 3])], extra_opsets={"my.ops": 1})
    prof = profile(m)
    assert len(prof.uncosted) == 1
    u = prof.uncosted[0]
    assert (u.op_type, u.domain, u.count, u.nodes) == ("FancyOp", "my.ops", 2, ["fancy_a", "fancy_b"])
    assert "no cost rule" in u.reason
    assert prof.totals.uncosted_count == 2
    assert layer(prof, "fancy_a").macs is None and layer(prof, "fancy_a").other_ops is None
    assert layer(prof, "fancy_a").rule == "uncosted"
    assert prof.totals.macs == 4 * 64 * 3 * 9  # only the conv
    with pytest.raises(UncostedOpError, match="FancyOp x2"):
        profile(m, strict=True)


def test_node_with_unknown_shape_is_uncosted_with_reason():
    # a custom op's output has no inferable shape: the Conv after it cannot be costed
    nodes = [
        helper.make_node("Mystery", ["x"], ["m"], name="mystery", domain="my.ops"),
        helper.make_node("Conv", ["m", "w"], ["y"], name="conv"),
    ]
    m = make_model(nodes, [vi("x", [1, 3, 8, 8])], ["y"], [init("w", [4, 3, 3, 3])], extra_opsets={"my.ops": 1})
    prof = profile(m)
    kinds = {u.op_type: u for u in prof.uncosted}
    assert set(kinds) == {"Mystery", "Conv"}
    assert "unknown" in kinds["Conv"].reason
    assert layer(prof, "conv").weights == 4 * 3 * 9  # weights are still counted
    # m and y have no shape: only x (3 x 64 fp32) has bytes, and the profile says the figures omit m and y
    assert prof.totals.activation_bytes == prof.totals.largest_activation_bytes == 3 * 64 * 4
    assert prof.totals.largest_activation_tensor.name == "x"
    assert ("2 activation tensor(s) have no known shape (m, y): their bytes are not in the activation, largest "
            "and peak-live figures, which are lower bounds") in prof.conditions.notes


@pytest.mark.parametrize(
    "op,x,w",
    [("Conv", [1, 3, 8, 8], [4, 5, 3, 3]), ("ConvTranspose", [1, 3, 8, 8], [5, 4, 3, 3])],
)
def test_conv_whose_kernel_does_not_match_the_input_channels_is_an_invalid_model(op, x, w):
    """The node contradicts its own shapes: an error naming it (issue 12), not an uncosted layer and MACs 0."""
    from fitbench.errors import ShapeError

    with pytest.raises(ShapeError, match=r"invalid model: node 'op' \(" + op + r"\): input has 3 channels"):
        profile(single_op(op, x, {"w": w}))


@pytest.mark.parametrize("opset", [9, 11, 13, 18, 21])
def test_any_opset_onnx_loads(opset):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1] * 4),
             helper.make_node("Relu", ["c"], ["r"], name="relu")]
    inits = [init("w", [4, 3, 3, 3])]
    if opset == 9:  # Upsample (removed in opset 10) takes its scales as an input here
        nodes.append(helper.make_node("Upsample", ["r", "scales"], ["y"], name="up", mode="nearest"))
        inits.append(init("scales", [4], value=[1, 1, 2, 2]))
    prof = profile(make_model(nodes, [vi("x", ["N", 3, 8, 8])], ["y" if opset == 9 else "r"], inits, opset=opset),
                   batch=2)
    assert prof.model.opset == opset
    assert prof.totals.macs == 2 * 4 * 64 * 3 * 9
    assert prof.uncosted == []
    if opset == 9:
        assert layer(prof, "up").other_ops == 2 * 4 * 16 * 16


def test_ms_multi_head_attention_with_bias():
    b, s, length, hidden, heads = 1, 4, 6, 8, 2
    node = helper.make_node("MultiHeadAttention", ["q", "k", "v", "bias"], ["y"], name="mha", domain="com.microsoft",
                            num_heads=heads)
    m = make_model([node], [vi("q", [b, s, hidden]), vi("k", [b, length, hidden]), vi("v", [b, length, hidden])],
                   ["y"], [init("bias", [3 * hidden])], extra_opsets={"com.microsoft": 1})
    mha = layer(profile(m), "mha")
    assert mha.macs == 2 * b * s * length * hidden
    assert mha.other_ops == b * s * hidden + 2 * b * length * hidden + 4 * b * heads * s * length
    assert mha.weights == 3 * hidden


def test_matmul_with_a_shared_right_operand_is_one_gemm_of_all_rows():
    """[4, 1, 64] @ [64, 32] (a linear layer on 4 sequences of 1 token): one GEMM of 4 x 1 rows; a right operand
    with its own batch ([4, 3, 8] @ [4, 8, 5], attention-like) stays 4 GEMMs of 3 rows. MACs are unchanged."""
    from fitbench.costs.matmul import matmul_macs
    from fitbench.costs.registry import GemmShape

    assert matmul_macs((4, 1, 64), (64, 32)) == (4 * 64 * 32, GemmShape(batch=1, m=4, n=32, k=64))
    assert matmul_macs((2, 3, 5, 8), (1, 8, 6)) == (2 * 3 * 5 * 8 * 6, GemmShape(batch=1, m=30, n=6, k=8))
    assert matmul_macs((4, 3, 8), (4, 8, 5)) == (4 * 3 * 8 * 5, GemmShape(batch=4, m=3, n=5, k=8))
