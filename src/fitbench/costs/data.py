"""Data-movement ops: no arithmetic (0 MACs, 0 other ops), costed explicitly as such; a ScatterND /
ScatterElements with a ``reduction`` combines each update with the data: one other op per update element.

They still move activations (the profile counts their tensors). Their shape/index/axes inputs
are not weights.
"""

from __future__ import annotations

from .registry import CostContext, OpCost, register

# op -> input positions that carry shapes, axes, indices or sizes (never weights)
DATA_MOVEMENT: dict[str, frozenset[int]] = {
    "Reshape": frozenset({1}), "Flatten": frozenset(), "Squeeze": frozenset({1}), "Unsqueeze": frozenset({1}),
    "Transpose": frozenset(), "Concat": frozenset(), "Split": frozenset({1}), "Slice": frozenset({1, 2, 3, 4}),
    "Gather": frozenset({1}), "GatherElements": frozenset({1}), "GatherND": frozenset({1}),
    "Pad": frozenset({1, 2, 3}), "Identity": frozenset(), "Shape": frozenset(), "Size": frozenset(),
    "Expand": frozenset({1}), "Tile": frozenset({1}), "ConstantOfShape": frozenset({0}),
    "DepthToSpace": frozenset(), "SpaceToDepth": frozenset(), "Dropout": frozenset({1, 2}),
    "ScatterND": frozenset({1}), "ScatterElements": frozenset({1}), "Range": frozenset({0, 1, 2}),
    "NonZero": frozenset(), "OneHot": frozenset({1}), "Trilu": frozenset({1}), "EyeLike": frozenset(),
    "Compress": frozenset({1}), "ReverseSequence": frozenset({1}), "Constant": frozenset(),
    "SequenceConstruct": frozenset(), "SplitToSequence": frozenset({1}), "ConcatFromSequence": frozenset(),
    "SequenceAt": frozenset({1}), "Optional": frozenset(), "OptionalGetElement": frozenset(),
}


@register(*DATA_MOVEMENT)
def data_movement(ctx: CostContext) -> OpCost:
    """No arithmetic, except a Scatter with ``reduction`` (add/mul/max/min): one op per update element."""
    reduction = ctx.attr("reduction", "none")
    if isinstance(reduction, bytes):
        reduction = reduction.decode()
    other = ctx.in_elements(2) if ctx.node.op_type.startswith("Scatter") and reduction != "none" else 0
    return OpCost(rule="data-movement", other_ops=other, non_weight_inputs=DATA_MOVEMENT[ctx.node.op_type])
