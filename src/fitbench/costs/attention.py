"""Fused attention ops. (Attention written as MatMul/Softmax is costed by those rules.)

* ONNX ``Attention`` (opset 23): Q [B, Hq, Sq, D] (or 3-D [B, Sq, Hq*D] with ``q_num_heads``),
  K [B, Hkv, Skv, D], V [B, Hkv, Skv, Dv]. MACs = B*Hq*Sq*Skv*D (Q K^T) + B*Hq*Sq*Skv*Dv (P V),
  where Skv includes the ``past_key`` length when given (a decode step attends over past + new).
  other_ops = 4 per score (scale, exp, sum, divide).
* ``com.microsoft.Attention``: input [B, S, Din], weights [Din, Hq+Hk+Hv], num_heads.
  MACs = B*S*Din*(Hq+Hk+Hv) (projection) + B*S*S*Hq (scores) + B*S*S*Hv (context).
  other_ops = projection bias adds + 4 per score.
* ``com.microsoft.MultiHeadAttention``: query [B, S, Hq], key [B, L, Hq], value [B, L, Hv]
  (already projected). MACs = B*S*L*Hq + B*S*L*Hv; other_ops = 4 per score, plus the q/k/v bias
  adds when ``bias`` is given. Masks and past key/value inputs are not weights.
"""

from __future__ import annotations

from .registry import CostContext, GemmShape, OpCost, Uncostable, register


@register("Attention")
def onnx_attention(ctx: CostContext) -> OpCost:
    q, k, v = ctx.in_shape(0), ctx.in_shape(1), ctx.in_shape(2)
    if len(q) == 4:
        b, hq, sq, d = q
        skv, dv = k[2], v[3]
    elif len(q) == 3:
        hq = int(ctx.attr("q_num_heads", 0) or 0)
        kvh = int(ctx.attr("kv_num_heads", 0) or 0)
        if not hq or not kvh:
            raise Uncostable("3-D Attention needs q_num_heads and kv_num_heads")
        b, sq, d = q[0], q[1], q[2] // hq
        skv, dv = k[1], v[2] // kvh
    else:
        raise Uncostable(f"Attention query of rank {len(q)}")
    if ctx.has_input(4):  # past_key [B, Hkv, past, D]: the new queries attend over past + new keys
        skv += ctx.in_shape(4)[2]
    scores = b * hq * sq * skv
    g1 = GemmShape(batch=b * hq, m=sq, n=skv, k=d)
    g2 = GemmShape(batch=b * hq, m=sq, n=dv, k=skv)
    return OpCost(rule="attention", macs=g1.macs + g2.macs, other_ops=4 * scores, gemms=(g1, g2),
                  non_weight_inputs=frozenset({3, 6}))


@register("Attention", domain="com.microsoft")
def ms_attention(ctx: CostContext) -> OpCost:
    x, w = ctx.in_shape(0), ctx.in_shape(1)
    b, s, din = x
    sizes = ctx.attr("qkv_hidden_sizes") or [w[1] // 3] * 3
    hq, hk, hv = (int(v) for v in sizes)
    heads = int(ctx.attr("num_heads", 1))
    proj = GemmShape(batch=1, m=b * s, n=hq + hk + hv, k=din)
    qk = GemmShape(batch=b * heads, m=s, n=s, k=hq // heads)
    pv = GemmShape(batch=b * heads, m=s, n=hv // heads, k=s)
    bias = b * s * (hq + hk + hv) if ctx.has_input(2) else 0
    return OpCost(rule="attention", macs=proj.macs + qk.macs + pv.macs, other_ops=bias + 4 * b * heads * s * s,
                  gemms=(proj, qk, pv), non_weight_inputs=frozenset({3}))


@register("MultiHeadAttention", domain="com.microsoft")
def ms_multi_head_attention(ctx: CostContext) -> OpCost:
    q, k, v = ctx.in_shape(0), ctx.in_shape(1), ctx.in_shape(2)
    if len(q) != 3 or len(k) != 3 or len(v) != 3:
        raise Uncostable("MultiHeadAttention costed for 3-D query/key/value only")
    heads = int(ctx.attr("num_heads", 1))
    b, s, hq = q
    length, hv = k[1], v[2]
    qk = GemmShape(batch=b * heads, m=s, n=length, k=hq // heads)
    pv = GemmShape(batch=b * heads, m=s, n=hv // heads, k=length)
    bias = b * s * hq + b * length * (hq + hv) if ctx.has_input(3) else 0  # q, k and v bias adds
    return OpCost(rule="attention", macs=qk.macs + pv.macs, other_ops=bias + 4 * b * heads * s * length,
                  gemms=(qk, pv), non_weight_inputs=frozenset({4, 5, 6, 7}))
