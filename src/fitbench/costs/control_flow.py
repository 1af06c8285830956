"""Control flow: If, Loop, Scan. Bodies are costed with the same rules, times the trip count.

* If: costed only when the condition is a known constant (the taken branch); otherwise uncosted.
* Loop: costed when the trip count M is a known constant and the loop cannot end early (no
  condition input, or a constant-true one, and a body whose condition output is constant true or
  passes the input condition through); MACs and other_ops = M x body.
* Scan: iterations = the length of the first scan input along its scan axis; cost = iterations x body.
A body that contains uncosted ops makes the whole node uncosted.
"""

from __future__ import annotations

import numpy as np

from ..graph.ir import Graph
from .registry import CostContext, OpCost, Uncostable, register


def _body(ctx: CostContext, graph: Graph) -> tuple[int, int]:
    coster = getattr(ctx, "cost_subgraph", None)
    if coster is None:
        raise Uncostable("no subgraph coster available")
    macs, other, uncosted = coster(graph)
    if uncosted:
        raise Uncostable(f"its body contains uncosted ops: {', '.join(sorted(set(uncosted)))}")
    return macs, other


def _is_true(value: np.ndarray | None) -> bool:
    return value is not None and value.size == 1 and bool(value.reshape(-1)[0])


@register("If")
def if_(ctx: CostContext) -> OpCost:
    cond = ctx.value(0)
    if cond is None or cond.size != 1:
        raise Uncostable("If condition is not known statically")
    branch = ctx.node.subgraphs["then_branch" if bool(cond.reshape(-1)[0]) else "else_branch"]
    macs, other = _body(ctx, branch)
    return OpCost(rule="if", macs=macs, other_ops=other, non_weight_inputs=frozenset({0}))


@register("Loop")
def loop(ctx: CostContext) -> OpCost:
    trip = ctx.value(0)
    if trip is None or trip.size != 1:
        raise Uncostable("Loop trip count M is not a known constant")
    if ctx.has_input(1) and not _is_true(ctx.value(1)):
        raise Uncostable("Loop condition is not constant true: the trip count is data-dependent")
    body = ctx.node.subgraphs["body"]
    cond_out = body.outputs[0] if body.outputs else ""
    passthrough = len(body.inputs) > 1 and cond_out == body.inputs[1]
    if not passthrough and not _is_true(body.constant_values.get(cond_out)):
        producer = next((n for n in body.nodes if cond_out in n.outputs), None)
        if not (producer and producer.op_type == "Identity" and len(body.inputs) > 1
                and producer.inputs[0] == body.inputs[1]):
            raise Uncostable("Loop body computes its own condition: the trip count is data-dependent")
    m = int(trip.reshape(-1)[0])
    macs, other = _body(ctx, body)
    return OpCost(rule="loop", macs=m * macs, other_ops=m * other, non_weight_inputs=frozenset({0, 1}))


@register("Scan")
def scan(ctx: CostContext) -> OpCost:
    n_scan = int(ctx.attr("num_scan_inputs", 1))
    first_scan = len(ctx.node.inputs) - n_scan
    axes = ctx.attr("scan_input_axes") or [0] * n_scan
    shape = ctx.in_shape(first_scan)
    axis = int(axes[0]) % len(shape)
    iterations = shape[axis]
    macs, other = _body(ctx, ctx.node.subgraphs["body"])
    return OpCost(rule="scan", macs=iterations * macs, other_ops=iterations * other)
