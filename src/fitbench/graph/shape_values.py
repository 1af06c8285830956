"""Fold the small shape arithmetic that ONNX's data propagation does not cover.

Dynamic-axes exports compute Reshape targets from ``x.shape`` (``Shape -> Gather -> Div ->
Unsqueeze -> Concat``). ONNX shape inference propagates some of these ops but not all (``Div``,
``Floor``, ``Where``, ``Range``...), leaving every tensor after the Reshape without a shape. Once the
input shapes are bound, those values are plain integers: this module evaluates them with numpy
(tensors of at most ``MAX_ELEMENTS`` elements only, never weights) so that inference can be re-run
with them as constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import onnx
from onnx import helper, numpy_helper

MAX_ELEMENTS = 1024


def _attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return np.trunc(a / b).astype(np.result_type(a, b))  # ONNX integer Div truncates
    return a / b


def _axes(node: onnx.NodeProto, vals: list[np.ndarray | None], pos: int) -> list[int] | None:
    if len(vals) > pos and vals[pos] is not None:
        return [int(v) for v in vals[pos].reshape(-1)]
    attr = _attr(node, "axes")
    return None if attr is None else [int(v) for v in attr]


def _slice(node, v):
    data, starts, ends = v[0], v[1], v[2]
    axes = v[3] if len(v) > 3 and v[3] is not None else np.arange(len(starts))
    steps = v[4] if len(v) > 4 and v[4] is not None else np.ones(len(starts), dtype=np.int64)
    index = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


def _unsqueeze(node, v):
    out = v[0]
    for a in sorted(a % (out.ndim + len(_axes(node, v, 1))) for a in _axes(node, v, 1)):
        out = np.expand_dims(out, a)
    return out


def _squeeze(node, v):
    axes = _axes(node, v, 1)
    return np.squeeze(v[0], axis=None if axes is None else tuple(axes))


def _shape(node, v, shape):
    start, end = _attr(node, "start", 0), _attr(node, "end", None)
    return np.array(shape[start:end], dtype=np.int64)


_OPS: dict[str, Callable] = {
    "Identity": lambda n, v: v[0],
    "Gather": lambda n, v: np.take(v[0], v[1], axis=_attr(n, "axis", 0)),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda n, v: np.concatenate([x.reshape(-1) if x.ndim == 0 else x for x in v], axis=_attr(n, "axis", 0)),
    "Cast": lambda n, v: v[0].astype(helper.tensor_dtype_to_np_dtype(_attr(n, "to"))),
    "Add": lambda n, v: v[0] + v[1],
    "Sub": lambda n, v: v[0] - v[1],
    "Mul": lambda n, v: v[0] * v[1],
    "Div": lambda n, v: _int_div(v[0], v[1]),
    "Mod": lambda n, v: np.mod(v[0], v[1]),
    "Neg": lambda n, v: -v[0],
    "Abs": lambda n, v: np.abs(v[0]),
    "Floor": lambda n, v: np.floor(v[0]),
    "Ceil": lambda n, v: np.ceil(v[0]),
    "Sqrt": lambda n, v: np.sqrt(v[0]),
    "Min": lambda n, v: np.minimum.reduce(v),
    "Max": lambda n, v: np.maximum.reduce(v),
    "Equal": lambda n, v: np.equal(v[0], v[1]),
    "Less": lambda n, v: np.less(v[0], v[1]),
    "Greater": lambda n, v: np.greater(v[0], v[1]),
    "Not": lambda n, v: np.logical_not(v[0]),
    "Where": lambda n, v: np.where(v[0], v[1], v[2]),
    "Slice": _slice,
    "Range": lambda n, v: np.arange(v[0], v[1], v[2]),
    "Reshape": lambda n, v: v[0].reshape([int(d) if d != 0 else v[0].shape[i] for i, d in enumerate(v[1])]),
    "ReduceProd": lambda n, v: np.prod(v[0], axis=None if len(v) < 2 else tuple(int(a) for a in v[1]),
                                       keepdims=bool(_attr(n, "keepdims", 1))),
    "ConstantOfShape": lambda n, v: np.full([int(d) for d in v[0]], 0 if _attr(n, "value") is None
                                            else numpy_helper.to_array(_attr(n, "value")).reshape(-1)[0]),
    "Expand": lambda n, v: v[0] * np.ones([int(d) for d in v[1]], dtype=v[0].dtype),
}


def fold_shape_values(
    nodes, known: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...] | None]
) -> dict[str, np.ndarray]:
    """Evaluate the outputs of small shape-arithmetic nodes whose inputs are known.

    ``known`` holds constant values (small initializers, ``Constant`` outputs); ``shapes`` the
    inferred static shapes (for ``Shape``/``Size``). Returns the newly computed values.
    """
    values = dict(known)
    out: dict[str, np.ndarray] = {}
    for node in nodes:
        if node.domain not in ("", "ai.onnx") or not node.output or node.output[0] in values:
            continue
        op = node.op_type
        try:
            if op in ("Shape", "Size"):
                shape = shapes.get(node.input[0])
                if shape is None:
                    continue
                result = _shape(node, None, shape) if op == "Shape" else np.array(math.prod(shape), dtype=np.int64)
            elif op in _OPS:
                ins = [values.get(x) if x else None for x in node.input]
                required = [x for x, name in zip(ins, node.input) if name]
                if not required or any(x is None for x in required):
                    continue
                result = np.asarray(_OPS[op](node, ins))
            else:
                continue
        except Exception:  # noqa: BLE001 - anything odd: leave it to shape inference
            continue
        if result.size <= MAX_ELEMENTS:
            values[node.output[0]] = result
            out[node.output[0]] = result
    return out
