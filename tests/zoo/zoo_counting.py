"""Totals for zoo tests.

``count`` takes them from the profile engine (``fitbench.profile.profile``). ``count_onnx`` is a second,
independent counter that uses nothing of fitbench past the built ONNX proto: ONNX's own shape inference
gives every tensor's shape, and the MACs of each MAC op are written here from the operator definitions
(ONNX operator docs), with the same convention (MAC = one multiply-accumulate):

* Conv:          prod(Y.shape) x prod(W.shape[1:])        (each output element: Cin/group x kernel taps)
* ConvTranspose: prod(X.shape) x prod(W.shape[1:])        (each input element scatters into Cout/group x taps)
* Gemm:          prod(Y.shape) x K, K = A.shape[0 if transA else 1]
* MatMul:        prod(Y.shape) x A.shape[-1]
* Attention:     (prod(Q.shape) + prod(Y.shape)) x Skv, Q [B, Hq, Sq, D], K [B, Hkv, Skv, D] (4-D, opset 23)
* LSTM/GRU/RNN:  seq x batch x (prod(W.shape) + prod(R.shape))  (every gate, direction and time step)

Per layer, weights = elements of the float initializers the node reads; in total, each tensor of at
least one dimension once (a tied embedding counts once; 0-d scalar constants and Resize's scales are not
parameters); largest
activation = largest tensor that is not an initializer. test_zoo_figures.py checks that the two agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import onnx
from onnx import helper


@dataclass
class Layer:
    name: str
    op_type: str
    macs: int | None
    weights: int
    winograd_eligible: bool


@dataclass
class Counted:
    macs: int
    weights: int
    largest_activation_elements: int
    largest_activation_name: str
    winograd_eligible_macs: int
    layers: list[Layer] = field(default_factory=list)
    uncosted: list[str] = field(default_factory=list)

    @property
    def winograd_speedup_f2(self) -> float:
        e = self.winograd_eligible_macs
        return self.macs / (self.macs - e + e / 2.25)


def count(proto: onnx.ModelProto) -> Counted:
    """Totals from ``fitbench.profile.profile`` at batch 1 (as built), INT8 activations."""
    from fitbench.profile import profile

    p = profile(proto, precision="int8")
    t = p.totals
    layers = [Layer(la.name, la.op_type, la.macs, la.weights, la.winograd_eligible) for la in p.layers]
    return Counted(
        macs=t.macs,
        weights=t.weights,
        largest_activation_elements=math.prod(t.largest_activation_tensor.shape),
        largest_activation_name=t.largest_activation_tensor.name,
        winograd_eligible_macs=t.winograd_eligible_macs,
        layers=layers,
        uncosted=[f"{u.op_type} x{u.count}" for u in p.uncosted],
    )


MAC_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "LSTM", "GRU", "RNN"}


def count_onnx(proto: onnx.ModelProto) -> Counted:
    """Independent counter: ONNX shape inference + the MAC formulas of the module docstring."""
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
    g = inferred.graph
    inits = {t.name: list(t.dims) for t in g.initializer}
    float_inits = {t.name for t in g.initializer if t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)}
    shapes: dict[str, list[int]] = {}
    for v in [*g.input, *g.value_info, *g.output]:
        dims = v.type.tensor_type.shape.dim
        assert all(d.HasField("dim_value") for d in dims), f"ONNX left {v.name} unshaped"
        shapes[v.name] = [d.dim_value for d in dims]
    shapes.update(inits)
    layers: list[Layer] = []
    read_weights: set[str] = set()
    for node in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        ins = list(node.input)
        macs: int | None = 0
        eligible = False
        if node.op_type == "Conv":
            w = shapes[ins[1]]
            macs = math.prod(shapes[node.output[0]]) * math.prod(w[1:])
            eligible = (w[2:] == [3, 3] and attrs.get("strides", [1, 1]) == [1, 1]
                        and attrs.get("dilations", [1, 1]) == [1, 1] and attrs.get("group", 1) == 1)
        elif node.op_type == "ConvTranspose":
            macs = math.prod(shapes[ins[0]]) * math.prod(shapes[ins[1]][1:])
        elif node.op_type == "Gemm":
            a = shapes[ins[0]]
            macs = math.prod(shapes[node.output[0]]) * (a[0] if attrs.get("transA", 0) else a[1])
        elif node.op_type == "MatMul":
            macs = math.prod(shapes[node.output[0]]) * shapes[ins[0]][-1]
        elif node.op_type == "Attention":  # 4-D q [B, Hq, Sq, D], k/v [B, Hkv, Skv, D]: Q K^T + P V
            macs = (math.prod(shapes[ins[0]]) + math.prod(shapes[node.output[0]])) * shapes[ins[1]][-2]
        elif node.op_type in ("LSTM", "GRU", "RNN"):
            x = shapes[ins[0]]
            seq, batch = (x[1], x[0]) if attrs.get("layout", 0) else (x[0], x[1])
            macs = seq * batch * (math.prod(shapes[ins[1]]) + math.prod(shapes[ins[2]]))
        # Resize's roi/scales are sizes, not parameters
        weights = sum(math.prod(inits[n]) for i, n in enumerate(ins)
                      if n in float_inits and not (node.op_type == "Resize" and i > 0))
        layers.append(Layer(node.name, node.op_type, macs, weights, eligible))
        read_weights |= {n for i, n in enumerate(ins) if n in float_inits and inits[n]
                         and not (node.op_type == "Resize" and i > 0)}
    acts = {n: s for n, s in shapes.items() if n not in inits}
    big = max(acts, key=lambda n: math.prod(acts[n]))
    return Counted(
        macs=sum(la.macs for la in layers),
        weights=sum(math.prod(inits[n]) for n in read_weights),
        largest_activation_elements=math.prod(acts[big]),
        largest_activation_name=big,
        winograd_eligible_macs=sum(la.macs for la in layers if la.winograd_eligible),
        layers=layers,
    )
