"""The cost model: named stages over typed arrays, vectorised over specs (rows) x layers (columns).

``CostModel(table, params, engines).evaluate(batch)`` runs, for one (sub-)batch:

1. :meth:`~CostModel.mapping` — each GEMM's utilisation on the engine that runs its layer;
2. :meth:`~CostModel.compute` — MAC and vector time per layer on its engine (the fallback: host time
   plus the link both ways);
3. :meth:`~CostModel.residency` — candidate plans of which layers keep their weights in SRAM (none,
   a greedy part, all) and whether the persistent state stays on chip;
4. :meth:`~CostModel.traffic` — DRAM bytes per layer under a plan (weights, spilled activations, state;
   passes for finite buffers);
5. :meth:`~CostModel.timing` — memory time, overlap, per-layer overhead, layer time and bound; the plan
   with the lowest latency wins per spec;
then :func:`best_sub_batch` picks the sub-batch and :func:`latency_parts` adds the fixed per-call cost
and the host link. Every formula is in the package docstring (:mod:`fitbench.hardware.estimator`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mapping import utilization
from .bounds import BOUND_INDEX, BOUNDS
from .engines import FALLBACK, MAIN, EngineMap
from .workload import LayerTable

SPLIT_K_MIN = 128.0   # the smallest reduction slice a split-K GEMM gives one SM (cuBLAS/CUTLASS practice)


@dataclass
class Mapping:
    util_g: np.ndarray    # (S, G) utilisation of each GEMM on its engine
    eff_g: np.ndarray     # (S, G) effective MACs (Winograd applied) of each GEMM at the batch
    wino: np.ndarray      # (S, L) the layer runs Winograd


@dataclass
class Compute:
    mac_s: np.ndarray     # (S, L)
    vec_s: np.ndarray
    compute_s: np.ndarray  # max(mac, vec): the vector unit works on the MAC array's output (a CPU: the sum)
    fallback_s: np.ndarray  # host time + link of fallback layers (0 elsewhere)
    eff_macs: np.ndarray   # (S, L) effective MACs at the batch
    util: np.ndarray       # (S, L) MAC utilisation of the layer
    mac_rate: np.ndarray   # (S, 1) the main engine's achieved peak MAC rate


@dataclass
class Traffic:
    """DRAM bytes per layer at the batch (S, L) under one residency plan, and the plan itself."""

    weights: np.ndarray
    activations: np.ndarray
    state: np.ndarray
    passes: np.ndarray
    spilled: np.ndarray
    resident: np.ndarray       # (S, L) weights resident
    resident_bytes: np.ndarray  # (S,)
    feasible: np.ndarray       # (S,)


@dataclass
class Timing:
    tw: np.ndarray          # (S, L) weight DRAM time
    ta: np.ndarray          # activation DRAM time
    ts: np.ndarray          # state DRAM time
    overhead: np.ndarray    # per-layer overhead
    time: np.ndarray        # layer time
    bound: np.ndarray       # (S, L) index into BOUNDS
    latency: np.ndarray     # (S,) sum of layer times (inf: infeasible)


@dataclass
class Evaluation:
    """One (sub-)batch on every spec: the chosen plan's arrays."""

    batch: np.ndarray       # (S, 1) images per core-run
    mapping: Mapping
    compute: Compute
    traffic: Traffic
    timing: Timing
    sram_traffic: np.ndarray  # (S,) on-chip bytes moved (energy)
    cores_used: np.ndarray    # (S,) cores running at once (traffic is per core: x cores_used for the chip)


