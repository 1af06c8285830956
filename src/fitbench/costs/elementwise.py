"""Non-MAC ops: element-wise, activations, normalisation, softmax, pooling, resize, reductions.

All of these produce ``other_ops`` only (never MACs). Counts, per op family:

* unary element-wise / activations: 1 per output element;
* n-ary element-wise (Add, Mul, Max, Sum, ...): (inputs - 1) per output element; Where: 1;
* Softmax / LogSoftmax: 3 per element (exp, accumulate, normalise);
* BatchNormalization (inference): 2 per element (scale and shift, statistics folded);
* Layer/Instance/Group normalisation: 5 per element (mean, centre, variance, normalise, scale),
  +1 with a bias; RMS-style (SimplifiedLayerNormalization, RMSNormalization): 4;
* pooling with a window: output elements x window size; global pooling: input elements;
* Resize/Upsample: output elements x taps (nearest 1, linear 2^d, cubic 4^d over the d resized axes);
* reductions, ArgMax/ArgMin, CumSum, TopK: input elements.
"""

from __future__ import annotations

import math

from .registry import CostContext, OpCost, register

UNARY = (
    "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Abs", "Neg", "Erf", "Gelu", "FastGelu", "HardSigmoid",
    "HardSwish", "LeakyRelu", "PRelu", "Elu", "Selu", "Softplus", "Softsign", "Clip", "Ceil", "Floor", "Round",
    "Reciprocal", "Sign", "Not", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Mish", "Celu",
    "ThresholdedRelu", "IsNaN", "IsInf", "Cast", "CastLike", "BitwiseNot", "QuickGelu", "Swish",
)
NARY = (
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less", "Greater", "LessOrEqual",
    "GreaterOrEqual", "And", "Or", "Xor", "Mod", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor",
)


@register(*UNARY)
def unary(ctx: CostContext) -> OpCost:
    """One op per output element. Clip's min/max inputs are thresholds, not weights."""
    non_weight = frozenset({1, 2}) if ctx.node.op_type == "Clip" else frozenset()
    return OpCost(rule="elementwise", other_ops=ctx.out_elements(0), non_weight_inputs=non_weight)


@register(*NARY)
def nary(ctx: CostContext) -> OpCost:
    """(number of inputs - 1) ops per output element."""
    n_inputs = sum(1 for x in ctx.node.inputs if x)
    return OpCost(rule="elementwise", other_ops=max(n_inputs - 1, 1) * ctx.out_elements(0))


@register("Where")
def where(ctx: CostContext) -> OpCost:
    return OpCost(rule="elementwise", other_ops=ctx.out_elements(0))


@register("Softmax", "LogSoftmax", "Hardmax")
def softmax(ctx: CostContext) -> OpCost:
    return OpCost(rule="softmax", other_ops=3 * ctx.out_elements(0))


@register("BatchNormalization")
def batch_norm(ctx: CostContext) -> OpCost:
    return OpCost(rule="normalization", other_ops=2 * ctx.in_elements(0))


@register("LayerNormalization", "InstanceNormalization", "GroupNormalization", "MeanVarianceNormalization",
          "SkipLayerNormalization")
def layer_norm(ctx: CostContext) -> OpCost:
    per = 5
    op = ctx.node.op_type
    bias_index = {"LayerNormalization": 2, "InstanceNormalization": 2, "GroupNormalization": 2}.get(op)
    if bias_index is not None and ctx.has_input(bias_index):
        per += 1
    return OpCost(rule="normalization", other_ops=per * ctx.in_elements(0))


@register("SimplifiedLayerNormalization", "RMSNormalization", "LpNormalization", "LRN")
def rms_norm(ctx: CostContext) -> OpCost:
    return OpCost(rule="normalization", other_ops=4 * ctx.in_elements(0))


@register("MaxPool", "AveragePool", "LpPool", "MaxRoiPool")
def pool(ctx: CostContext) -> OpCost:
    kernel = ctx.attr("kernel_shape") or ctx.attr("pooled_shape") or [1]
    return OpCost(rule="pool", other_ops=ctx.out_elements(0) * math.prod(kernel))


@register("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def global_pool(ctx: CostContext) -> OpCost:
    return OpCost(rule="pool", other_ops=ctx.in_elements(0))


@register("Resize", "Upsample")
def resize(ctx: CostContext) -> OpCost:
    """Output elements x interpolation taps; roi/scales/sizes inputs are not weights."""
    xs, ys = ctx.in_shape(0), ctx.out_shape(0)
    resized = sum(1 for a, b in zip(xs, ys) if a != b)
    mode = str(ctx.attr("mode", "nearest"))
    taps = {"nearest": 1, "linear": 2, "bilinear": 2, "cubic": 4}.get(mode, 1) ** resized
    return OpCost(rule="resize", other_ops=math.prod(ys) * taps, non_weight_inputs=frozenset({1, 2, 3}))


@register(
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "CumSum", "TopK",
)
def reduction(ctx: CostContext) -> OpCost:
    """Input elements; the axes / K input is not a weight."""
    return OpCost(rule="reduction", other_ops=ctx.in_elements(0), non_weight_inputs=frozenset({1}))
