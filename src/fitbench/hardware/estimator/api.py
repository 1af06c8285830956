"""``estimate`` (one spec, typed per-layer results) and ``estimate_many`` (a vectorised table of specs).

``estimate`` is the cost model over a one-row parameter table: both share every stage; only the
rendering of results differs. Pipelined chips (``split: pipeline``) assign layers to cores per spec.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import __version__
from ...errors import FitbenchError, SpecError
from ...precision import INT4_GROUP, INT4_SCALE_BYTES, Precision
from ..defaults import KIND_DEFAULTS, OP_CLASSES
from ..spec import HardwareSpec, load_hardware
from .bounds import BOUND_INDEX, BOUNDS
from .columns import SPEC_COLUMNS, neutral_params, param_arrays, resolve_winograd, spec_params
from .engines import EngineMap, assign
from .model import CostModel, Traffic, best_sub_batch, bound_shares, latency_parts, pipeline_stages
from .results import Estimate, EstimatePoint, LayerEstimate
from .workload import LayerTable, ProfileLike, layer_table

ENERGY_TERMS = {"per_mac": "pj_per_mac", "per_sram_byte": "pj_per_sram_byte", "per_dram_byte": "pj_per_dram_byte",
                "static": "static_w"}
ESTIMATOR_VERSION = "fitbench.hardware.estimator (analytical, v2)"


def _precision_scales(profile: ProfileLike, precision: str | None, spec: HardwareSpec | None = None
                      ) -> tuple[str, str, float, float, list[str]]:
    """(precision named, MAC precision, weight-byte scale, activation-byte scale, notes).

    A weight-only format (int4) keeps the activations at the profile's precision (fp16 when that is fp32)
    and its MACs run at the activation precision's rate (the weights are dequantised on the fly), or, on a
    chip without that rate, at the first of fp16, bf16, int8, fp32 it has."""
    c = profile.conditions
    wp, ap = Precision.parse(c.weight_precision), Precision.parse(c.activation_precision)
    p = wp if precision is None else Precision.parse(precision)
    notes = []
    ws = p.bytes / wp.bytes
    if precision is None and not p.weight_only and ap is not wp:
        # a mixed profile (an LLM's int8 weights beside an fp16 KV cache): its activations stay as profiled and
        # its MACs run at the activation precision's rate, as for a weight-only format
        act, as_ = ap, 1.0
        notes.append(f"{wp.value} weights with {ap.value} activations (as profiled): MACs run at the {ap.value} "
                     f"rate, activations and state stay {ap.value}")
    elif p.weight_only:
        act = Precision.FP16 if ap in (Precision.FP32, Precision.INT4) else ap
        as_ = act.bytes / ap.bytes
        notes.append(f"{p.value} weights (groups of {INT4_GROUP} with a {INT4_SCALE_BYTES}-byte scale: "
                     f"{p.bytes * 8:g} bits per weight) are dequantised to {act.value}: MACs run at the {act.value} "
                     f"rate, activations are {act.value}")
    else:
        act, as_ = p, p.bytes / ap.bytes
    mac = act
    if act is not p and spec is not None and act.value not in spec.macs_per_cycle:
        mac = next((Precision(x) for x in ("fp16", "bf16", "int8", "fp32") if x in spec.macs_per_cycle), act)
        if mac is not act:
            notes.append(f"{spec.name} has no {act.value} MAC rate: the dequantised {p.value} weights run at its "
                         f"{mac.value} rate")
    if precision is not None and (ws != 1.0 or as_ != 1.0):
        notes.append(f"profile was taken at {wp.value}/{ap.value}; its weight and activation bytes are rescaled to "
                     f"{p.value}/{act.value} (re-profile at {p.value} for integer tensors' exact sizes)")
    return p.value, mac.value, ws, as_, notes


def _default_notes(spec: HardwareSpec, prec: str, table: LayerTable, engines: EngineMap) -> list[str]:
    """What the estimate assumed where the spec is silent (every default is named)."""
    notes = []
    kd = KIND_DEFAULTS[spec.kind]
    if spec.kind == "generic":
        if spec.layer_overhead is None:
            notes.append("the spec gives no layer_overhead: no per-layer (launch/dispatch/configuration) overhead is "
                         "modelled, so small layers and tiny models come out optimistic")
        if not spec.array_at(prec) and not spec.sm_count:
            notes.append("the spec gives no MAC array shape: utilisation is taken as 1")
        if spec.inference_overhead is None and spec.host_link is None:
            notes.append("the spec gives no kind (gpu, npu, dataflow, cpu): no per-call overhead and no host link "
                         "are modelled")
    else:
        used = []
        for fld, value, shown in (
                ("layer_overhead", spec.layer_overhead, f"{kd.layer_overhead * 1e6:g} us"),
                ("inference_overhead", spec.inference_overhead, f"{kd.inference_overhead * 1e6:g} us"),
                ("compute_efficiency", spec.compute_efficiency, f"{kd.compute_efficiency:g}"),
                ("dram_efficiency", spec.dram_efficiency, f"{kd.dram_efficiency:g}"),
                ("host_link", spec.host_link, kd.host_link),
                ("layout_ops", spec.layout_ops, kd.layout_ops)):
            if value is None:
                used.append(f"{fld} {shown}")
        if not spec.array_at(prec) and not spec.sm_count and kd.array:
            used.append(f"a {kd.array[0]}x{kd.array[1]} {kd.array_mapping} array for utilisation")
        if used:
            notes.append(f"{spec.kind} defaults (docs/estimator.md, 'Defaults by kind'): " + "; ".join(used))
    if spec.sustained_clock_hz is None and spec.kind != "generic":
        notes.append("the spec gives no sustained_clock: the datasheet clock is assumed sustained at full load")
    elif spec.sustained_clock_hz:
        notes.append(f"compute runs at the sustained clock {spec.sustained_clock_hz / 1e6:g} MHz "
                     f"(peak TOPS at {spec.clock_hz / 1e6:g} MHz)")
    if not spec.vector_ops_per_cycle and not any(e.ops_per_cycle for e in spec.engines):
        notes.append("the spec gives no vector_ops_per_cycle: non-MAC ops (BN, activations, pooling, adds) take "
                     "no time (assumed hidden in the MAC pipeline)")
    fb = [OP_CLASSES[c] for c in np.unique(table.op_class[engines.index < 0])]
    if fb:
        notes.append(f"no engine runs {', '.join(fb)}: those layers run on the fallback {engines.fallback_name}, "
                     "their tensors crossing the host link both ways")
    if table.state_b > 0:
        notes.append(f"persistent state (KV cache / recurrent state) inputs: {', '.join(table.state_inputs[:4])}"
                     f"{' ...' if len(table.state_inputs) > 4 else ''}: kept on chip when they fit, read from DRAM "
                     "otherwise; never sent over the host link")
    if spec.cores > 1 and spec.split == "spatial" and spec.split_efficiency is None:
        notes.append(f"{spec.cores} cores split one image spatially with no halo or synchronisation cost "
                     "(split_efficiency 1)")
    if spec.energy is not None:
        given = spec.energy.model_fields_set
        missing = [k for k, f in ENERGY_TERMS.items() if f not in given]
        if missing:
            notes.append("energy counts only the terms the spec gives; it gives no " + ", ".join(missing)
                         + " (not counted, so energy per inference is a lower bound)")
    if table.uncosted:
        notes.append(f"{len(table.uncosted)} uncosted layer(s) are not in the estimate: "
                     + ", ".join(table.uncosted[:5]) + (" ..." if len(table.uncosted) > 5 else ""))
    return notes


def estimate(profile: ProfileLike, hw: str | HardwareSpec | dict, batch: int | list[int] = 1,
             precision: str | None = None, winograd: str = "auto",
             state_inputs: list[str] | None = None) -> Estimate:
    """Estimate ``profile`` (a :class:`fitbench.profile.Profile`) on ``hw`` (name, path, dict or spec).

    ``batch``: one batch size or a list; ``precision``: the MAC precision (default: the profile's weight
    precision); ``winograd``: ``auto`` (the spec's mode), ``on``, ``off``, or a storage mode;
    ``state_inputs``: graph inputs that are persistent state (default: found by name — past, cache,
    state). The model and its assumptions are in :mod:`fitbench.hardware.estimator`'s docstring.
    """
    spec = load_hardware(hw)
    from ..._checks import as_list, is_positive_int

    if not hasattr(profile, "totals") or not hasattr(profile, "layers"):
        raise FitbenchError(f"estimate needs a profile (fitbench.profile(model, ...)), got {type(profile).__name__}")
    batches = as_list(batch)
    if not batches or not all(is_positive_int(b) for b in batches):
        raise FitbenchError(f"batch must be a positive integer or a list of them, got {batch!r}")
    named, prec, ws, as_, notes = _precision_scales(profile, precision, spec)
    spec.macs_at(prec)  # clear error when the chip lacks the precision
    mode, wnote = resolve_winograd(spec, winograd)
    if wnote:
        notes.append(wnote)
    table = layer_table(profile, ws, as_, tuple(state_inputs) if state_inputs is not None else None)
    params, P, spec_hash = _spec_parameters(spec, prec, winograd)
    engines = assign(table.op_class, spec, prec, params["compute_efficiency"])
    notes += _default_notes(spec, prec, table, engines)
    model = CostModel(table, P, engines)
    cache: dict = {}
    points = [(_pipeline_point if spec.split == "pipeline" and spec.cores > 1 else _point)(
        model, spec, int(b), prec, cache) for b in batches]
    band = (spec.calibration or {}).get("band_factor")
    if band is not None:
        for pt in points:
            pt.error_band = float(band)
        notes.append(f"calibrated spec: estimates carry an error band of x/÷{float(band):.3g} from its fit "
                     f"({len((spec.calibration or {}).get('points', []))} point(s))")
    c = profile.conditions
    conditions = {
        **_conditions_dict(c),
        "hardware": spec.name, "hardware_source": spec.source, "hardware_path": spec.path,
        "hardware_kind": spec.kind, "spec_hash": spec_hash, "precision": named, "mac_precision": prec,
        "winograd": mode,
        "winograd_requested": winograd, "state_inputs": list(table.state_inputs),
        "estimator": ESTIMATOR_VERSION, "fitbench_version": __version__,
    }
    return Estimate(model=profile.model, hardware={"name": spec.name, "source": spec.source},
                    conditions=conditions, points=points, notes=notes, uncosted=list(table.uncosted))


_SPEC_CACHE: dict[tuple[int, str, str], tuple[HardwareSpec, dict[str, Any], dict[str, np.ndarray], str]] = {}


def _spec_parameters(spec: HardwareSpec, precision: str, winograd: str
                     ) -> tuple[dict[str, Any], dict[str, np.ndarray], str]:
    """The spec's parameter row, its arrays and its hash, kept per spec object (a spec is immutable, so its
    identity is its content while it lives; the cache holds the spec itself, so an id is never reused)."""
    key = (id(spec), precision, winograd)
    hit = _SPEC_CACHE.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1], hit[2], hit[3]
    params = spec_params(spec, precision, winograd)
    P = param_arrays(params)
    for arr in P.values():
        arr.setflags(write=False)   # shared by every estimate of this spec: no stage may write into it
    if len(_SPEC_CACHE) >= 256:
        _SPEC_CACHE.clear()
    _SPEC_CACHE[key] = (spec, params, P, spec.spec_hash())
    return params, P, _SPEC_CACHE[key][3]


def _conditions_dict(c: Any) -> dict[str, Any]:
    """The profile's conditions as a new dict: its lists and dicts copied (two levels: input shapes are a dict of
    lists), so an estimate's conditions never alias the profile's (asdict's deep copy, without its cost)."""
    d = {f: getattr(c, f) for f in c.__dataclass_fields__} if hasattr(c, "__dataclass_fields__") else dict(c)

    def copy(v: Any) -> Any:
        if isinstance(v, list):
            return list(v)
        if isinstance(v, dict):
            return {k: list(x) if isinstance(x, list) else x for k, x in v.items()}
        return v

    return {k: copy(v) for k, v in d.items()}


def _infeasible_reason(spec: HardwareSpec, batch: int, lat: float) -> str:
    if spec.max_batch is not None and batch > spec.max_batch:
        return f"batch {batch} exceeds the spec's max_batch {spec.max_batch}"
    if not math.isfinite(lat):
        return ("the model does not fit on chip and the spec has no DRAM" if not spec.has_dram
                else "a layer cannot run: its minimal strip does not fit the SRAM")
    return ""


def _energy(spec: HardwareSpec, eff_macs: float, sram_bytes: float, dram_bytes: float, lat: float) -> float | None:
    if spec.energy is None:
        return None
    e = spec.energy
    return (eff_macs * e.pj_per_mac + sram_bytes * e.pj_per_sram_byte + dram_bytes * e.pj_per_dram_byte) * 1e-12 \
        + e.static_w * lat


def _point(model: CostModel, spec: HardwareSpec, batch: int, prec: str, cache: dict) -> EstimatePoint:
    """One batch size on one spec: the fastest sub-batch, with per-layer figures for the whole batch."""
    t = model.t
    _, choice, evals, subs = best_sub_batch(model, batch, cache)
    k = int(choice[0])
    ev, sub = evals[k], subs[k]
    reps = batch / sub
    call, link = latency_parts(model.P, t, batch)
    layers_lat = float(ev.timing.latency[0]) * reps
    lat = layers_lat + float(call[0]) + float(link[0])
    reason = _infeasible_reason(spec, batch, lat)
    feasible = not reason
    used = float(ev.cores_used[0])
    tr, tm, c = ev.traffic, ev.timing, ev.compute
    scale = reps * used   # per-core traffic x cores running at once, x sub-batches
    w = float(tr.weights[0].sum()) * scale
    a = float(tr.activations[0].sum()) * scale
    s = float(tr.state[0].sum()) * scale
    eff_total = float(c.eff_macs[0].sum()) * scale
    energy = _energy(spec, eff_total, float(ev.sram_traffic[0]) * scale, w + a + s, lat) if feasible else None
    sep = bool(spec.weight_bandwidth)
    tw, ta, ts = tm.tw[0], tm.ta[0], tm.ts[0]
    dram_s = (np.maximum(tw, ta + ts) if sep else tw + ta + ts) * reps
    passes = tr.passes[0]
    cols = zip(t.names, t.op_types, np.rint(t.macs * batch).astype(np.int64).tolist(),
               (c.eff_macs[0] * scale).tolist(), (c.compute_s[0] * reps).tolist(), (tr.weights[0] * scale).tolist(),
               (tr.activations[0] * scale).tolist(), dram_s.tolist(), (tm.time[0] * reps).tolist(),
               (tm.overhead[0] * reps).tolist(), tm.bound[0].tolist(), c.util[0].tolist(),
               np.where(np.isfinite(passes), passes, -1).astype(np.int64).tolist(), ev.mapping.wino[0].tolist(),
               tr.spilled[0].tolist(), t.fused, t.op_class.tolist(), t.steps.astype(np.int64).tolist(),
               tr.resident[0].tolist(), (tr.state[0] * scale).tolist(), (c.fallback_s[0] * reps).tolist(),
               _engine_names(model))
    layers = [LayerEstimate(
        name=name, op_type=op, macs=macs, effective_macs=eff, compute_s=comp, dram_weight_bytes=wb,
        dram_activation_bytes=ab, dram_s=ds, time_s=tt, overhead_s=oh, bound=BOUNDS[bd], utilization=ut,
        passes=ps, winograd=wg, spilled=sp, fused=list(fu), op_class=OP_CLASSES[oc], engine=en,
        steps=st, weights_resident=rs, dram_state_bytes=sb, link_s=lk)
        for (name, op, macs, eff, comp, wb, ab, ds, tt, oh, bd, ut, ps, wg, sp, fu, oc, st, rs, sb, lk, en) in cols]
    share_arr = bound_shares(tm.time[:1], tm.bound[:1], np.array([reps]), call, link, np.array([lat]))[0]
    share = {b: float(share_arr[j]) if feasible else 0.0 for j, b in enumerate(BOUNDS)}
    ok = feasible and lat > 0
    res_layers = tr.resident[0] & (t.w_b > 0)
    any_w = (t.w_b > 0).any()
    plan = ("resident" if (res_layers == (t.w_b > 0)).all() else "streamed" if not res_layers.any() else "partial") \
        if any_w else "resident"
    peak_rate = spec.mac_rate(prec)
    return EstimatePoint(
        batch=batch, sub_batch=sub, feasible=feasible,
        latency_s=lat if feasible else None, throughput_ips=batch / lat if ok else None,
        dram_bytes_per_inference=(w + a + s) / batch, dram_weight_bytes_per_inference=w / batch,
        dram_activation_bytes_per_inference=a / batch,
        dram_bandwidth_demand=(w + a + s) / lat if ok else None,
        mac_utilization=eff_total / lat / peak_rate if ok else None,
        effective_tops=2 * t.dense_macs * batch / lat / 1e12 if ok else None,
        peak_tops=spec.peak_tops(prec), energy_j_per_inference=energy / batch if energy is not None else None,
        bound_share=share, weights_resident=plan == "resident", activations_spill=bool(tr.spilled[0].any()),
        spilled_activation_bytes=a / batch, plan=plan, infeasible_reason=reason, layers=layers,
        call_overhead_s=float(call[0]), link_s=float(link[0]), dram_state_bytes_per_inference=s / batch,
        state_bytes_per_sequence=t.state_b, resident_weight_bytes=float(tr.resident_bytes[0]),
        cores_used=int(used) if spec.split == "batch" else spec.cores,
    )


def _engine_names(model: CostModel) -> list[str]:
    """The engine name of every layer."""
    names = {int(i): model.eng.name_of(int(np.argmax(model.eng.index == i))) for i in np.unique(model.eng.index)}
    return [names[i] for i in model.eng.index.tolist()]


def _pipeline_point(model: CostModel, spec: HardwareSpec, batch: int, prec: str, cache: dict) -> EstimatePoint:
    """A dataflow chip: layers pinned to cores in order (stages), frames streamed through them.

    Per image, each layer runs on its core (the chip's rates and SRAM / cores) with its weights resident
    there; a context holds as many consecutive layers as the cores' SRAM holds weights, and a model
    that needs more contexts reloads each one (``context_reload`` + its weights over DRAM) per batch. A chip
    without DRAM but with a host link (Hailo-8/8L on PCIe) gets each context's weights from host memory over
    the link: ``context_reload`` + its weights / link bandwidth + the link latency, counted as link time.
    ``latency(B) = call + link + sum over contexts of (reload + sum of stage times + (B - 1) x the slowest
    stage)``; so throughput tends to 1 / slowest stage."""
    t, P = model.t, model.P
    cores = float(spec.cores)
    Pc = dict(P)
    for key in ("macs_per_cycle", "vector_ops_per_cycle", "sram_bytes"):
        Pc[key] = P[key] / cores
    core_model = CostModel(t, Pc, model.eng)
    B = np.ones((1, 1))
    mp = core_model.mapping(B)
    c = core_model.compute(B, mp)
    W = core_model.stored_weights(mp)
    sram_core = float(Pc["sram_bytes"][0, 0])
    # each layer's weights resident on its core; activations spill past what its core has left
    res = np.ones_like(W, dtype=bool)
    A = np.where(core_model.view, 0.0, (t.in_b + t.out_b)[None, :])
    spill = A > (sram_core - W)
    tr = Traffic(weights=np.zeros_like(W), activations=np.where(spill, A, 0.0), state=t.state_in_b[None, :] * 1.0,
                 passes=np.ones_like(W), spilled=spill, resident=res, resident_bytes=W.sum(axis=1),
                 feasible=np.array([True]))
    tm = core_model.timing(c, tr)
    times = tm.time[0]
    # contexts: consecutive layers whose weights fit the cores' SRAM together
    total_sram = float(P["sram_bytes"][0, 0])
    ctx = np.zeros(len(times), dtype=np.int64)
    acc, k = 0.0, 0
    for i, wb in enumerate(W[0]):
        if acc + wb > total_sram and acc > 0:
            k, acc = k + 1, 0.0
        ctx[i] = k
        acc += wb
    n_ctx = k + 1 if len(times) else 0
    bw = float(model.weight_bandwidth()[0, 0])
    over_link = bw <= 0 and spec.host_link is not None   # no DRAM: the host sends the next context's weights
    reload_latency = 0.0
    if over_link:
        bw, reload_latency = float(P["link_bandwidth"][0, 0]), float(P["link_latency"][0, 0])
    stage = np.zeros(len(times), dtype=np.int64)
    layers_total, slowest_total, reload_total = 0.0, 0.0, 0.0
    for j in range(n_ctx):
        idx = np.nonzero(ctx == j)[0]
        st = pipeline_stages(times[idx], spec.cores)
        stage[idx] = st
        stage_t = np.bincount(st, weights=times[idx])
        layers_total += float(times[idx].sum())
        slowest_total += float(stage_t.max())
        if n_ctx > 1:
            wc = float(W[0, idx].sum())
            reload_total += float(P["context_reload"][0, 0]) + reload_latency + (wc / bw if bw > 0 else math.inf)
    call, link = latency_parts(P, t, batch)
    lat = float(call[0]) + float(link[0]) + reload_total + layers_total + (batch - 1) * slowest_total
    reason = _infeasible_reason(spec, batch, lat)
    if not reason and n_ctx > 1 and bw <= 0:
        reason = "the model needs several contexts and the spec has no DRAM or host link to reload them from"
    feasible = not reason and math.isfinite(lat)
    a = float(tr.activations[0].sum()) * batch
    w = float(W[0].sum()) * (n_ctx > 1) * (not over_link)   # DRAM weight traffic; over the link it is link time
    eff_total = float(c.eff_macs[0].sum()) * batch
    # shares: every layer once, the steady-state term on the bound of each context's slowest stage's layers
    share_t = np.zeros(len(BOUNDS))
    for i in range(len(times)):
        share_t[int(tm.bound[0, i])] += times[i]
    if batch > 1:
        for j in range(n_ctx):
            idx = np.nonzero(ctx == j)[0]
            st = stage[idx]
            slow = int(np.argmax(np.bincount(st, weights=times[idx])))
            for i in idx[st == slow]:
                share_t[int(tm.bound[0, i])] += (batch - 1) * times[i]
    share_t[BOUND_INDEX["link" if over_link else "weights"]] += reload_total
    share_t[BOUND_INDEX["call"]] += float(call[0])
    share_t[BOUND_INDEX["link"]] += float(link[0])
    share = {b: float(share_t[j] / lat) if feasible and lat > 0 else 0.0 for j, b in enumerate(BOUNDS)}
    layers = [LayerEstimate(
        name=name, op_type=t.op_types[i], macs=int(round(t.macs[i] * batch)),
        effective_macs=float(c.eff_macs[0, i]) * batch, compute_s=float(c.compute_s[0, i]) * batch,
        dram_weight_bytes=0.0, dram_activation_bytes=float(tr.activations[0, i]) * batch,
        dram_s=float(tm.ta[0, i] + tm.ts[0, i]) * batch, time_s=float(times[i]) * batch,
        overhead_s=float(tm.overhead[0, i]) * batch, bound=BOUNDS[int(tm.bound[0, i])],
        utilization=float(c.util[0, i]), passes=1, winograd=bool(mp.wino[0, i]), spilled=bool(spill[0, i]),
        fused=list(t.fused[i]), op_class=OP_CLASSES[int(t.op_class[i])], engine=model.eng.name_of(i),
        steps=int(t.steps[i]), weights_resident=n_ctx <= 1, link_s=float(c.fallback_s[0, i]) * batch,
        stage=int(stage[i]) + int(ctx[i]) * spec.cores,
    ) for i, name in enumerate(t.names)]
    ok = feasible and lat > 0
    return EstimatePoint(
        batch=batch, sub_batch=1, feasible=feasible, latency_s=lat if feasible else None,
        throughput_ips=batch / lat if ok else None,
        dram_bytes_per_inference=(w + a) / batch, dram_weight_bytes_per_inference=w / batch,
        dram_activation_bytes_per_inference=a / batch, dram_bandwidth_demand=(w + a) / lat if ok else None,
        mac_utilization=eff_total / lat / spec.mac_rate(prec) if ok else None,
        effective_tops=2 * t.dense_macs * batch / lat / 1e12 if ok else None, peak_tops=spec.peak_tops(prec),
        energy_j_per_inference=(_energy(spec, eff_total, float((A + W).sum()) * batch, w + a, lat) / batch
                                if feasible and spec.energy is not None else None),
        bound_share=share, weights_resident=n_ctx <= 1, activations_spill=bool(spill.any()),
        spilled_activation_bytes=a / batch, plan="pipeline", infeasible_reason=reason, layers=layers,
        call_overhead_s=float(call[0]), link_s=float(link[0]) + (reload_total if over_link else 0.0),
        state_bytes_per_sequence=t.state_b,
        resident_weight_bytes=float(W[0].sum()) if n_ctx <= 1 else total_sram, cores_used=spec.cores,
        pipeline_stages=int(stage.max()) + 1 if len(times) else 0, pipeline_contexts=n_ctx,
    )


def estimate_many(profile: ProfileLike, specs_table, batch: int | list[int] = 1, base: HardwareSpec | str | None = None,
                  precision: str | None = None, winograd: str = "auto", chunk: int = 512):
    """Vectorised estimates of one profile on many specs (a design-space sweep); returns a DataFrame.

    ``specs_table``: a dict of equal-length arrays (or a DataFrame) with any of the columns
    ``SPEC_COLUMNS`` (units: bytes, bytes/s, Hz, seconds; ``macs_per_cycle`` at the chosen precision;
    ``clock_hz`` the clock compute runs at; ``array_rows``/``array_cols`` 0 for no array; ``winograd`` a
    mode name; ``split`` spatial or batch; ``max_batch`` and ``link_bandwidth`` inf for none). Missing
    columns come from ``base`` (a spec, name or path; its engines, ``runs`` and fallback apply to every
    row) or, without a base, the generic kind's neutral values. One row per (spec, batch): the inputs plus
    latency_s, throughput_ips, DRAM bytes per inference (weights / activations), weights_resident,
    activations_spill, bound (the bound with the largest share of time), mac_utilization, feasible.
    A pipelined base spec (``split: pipeline``) is not vectorised: use :func:`estimate` per spec. Specs are
    evaluated ``chunk`` at a time: 512 keeps the (specs x plans x layers) arrays cache-sized, about 1.5x
    faster than 4096 on the development machine (``benchmarks/estimate_speed.py``).
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
    base_spec = load_hardware(base) if base is not None else None
    _, prec, ws, as_, _ = _precision_scales(profile, precision, base_spec)
    defaults = spec_params(base_spec, prec, winograd) if base_spec is not None else neutral_params()
    if "split" in cols and np.any(np.asarray(cols["split"]).astype(str) == "pipeline") or (
            base_spec is not None and base_spec.split == "pipeline" and base_spec.cores > 1 and "split" not in cols):
        raise SpecError("estimate_many does not vectorise pipelined chips (split: pipeline); use estimate per spec")
    missing = [k for k in SPEC_COLUMNS if k not in cols and k not in defaults]
    if missing:
        raise SpecError(f"spec columns missing (give them or a base spec): {', '.join(missing)}")
    full = {k: cols[k] if k in cols else np.full(n, defaults[k], dtype=object if isinstance(defaults[k], str)
                                                 else float) for k in SPEC_COLUMNS}
    table = layer_table(profile, ws, as_)
    engines = assign(table.op_class, base_spec, prec, defaults.get("compute_efficiency", 1.0))
    batches = [batch] if isinstance(batch, (int, np.integer)) else list(batch)
    frames = []
    for b in batches:
        b = int(b)
        parts = []
        for start in range(0, n, chunk):
            sl = {k: np.atleast_1d(v)[start:start + chunk] for k, v in full.items()}
            P = param_arrays(sl)
            parts.append(pd.DataFrame(_many_rows(CostModel(table, P, engines), table, P, b,
                                                 {k: sl[k] for k in SPEC_COLUMNS if k in cols})))
        frames.append(pd.concat(parts, ignore_index=True))
    return pd.concat(frames, ignore_index=True)


def _many_rows(model: CostModel, t: LayerTable, P: dict[str, np.ndarray], b: int, inputs: dict[str, Any]):
    _, choice, evals, subs = best_sub_batch(model, b)
    S = P["sram_bytes"].shape[0]
    rows = np.arange(S)
    sub = np.array(subs)[choice]
    reps = b / sub

    def pick(get):
        return np.stack([get(ev) for ev in evals])[choice, rows]

    layers_lat = pick(lambda ev: ev.timing.latency) * reps
    used = pick(lambda ev: ev.cores_used)
    w = pick(lambda ev: ev.traffic.weights.sum(axis=1)) * reps * used
    a = pick(lambda ev: (ev.traffic.activations + ev.traffic.state).sum(axis=1)) * reps * used
    eff = pick(lambda ev: ev.compute.eff_macs.sum(axis=1)) * reps * used
    spill = pick(lambda ev: ev.traffic.spilled.any(axis=1) if ev.traffic.spilled.size else np.zeros(S, bool))
    wmask = t.w_b > 0
    resident = pick(lambda ev: (ev.traffic.resident | ~wmask[None, :]).all(axis=1))
    call, link = latency_parts(P, t, b)
    lat = layers_lat + call + link
    share = np.stack([bound_shares(ev.timing.time, ev.timing.bound, b / s, call, link,
                                   ev.timing.latency * (b / s) + call + link) for ev, s in zip(evals, subs)])
    share = share[choice, rows]
    feasible = np.isfinite(lat) & (b <= P["max_batch"][:, 0])
    peak = (P["macs_per_cycle"] * P["clock_hz"])[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = dict(inputs)
        out.update({
            "batch": np.full(S, b), "sub_batch": sub, "feasible": feasible,
            "latency_s": np.where(feasible, lat, np.nan), "throughput_ips": np.where(feasible, b / lat, np.nan),
            "dram_weight_bytes_per_inference": w / b, "dram_activation_bytes_per_inference": a / b,
            "dram_bytes_per_inference": (w + a) / b, "weights_resident": resident, "activations_spill": spill,
            "mac_utilization": np.where(feasible, eff / lat / peak, np.nan),
            "bound": np.array(BOUNDS, dtype=object)[np.argmax(np.nan_to_num(share), axis=1)],
        })
    return out