class CostModel:
    """Stages of the estimate for one layer table, parameter columns ``P`` (``(S, 1)`` arrays) and engines."""

    def __init__(self, table: LayerTable, P: dict[str, np.ndarray], engines: EngineMap) -> None:
        self.t = table
        self.P = P
        self.eng = engines
        self.on_fallback = engines.index == FALLBACK                        # (L,)
        self.on_main = engines.index == MAIN
        copy = P["layout_copy"] > 0
        self.view = table.layout[None, :] & ~copy                          # (S, L) layout op as a free view

    # ------------------------------------------------------------ 1. mapping
    def mapping(self, B: np.ndarray) -> Mapping:
        t, P = self.t, self.P
        tile = P["winograd_tile"]
        red = 9 * tile**2 / (tile + 2) ** 2
        g_eng = self.eng.index[t.g_layer]
        wino = (P["winograd"] > 0) & t.elig[None, :] & self.on_main[None, :]   # (S, L)
        g_wino = wino[:, t.g_layer]
        direct = P["array_mapping"] > 0
        k = np.where(direct, t.g_k_direct[None, :], t.g_k_im2col[None, :])
        k = np.where(g_wino, np.maximum(t.g_k_im2col[None, :] / 9.0, 1.0), k)
        m = t.g_m[None, :] * B
        # kind-default arrays and GPU tiles hold a grouped conv's groups side by side on the output side
        grouped = (P["array_grouped_rows"] > 0) | (P["sm_count"] > 0)
        n = np.where(grouped, t.g_n[None, :] * t.g_groups[None, :], t.g_n[None, :])
        m_eff = np.where(grouped, m / t.g_groups[None, :], m)
        has_array = P["array_rows"] > 0
        rows = np.where(has_array, P["array_rows"], 1.0)
        cols = np.where(has_array, P["array_cols"], 1.0)
        units = np.where(has_array, np.maximum(np.floor(P["macs_per_cycle"] / (rows * cols)), 1.0), 1.0)
        util = utilization(m_eff, n, k, rows, cols, units)
        # GPU: output tiles of tile_m x tile_n, one per SM at a time, in waves over the SMs; when the tiles
        # leave SMs idle the reduction is split (split-K) into up to SMs / tiles slices of >= SPLIT_K_MIN
        sms = np.where(P["sm_count"] > 0, P["sm_count"], 1.0)
        tiles = np.ceil(m_eff / P["tile_m"]) * np.ceil(n / P["tile_n"])
        k_split = np.clip(np.minimum(np.floor(sms / tiles), np.ceil(t.g_k_im2col[None, :] / SPLIT_K_MIN)), 1.0, None)
        waves = np.ceil(tiles * k_split / sms)
        gpu_util = (m_eff * n * k_split) / (waves * sms * P["tile_m"] * P["tile_n"])
        util = np.where(P["sm_count"] > 0, gpu_util, util)
        for j, e in enumerate(self.eng.extra):
            on = g_eng == 1 + j
            if not on.any():
                continue
            ke = t.g_k_direct if e.direct else t.g_k_im2col
            ue = (utilization(t.g_m[None, :] * B, t.g_n[None, :], ke[None, :], e.rows, e.cols, e.units)
                  if e.rows > 0 else np.ones_like(util))
            util = np.where(on[None, :], ue, util)
        util = np.where(t.g_mapped[None, :], util, 1.0)
        eff_g = t.g_macs[None, :] * B * np.where(g_wino, 1.0 / red, 1.0)
        return Mapping(util_g=util, eff_g=eff_g, wino=wino)

    # ------------------------------------------------------------ 2. compute per engine
    def compute(self, B: np.ndarray, mp: Mapping) -> Compute:
        t, P = self.t, self.P
        S = P["sram_bytes"].shape[0]
        spatial_eff = np.where((P["cores"] > 1) & (P["split"] == 0), P["split_efficiency"], 1.0)
        main_rate = P["macs_per_cycle"] * P["clock_hz"] * P["compute_efficiency"] * spatial_eff    # (S, 1)
        g_eng = self.eng.index[t.g_layer]
        rate_g = np.broadcast_to(main_rate, (S, len(t.g_layer)))
        for j, e in enumerate(self.eng.extra):
            rate_g = np.where((g_eng == 1 + j)[None, :], e.mac_rate * e.efficiency * spatial_eff, rate_g)
        cyc_time_g = np.where(mp.eff_g > 0, mp.eff_g / (mp.util_g * np.where(rate_g > 0, rate_g, 1.0)), 0.0)
        if t.g_start.size:
            mac_s = np.add.reduceat(cyc_time_g, t.g_start, axis=1)
            eff_macs = np.add.reduceat(mp.eff_g, t.g_start, axis=1)
            slots = np.add.reduceat(mp.eff_g / mp.util_g, t.g_start, axis=1)
        else:
            mac_s = eff_macs = slots = np.zeros((S, 0))
        util = np.where(slots > 0, eff_macs / np.where(slots > 0, slots, 1.0), 1.0)
        # vector work: other ops, plus a layout op's element moves when it is a copy
        ops = t.other[None, :] * B + np.where(self.view, 0.0, t.copy_ops[None, :] * np.where(
            P["layout_copy"] > 0, 1.0, 0.0) * B)
        vrate = np.broadcast_to(P["vector_ops_per_cycle"] * P["clock_hz"] * spatial_eff, ops.shape)
        for j, e in enumerate(self.eng.extra):
            if e.ops_rate > 0:
                vrate = np.where((self.eng.index == 1 + j)[None, :], e.ops_rate * spatial_eff, vrate)
        vec_s = np.where(vrate > 0, ops / np.where(vrate > 0, vrate, 1.0), 0.0)
        # a vector unit beside the MAC array works on its output (the longer of the two); a CPU's cores do both
        compute = np.where(P["vector_serial"] > 0, mac_s + vec_s, np.maximum(mac_s, vec_s))
        # fallback layers: the host runs 2 x MACs + other ops; their tensors cross the link both ways
        fb = self.on_fallback[None, :]
        host_s = (2.0 * t.macs[None, :] * B + t.other[None, :] * B) / P["fallback_ops"]
        link_bw = P["link_bandwidth"]
        link_s = (t.in_b + t.out_b + t.state_in_b)[None, :] * B / link_bw + 2.0 * P["link_latency"]
        fallback_s = np.where(fb, host_s + link_s, 0.0)
        compute = np.where(fb, 0.0, compute)
        mac_s = np.where(fb, 0.0, mac_s)
        vec_s = np.where(fb, 0.0, vec_s)
        return Compute(mac_s=mac_s, vec_s=vec_s, compute_s=compute, fallback_s=fallback_s, eff_macs=eff_macs,
                       util=util, mac_rate=main_rate)

    # ------------------------------------------------------------ 3. residency plans
    def stored_weights(self, mp: Mapping) -> np.ndarray:
        """Weight bytes as stored (Winograd ``expanded-in-dram`` grows eligible kernels); fallback layers'
        weights live on the host."""
        t, P = self.t, self.P
        tile = P["winograd_tile"]
        growth = (tile + 2) ** 2 / 9
        W = t.w_b[None, :] + np.where((P["winograd"] == 1) & mp.wino, t.w_elig_b[None, :] * (growth - 1.0), 0.0)
        return np.where(self.on_fallback[None, :], 0.0, W)

    def residency(self, B: np.ndarray, W: np.ndarray, streamed_w: np.ndarray, c: Compute) -> list[np.ndarray]:
        """Candidate resident sets (S, L), most resident first: greedily the layers whose weights save the
        most DRAM time per byte, up to (1) all the SRAM but the smallest working strip, (2) the SRAM but the
        largest layer's activations (residency then makes no layer spill), (3) nothing."""
        P = self.P
        bw = self.weight_bandwidth()
        stream_s = np.where(bw > 0, streamed_w / np.where(bw > 0, bw, 1.0), np.inf)
        saving = np.where(P["overlap"] > 0, np.maximum(stream_s - c.compute_s, 0.0), stream_s)
        density = np.where(W > 0, (saving + 1e-30) / np.where(W > 0, W, 1.0), 0.0)
        order = np.argsort(-density, axis=1, kind="stable")
        cum = np.take_along_axis(np.cumsum(np.take_along_axis(W, order, axis=1), axis=1),
                                 np.argsort(order, axis=1), axis=1)
        t = self.t
        u_max = t.u_b.max() if t.u_b.size else 0.0
        a_max = ((t.in_b + t.out_b).max() if t.in_b.size else 0.0) * B
        room = np.maximum(P["sram_bytes"] - u_max, 0.0)
        caps = (room, np.minimum(np.maximum(P["sram_bytes"] - a_max, 0.0), room))
        keep = (W > 0) & (P["residency"] == 0)
        return [(cum <= cap + 1e-9) & keep for cap in caps] + [np.zeros_like(W, dtype=bool)]

    # ------------------------------------------------------------ 4. traffic
    def traffic(self, B: np.ndarray, W: np.ndarray, streamed_w: np.ndarray, res: np.ndarray) -> Traffic:
        t, P = self.t, self.P
        S = P["sram_bytes"]
        fb = self.on_fallback[None, :]
        rb = (W * res).sum(axis=1, keepdims=True)
        state_total = t.state_b * B
        u_max = t.u_b.max() if t.u_b.size else 0.0
        state_chip = state_total <= S - rb - u_max
        budget = S - rb - state_total * state_chip
        # keeping weights (or state) resident must leave room for the smallest working strip
        feasible = ((budget >= u_max) | ((rb == 0) & ~(state_chip & (state_total > 0))))[:, 0]
        moves = ~(fb | self.view)                                  # layers whose activations move at all
        act_in = t.in_b[None, :] * B * moves
        A = (t.in_b + t.out_b)[None, :] * B * moves
        act_out = A - act_in
        state = t.state_in_b[None, :] * B * ~(state_chip | fb)
        # resident layers (and layers without weights): activations spill when they do not fit the budget
        spill_r = A > budget
        a_r = A * spill_r
        # streamed layers: (a) weight slices, the input re-read per slice; (b) activation strips, the weights
        # re-read per strip; an embedding reads its rows once. A budget <= 0 makes that option impossible.
        with np.errstate(divide="ignore", invalid="ignore"):
            slice_budget = budget - t.u_b[None, :]
            p_w = np.maximum(np.ceil(W / slice_budget), 1.0)
            p_w[slice_budget <= 0] = np.inf
            strip_budget = budget - t.w_unit[None, :]
            p_i = np.maximum(np.ceil(A / strip_budget), 1.0)
            p_i[strip_budget <= 0] = np.inf
        ta_a = p_w * act_in + act_out
        tb_w = p_i * streamed_w
        tb_a = A * (p_i > 1)
        use_a = (streamed_w + ta_a) < (tb_w + tb_a)
        gather = t.gather[None, :]
        streamed = ~res & (W > 0)
        slices = streamed & ~gather & use_a       # option (a)
        strips = streamed & ~gather & ~use_a      # option (b)
        weights = np.where(slices | (streamed & gather), streamed_w, 0.0)
        weights = np.where(strips, tb_w, weights)
        acts = np.where(slices, ta_a, np.where(strips, tb_a, a_r))
        passes = np.where(slices, p_w, np.where(strips, p_i, 1.0))
        spilled = np.where(slices | strips, acts > 0, spill_r)
        feasible = feasible & np.isfinite(passes).all(axis=1) if passes.size else feasible
        return Traffic(weights=weights, activations=acts, state=state, passes=passes, spilled=spilled,
                       resident=res | (W == 0), resident_bytes=rb[:, 0], feasible=feasible)

    def weight_bandwidth(self) -> np.ndarray:
        """(S, 1) bytes/s weights load at: the separate weight path when the spec has one, else the DRAM, at the
        spec's DRAM efficiency."""
        P = self.P
        return np.where(P["weight_bandwidth"] > 0, P["weight_bandwidth"], P["dram_bandwidth"]) * P["dram_efficiency"]

    # ------------------------------------------------------------ 5. timing and bounds
    def timing(self, c: Compute, tr: Traffic, bounds: bool = True) -> Timing:
        """Memory time, overlap and per-layer overhead -> layer time, latency and (``bounds``) each layer's
        bound. Without ``bounds`` (ranking candidate plans) the bound array is left empty."""
        t, P = self.t, self.P
        eff = P["dram_efficiency"]
        inv_bw = _inverse(P["dram_bandwidth"] * eff)
        wbw = P["weight_bandwidth"] * eff
        separate = wbw > 0
        inv_w = _inverse(self.weight_bandwidth())
        tw = _time(tr.weights, inv_w)
        ta = _time(tr.activations, inv_bw)
        ts = _time(tr.state, inv_bw)
        mem = np.where(separate, np.maximum(tw, ta + ts), tw + ta + ts)
        active = t.active[None, :] & ~self.view & ~self.on_fallback[None, :]
        overhead = np.where(active, P["layer_overhead"] * t.steps[None, :], 0.0)
        work = np.where(P["overlap"] > 0, np.maximum(c.compute_s, mem), c.compute_s + mem)
        time = np.broadcast_to(work + overhead + c.fallback_s, tw.shape)
        latency = np.where(tr.feasible, time.sum(axis=1), np.inf)
        bound = np.zeros((0, 0), dtype=np.int64)
        if bounds:
            stack = np.stack(np.broadcast_arrays(c.compute_s, tw, ta, ts, overhead, c.fallback_s))
            bound = _LAYER_BOUNDS[np.argmax(stack, axis=0)]
        return Timing(tw=tw, ta=ta, ts=ts, overhead=overhead, time=time, bound=bound, latency=latency)

    # ------------------------------------------------------------ all stages, best plan per spec
    def per_core(self, batch: int) -> tuple[CostModel, np.ndarray, np.ndarray]:
        """``split: batch``: one image per core, so a batch runs ``ceil(B / cores)`` images on each core with
        1/cores of the rates and SRAM, the ``min(B, cores)`` busy cores sharing the DRAM. Returns the
        per-core model, the images per core (S, 1) and the busy cores (S,)."""
        P = self.P
        split = P["split"] == 1
        cores = np.where(split, P["cores"], 1.0)
        used = np.where(split, np.minimum(float(batch), P["cores"]), 1.0)
        if not split.any():
            return self, np.full_like(cores, float(batch)), used[:, 0]
        Pc = dict(P)
        for key in ("macs_per_cycle", "vector_ops_per_cycle", "sram_bytes"):
            Pc[key] = P[key] / cores
        for key in ("dram_bandwidth", "weight_bandwidth"):
            Pc[key] = P[key] / used
        return CostModel(self.t, Pc, self.eng), np.ceil(batch / cores), used[:, 0]

    def evaluate(self, batch: int) -> Evaluation:
        """All stages for one (sub-)batch; per spec the residency plan with the lowest latency."""
        model, B, used = self.per_core(batch)
        t = self.t
        mp = model.mapping(B)
        c = model.compute(B, mp)
        W = model.stored_weights(mp)
        streamed_w = np.where(t.gather[None, :], t.weight_rows_b[None, :] * B, W * t.steps[None, :])
        # the residency plans of every spec run as rows at once (a plan equal to the one before it is skipped),
        # then each spec keeps its fastest plan (the first, i.e. the most resident, on a tie)
        plans = model.residency(B, W, streamed_w, c)
        S, K = W.shape[0], len(plans)
        stacked_res = np.stack(plans, axis=1)                                           # (S, K, L)
        distinct = np.ones((S, K), dtype=bool)
        distinct[:, 1:] = (stacked_res[:, 1:] != stacked_res[:, :-1]).any(axis=2)
        s_idx, k_idx = np.nonzero(distinct)
        res = stacked_res[s_idx, k_idx]

        def rows_of(x):
            return x if x.shape[0] == 1 else x[s_idx]

        stacked = CostModel(t, {k: rows_of(model.P[k]) for k in _PLAN_KEYS}, self.eng)
        c_rows = Compute(**{f: rows_of(getattr(c, f)) for f in Compute.__dataclass_fields__})
        tr = stacked.traffic(rows_of(B), rows_of(W), rows_of(streamed_w), res)
        lat = np.full((S, K), np.inf)
        lat[s_idx, k_idx] = stacked.timing(c_rows, tr, bounds=False).latency
        where = np.full((S, K), -1, dtype=np.int64)
        where[s_idx, k_idx] = np.arange(len(s_idx))
        rows = where[np.arange(S), np.argmin(lat, axis=1)]
        tr = _rows(tr, rows, len(s_idx))
        tm = model.timing(c, tr)
        A = (t.in_b + t.out_b)[None, :] * B
        sram = (A + W).sum(axis=1)
        return Evaluation(batch=B, mapping=mp, compute=c, traffic=tr, timing=tm, sram_traffic=sram, cores_used=used)


