"""Totals for zoo tests.

``count`` takes them from the profile engine (``fitbench.profile.profile``); ``count_rules`` is a
second, independent counter that applies the registered cost rules straight to the loaded IR (same
conventions: MAC = one multiply-accumulate; weights = elements of float constant inputs of costed ops,
excluding inputs a rule marks as shapes/indices, not de-duplicated; largest activation = largest
non-constant tensor). test_figures.py checks that the two agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import onnx

from fitbench import costs
from fitbench.graph.onnx_io import load_model


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


def count_rules(proto: onnx.ModelProto) -> Counted:
    """Independent counter: the cost rules applied to the IR of ``load_model``."""
    model = load_model(proto)
    graph = model.graph
    layers: list[Layer] = []
    uncosted: list[str] = []
    for node in graph.nodes:
        rule = costs.lookup(node.domain, node.op_type)
        if rule is None:
            uncosted.append(f"{node.name} ({node.op_type})")
            layers.append(Layer(node.name, node.op_type, None, 0, False))
            continue
        c = rule(costs.CostContext(node, graph))
        w = 0
        for i, name in enumerate(node.inputs):
            t = graph.tensor(name) if name else None
            if t is not None and t.constant and i not in c.non_weight_inputs and t.is_float:
                w += t.elements
        layers.append(Layer(node.name, node.op_type, c.macs, w, c.winograd_eligible))
    acts = [t for t in graph.tensors.values() if not t.constant and t.shape is not None]
    big = max(acts, key=lambda t: math.prod(t.shape))
    return Counted(
        macs=sum(la.macs or 0 for la in layers),
        weights=sum(la.weights for la in layers),
        largest_activation_elements=math.prod(big.shape),
        largest_activation_name=big.name,
        winograd_eligible_macs=sum(la.macs or 0 for la in layers if la.winograd_eligible),
        layers=layers,
        uncosted=uncosted,
    )
