"""Convolutions (1-D/2-D/3-D, grouped, depthwise, dilated, padded, strided) and ConvTranspose."""

from __future__ import annotations

import math

from .registry import CostContext, GemmShape, InvalidModel, OpCost, register


def conv_macs(batch: int, out_channels: int, out_spatial: tuple[int, ...], in_channels_per_group: int,
              kernel: tuple[int, ...]) -> int:
    """MACs of a convolution: every output element sums Cin/group x prod(kernel) products."""
    return batch * out_channels * math.prod(out_spatial) * in_channels_per_group * math.prod(kernel)


def winograd_eligible(kernel: tuple[int, ...], strides, dilations, group: int) -> bool:
    """F(m x m, 3 x 3) applies to 2-D 3x3 kernels with stride 1, dilation 1, group 1."""
    return (tuple(kernel) == (3, 3) and all(s == 1 for s in strides) and all(d == 1 for d in dilations)
            and group == 1)


def conv_like(ctx: CostContext, x: int, w: int, bias: int | None, rule: str) -> OpCost:
    """Shared by Conv, QLinearConv and ConvInteger (input positions differ).

    MACs = N x Cout x prod(out spatial) x (Cin/group) x prod(kernel).
    other_ops = output elements when a bias is present (one add each).
    """
    xs, ws, ys = ctx.in_shape(x), ctx.in_shape(w), ctx.out_shape(0)
    group = int(ctx.attr("group", 1))
    kernel = tuple(ws[2:])
    n, cout, out_sp = ys[0], ys[1], tuple(ys[2:])
    cin_g = ws[1]
    if xs[1] != cin_g * group:
        raise InvalidModel(f"input has {xs[1]} channels but the kernel {list(ws)} with group {group} expects "
                         f"{cin_g * group}")
    macs = conv_macs(n, cout, out_sp, cin_g, kernel)
    nd = len(kernel)
    strides = ctx.attr("strides") or [1] * nd
    dil = ctx.attr("dilations") or [1] * nd
    other = math.prod(ys) if bias is not None and ctx.has_input(bias) else 0
    gemm = GemmShape(batch=group, m=n * math.prod(out_sp), n=cout // group, k=cin_g * math.prod(kernel))
    return OpCost(rule=rule, macs=macs, other_ops=other, gemms=(gemm,),
                  winograd_eligible=winograd_eligible(kernel, strides, dil, group), kernel=kernel)


@register("Conv")
def conv(ctx: CostContext) -> OpCost:
    """Conv(X, W, B): see :func:`conv_like`."""
    return conv_like(ctx, 0, 1, 2, "conv")


@register("ConvTranspose")
def conv_transpose(ctx: CostContext) -> OpCost:
    """ConvTranspose(X, W[Cin, Cout/group, k...], B).

    Every *input* position is multiplied by the whole kernel slice of its group:
    MACs = N x Cin x prod(in spatial) x (Cout/group) x prod(kernel). This does not depend on stride
    or output padding (it equals the MACs of the Conv whose gradient it is).
    other_ops = output elements when a bias is present.
    """
    xs, ws, ys = ctx.in_shape(0), ctx.in_shape(1), ctx.out_shape(0)
    group = int(ctx.attr("group", 1))
    n, cin, in_sp = xs[0], xs[1], tuple(xs[2:])
    cout_g, kernel = ws[1], tuple(ws[2:])
    if cin != ws[0]:
        raise InvalidModel(f"input has {cin} channels but the kernel {list(ws)} expects {ws[0]}")
    macs = n * cin * math.prod(in_sp) * cout_g * math.prod(kernel)
    other = math.prod(ys) if ctx.has_input(2) else 0
    gemm = GemmShape(batch=group, m=n * math.prod(in_sp), n=cout_g * math.prod(kernel), k=cin // group)
    return OpCost(rule="conv_transpose", macs=macs, other_ops=other, gemms=(gemm,), kernel=kernel)