_LAYER_BOUNDS = np.array([BOUND_INDEX[b] for b in ("compute", "weights", "activations", "state", "overhead",
                                                  "fallback")])


def _inverse(rate: np.ndarray) -> np.ndarray:
    """1 / rate, inf where the rate is 0 (no such path)."""
    with np.errstate(divide="ignore"):
        return np.where(rate > 0, 1.0 / np.where(rate > 0, rate, 1.0), np.inf)


def _time(nbytes: np.ndarray, inverse_rate: np.ndarray) -> np.ndarray:
    """bytes x (1 / rate); no bytes take no time, even on a missing path."""
    with np.errstate(invalid="ignore"):
        return np.where(nbytes > 0, nbytes * inverse_rate, 0.0)


_PLAN_KEYS = ("sram_bytes", "dram_bandwidth", "weight_bandwidth", "dram_efficiency", "overlap", "layer_overhead",
              "layout_copy")


def _rows(obj, rows: np.ndarray, n: int):
    """The same dataclass with every array field (broadcast to ``n`` rows) reduced to ``rows``."""
    out = {}
    for name in obj.__dataclass_fields__:
        x = getattr(obj, name)
        out[name] = np.broadcast_to(x, (n,) + x.shape[1:])[rows]
    return type(obj)(**out)


