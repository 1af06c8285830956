"""The analytical estimator: latency, throughput and DRAM traffic of a profiled model on a hardware spec.

Every number follows from the spec and the profile; nothing is scaled by a made-up efficiency.
The model, per layer at batch ``B`` (per-sample figures = profile figures / profile batch):

**Layers.** Each costed ONNX node is a layer, except that (1) *view* ops (Reshape, Flatten, Squeeze,
Unsqueeze, Identity, Dropout, Shape, Size, Constant, Concat, Split) cost nothing: producers write in
place; and (2) element-wise and normalisation nodes (BN, activations, Add, Mul ...) that directly follow
a layer in execution order and take a tensor of its output's shape are **fused** into it, as NPUs'
post-processors do (NVDLA's SDP): they add their ``other_ops`` and any extra inputs (the skip tensor of
a residual Add) but no activation traffic of their own. Uncosted nodes are listed, never timed as 0.

**Compute.** ``compute_s = max(B x effective MACs / (MACs/cycle x clock x utilisation),
B x other_ops / (vector_ops_per_cycle x clock))``: the vector unit works beside the MAC array, pipelined
on its output (as NVDLA's SDP), so a layer takes the longer of the two. Effective MACs apply Winograd F(m x m, 3 x 3) to
eligible layers (3x3, stride 1, dilation 1, group 1) when the spec supports it: MACs / (9m^2/(m+2)^2).
Utilisation comes from mapping each GEMM onto the array (:mod:`fitbench.hardware.mapping`; Winograd
layers map their ``Cin`` reduction). A spec without ``vector_ops_per_cycle`` gives non-MAC ops **no
time** (assumed hidden in the MAC pipeline) and the estimate says so in its notes.

**Weights.** Stored bytes; Winograd ``expanded-in-dram`` stores eligible kernels 4x4 (16/9 the bytes for
m=2, in DRAM *and* on chip); ``expanded-on-chip`` stores 3x3 and expands on load (no growth).
Two plans, the faster one wins:

* *resident*: all weights stay in SRAM (zero DRAM weight traffic per inference in steady state; the
  one-off load is not counted). Possible when the weights plus one layer's minimal working strip fit.
  Each layer's activations get ``SRAM - all weights``; a layer whose ``B x (input + output)`` bytes do
  not fit spills: its input is read from and its output written to DRAM.
* *streamed*: each layer's weights are read from DRAM once per batch. The layer runs in the cheaper of
  (a) weight slices: weights in slices of ``SRAM - minimal input/output strip``, the input re-read once
  per slice (``p`` = number of slices; traffic ``W + p x B x in + B x out``), or (b) activation strips:
  ``B x (in + out)`` in strips of ``SRAM - one output channel's weights``, the weights re-read once per
  strip (traffic ``p x W``, plus ``B x (in + out)`` when ``p > 1``). Either way ``p = 1`` when it fits.
  The *minimal strip* is the kernel's input rows (``kh`` rows of one image) plus one output row.

**Memory time.** DRAM traffic / (``dram_bandwidth`` x ``dram_efficiency``); with a separate
``weight_bandwidth`` weights load on their own path beside the activation traffic (``max``), otherwise
both share the DRAM (sum). A chip without DRAM cannot run a plan that needs DRAM traffic (infeasible).

**Per-layer overhead.** ``layer_overhead`` (seconds; launch / dispatch / configuration) is paid once per
executed layer (a fused group counts once; views and uncosted nodes never) and sub-batch, serially.
Absent: zero, and the estimate's notes say so.

**Layer time** = ``max(compute, memory)`` when the spec overlaps compute and transfers, else the sum,
plus the per-layer overhead. The layer's *bound* is the largest of compute, weight-transfer,
activation-transfer and overhead time.
``latency(B) = sum of layer times``; ``throughput = B / latency``. Known simplifications: only the two
whole-model plans are tried (no partial residency); the graph's input and output transfers are not
counted; a spilled layer reads its input and writes its output even when its neighbour kept that tensor
on chip (the errors of two neighbours roughly cancel); batch ``B > max_batch`` is infeasible.

**Sub-batches.** A batch of ``B`` runs as ``B / b`` sub-batches of the size ``b`` (1, a power of two
dividing ``B``, or ``B``) that finishes the whole batch soonest — a scheduler would not make a chip
slower per inference by handing it more inputs at once. Weights are streamed once per sub-batch;
``sub_batch`` reports the choice, and per-layer figures cover the whole batch.

**Totals.** DRAM bytes per inference = traffic / B; bandwidth demand = traffic / latency;
``mac_utilization`` = executed (Winograd-effective) MACs per second / peak MAC rate;
``effective_tops`` = 2 x the model's dense MACs x throughput / 1e12 (can exceed the peak with Winograd);
energy per inference = (effective MACs x pJ/MAC + SRAM bytes x pJ/B + DRAM bytes x pJ/B) + static W x
latency, per inference, where SRAM bytes are each layer's ``B x (in + out) + weights``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..errors import FitbenchError, SpecError
from ..precision import Precision
from .mapping import utilization
from .spec import HardwareSpec, load_hardware

#: the spec's energy keys and the Energy fields they fill
ENERGY_TERMS = {"per_mac": "pj_per_mac", "per_sram_byte": "pj_per_sram_byte", "per_dram_byte": "pj_per_dram_byte",
                "static": "static_w"}
BOUNDS = ("compute", "weights", "activations", "overhead")
VIEW_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Shape", "Size",
                      "Constant", "Concat", "Split"})
FUSABLE_RULES = frozenset({"elementwise", "normalization"})
WINOGRAD_CODES = {"none": 0, "expanded-in-dram": 1, "expanded-on-chip": 2}
WINOGRAD_CHOICES = ("auto", "on", "off", "none", "expanded-in-dram", "expanded-on-chip")


# ------------------------------------------------------------------ results

@dataclass
class LayerEstimate:
    """One (fused) layer at one batch. Times in seconds, bytes per batch of B."""

    name: str
    op_type: str
    macs: int
    effective_macs: float
    compute_s: float
    dram_weight_bytes: float
    dram_activation_bytes: float
    dram_s: float
    time_s: float
    bound: str
    utilization: float
    passes: int
    overhead_s: float = 0.0
    winograd: bool = False
    spilled: bool = False
    fused: list[str] = field(default_factory=list)


@dataclass
class EstimatePoint:
    """Whole-model figures at one batch (bytes per inference unless named otherwise)."""

    batch: int
    sub_batch: int
    feasible: bool
    latency_s: float | None
    throughput_ips: float | None
    dram_bytes_per_inference: float
    dram_weight_bytes_per_inference: float
    dram_activation_bytes_per_inference: float
    dram_bandwidth_demand: float | None
    mac_utilization: float | None
    effective_tops: float | None
    peak_tops: float
    energy_j_per_inference: float | None
    bound_share: dict[str, float]
    weights_resident: bool
    activations_spill: bool
    spilled_activation_bytes: float
    plan: str
    infeasible_reason: str = ""
    layers: list[LayerEstimate] = field(default_factory=list)

    @property
    def bound(self) -> str:
        """The bound that takes the largest share of the time."""
        return max(self.bound_share, key=self.bound_share.get) if self.bound_share else "compute"


@dataclass
class Estimate:
    model: Any
    hardware: dict[str, str]
    conditions: dict[str, Any]
    points: list[EstimatePoint]
    notes: list[str] = field(default_factory=list)
    uncosted: list[str] = field(default_factory=list)

    def point(self, batch: int) -> EstimatePoint:
        for p in self.points:
            if p.batch == batch:
                return p
        raise FitbenchError(f"no estimate at batch {batch}; batches: {[p.batch for p in self.points]}")

    def to_dict(self, layers: bool = True) -> dict[str, Any]:
        model = asdict(self.model) if hasattr(self.model, "__dataclass_fields__") else dict(self.model)
        pts = []
        for p in self.points:
            d = asdict(p)
            if not layers:
                d.pop("layers")
            d["bound"] = p.bound
            pts.append(_json_safe(d))
        return {"model": model, "hardware": dict(self.hardware), "conditions": _json_safe(self.conditions),
                "points": pts, "notes": list(self.notes), "uncosted": list(self.uncosted)}

    def to_dataframe(self, layers: bool = False):
        """One row per batch (``layers=True``: one row per layer and batch). pandas is imported lazily."""
        import pandas as pd

        rows = []
        for p in self.points:
            base = {"model": self.model.name, "hardware": self.hardware["name"],
                    "precision": self.conditions["precision"], "winograd": self.conditions["winograd"]}
            if layers:
                for x in p.layers:
                    row = {**base, "batch": p.batch, **asdict(x)}
                    row["fused"] = ",".join(x.fused)
                    rows.append(row)
            else:
                d = asdict(p)
                d.pop("layers")
                share = d.pop("bound_share")
                d.update({f"share_{k}": v for k, v in share.items()})
                d["bound"] = p.bound
                rows.append({**base, **d})
        return pd.DataFrame(rows)


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# ------------------------------------------------------------------ the profile as arrays

@dataclass
class LayerTable:
    """Per-sample layer figures of a profile, as arrays (one entry per fused layer)."""

    names: list[str]
    op_types: list[str]
    fused: list[list[str]]
    macs: np.ndarray          # dense MACs per sample
    other: np.ndarray         # other ops per sample
    elig: np.ndarray          # Winograd-eligible (bool)
    in_b: np.ndarray          # input activation bytes per sample (incl. fused layers' extra inputs)
    out_b: np.ndarray         # output activation bytes per sample
    w_b: np.ndarray           # weight bytes (stored, not expanded)
    w_elig_b: np.ndarray      # weight bytes of the Winograd-eligible kernel
    w_unit: np.ndarray        # bytes of one output channel's weights
    u_b: np.ndarray           # minimal activation strip: kernel input rows + one output row of one image
    g_layer: np.ndarray       # gemm -> layer index (sorted)
    g_start: np.ndarray       # first gemm index of each layer
    g_macs: np.ndarray        # dense MACs per sample of each gemm
    g_m: np.ndarray           # streamed dimension per sample (m x gemm batch)
    g_n: np.ndarray
    g_k_im2col: np.ndarray
    g_k_direct: np.ndarray
    g_mapped: np.ndarray      # False: no GEMM description, utilisation 1
    active: np.ndarray        # the layer does work (MACs, other ops or bytes): it pays the per-layer overhead
    uncosted: list[str]
    dense_macs: float         # whole model, per sample

    @property
    def weight_bytes(self) -> float:
        return float(self.w_b.sum())


def _prod(shape) -> int:
    return math.prod(shape) if shape else 0


def layer_table(profile, weight_scale: float = 1.0, act_scale: float = 1.0) -> LayerTable:
    """Build (and cache on the profile) the per-sample arrays the estimator works on."""
    key = (weight_scale, act_scale)
    cache = getattr(profile, "_fitbench_layer_tables", None)
    if cache is None:
        cache = {}
        try:
            profile._fitbench_layer_tables = cache
        except AttributeError:  # pragma: no cover - slotted profile
            pass
    if key in cache:
        return cache[key]
    pb = max(int(profile.conditions.batch or 1), 1)
    groups: list[dict] = []
    uncosted: list[str] = []
    for lc in profile.layers:
        if lc.macs is None:
            uncosted.append(f"{lc.name} ({lc.op_type})")
            continue
        if lc.op_type in VIEW_OPS and lc.macs == 0:
            continue
        first_in = lc.input_shapes[0] if lc.input_shapes else None
        if (groups and lc.rule in FUSABLE_RULES and lc.macs == 0 and first_in is not None
                and first_in == groups[-1]["out_shape"]):
            g = groups[-1]
            g["other"] += lc.other_ops or 0
            g["w_b"] += lc.weight_bytes
            g["in_b"] += max(lc.input_activation_bytes - g["out_b"], 0)
            g["out_b"] = lc.output_activation_bytes
            g["out_shape"] = lc.output_shapes[0] if lc.output_shapes else None
            g["fused"].append(lc.name)
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
        out_ch = sum(g.n * g.batch for g in lc.gemms) or (out_shape[1] if out_shape and len(out_shape) > 1 else 1)
        groups.append({
            "name": lc.name, "op": lc.op_type, "fused": [], "macs": lc.macs, "other": lc.other_ops or 0,
            "elig": bool(lc.winograd_eligible), "in_b": lc.input_activation_bytes, "out_b": lc.output_activation_bytes,
            "w_b": lc.weight_bytes, "w_elig_b": lc.weight_bytes if lc.winograd_eligible else 0,
            "w_unit": lc.weight_bytes / max(out_ch, 1), "u_b": u_in + u_out, "out_shape": out_shape,
            "gemms": list(lc.gemms), "taps": taps,
        })
    n = len(groups)
    g_layer, g_macs, g_m, g_n, g_ki, g_kd, g_mapped = [], [], [], [], [], [], []
    for i, g in enumerate(groups):
        gemms = [x for x in g["gemms"] if x.macs > 0]
        covered = sum(x.macs for x in gemms)
        for x in gemms:
            g_layer.append(i)
            g_macs.append(x.macs / pb)
            g_m.append(max(x.m * x.batch / pb, 1.0))
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
            g_ki.append(1)
            g_kd.append(1)
            g_mapped.append(False)
    f = lambda key, scale=1.0: np.array([g[key] for g in groups], dtype=float) * scale  # noqa: E731
    g_layer_a = np.array(g_layer, dtype=np.int64)
    g_start = np.searchsorted(g_layer_a, np.arange(n)) if n else np.zeros(0, dtype=np.int64)
    table = LayerTable(
        names=[g["name"] for g in groups], op_types=[g["op"] for g in groups], fused=[g["fused"] for g in groups],
        macs=f("macs", 1 / pb), other=f("other", 1 / pb), elig=np.array([g["elig"] for g in groups], dtype=bool),
        in_b=f("in_b", act_scale / pb), out_b=f("out_b", act_scale / pb), w_b=f("w_b", weight_scale),
        w_elig_b=f("w_elig_b", weight_scale), w_unit=f("w_unit", weight_scale), u_b=f("u_b", act_scale),
        g_layer=g_layer_a, g_start=g_start, g_macs=np.array(g_macs, dtype=float), g_m=np.array(g_m, dtype=float),
        g_n=np.array(g_n, dtype=float), g_k_im2col=np.array(g_ki, dtype=float), g_k_direct=np.array(g_kd, dtype=float),
        g_mapped=np.array(g_mapped, dtype=bool), uncosted=uncosted,
        active=np.array([(g["macs"] + g["other"] + g["in_b"] + g["out_b"] + g["w_b"]) > 0 for g in groups],
                        dtype=bool),
        dense_macs=float(sum(g["macs"] for g in groups)) / pb,
    )
    cache[key] = table
    return table


# ------------------------------------------------------------------ spec parameters as arrays

SPEC_COLUMNS = ("sram_bytes", "dram_bandwidth", "weight_bandwidth", "dram_efficiency", "clock_hz", "macs_per_cycle",
                "array_rows", "array_cols", "array_mapping", "vector_ops_per_cycle", "winograd", "winograd_tile",
                "overlap", "max_batch", "layer_overhead")


def spec_params(spec: HardwareSpec, precision: str, winograd: str = "auto") -> dict[str, Any]:
    """The flat numeric parameters of ``spec`` at ``precision`` (the columns of :func:`estimate_many`)."""
    rc = spec.array_at(precision)
    return {
        "sram_bytes": float(spec.sram_bytes), "dram_bandwidth": float(spec.dram_bandwidth or 0.0),
        "weight_bandwidth": float(spec.weight_bandwidth or 0.0), "dram_efficiency": float(spec.dram_efficiency),
        "clock_hz": float(spec.clock_hz), "macs_per_cycle": float(spec.macs_at(precision)),
        "array_rows": float(rc[0]) if rc else 0.0, "array_cols": float(rc[1]) if rc else 0.0,
        "array_mapping": spec.array_mapping, "vector_ops_per_cycle": float(spec.vector_ops_per_cycle or 0.0),
        "winograd": resolve_winograd(spec, winograd)[0], "winograd_tile": float(spec.winograd_tile),
        "overlap": bool(spec.overlap), "max_batch": float(spec.max_batch) if spec.max_batch else math.inf,
        "layer_overhead": float(spec.layer_overhead or 0.0),
    }


def resolve_winograd(spec: HardwareSpec, mode: str) -> tuple[str, str | None]:
    """The Winograd mode to use and a note when it differs from the spec's own."""
    if mode not in WINOGRAD_CHOICES:
        raise SpecError(f"winograd must be one of {', '.join(WINOGRAD_CHOICES)}; got {mode!r}")
    if mode == "auto":
        return spec.winograd, None
    if mode in ("off", "none"):
        return "none", None if spec.winograd == "none" else f"Winograd turned off (the spec supports {spec.winograd})"
    if mode == "on":
        if spec.winograd == "none":
            return "expanded-on-chip", ("what-if: Winograd on a spec without it, weights expanded on chip "
                                        "(use --winograd expanded-in-dram for the other storage)")
        return spec.winograd, None
    return mode, None if mode == spec.winograd else f"what-if: Winograd {mode} (the spec says {spec.winograd})"


