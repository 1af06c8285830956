"""Quantized ops. MACs follow the float op they quantize; requantisation is other_ops.

* QLinearConv(x, xs, xz, w, ws, wz, ys, yz, B): Conv MACs; other_ops = output elements (requantise)
  plus output elements for the bias.
* ConvInteger(x, w, xz, wz): Conv MACs; no other ops.
* QLinearMatMul(a, as, az, b, bs, bz, ys, yz): MatMul MACs; other_ops = output elements.
* MatMulInteger(A, B, az, bz): MatMul MACs.
* QuantizeLinear / DequantizeLinear: one op per element. DynamicQuantizeLinear: two per element
  (a min/max pass and the quantisation).
"""

from __future__ import annotations

from .conv import conv_like
from .matmul import matmul_macs
from .registry import CostContext, OpCost, register


@register("QLinearConv")
def qlinear_conv(ctx: CostContext) -> OpCost:
    cost = conv_like(ctx, 0, 3, 8, "qlinear_conv")
    cost.other_ops += ctx.out_elements(0)
    return cost


@register("ConvInteger")
def conv_integer(ctx: CostContext) -> OpCost:
    return conv_like(ctx, 0, 1, None, "conv_integer")


@register("QLinearMatMul")
def qlinear_matmul(ctx: CostContext) -> OpCost:
    macs, g = matmul_macs(ctx.in_shape(0), ctx.in_shape(3))
    return OpCost(rule="qlinear_matmul", macs=macs, other_ops=ctx.out_elements(0), gemms=(g,))


@register("MatMulInteger")
def matmul_integer(ctx: CostContext) -> OpCost:
    macs, g = matmul_macs(ctx.in_shape(0), ctx.in_shape(1))
    return OpCost(rule="matmul_integer", macs=macs, gemms=(g,))


@register("QuantizeLinear", "DequantizeLinear")
def quantize(ctx: CostContext) -> OpCost:
    return OpCost(rule="quantize", other_ops=ctx.in_elements(0))


@register("DynamicQuantizeLinear")
def dynamic_quantize(ctx: CostContext) -> OpCost:
    return OpCost(rule="quantize", other_ops=2 * ctx.in_elements(0))