def sub_batches(batch: int) -> list[int]:
    """Candidate sub-batch sizes for a batch: 1, the powers of two dividing it, and the batch itself."""
    out = {1, batch}
    b = 2
    while b < batch:
        if batch % b == 0:
            out.add(b)
        b *= 2
    return sorted(out)


def best_sub_batch(model: CostModel, batch: int, cache: dict[int, Evaluation] | None = None
                   ) -> tuple[Evaluation, np.ndarray, list[Evaluation], list[int]]:
    """Evaluate every sub-batch; per spec the index of the one that finishes the whole batch soonest."""
    evals, subs = [], sub_batches(batch)
    for b in subs:
        if cache is not None and b in cache:
            evals.append(cache[b])
            continue
        ev = model.evaluate(b)
        if cache is not None:
            cache[b] = ev
        evals.append(ev)
    totals = np.stack([ev.timing.latency * (batch / b) for ev, b in zip(evals, subs)])   # (K, S)
    choice = np.argmin(totals, axis=0)
    return evals[0], choice, evals, subs


def latency_parts(P: dict[str, np.ndarray], t: LayerTable, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(per-call fixed cost, host-link time) per spec for one call of ``batch`` inferences: the link
    carries the graph's inputs and outputs (state excluded), one transfer each way."""
    call = P["inference_overhead"][:, 0]
    nbytes = (t.link_in_b + t.link_out_b) * batch
    has_io = 1.0 if (t.link_in_b + t.link_out_b) > 0 else 0.0
    link = (nbytes / P["link_bandwidth"] + 2.0 * P["link_latency"] * has_io)[:, 0]
    return call, link


def bound_shares(tm_time: np.ndarray, tm_bound: np.ndarray, reps: np.ndarray, call: np.ndarray, link: np.ndarray,
                 latency: np.ndarray) -> np.ndarray:
    """(S, n_bounds) share of the latency per bound (layers by their bound, plus the call and the link)."""
    share = np.zeros((tm_time.shape[0], len(BOUNDS)))
    for b in range(len(BOUNDS)):
        share[:, b] = np.where(tm_bound == b, tm_time, 0.0).sum(axis=1) * reps
    share[:, BOUND_INDEX["call"]] += call
    share[:, BOUND_INDEX["link"]] += link
    with np.errstate(invalid="ignore", divide="ignore"):
        return share / latency[:, None]


def pipeline_stages(times: np.ndarray, stages: int) -> np.ndarray:
    """Contiguous stages over ``times`` (one spec's layer times) minimising the slowest stage; returns the
    stage index of each layer (the linear-partition answer by bisection on the stage budget)."""
    n = len(times)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    stages = int(max(1, min(stages, n)))
    lo, hi = float(times.max()), float(times.sum())

    def cut(limit: float) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        s, acc = 0, 0.0
        for i, x in enumerate(times):
            if acc + x > limit and acc > 0:
                s, acc = s + 1, 0.0
            out[i] = s
            acc += x
        return out

    for _ in range(50):
        mid = (lo + hi) / 2
        if cut(mid)[-1] + 1 <= stages:
            hi = mid
        else:
            lo = mid
    return cut(hi)