def _param_arrays(cols: dict[str, Any]) -> dict[str, np.ndarray]:
    """Columns -> (S, 1) float arrays for broadcasting against (1, L) layer arrays."""
    out: dict[str, np.ndarray] = {}
    for key in SPEC_COLUMNS:
        v = cols[key]
        if key == "winograd":
            arr = np.asarray(v)
            if arr.dtype.kind in "UO":
                try:
                    arr = np.vectorize(lambda s: WINOGRAD_CODES[str(s)], otypes=[float])(arr)
                except KeyError as exc:
                    allowed = ", ".join(WINOGRAD_CODES)
                    raise SpecError(f"column 'winograd' values must be {allowed}; got {exc}") from None
        elif key == "array_mapping":
            arr = np.asarray(v)
            if arr.dtype.kind in "UO":
                arr = (arr == "direct")
        else:
            arr = np.asarray(v)
        out[key] = np.atleast_1d(arr).astype(float).reshape(-1, 1)
    return out


# ------------------------------------------------------------------ the core (vectorised over specs x layers)

def _evaluate(t: LayerTable, P: dict[str, np.ndarray], batch: int, detail: bool = False) -> dict[str, np.ndarray]:
    B = float(batch)
    S = P["sram_bytes"]
    tile = P["winograd_tile"]
    red = 9 * tile**2 / (tile + 2) ** 2
    growth = (tile + 2) ** 2 / 9
    wmode = P["winograd"]
    wino = (wmode > 0) & t.elig[None, :]                     # (S, L)
    has_array = P["array_rows"] > 0
    rows = np.where(has_array, P["array_rows"], 1.0)
    cols = np.where(has_array, P["array_cols"], 1.0)
    units = np.where(has_array, np.maximum(np.floor(P["macs_per_cycle"] / (rows * cols)), 1.0), 1.0)
    # --- compute: per-gemm cycles, summed per layer
    g_wino = wino[:, t.g_layer]                               # (S, G)
    k = np.where(P["array_mapping"] > 0, t.g_k_direct[None, :], t.g_k_im2col[None, :])
    k = np.where(g_wino, np.maximum(t.g_k_im2col[None, :] / 9.0, 1.0), k)
    util_g = utilization(t.g_m[None, :] * B, t.g_n[None, :], k, rows, cols, units)
    util_g = np.where(t.g_mapped[None, :], util_g, 1.0)
    eff_g = t.g_macs[None, :] * B * np.where(g_wino, 1.0 / red, 1.0)
    cyc_g = eff_g / util_g
    if t.g_start.size:
        mac_cycles = np.add.reduceat(cyc_g, t.g_start, axis=1)
        eff_macs = np.add.reduceat(eff_g, t.g_start, axis=1)
    else:
        mac_cycles = eff_macs = np.zeros((S.shape[0], 0))
    rate = P["macs_per_cycle"] * P["clock_hz"]
    vrate = P["vector_ops_per_cycle"] * P["clock_hz"]
    vec_s = np.where(vrate > 0, t.other[None, :] * B / np.where(vrate > 0, vrate, 1.0), 0.0)
    compute = np.maximum(mac_cycles / rate, vec_s)
    # --- weights (stored form) and activations
    W = t.w_b[None, :] + np.where((wmode == 1) & t.elig[None, :], t.w_elig_b[None, :] * (growth - 1.0), 0.0)
    A = (t.in_b + t.out_b)[None, :] * B
    act_in = t.in_b[None, :] * B
    act_out = t.out_b[None, :] * B
    u = t.u_b[None, :]
    # resident plan
    w_tot = W.sum(axis=1, keepdims=True)
    budget = S - w_tot
    res_ok = budget >= (u.max(axis=1, keepdims=True) if u.size else 0.0)
    spill_r = A > budget
    a_r = np.where(spill_r, A, 0.0)
    # streamed plan: (a) weight slices, input re-read per slice; (b) activation strips, weights re-read per strip
    slice_budget = S - u
    p_w = np.where(slice_budget > 0, np.maximum(np.ceil(W / np.where(slice_budget > 0, slice_budget, 1.0)), 1.0),
                   np.inf)
    ta_w, ta_a = W, p_w * act_in + act_out
    strip_budget = S - t.w_unit[None, :]
    p_i = np.where(strip_budget > 0, np.maximum(np.ceil(A / np.where(strip_budget > 0, strip_budget, 1.0)), 1.0),
                   np.inf)
    tb_w = p_i * W
    tb_a = np.where(p_i > 1, A, 0.0)
    use_a = (ta_w + ta_a) < (tb_w + tb_a)
    w_s = np.where(use_a, ta_w, tb_w)
    a_s = np.where(use_a, ta_a, tb_a)
    passes_s = np.where(use_a, p_w, p_i)
    # --- memory time
    bw = P["dram_bandwidth"] * P["dram_efficiency"]
    wbw = P["weight_bandwidth"] * P["dram_efficiency"]
    separate = wbw > 0

    def mem_times(w, a):
        def div(x, rate_):
            return np.where(x > 0, np.where(rate_ > 0, x / np.where(rate_ > 0, rate_, 1.0), np.inf), 0.0)
        tw = np.where(separate, div(w, wbw), div(w, bw))
        ta = div(a, bw)
        return tw, ta, np.where(separate, np.maximum(tw, ta), tw + ta)

    ov = P["overlap"] > 0

    # fixed per-layer overhead (launch / dispatch / configuration): once per executed layer and sub-batch,
    # serial with the layer's work (it neither overlaps compute nor transfers)
    overhead = np.where(t.active[None, :], P["layer_overhead"], 0.0)  # (S, L)

    def layer_time(mem):
        return np.where(ov, np.maximum(compute, mem), compute + mem) + overhead

    tw_r, ta_r, mem_r = mem_times(np.zeros_like(a_r), a_r)
    tw_s, ta_s, mem_s = mem_times(w_s, a_s)
    time_r = layer_time(mem_r)
    time_s = layer_time(mem_s)
    lat_r = np.where(res_ok[:, 0], time_r.sum(axis=1), np.inf)
    lat_s = time_s.sum(axis=1)
    resident = lat_r <= lat_s
    R = resident[:, None]
    latency = np.where(resident, lat_r, lat_s)
    out = {
        "latency": latency, "resident": resident,
        "w_traffic": np.where(R, 0.0, w_s).sum(axis=1), "a_traffic": np.where(R, a_r, a_s).sum(axis=1),
        "eff_macs": eff_macs.sum(axis=1), "rate": rate[:, 0],
        "sram_traffic": (A + W).sum(axis=1),
        "spill": np.where(R, spill_r, a_s > 0).any(axis=1) if A.size else np.zeros(S.shape[0], dtype=bool),
        "res_ok": res_ok[:, 0],
    }
    times = np.where(R, time_r, time_s)
    tw = np.where(R, tw_r, tw_s)
    ta = np.where(R, ta_r, ta_s)
    bound = np.argmax(np.stack([compute, tw, ta, np.broadcast_to(overhead, compute.shape)]), axis=0)  # (S, L)
    share = np.zeros((S.shape[0], len(BOUNDS)))
    for b in range(len(BOUNDS)):
        share[:, b] = np.where(bound == b, times, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = share / latency[:, None]
    if detail:
        out.update({
            "compute": compute, "eff": eff_macs, "times": times, "overhead": overhead,
            "tw": tw, "ta": ta, "bound": bound,
            "w_l": np.where(R, 0.0, w_s), "a_l": np.where(R, a_r, a_s),
            "passes": np.where(R, 1.0, passes_s), "spilled": np.where(R, spill_r, a_s > 0), "wino": wino,
            "util": np.where(mac_cycles > 0, eff_macs / np.where(mac_cycles > 0, mac_cycles, 1.0), 1.0),
        })
    return out


def sub_batches(batch: int) -> list[int]:
    """Candidate sub-batch sizes for a batch: 1, the powers of two dividing it, and the batch itself."""
    out = {1, batch}
    b = 2
    while b < batch:
        if batch % b == 0:
            out.add(b)
        b *= 2
    return sorted(out)


def _evaluate_best(t: LayerTable, P: dict[str, np.ndarray], batch: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Evaluate every sub-batch and keep, per spec, the one with the lowest time for the whole batch.

    Returns the figures scaled to the whole batch and the chosen sub-batch per spec."""
    best = None
    chosen = None
    for b in sub_batches(batch):
        r = _evaluate(t, P, b)
        reps = batch / b
        total = r["latency"] * reps
        if best is None:
            best, chosen = {k: v for k, v in r.items()}, np.full(total.shape, b)
            for k in ("latency", "w_traffic", "a_traffic", "eff_macs", "sram_traffic"):
                best[k] = r[k] * reps
            continue
        better = total < best["latency"]
        for k, v in r.items():
            scaled = v * reps if k in ("latency", "w_traffic", "a_traffic", "eff_macs", "sram_traffic") else v
            mask = better if np.ndim(v) == 1 else better[:, None]
            best[k] = np.where(mask, scaled, best[k])
        chosen = np.where(better, b, chosen)
    return best, chosen


# ------------------------------------------------------------------ public API

def _precision_scales(profile, precision: str | None) -> tuple[str, float, float, list[str]]:
    c = profile.conditions
    wp, ap = Precision.parse(c.weight_precision), Precision.parse(c.activation_precision)
    if precision is None:
        return wp.value, 1.0, 1.0, []
    p = Precision.parse(precision)
    notes = []
    ws, as_ = p.bytes / wp.bytes, p.bytes / ap.bytes
    if ws != 1.0 or as_ != 1.0:
        notes.append(f"profile was taken at {wp.value}/{ap.value}; its weight and activation bytes are rescaled to "
                     f"{p.value} (re-profile at {p.value} for integer tensors' exact sizes)")
    return p.value, ws, as_, notes


def estimate(profile, hw, batch: int | list[int] = 1, precision: str | None = None,
             winograd: str = "auto") -> Estimate:
    """Estimate ``profile`` (a :class:`fitbench.profile.Profile`) on ``hw`` (name, path, dict or spec).

    ``batch``: one batch size or a list; ``precision``: the MAC precision (default: the profile's weight
    precision); ``winograd``: ``auto`` (the spec's mode), ``on``, ``off``, or a storage mode. The model and
    its assumptions are in this module's docstring.
    """
    spec = load_hardware(hw)
    from .._checks import as_list, is_positive_int

    if not hasattr(profile, "totals") or not hasattr(profile, "layers"):
        raise FitbenchError(f"estimate needs a profile (fitbench.profile(model, ...)), got {type(profile).__name__}")
    batches = as_list(batch)
    if not batches or not all(is_positive_int(b) for b in batches):
        raise FitbenchError(f"batch must be a positive integer or a list of them, got {batch!r}")
    prec, ws, as_, notes = _precision_scales(profile, precision)
    spec.macs_at(prec)  # clear error when the chip lacks the precision
    mode, wnote = resolve_winograd(spec, winograd)
    if wnote:
        notes.append(wnote)
    table = layer_table(profile, ws, as_)
    if not spec.vector_ops_per_cycle:
        notes.append("the spec gives no vector_ops_per_cycle: non-MAC ops (BN, activations, pooling, adds) take "
                     "no time (assumed hidden in the MAC pipeline)")
    if spec.layer_overhead is None:
        notes.append("the spec gives no layer_overhead: no per-layer (launch/dispatch/configuration) overhead is "
                     "modelled, so small layers and tiny models come out optimistic")
    if not spec.array_at(prec):
        notes.append("the spec gives no MAC array shape: utilisation is taken as 1")
    if spec.energy is not None:
        given = spec.energy.model_fields_set
        missing = [k for k, f in ENERGY_TERMS.items() if f not in given]
        if missing:
            notes.append("energy counts only the terms the spec gives; it gives no " + ", ".join(missing)
                         + " (not counted, so energy per inference is a lower bound)")
    if table.uncosted:
        notes.append(f"{len(table.uncosted)} uncosted layer(s) are not in the estimate: "
                     + ", ".join(table.uncosted[:5]) + (" ..." if len(table.uncosted) > 5 else ""))
    params = spec_params(spec, prec, winograd)
    P = _param_arrays(params)
    cache: dict[int, dict[str, np.ndarray]] = {}
    points = [_point(table, spec, P, int(b), prec, cache) for b in batches]
    c = profile.conditions
    conditions = {
        **(asdict(c) if hasattr(c, "__dataclass_fields__") else dict(c)),
        "hardware": spec.name, "hardware_source": spec.source, "hardware_path": spec.path,
        "spec_hash": spec.spec_hash(), "precision": prec, "winograd": mode, "winograd_requested": winograd,
        "estimator": "fitbench.hardware.estimator (analytical, v1)", "fitbench_version": __version__,
    }
    return Estimate(model=profile.model, hardware={"name": spec.name, "source": spec.source},
                    conditions=conditions, points=points, notes=notes, uncosted=list(table.uncosted))


def _point(t: LayerTable, spec: HardwareSpec, P: dict[str, np.ndarray], batch: int, prec: str,
           cache: dict[int, dict[str, np.ndarray]]) -> EstimatePoint:
    """One batch size: evaluate every sub-batch (cached across the batches of one call), keep the fastest."""
    sub, best = 1, math.inf
    for b in sub_batches(batch):
        if b not in cache:
            cache[b] = _evaluate(t, P, b, detail=True)
        total = float(cache[b]["latency"][0]) * batch / b
        if total < best:
            sub, best = b, total
    reps = batch / sub
    r = cache[sub]
    lat = float(r["latency"][0]) * reps
    reason = ""
    if spec.max_batch is not None and batch > spec.max_batch:
        reason = f"batch {batch} exceeds the spec's max_batch {spec.max_batch}"
    elif not math.isfinite(lat):
        reason = ("the model does not fit on chip and the spec has no DRAM" if not spec.has_dram
                  else "a layer cannot run: its minimal strip does not fit the SRAM")
    feasible = not reason
    w = float(r["w_traffic"][0]) * reps
    a = float(r["a_traffic"][0]) * reps
    eff_total = float(r["eff_macs"][0]) * reps
    peak = spec.peak_tops(prec)
    energy = None
    if spec.energy is not None and feasible:
        e = spec.energy
        joules = (eff_total * e.pj_per_mac + float(r["sram_traffic"][0]) * reps * e.pj_per_sram_byte
                  + (w + a) * e.pj_per_dram_byte) * 1e-12 + e.static_w * lat
        energy = joules / batch
    layers = []
    sep = bool(spec.weight_bandwidth)
    for i, name in enumerate(t.names):
        tw, ta = float(r["tw"][0, i]), float(r["ta"][0, i])
        p = r["passes"][0, i]
        layers.append(LayerEstimate(
            name=name, op_type=t.op_types[i], macs=int(round(t.macs[i] * batch)),
            effective_macs=float(r["eff"][0, i]) * reps, compute_s=float(r["compute"][0, i]) * reps,
            dram_weight_bytes=float(r["w_l"][0, i]) * reps, dram_activation_bytes=float(r["a_l"][0, i]) * reps,
            dram_s=(max(tw, ta) if sep else tw + ta) * reps, time_s=float(r["times"][0, i]) * reps,
            overhead_s=float(r["overhead"][0, i]) * reps,
            bound=BOUNDS[int(r["bound"][0, i])], utilization=float(r["util"][0, i]),
            passes=int(p) if math.isfinite(p) else -1, winograd=bool(r["wino"][0, i]),
            spilled=bool(r["spilled"][0, i]), fused=list(t.fused[i]),
        ))
    share = {b: float(r["share"][0, j]) if feasible else 0.0 for j, b in enumerate(BOUNDS)}
    ok = feasible and lat > 0
    return EstimatePoint(
        batch=batch, sub_batch=sub, feasible=feasible,
        latency_s=lat if feasible else None, throughput_ips=batch / lat if ok else None,
        dram_bytes_per_inference=(w + a) / batch, dram_weight_bytes_per_inference=w / batch,
        dram_activation_bytes_per_inference=a / batch,
        dram_bandwidth_demand=(w + a) / lat if ok else None,
        mac_utilization=eff_total / lat / float(r["rate"][0]) if ok else None,
        effective_tops=2 * t.dense_macs * batch / lat / 1e12 if ok else None,
        peak_tops=peak, energy_j_per_inference=energy, bound_share=share,
        weights_resident=bool(r["resident"][0]), activations_spill=bool(r["spill"][0]),
        spilled_activation_bytes=a / batch, plan="resident" if r["resident"][0] else "streamed",
        infeasible_reason=reason, layers=layers,
    )


def estimate_many(profile, specs_table, batch: int | list[int] = 1, base: HardwareSpec | str | None = None,
                  precision: str | None = None, winograd: str = "auto", chunk: int = 4096):
    """Vectorised estimates of one profile on many specs (a design-space sweep); returns a DataFrame.

    ``specs_table``: a dict of equal-length arrays (or a DataFrame) with any of the columns
    ``SPEC_COLUMNS`` (units: bytes, bytes/s, Hz; ``macs_per_cycle`` at the chosen precision;
    ``array_rows``/``array_cols`` 0 for no array; ``winograd`` a mode name; ``max_batch`` inf for none).
    Missing columns come from ``base`` (a spec, name or path). One row per (spec, batch): the inputs plus
    latency_s, throughput_ips, DRAM bytes per inference (weights / activations), weights_resident,
    activations_spill, bound (the bound with the largest share of time), mac_utilization, feasible.
    """
    import pandas as pd

    cols = {k: np.asarray(v) for k, v in (specs_table.items() if isinstance(specs_table, dict)
                                          else specs_table.to_dict("series").items())}
    unknown = [k for k in cols if k not in SPEC_COLUMNS]
    if unknown:
        raise SpecError(f"unknown spec column {unknown[0]!r}; allowed: {', '.join(SPEC_COLUMNS)}")
    lengths = {len(np.atleast_1d(v)) for v in cols.values()}
    if len(lengths) > 1:
        raise SpecError(f"spec columns must have equal lengths, got {sorted(lengths)}")
    n = lengths.pop() if lengths else 1
    prec, ws, as_, _ = _precision_scales(profile, precision)
    if base is not None:
        base_spec = load_hardware(base)
        defaults = spec_params(base_spec, prec, winograd)
    else:
        defaults = {"weight_bandwidth": 0.0, "dram_efficiency": 1.0, "array_rows": 0.0, "array_cols": 0.0,
                    "array_mapping": "direct", "vector_ops_per_cycle": 0.0, "winograd": "none", "winograd_tile": 2.0,
                    "overlap": True, "max_batch": math.inf, "layer_overhead": 0.0}
    missing = [k for k in SPEC_COLUMNS if k not in cols and k not in defaults]
    if missing:
        raise SpecError(f"spec columns missing (give them or a base spec): {', '.join(missing)}")
    full = {k: cols[k] if k in cols else np.full(n, defaults[k], dtype=object if isinstance(defaults[k], str)
                                                 else float) for k in SPEC_COLUMNS}
    table = layer_table(profile, ws, as_)
    batches = [batch] if isinstance(batch, (int, np.integer)) else list(batch)
    frames = []
    for b in batches:
        parts = []
        for start in range(0, n, chunk):
            sl = {k: np.atleast_1d(v)[start:start + chunk] for k, v in full.items()}
            P = _param_arrays(sl)
            r, chosen = _evaluate_best(table, P, int(b))
            lat = r["latency"]
            feasible = np.isfinite(lat) & (int(b) <= P["max_batch"][:, 0])
            with np.errstate(invalid="ignore", divide="ignore"):
                part = {k: sl[k] for k in SPEC_COLUMNS if k in cols}
                part.update({
                    "batch": np.full(len(lat), int(b)), "sub_batch": chosen, "feasible": feasible,
                    "latency_s": np.where(feasible, lat, np.nan),
                    "throughput_ips": np.where(feasible, b / lat, np.nan),
                    "dram_weight_bytes_per_inference": r["w_traffic"] / b,
                    "dram_activation_bytes_per_inference": r["a_traffic"] / b,
                    "dram_bytes_per_inference": (r["w_traffic"] + r["a_traffic"]) / b,
                    "weights_resident": r["resident"], "activations_spill": r["spill"],
                    "mac_utilization": np.where(feasible, r["eff_macs"] / lat / r["rate"], np.nan),
                    "bound": np.array(BOUNDS, dtype=object)[np.argmax(np.nan_to_num(r["share"]), axis=1)],
                })
            parts.append(pd.DataFrame(part))
        frames.append(pd.concat(parts, ignore_index=True))
    return pd.concat(frames, ignore_index=True)
