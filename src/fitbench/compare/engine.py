"""``compare()``: the user's workload and the baseline on every offering, ranked side by side.

Hardware specs are *estimated* with :func:`fitbench.hardware.estimator.estimate`; runtimes on this
machine are *measured* with :func:`fitbench.measure.measure`. The ranking metric is throughput
(inferences per second, one inference = one sample) at the workload's first batch and at the
baseline's batch; for an LLM of the zoo, the decode step's tokens per second at the workload's batch and
``context`` (:mod:`.llm`), with TTFT / TPOT per offering in ``Comparison.llm``. Nothing is guessed: an
offering without a figure gets no rank.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import asdict
from typing import Any

from .._checks import as_list, is_positive_int
from ..errors import FitbenchError
from .ranking import build_rows, find_flips, flip_robustness, invalid_warnings, winner_robustness
from .result import Comparison, Figures, Offering
from .workload import Workload, parse_workload

log = logging.getLogger(__name__)

DEFAULT_BASELINE = "resnet50@224:batch=32"
BATCH_CURVE = (1, 2, 4, 8, 16, 32)


# ------------------------------------------------------------------ hardware

def resolve_hardware(hw: Any) -> list[Any]:
    """Specs, names, YAML paths, ``catalog:*`` or ``catalog:NAME`` -> a list of HardwareSpec."""
    from ..hardware.spec import catalog, load_hardware

    items = hw if isinstance(hw, (list, tuple)) else [hw]
    out: list[Any] = []
    for item in items:
        if isinstance(item, str) and item.strip() in ("catalog:*", "catalog", "*"):
            out.extend(catalog())
        elif isinstance(item, str) and item.startswith("catalog:"):
            out.append(load_hardware(item.split(":", 1)[1]))
        else:
            out.append(load_hardware(item))  # a spec, a dict of fields, a YAML path or a catalog name
    if not out:
        raise FitbenchError("no hardware to compare: give --hw with spec files, catalog names or catalog:*")
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FitbenchError(f"hardware named twice: {', '.join(dupes)}")
    return out


def _spec_info(spec: Any, precision: str) -> dict[str, Any]:
    """JSON-safe description of a spec for the card."""
    for attr in ("to_dict", "model_dump"):
        fn = getattr(spec, attr, None)
        if callable(fn):
            try:
                from ..store import jsonable

                return jsonable(fn())
            except Exception:  # noqa: BLE001 - the card falls back to the main fields
                break
    return {k: getattr(spec, k, None) for k in ("name", "source", "sram_bytes", "dram_bandwidth", "clock_hz")}


def _peak_tops(spec: Any, precision: str) -> float | None:
    fn = getattr(spec, "peak_tops", None)
    try:
        return float(fn(precision)) if callable(fn) else (float(fn) if fn is not None else None)
    except Exception:  # noqa: BLE001 - a spec without this precision has no claimed TOPS
        return None


def hardware_offering(spec: Any, precision: str) -> Offering:
    wino = getattr(spec, "winograd", None)
    return Offering(
        name=str(spec.name), kind="hardware", source=str(getattr(spec, "source", "") or ""),
        peak_tops=_peak_tops(spec, precision),
        sram_bytes=_num(getattr(spec, "sram_bytes", None)),
        dram_bandwidth=_num(getattr(spec, "dram_bandwidth", None)),
        clock_hz=_num(getattr(spec, "clock_hz", None)),
        winograd=None if wino is None else str(getattr(wino, "value", wino)),
        spec=_spec_info(spec, precision),
    )


def _num(x: Any) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def figures_from_point(p: Any) -> Figures:
    """An estimator point -> :class:`Figures` (fields the estimator lacks stay ``None``)."""
    def g(name):
        return getattr(p, name, None)

    share = g("bound_share") or {}
    return Figures(
        batch=int(p.batch), latency_s=_num(g("latency_s")), throughput_ips=_num(g("throughput_ips")),
        method="estimate",
        dram_bytes_per_inference=_num(g("dram_bytes_per_inference")),
        dram_weight_bytes_per_inference=_num(g("dram_weight_bytes_per_inference")),
        dram_activation_bytes_per_inference=_num(g("dram_activation_bytes_per_inference")),
        dram_bandwidth_demand=_num(g("dram_bandwidth_demand")),
        mac_utilization=_num(g("mac_utilization")), effective_tops=_num(g("effective_tops")),
        peak_tops=_num(g("peak_tops")), energy_j_per_inference=_num(g("energy_j_per_inference")),
        bound_share={str(k): float(v) for k, v in dict(share).items()},
        weights_resident=g("weights_resident"), activations_spill=g("activations_spill"),
        feasible=bool(g("feasible") if g("feasible") is not None else True),
        infeasible_reason=str(g("infeasible_reason") or ""), plan=str(g("plan") or ""),
    )


def _layer_bounds(point: Any) -> list[dict[str, Any]]:
    rows = []
    for lay in getattr(point, "layers", None) or []:
        rows.append({
            "name": str(lay.name), "op_type": str(lay.op_type), "bound": str(getattr(lay, "bound", "")),
            "time_s": _num(getattr(lay, "time_s", None)), "compute_s": _num(getattr(lay, "compute_s", None)),
            "dram_s": _num(getattr(lay, "dram_s", None)), "utilization": _num(getattr(lay, "utilization", None)),
            "dram_weight_bytes": _num(getattr(lay, "dram_weight_bytes", None)),
            "dram_activation_bytes": _num(getattr(lay, "dram_activation_bytes", None)),
            "passes": getattr(lay, "passes", None), "fused": [str(x) for x in getattr(lay, "fused", None) or []],
        })
    return rows


# ------------------------------------------------------------------ profiling

def _profile(w: Workload, precision: str, **overrides: Any):
    from ..profile import profile

    params = dict(w.params)
    params.update(overrides)
    return profile(w.model, inputs=w.inputs, batch=1 if not w.inputs else None, dims=w.dims,
                   precision=w.precision or precision, **params)


def _profile_info(prof: Any, w: Workload, role: str) -> dict[str, Any]:
    t = prof.totals
    res = w.resolution
    return {
        "role": role, "label": w.describe(), "model": prof.model.name, "path": prof.model.path,
        "sha256": prof.model.sha256, "opset": prof.model.opset,
        "input_shapes": prof.conditions.input_shapes, "profile_batch": prof.conditions.batch,
        "batches": list(w.batches), "params": _jsonable(prof.conditions.params or w.params),
        "weight_precision": prof.conditions.weight_precision,
        "activation_precision": prof.conditions.activation_precision,
        "resolution": list(res) if res else None,
        "macs": t.macs, "weights": t.weights, "weight_bytes": t.weight_bytes,
        "largest_activation_bytes": t.largest_activation_bytes,
        "peak_live_activation_bytes": t.peak_live_activation_bytes,
        "winograd_mac_fraction": t.winograd_mac_fraction, "layer_count": t.layer_count,
        "uncosted": [{"op_type": u.op_type, "count": u.count, "reason": u.reason} for u in prof.uncosted],
        "notes": list(prof.conditions.notes),
    }


def _jsonable(obj: Any) -> Any:
    from ..store import jsonable

    return jsonable(obj)


def _layers_table(prof: Any) -> list[dict[str, Any]]:
    per = max(prof.conditions.batch, 1)
    return [{"name": x.name, "op_type": x.op_type, "macs": None if x.macs is None else x.macs / per,
             "weight_bytes": x.weight_bytes,
             "activation_bytes": (x.input_activation_bytes + x.output_activation_bytes) / per,
             "output_activation_bytes": x.output_activation_bytes / per,
             "winograd_eligible": bool(x.winograd_eligible)} for x in prof.layers]


def _resized(w: Workload, size: tuple[int, int]) -> Workload:
    """``w`` with its one 4-D image input (N x C x H x W) bound at ``size`` = (H, W)."""
    import copy

    from ..graph.onnx_io import parse_dims  # lazy: keeps onnx out of import fitbench.compare

    inputs = dict(w.inputs or {})
    four_d = {}
    for name, dims in inputs.items():
        d = list(parse_dims(dims, f"--input {name}"))
        if len(d) == 4:
            four_d[name] = d
    if len(four_d) != 1:
        raise FitbenchError("latency vs input size needs a zoo model with a resolution, or exactly one 4-D input "
                            "given as --input NAME=NxCxHxW")
    (name, d), = four_d.items()
    inputs[name] = [d[0], d[1], size[0], size[1]]
    out = copy.copy(w)
    out.inputs = inputs
    return out


def default_input_sizes(res: tuple[int, int]) -> list[tuple[int, int]]:
    """Quarter, half and full size of ``(H, W)``, each rounded to a multiple of 32 (YOLO's stride)."""
    h, w = res
    out = []
    for f in (0.25, 0.5, 1.0):
        hh, ww = max(32, round(h * f / 32) * 32), max(32, round(w * f / 32) * 32)
        if f == 1.0:
            hh, ww = h, w
        if (hh, ww) not in out:
            out.append((hh, ww))
    return out


# ------------------------------------------------------------------ measurement

def _measure(w: Workload, runtime: str, batch: int, quick: bool, log_dir: str | None = None,
             layers: bool = False) -> dict[str, Any]:
    """Measure ``w`` at ``batch`` on ``runtime`` (in the model's own precision; ORT never converts); ``log_dir``
    keeps LoadGen's logs there (``<log_dir>/batch-<B>/<run>/``); ``layers`` adds the per-layer profiled pass
    (:mod:`fitbench.measure.layers`)."""
    from ..measure import measure

    kept = {"log_dir": log_dir} if log_dir else {}
    extra = {"layer_times": True} if layers else {}
    res = measure(w.model, inputs=w.inputs, dims=w.dims, batch=batch, runtime=runtime, quick=quick, **kept, **extra,
                  **w.params)
    d = res.to_dict(include_samples=True)
    if d.get("status") != "ok":
        from ..errors import MeasurementError

        raise MeasurementError(f"measuring {w.describe()} on {runtime} at batch {batch} failed: {d.get('cause')}")
    return _jsonable(d)


def _log_dir(root: str | None, runtime: str, role: str) -> str | None:
    """``<root>/<runtime>/<role>`` (LoadGen's logs of one runtime's workload, baseline or extra measurements)."""
    if not root:
        return None
    from pathlib import Path

    return str(Path(str(root)).expanduser() / runtime / role)


def _measure_into(off: Offering, w: Workload, role: str, batches: list[int], runtime: str, quick: bool, where: str,
                  measurements: list[dict[str, Any]], notes: list[str], log_dir: str | None = None,
                  layers: bool = False) -> None:
    """Measure ``w`` at each batch for offering ``off`` (its ``role`` figures: workload or baseline); a batch that
    cannot be measured is left out with a note saying ``where`` (``{batch}`` is filled in)."""
    for bsz in batches:
        try:
            d = _measure(w, runtime, bsz, quick, _log_dir(log_dir, runtime, role), layers)
        except FitbenchError as exc:
            notes.append(f"{off.name} {where.format(batch=bsz)} is left out: {exc}")
            continue
        measurements.append({"offering": off.name, "role": role, "label": w.describe(), "batch": bsz,
                             "result": d, "latencies_s": measurement_latencies(d)})
        getattr(off, role).append(figures_from_measurement(d, bsz))


def figures_from_measurement(d: dict[str, Any], batch: int) -> Figures:
    """A ``MeasureResult.to_dict()`` -> :class:`Figures` (latency of one query = one batch, in seconds)."""
    lat = d.get("latency") or {}

    def s(key: str) -> float | None:
        v = lat.get(key)
        return None if v is None else float(v) / 1e3

    # throughput is what the measurement completed per second of wall time; when it has none, it stays
    # unknown (never derived from a latency)
    from ..measure.validity import validity_of

    v = validity_of(d)
    return Figures(
        batch=batch, latency_s=s("p50_ms"), throughput_ips=_num(d.get("throughput")), method="measured",
        latency_p50_s=s("p50_ms"), latency_p90_s=s("p90_ms"), latency_p99_s=s("p99_ms"),
        samples=lat.get("count"), validity=None if v is None else v.verdict,
        validity_reasons=[] if v is None else list(v.reasons),
    )


def measurement_latencies(d: dict[str, Any]) -> list[float]:
    """Per-query latencies in seconds, when the measurement kept them."""
    return [float(x) / 1e3 for x in d.get("latencies_ms") or []]


# ------------------------------------------------------------------ the comparison

def compare(
    workload: Any,
    *,
    hw: Any = ("catalog:*",),
    batch: list[int] | int | None = None,
    measure_runtimes: list[str] | tuple[str, ...] = (),
    baseline: Any = DEFAULT_BASELINE,
    precision: str = "int8",
    inputs: dict | None = None,
    dims: dict | None = None,
    batch_curve: tuple[int, ...] | list[int] = BATCH_CURVE,
    input_sizes: list[tuple[int, int]] | None = None,
    measure_quick: bool = True,
    measure_baseline: bool = False,
    winograd: str = "auto",
    store: Any = None,
    label: str | None = None,
    also_estimate: list[Any] | tuple[Any, ...] = (),
    also_measure: list[Any] | tuple[Any, ...] = (),
    error_bands: dict[str, Any] | None = None,
    app: Any = None,
    measure_log_dir: str | None = None,
    **zoo_params: Any,
) -> Comparison:
    """Rank every offering on the user's workload and on the baseline; explain every rank flip.

    ``workload`` is a zoo name, an ONNX path/proto or a workload string (``yolov3@1920x1080:batch=1``);
    ``hw`` lists HardwareSpecs, catalog names, YAML paths or ``"catalog:*"``; ``batch`` the workload's
    batch sizes (the first is the one ranked); ``baseline`` the reference workload (default
    ResNet-50 at 224x224, batch 32). ``also_estimate`` lists more workload strings estimated on the same
    hardware (a table, not ranked); ``also_measure`` lists small workloads measured on the first runtime in
    ``measure_runtimes`` (or ONNX Runtime) to show real latency distributions. ``store`` (a
    :class:`fitbench.store.Store` or a URL/path) keeps
    every profile, estimate and measurement plus the comparison itself under one sweep id; the supplier
    measurements verified by ``fitbench kit verify`` that it holds for this workload are shown beside their
    chip's estimate and ranked (:mod:`.supplier`). ``app`` (an :class:`~.requirements.Application` or the path
    of an application file) adds the requirement verdicts (``comp.requirements``, :mod:`.requirements`);
    ``workload`` may then be ``None`` (the application's model). ``measure_log_dir`` keeps LoadGen's logs of
    every measurement in ``<dir>/<runtime>/<role>/batch-<B>/<run>/`` (role: workload, baseline or extra).

    **Robustness.** Each offering carries a stated error band (a factor >= 1): a calibrated spec's own
    (``calibration.band_factor``); otherwise ``error_bands[name]`` when given (an object with ``factor``,
    ``basis`` and optionally ``validation_error`` / ``validation_points``, e.g.
    :func:`fitbench.validation.calibrate.default_bands`: the chip's validation error on the published dataset);
    a measured runtime has band 1. The winner and each flip then say whether their workload order survives:
    the two throughputs' ratio against the product of the two bands (:func:`.ranking.order_robustness`).
    """
    from ..hardware.estimator import estimate

    started = dt.datetime.now(dt.timezone.utc)
    if app is not None:
        from .requirements import app_workload

        app, workload, inputs, zoo_params = app_workload(app, workload, inputs, zoo_params)
    w = parse_workload(workload) if isinstance(workload, str) else Workload(model=workload)
    w.params.update({k: v for k, v in zoo_params.items() if v is not None})
    if batch is not None:
        w.batches = as_list(batch)
    if not w.batches or not all(is_positive_int(b) for b in w.batches):
        raise FitbenchError(f"batch sizes must be positive integers, got {w.batches!r}")
    w.inputs, w.dims, w.label = inputs or w.inputs, dims or w.dims, label or w.label
    b = parse_workload(baseline, default_batches=[32]) if not isinstance(baseline, Workload) else baseline
    from ..measure.runtimes import canonical as canonical_runtime

    for rt in measure_runtimes:
        canonical_runtime(rt)  # a misspelt runtime is an error up front, not a note at the end
    precision = w.precision or precision
    rank_batch, baseline_batch = w.batches[0], b.batches[0]
    from .llm import decode_state_inputs, is_llm, llm_side_table

    llm = is_llm(w.model)  # an LLM is ranked on its decode step: tokens/s at the batch, with its KV cache
    if llm:
        w.params.setdefault("phase", "decode")

    specs = resolve_hardware(hw) if hw else []
    if not specs and not measure_runtimes:
        raise FitbenchError("nothing to compare: give hardware (--hw) or runtimes to measure (--measure)")
    if precision is not None:
        from ..precision import Precision

        precision = Precision.parse(precision).value

    # a weight-only format (int4) is quoted at int8 TOPS, and the baseline runs at int8 unless it says
    tops_precision = "int8" if precision == "int4" else precision
    wprof = _profile(w, precision)
    bprof = _profile(b, b.precision or tops_precision)
    winfo, binfo = _profile_info(wprof, w, "workload"), _profile_info(bprof, b, "baseline")
    notes: list[str] = []
    for info, prof in ((winfo, wprof), (binfo, bprof)):
        if prof.uncosted:  # never silently zero: every estimate below leaves these layers out
            ops = ", ".join(f"{u.op_type} x{u.count}" for u in prof.uncosted)
            notes.append(f"{info['label']}: {prof.totals.uncosted_count} layer(s) have no cost rule ({ops}); "
                         "the estimates leave them out, so estimated latencies are lower bounds")

    offerings: list[Offering] = []
    layer_bounds: dict[str, list[dict[str, Any]]] = {}
    estimates: list[tuple[str, str, dict[str, Any]]] = []
    wbatches = sorted(set(w.batches) | set(batch_curve))
    if app is not None:
        from .requirements import candidate_batches

        wbatches = sorted(set(wbatches) | set(candidate_batches(app)))
    usable = []
    for spec in specs:
        off = hardware_offering(spec, tops_precision)
        _set_band(off, spec, error_bands)
        try:
            est_w = estimate(wprof, spec, batch=wbatches, precision=precision, winograd=winograd,
                             state_inputs=decode_state_inputs(wprof) if llm else None)
            est_b = estimate(bprof, spec, batch=sorted(set(b.batches)), precision=b.precision or tops_precision,
                             winograd=winograd)
        except FitbenchError as exc:  # e.g. the chip lacks the precision: say so, compare the others
            notes.append(f"{spec.name} is left out: {exc}")
            continue
        usable.append(spec)
        off.workload = [figures_from_point(p) for p in est_w.points]
        off.baseline = [figures_from_point(p) for p in est_b.points]
        for p in est_w.points:
            if p.batch == rank_batch:
                layer_bounds[off.name] = _layer_bounds(p)
        estimates.append(("workload", off.name, _estimate_dict(est_w)))
        estimates.append(("baseline", off.name, _estimate_dict(est_b)))
        offerings.append(off)

    measurements: list[dict[str, Any]] = []
    for rt in measure_runtimes:
        off = Offering(name=f"{rt} (this machine)", kind="runtime", source="measured on this machine",
                       error_band=1.0, band_basis="measured (no estimate error)")

        # per-layer times where a CPU spec is compared (this machine's, probed or written): measured vs estimated
        _measure_into(off, w, "workload", w.batches, rt, measure_quick, "at batch {batch}", measurements, notes,
                      measure_log_dir, layers=rt == "onnxruntime" and any(getattr(s, "kind", "") == "cpu"
                                                                          for s in usable))
        if measure_baseline:
            _measure_into(off, b, "baseline", b.batches[:1], rt, measure_quick, "on the baseline", measurements, notes,
                          measure_log_dir)
        if not off.workload:
            continue
        off.spec = _jsonable(next(m["result"].get("conditions") or {} for m in measurements
                                  if m["offering"] == off.name))
        offerings.append(off)
        notes.append(f"{off.name} is measured, not estimated: it runs the model as exported (its own float "
                     f"precision, not {precision}) on this machine's CPU; the card lists every condition")

    # latency vs input size (zoo models with a resolution parameter)
    curve: list[dict[str, Any]] = []
    res = w.resolution
    sizes = input_sizes if input_sizes is not None else (default_input_sizes(res) if res else [])
    for size in sizes:
        size = tuple(size)
        if res:
            prof = wprof if size == tuple(res) else _profile(w, precision, resolution=size)
        else:
            prof = _profile(_resized(w, size), precision)
        for spec in usable:
            est = estimate(prof, spec, batch=[rank_batch], precision=precision, winograd=winograd)
            p = est.points[0]
            curve.append({"offering": spec.name, "height": size[0], "width": size[1], "pixels": size[0] * size[1],
                          "batch": rank_batch, "latency_s": _num(p.latency_s),
                          "throughput_ips": _num(p.throughput_ips), "macs": prof.totals.macs / max(
                              prof.conditions.batch, 1)})

    if store is not None:  # supplier measurements verified with `fitbench kit verify`, ranked beside the estimates
        from .supplier import attach_verified, find_verified

        attach_verified(offerings, find_verified(store, winfo, rank_batch), precision, notes)
    if not offerings:
        raise FitbenchError("no offering could be compared: " + "; ".join(notes))
    rows = build_rows(offerings, rank_batch, baseline_batch)
    notes[:0] = invalid_warnings(offerings, rows, rank_batch)  # first: a rank from an INVALID run is not silent
    unit = "token" if llm else "frame" if res else "inference"
    flips = find_flips(offerings, rows, rank_batch, baseline_batch, w.describe(), b.describe(), unit)
    for f in flips:
        f.robustness = flip_robustness(f, rows, offerings)

    from .card import build_card

    card = build_card(workloads=[winfo, binfo], offerings=offerings, precision=precision, winograd=winograd,
                      measurements=measurements, started=started, estimates=estimates)
    comp = Comparison(
        workload=winfo, baseline=binfo, precision=precision, rank_batch=rank_batch, baseline_batch=baseline_batch,
        offerings=offerings, rows=rows, flips=flips, card=card, layers=_layers_table(wprof),
        layer_bounds=layer_bounds, input_size_curve=curve, measurements=measurements, notes=notes,
        winner=winner_robustness(rows, offerings),
    )
    if llm and usable:  # TTFT, TPOT, tokens/s and memory fit per offering beside the ranking
        comp.llm = llm_side_table(w, usable, rank_batch, precision)
    if app is not None:
        from .requirements import evaluate

        comp.requirements = evaluate(comp, app)
        for rt in measure_runtimes:  # this machine against the requirement: LoadGen server at the load
            from .requirements import server_check

            here = next((o for o in offerings if o.name == f"{rt} (this machine)"), None)
            comp.requirements.runtime_checks.append(
                server_check(w, rt, app, measure_quick, here.at("workload", 1) if here else None))
    if measurements and usable:
        from .layers import from_measurements

        comp.layer_comparisons = from_measurements(measurements, wprof, usable)
    if also_estimate and usable:
        comp.models = estimate_models(list(also_estimate), usable, precision=precision, winograd=winograd)
    for item in also_measure:
        add_measurement(comp, item, runtime=(list(measure_runtimes) or ["onnxruntime"])[0], quick=measure_quick,
                        log_dir=measure_log_dir)
    if store is not None:
        save_comparison(comp, store, profiles=[(winfo, wprof), (binfo, bprof)], estimates=estimates)
    return comp


def _set_band(off: Offering, spec: Any, error_bands: dict[str, Any] | None) -> None:
    """The offering's stated error: its calibration's band, else ``error_bands[name]``, else unknown."""
    given = (error_bands or {}).get(off.name)
    if given is not None:
        off.validation_error = getattr(given, "validation_error", None)
        off.validation_points = int(getattr(given, "validation_points", 0) or 0)
    cal = getattr(spec, "calibration", None) or {}
    if cal.get("band_factor") is not None:
        off.error_band = float(cal["band_factor"])
        off.band_basis = f"calibrated on {len(cal.get('points') or [])} point(s) ({cal.get('band_basis', 'fit')})"
    elif given is not None:
        off.error_band = float(given.factor)
        off.band_basis = str(getattr(given, "basis", ""))


def _estimate_dict(est: Any) -> dict[str, Any]:
    """The estimate without its per-layer rows (kept compact for the store)."""
    d = est.to_dict() if hasattr(est, "to_dict") else {}
    d = dict(d)
    if "points" in d:
        d["points"] = [{k: v for k, v in p.items() if k != "layers"} for p in d["points"]]
    return _jsonable(d)


def point_key(text: str) -> str:
    """A sweep point key of at most 64 characters (long keys keep a prefix and a digest)."""
    if len(text) <= 64:
        return text
    return text[:47] + "-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def new_sweep_id(comp: Comparison) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(comp.to_json(None).encode()).hexdigest()[:8]
    return f"compare-{stamp}-{digest}"


def save_comparison(comp: Comparison, store: Any, profiles=(), estimates=()) -> str:
    """Store the comparison (kind ``comparison``), its profiles, estimates and measurements under one sweep."""
    from ..store import ResultRecord, open_store

    st = open_store(store) if isinstance(store, str) or hasattr(store, "__fspath__") else store
    sweep_id = comp.sweep_id or new_sweep_id(comp)
    comp.sweep_id = sweep_id
    prec = comp.precision
    recs: list[ResultRecord] = []
    for info, prof in profiles:
        recs.append(ResultRecord(
            kind="profile", model=info["label"], model_sha256=info["sha256"], batch=prof.conditions.batch,
            precision=info["weight_precision"], conditions={"role": info["role"], **info},
            metrics=_jsonable(asdict(prof.totals)), sweep_id=sweep_id, point_key=f"profile/{info['role']}"))
    for role, hw_name, est in estimates:
        info = comp.workload if role == "workload" else comp.baseline
        for p in est.get("points", []):
            recs.append(ResultRecord(
                kind="estimate", model=info["label"], model_sha256=info["sha256"], batch=p.get("batch"),
                precision=prec, hardware=hw_name,
                conditions={"role": role, "workload": info, "estimate": {k: v for k, v in est.items()
                                                                          if k != "points"}},
                metrics=p, sweep_id=sweep_id, point_key=point_key(f"estimate/{role}/{hw_name}/b{p.get('batch')}")))
    from ..measure.validity import store_status

    for i, m in enumerate(comp.measurements):
        info = {"workload": comp.workload, "baseline": comp.baseline}.get(
            m["role"], {"label": m["label"], "sha256": (m["result"].get("conditions") or {}).get("model_sha256")})
        res = m["result"]
        status, cause = store_status(res)  # an INVALID measurement is stored as invalid, as a sweep stores it
        recs.append(ResultRecord(
            kind="measure", model=info["label"], model_sha256=info["sha256"], batch=m["batch"], precision=prec,
            runtime=str(res.get("runtime") or m["offering"])[:64], conditions=res.get("conditions") or {},
            metrics=res, sweep_id=sweep_id, status=status, cause=cause,
            point_key=point_key(f"measure/{m['role']}/{m['offering']}/b{m['batch']}/{i}")))
    recs.append(ResultRecord(
        kind="comparison", model=comp.workload["label"], model_sha256=comp.workload["sha256"], batch=comp.rank_batch,
        precision=prec, conditions=comp.card, metrics=comp.to_dict(), sweep_id=sweep_id, point_key="comparison"))
    st.register_sweep(sweep_id, {"kind": "compare", "workload": comp.workload["label"],
                                 "baseline": comp.baseline["label"],
                                 "offerings": [o.name for o in comp.offerings]}, len(recs), source="fitbench compare")
    for r in recs:
        st.put(r)
    return sweep_id


def estimate_models(models: list[Any], hw: Any = ("catalog:*",), precision: str = "int8",
                    winograd: str = "auto") -> list[dict[str, Any]]:
    """More workloads on the same hardware: one row per model with throughput and bound per offering.

    ``models`` are workload strings (``"mobilenet-v2@224:batch=1"``); each is estimated at its first batch.
    """
    from ..hardware.estimator import estimate

    specs = resolve_hardware(hw)
    out = []
    for item in models:
        w = parse_workload(item) if isinstance(item, str) else item
        prof = _profile(w, precision)
        bsz = w.batches[0]
        row = {"label": w.describe(), "model": prof.model.name, "sha256": prof.model.sha256, "batch": bsz,
               "input_shapes": prof.conditions.input_shapes,
               "macs": prof.totals.macs / max(prof.conditions.batch, 1), "weight_bytes": prof.totals.weight_bytes,
               "largest_activation_bytes": prof.totals.largest_activation_bytes,
               "throughput": {}, "latency_s": {}, "bound": {}}
        for spec in specs:
            try:
                p = estimate(prof, spec, batch=[bsz], precision=precision, winograd=winograd).points[0]
            except FitbenchError:
                continue  # the same reason is in the comparison's notes
            fig = figures_from_point(p)
            row["throughput"][spec.name] = fig.throughput_ips
            row["latency_s"][spec.name] = fig.latency_s
            row["bound"][spec.name] = fig.dominant_bound
        out.append(row)
    return out


def add_measurement(comp: Comparison, model: Any, runtime: str = "onnxruntime", quick: bool = True,
                    log_dir: str | None = None) -> dict[str, Any]:
    """Measure another (small) model on this machine and attach it to ``comp`` (shown, not ranked).

    ``model`` is a workload string (``"mobilenet-v2@224:batch=1"``); its first batch is measured.
    """
    w = parse_workload(model) if isinstance(model, str) else model
    bsz = w.batches[0]
    d = _measure(w, runtime, bsz, quick, _log_dir(log_dir, runtime, "extra"))
    m = {"offering": f"{runtime} (this machine)", "role": "extra", "label": w.describe(), "batch": bsz,
         "result": d, "latencies_s": measurement_latencies(d)}
    comp.measurements.append(m)
    comp.card.setdefault("measurements", []).append(
        {"offering": m["offering"], "role": "extra", "batch": bsz, "label": w.describe(),
         "conditions": d.get("conditions")})
    return m
