"""Recurrent layers: LSTM, GRU, RNN — every direction, every time step.

With X of shape [seq, batch, input] (``layout=0``; [batch, seq, input] when ``layout=1``),
W of shape [directions, gates*H, input] and R of shape [directions, gates*H, H]:

* MACs = directions x seq x batch x gates*H x (input + H)   (gates: LSTM 4, GRU 3, RNN 1)
* other_ops per direction, step and batch row:
  LSTM 9H (4 gate activations, c = f*c + i*g: 3, h = o*tanh(c): 2) plus 8H bias adds when B is given;
  GRU 7H (3 gate activations, r*h: 1, h = (1-z)*n + z*h: 3) plus 6H bias adds;
  RNN H (activation) plus 2H bias adds.
"""

from __future__ import annotations

from .registry import CostContext, GemmShape, OpCost, register

_GATES = {"LSTM": (4, 9, 8), "GRU": (3, 7, 6), "RNN": (1, 1, 2)}


@register("LSTM", "GRU", "RNN")
def recurrent(ctx: CostContext) -> OpCost:
    op = ctx.node.op_type
    gates, act_per_h, bias_per_h = _GATES[op]
    x, w = ctx.in_shape(0), ctx.in_shape(1)
    seq, batch = (x[1], x[0]) if int(ctx.attr("layout", 0)) == 1 else (x[0], x[1])
    dirs, gh, inp = w
    hidden = gh // gates
    macs = dirs * seq * batch * gates * hidden * (inp + hidden)
    per_step = act_per_h * hidden + (bias_per_h * hidden if ctx.has_input(3) else 0)
    other = dirs * seq * batch * per_step
    g = GemmShape(batch=dirs * seq, m=batch, n=gates * hidden, k=inp + hidden)
    # sequence_lens (4) and the initial states (5, and 6 for LSTM) are not parameters
    return OpCost(rule=op.lower(), macs=macs, other_ops=other, gemms=(g,), non_weight_inputs=frozenset({4, 5, 6}))
