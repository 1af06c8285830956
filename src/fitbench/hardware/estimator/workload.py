"""The profile as the estimator sees it: one row per executed (fused) layer, as per-sample arrays.

Conventions (per sample = the profile's figure / the profile's batch; bytes at the estimate's precision):

* *View* ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Shape, Size, Constant, Concat,
  Split) cost nothing: producers write in place. *Layout* ops (Transpose, DepthToSpace, SpaceToDepth)
  are views or copies per the spec's ``layout_ops``: a copy moves one element per vector op.
* Element-wise, normalisation and softmax nodes that directly follow a layer and take a tensor of its
  output's shape are **fused** into it (their other ops and extra inputs join it; no traffic of their own).
  A MatMul that takes a fused softmax's output (``Q K^T -> softmax -> @ V``) joins it too, as one
  ``attention`` layer: fused attention kernels keep the score tensor on chip.
* **Op class** (:data:`fitbench.hardware.defaults.OP_CLASSES`): from the profile's rule; a grouped
  convolution (groups > 1) is ``depthwise``.
* **Recurrent** layers (LSTM/GRU/RNN) run ``steps`` = sequence length dependent steps; their GEMMs
  are mapped per step (the streamed dimension is the batch, not the batch x the sequence), and their
  weights are read once per step when they are not resident.
* **Gather** from a constant table (an embedding) reads only the gathered rows: the table is weight
  *storage*; its per-inference traffic is the output's bytes (``weight_rows_b``), not the table. A table
  that a later MAC layer also reads (a tied LM head, ``logits = h @ E^T``) is read whole there: its
  storage moves to that layer (the profile counts a shared weight once, at its first reader).
* **State**: graph inputs that carry persistent state (a KV cache or a recurrent state; by name:
  ``past``, ``cache``, ``state``, ``initial_h``/``initial_c``, or given explicitly) and the tensors views
  make of them. ``state_in_b`` is what each layer reads of them; they never cross the host link.
* Graph inputs and outputs that are not state cross the host link: ``link_in_b`` / ``link_out_b``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ...precision import Precision
from ..defaults import OP_CLASSES, RULE_CLASS

VIEW_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Shape", "Size",
                      "Constant", "Concat", "Split"})
LAYOUT_OPS = frozenset({"Transpose", "DepthToSpace", "SpaceToDepth"})
FUSABLE_RULES = frozenset({"elementwise", "normalization", "softmax"})
STATE_NAME = re.compile(r"past|cache|state|initial_h|initial_c|^h0$|^c0$", re.IGNORECASE)
CLASS_INDEX = {c: i for i, c in enumerate(OP_CLASSES)}


class ProfileLike(Protocol):
    """What the estimator reads of a :class:`fitbench.profile.Profile` (typed without importing the profile
    engine, which sits in the same layer): its model, conditions (batch, precisions), totals (graph input and
    output bytes) and per-layer costs."""

    model: Any
    conditions: Any
    totals: Any
    layers: list[Any]


@dataclass
class LayerTable:
    """Per-sample layer figures of a profile, as arrays (one entry per fused layer)."""

    names: list[str]
    op_types: list[str]
    fused: list[list[str]]
    op_class: np.ndarray      # index into OP_CLASSES
    layout: np.ndarray        # a layout op (view or copy per the spec)
    macs: np.ndarray          # dense MACs per sample (all steps)
    other: np.ndarray         # other ops per sample
    copy_ops: np.ndarray      # element moves of a layout op when it is a copy
    elig: np.ndarray          # Winograd-eligible (bool)
    in_b: np.ndarray          # non-state input activation bytes per sample (incl. fused layers' extra inputs)
    out_b: np.ndarray         # output activation bytes per sample
    state_in_b: np.ndarray    # persistent-state bytes the layer reads per sample
    w_b: np.ndarray           # weight bytes stored (not expanded)
    w_elig_b: np.ndarray      # weight bytes of the Winograd-eligible kernel
    w_unit: np.ndarray        # bytes of one output channel's weights
    weight_rows_b: np.ndarray  # gathered weight rows per sample (an embedding's traffic); its table is storage
    gather: np.ndarray        # bool: an embedding lookup
    steps: np.ndarray         # dependent sequential steps (1, or a recurrent layer's time steps)
    u_b: np.ndarray           # minimal activation strip: kernel input rows + one output row of one image
    g_layer: np.ndarray       # gemm -> layer index (sorted)
    g_start: np.ndarray       # first gemm index of each layer
    g_macs: np.ndarray        # dense MACs per sample of each gemm (all steps)
    g_m: np.ndarray           # streamed dimension per sample (per step for recurrent layers)
    g_n: np.ndarray
    g_groups: np.ndarray      # independent groups (grouped conv) or directions (recurrent)
    g_k_im2col: np.ndarray
    g_k_direct: np.ndarray
    g_mapped: np.ndarray      # False: no GEMM description, utilisation 1
    active: np.ndarray        # the layer does work: it pays the per-layer overhead
    uncosted: list[str]
    dense_macs: float         # whole model, per sample
    link_in_b: float          # graph inputs (not state) per sample
    link_out_b: float         # graph outputs (not state) per sample
    state_b: float            # persistent state per sample (per sequence)
    state_inputs: list[str]

    @property
    def weight_bytes(self) -> float:
        return float(self.w_b.sum())

    @property
    def n_layers(self) -> int:
        return len(self.names)


def _prod(shape) -> int:
    return math.prod(shape) if shape else 0


def _op_class(lc) -> str:
    cls = RULE_CLASS.get(lc.rule, "elementwise" if not lc.macs else "matmul")
    if cls == "conv" and any(g.batch > 1 for g in lc.gemms):
        return "depthwise"
    return cls


def layer_table(profile: ProfileLike, weight_scale: float = 1.0, act_scale: float = 1.0,
                state_inputs: tuple[str, ...] | None = None) -> LayerTable:
    """Build (and cache on the profile) the per-sample arrays the estimator works on."""
    key = (weight_scale, act_scale, state_inputs)
    cache = getattr(profile, "_fitbench_layer_tables", None)
    if cache is None:
        cache = {}
        try:
            profile._fitbench_layer_tables = cache
        except AttributeError:  # pragma: no cover - slotted profile
            pass
    if key in cache:
        return cache[key]
    table = _build(profile, weight_scale, act_scale, state_inputs)
    cache[key] = table
    return table


def _build(profile: ProfileLike, weight_scale: float, act_scale: float, state_inputs) -> LayerTable:
    pb = max(int(profile.conditions.batch or 1), 1)
    ap = Precision.parse(profile.conditions.activation_precision)
    totals = profile.totals
    graph_in = dict(getattr(totals, "input_bytes", {}) or {})
    graph_out = dict(getattr(totals, "output_bytes", {}) or {})
    if state_inputs is None:
        state = {n for n in graph_in if STATE_NAME.search(n)}
    else:
        state = set(state_inputs)
    groups: list[dict] = []
    uncosted: list[str] = []
    tables: dict[str, int] = {}  # embedding table -> index of the Gather group that holds its bytes
    for lc in profile.layers:
        ins = list(getattr(lc, "inputs", []) or [])
        tied = next((tables.pop(n) for n in ins if n in tables), None) if lc.macs and lc.op_type != "Gather" else None
        outs = list(getattr(lc, "outputs", []) or [])
        reads_state = [i for i, n in enumerate(ins) if n in state]
        if lc.macs is None:
            uncosted.append(f"{lc.name} ({lc.op_type})")
            continue
        is_layout = lc.op_type in LAYOUT_OPS
        if (lc.op_type in VIEW_OPS or (reads_state and lc.rule == "data-movement")) and lc.macs == 0:
            if reads_state:  # a view of state (the KV cache's concat/transpose) is state too
                state.update(o for o in outs if o)
            continue
        state_b = sum(_prod(lc.input_shapes[i]) * ap.bytes for i in reads_state if i < len(lc.input_shapes)
                      and lc.input_shapes[i])
        first_in = lc.input_shapes[0] if lc.input_shapes else None
        if (groups and lc.rule in FUSABLE_RULES and lc.macs == 0 and first_in is not None and not reads_state
                and first_in == groups[-1]["out_shape"]):
            g = groups[-1]
            g["other"] += lc.other_ops or 0
            g["w_b"] += lc.weight_bytes
            g["in_b"] += max(lc.input_activation_bytes - g["out_b"], 0)
            g["out_b"] = lc.output_activation_bytes
            g["out_shape"] = lc.output_shapes[0] if lc.output_shapes else None
            g["fused"].append(lc.name)
            g["softmax"] = g.get("softmax", False) or lc.rule == "softmax"
            continue
        if (groups and lc.rule == "matmul" and groups[-1].get("softmax") and groups[-1]["cls"] == "matmul"
                and first_in is not None and first_in == groups[-1]["out_shape"]):
            # attention: scores = Q K^T -> (scale, mask) -> softmax -> @ V runs as one fused kernel (flash /
            # fused multi-head attention, an NPU's attention block): the score tensor never leaves the chip
            g = groups[-1]
            g["macs"] += lc.macs
            g["gemms"] += list(lc.gemms)
            g["w_b"] += lc.weight_bytes
            g["in_b"] += max(lc.input_activation_bytes - state_b - g["out_b"], 0)
            g["state_in_b"] += state_b
            g["out_b"] = lc.output_activation_bytes
            g["out_shape"] = lc.output_shapes[0] if lc.output_shapes else None
            g["fused"].append(lc.name)
            g["cls"], g["softmax"] = "attention", False
            continue
        out_shape = lc.output_shapes[0] if lc.output_shapes else None
        kernel = [int(k) for k in (lc.kernel or [])]
        taps = _prod(kernel) or 1
        # minimal strip: kernel rows of the input + one output row, for one image (4-D NCHW tensors)
        u_in = u_out = 0.0
        if first_in is not None and len(first_in) == 4 and first_in[2] > 0:
            rows = min(kernel[0], first_in[2]) if kernel else 1
            u_in = lc.input_activation_bytes / pb / first_in[2] * rows
        elif first_in:
            u_in = lc.input_activation_bytes / pb / max(_prod(first_in[:-1]) // pb, 1)
        if out_shape is not None and len(out_shape) == 4 and out_shape[2] > 0:
            u_out = lc.output_activation_bytes / pb / out_shape[2]
        elif out_shape:
            u_out = lc.output_activation_bytes / pb / max(_prod(out_shape[:-1]) // pb, 1)
        cls = _op_class(lc)
        steps = 1
        if cls == "recurrent" and lc.gemms and len(lc.input_shapes) > 1 and lc.input_shapes[1]:
            dirs = max(int(lc.input_shapes[1][0]), 1)
            steps = max(lc.gemms[0].batch // dirs, 1)
        gather = lc.op_type == "Gather" and lc.weight_bytes > 0
        w_b = lc.weight_bytes
        if tied is not None:  # a tied LM head reads the whole embedding table: its storage moves here
            w_b += groups[tied]["w_b"]
            groups[tied]["w_b"] = 0
        out_ch = sum(g.n * g.batch for g in lc.gemms) or (out_shape[1] if out_shape and len(out_shape) > 1 else 1)
        if gather and ins:
            tables[ins[0]] = len(groups)
        groups.append({
            "name": lc.name, "op": lc.op_type, "fused": [], "macs": lc.macs, "other": lc.other_ops or 0,
            "cls": cls, "layout": is_layout, "steps": steps, "gather": gather,
            "copy": (lc.output_activation_bytes / ap.bytes) if is_layout else 0.0,
            "elig": bool(lc.winograd_eligible), "in_b": max(lc.input_activation_bytes - state_b, 0),
            "out_b": lc.output_activation_bytes, "state_in_b": state_b,
            "w_b": w_b, "w_elig_b": lc.weight_bytes if lc.winograd_eligible else 0,
            "rows_b": lc.output_activation_bytes if gather else 0,
            "w_unit": w_b / max(out_ch, 1), "u_b": u_in + u_out, "out_shape": out_shape,
            "gemms": list(lc.gemms), "taps": taps,
        })
    return _arrays(groups, uncosted, pb, weight_scale, act_scale, graph_in, graph_out, state)


def _arrays(groups, uncosted, pb, weight_scale, act_scale, graph_in, graph_out, state) -> LayerTable:
    n = len(groups)
    g_layer, g_macs, g_m, g_n, g_grp, g_ki, g_kd, g_mapped = [], [], [], [], [], [], [], []
    for i, g in enumerate(groups):
        gemms = [x for x in g["gemms"] if x.macs > 0]
        covered = sum(x.macs for x in gemms)
        for x in gemms:
            g_layer.append(i)
            g_macs.append(x.macs / pb)
            if g["cls"] == "recurrent":  # per step: the batch rows x directions; steps run one after another
                g_m.append(max(x.m / pb, 1.0))
                g_grp.append(max(x.batch // max(g["steps"], 1), 1))
            else:
                g_m.append(max(x.m * x.batch / pb, 1.0))
                g_grp.append(x.batch)
            g_n.append(x.n)
            g_ki.append(x.k)
            g_kd.append(max(x.k / g["taps"], 1.0) if x.k % g["taps"] == 0 else x.k)
            g_mapped.append(True)
        rest = g["macs"] - covered
        if rest > 0 or not gemms:
            g_layer.append(i)
            g_macs.append(max(rest, 0) / pb)
            g_m.append(1.0)
            g_n.append(1)
            g_grp.append(1)
            g_ki.append(1)
            g_kd.append(1)
            g_mapped.append(False)
    f = lambda key, scale=1.0: np.array([g[key] for g in groups], dtype=float) * scale  # noqa: E731
    g_layer_a = np.array(g_layer, dtype=np.int64)
    g_start = np.searchsorted(g_layer_a, np.arange(n)) if n else np.zeros(0, dtype=np.int64)
    return LayerTable(
        names=[g["name"] for g in groups], op_types=[g["op"] for g in groups], fused=[g["fused"] for g in groups],
        op_class=np.array([CLASS_INDEX[g["cls"]] for g in groups], dtype=np.int64),
        layout=np.array([g["layout"] for g in groups], dtype=bool),
        macs=f("macs", 1 / pb), other=f("other", 1 / pb), copy_ops=f("copy", act_scale / pb),
        elig=np.array([g["elig"] for g in groups], dtype=bool),
        in_b=f("in_b", act_scale / pb), out_b=f("out_b", act_scale / pb), state_in_b=f("state_in_b", act_scale / pb),
        w_b=f("w_b", weight_scale), w_elig_b=f("w_elig_b", weight_scale), w_unit=f("w_unit", weight_scale),
        weight_rows_b=f("rows_b", weight_scale / pb), gather=np.array([g["gather"] for g in groups], dtype=bool),
        steps=f("steps"), u_b=f("u_b", act_scale),
        g_layer=g_layer_a, g_start=g_start, g_macs=np.array(g_macs, dtype=float), g_m=np.array(g_m, dtype=float),
        g_n=np.array(g_n, dtype=float), g_groups=np.array(g_grp, dtype=float),
        g_k_im2col=np.array(g_ki, dtype=float), g_k_direct=np.array(g_kd, dtype=float),
        g_mapped=np.array(g_mapped, dtype=bool), uncosted=uncosted,
        active=np.array([(g["macs"] + g["other"] + g["in_b"] + g["out_b"] + g["w_b"] + g["state_in_b"]) > 0
                         for g in groups], dtype=bool),
        dense_macs=float(sum(g["macs"] for g in groups)) / pb,
        link_in_b=sum(b for k, b in graph_in.items() if k not in state) * act_scale / pb,
        link_out_b=sum(b for k, b in graph_out.items() if k not in state) * act_scale / pb,
        state_b=sum(b for k, b in graph_in.items() if k in state) * act_scale / pb,
        state_inputs=sorted(k for k in graph_in if k in state),
    )
