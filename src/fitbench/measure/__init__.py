"""Measure for real: run the user's model on a runtime here, in MLPerf-style scenarios.

``measure(model, ...)`` runs each batch in its own child process (time limit, memory guard), drives
it with MLPerf LoadGen and returns a :class:`MeasureResult` (a list for a list of batches) with
nearest-rank latency percentiles, spread, throughput and every condition of the run.
See :mod:`.stats` for the statistical conventions and :mod:`.scenarios` for the scenarios.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .._callable import make_module_callable
from .._checks import as_list, is_positive_int
from ..errors import MeasurementError
from . import progress
from .progress import Forecast, ProgressEvent
from .result import MeasureResult, ServerSearch, ServerTrial, WarmupInfo, failed
from .scenarios import SCENARIOS, canonical_scenario, forecast, offline_sample_count
from .settings import FULL as FULL_SETTINGS
from .settings import QUICK as QUICK_SETTINGS
from .settings import MeasureSettings, ModelArgs, RunSettings
from .stats import MIN_SAMPLES, noise_warnings, summarize

__all__ = ["measure", "MeasureResult", "MeasurementInterrupted", "SCENARIOS", "DEFAULTS", "QUICK",
           "MeasureSettings", "RunSettings"]

#: full measurement: p99 is reportable (>= 662 queries) and runs last at least 10 s (a plain dict view of
#: :data:`.settings.FULL`)
DEFAULTS = FULL_SETTINGS.to_dict()
#: --quick, for sweeps: a fixed small count and duration (p90 reportable, p99 not)
QUICK = QUICK_SETTINGS.to_dict()
SERVER_TRIALS = 6
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
#: who issues the queries: MLPerf LoadGen, or (single-stream only) fitbench's own timed loop
DRIVERS = ("loadgen", "direct")


def measure(
    model: Any,
    *,
    inputs: Mapping[str, Any] | None = None,
    batch: int | Sequence[int] | None = None,
    runtime: str = "onnxruntime",
    scenario: str = "single-stream",
    device: str = "cpu",
    threads: int | None = None,
    precision: str = "fp32",
    target_latency_ms: float | None = None,
    server_qps: float | None = None,
    percentile: int | None = None,
    samples_per_query: int = 8,
    quick: bool = False,
    min_count: int | None = None,
    min_duration_s: float | None = None,
    warmup_count: int | None = None,
    warmup_s: float | None = None,
    timeout_s: float | None = None,
    memory_limit_bytes: int | None = None,
    input_files: Mapping[str, str] | None = None,
    seed: int = 0,
    compile: bool = False,
    include_h2d: bool = True,
    dims: Mapping[str, int] | None = None,
    name: str | None = None,
    command: str | None = None,
    driver: str = "loadgen",
    log_dir: str | None = None,
    layer_times: bool = False,
    **zoo_params: Any,
) -> MeasureResult | list[MeasureResult]:
    """Measure ``model`` (ONNX path, ``onnx.ModelProto``, zoo name or torch ``nn.Module``).

    ``batch`` may be a list: one result per batch, in order (each in its own child process).
    A child that crashes, hangs (past ``timeout_s``) or outgrows the memory guard gives a result
    with ``status == "failed"`` and its ``cause``; bad arguments raise a one-line FitbenchError.
    ``server`` with ``target_latency_ms`` searches the peak Poisson QPS whose ``percentile``
    latency (99 by default; 90 in quick mode) meets the bound; with ``server_qps`` as well it runs once at that
    rate against that bound instead (LoadGen's ``result_validity`` then says whether the bound held).
    ``driver="direct"`` (single-stream only) runs the single-stream schedule in a tight timed loop
    instead of through LoadGen (no LoadGen logs; see :func:`.scenarios.single_stream_direct`).
    ``log_dir`` keeps LoadGen's summary and detail logs there, one subfolder per batch (:mod:`.logs`).
    ``command`` is recorded as ``conditions.command``: the CLI passes its own parsed invocation; an API
    call records ``None`` (never the host process's ``sys.argv``, e.g. a test runner's).
    ``layer_times=True`` adds a profiled pass after the timed run: per-layer times in ``result.layers``
    (:mod:`.layers`).
    """
    from .runtimes import check_device, get, require_device

    rt = get(runtime)
    runtime_version = rt.version()
    dev = check_device(device)
    require_device(rt.name, dev)
    sc = canonical_scenario(scenario)
    precision = str(precision).lower()
    if precision not in PRECISIONS:
        raise MeasurementError(f"unknown precision {precision!r}; use fp32, fp16, bf16 or int8")
    rt.check_precision(precision)
    driver = str(driver).strip().lower()
    if driver not in DRIVERS:
        raise MeasurementError(f"unknown driver {driver!r}; use {' or '.join(DRIVERS)}")
    if driver == "direct" and sc != "single-stream":
        raise MeasurementError(f"driver 'direct' runs single-stream only; {sc} is driven by LoadGen")
    base = QUICK_SETTINGS if quick else FULL_SETTINGS
    sizing = replace(
        base,
        min_count=int(min_count if min_count is not None else base.min_count),
        min_duration_s=float(min_duration_s if min_duration_s is not None else base.min_duration_s),
        warmup_count=int(warmup_count if warmup_count is not None else base.warmup_count),
        warmup_s=float(warmup_s if warmup_s is not None else base.warmup_s),
        # offline is sized by its duration (LoadGen's way); a count asked for is its floor
        offline_min_samples=int(min_count) if min_count is not None else 1,
    )
    if sizing.min_count < 1 or sizing.min_duration_s < 0 or sizing.warmup_count < 0 or sizing.warmup_s < 0:
        raise MeasurementError(f"measurement settings must be positive: {sizing.to_dict()}")
    pct = int(percentile or (90 if quick else 99))
    if pct not in MIN_SAMPLES:
        raise MeasurementError(f"latency percentile must be one of {sorted(MIN_SAMPLES)}, got {pct}")
    if sc == "server" and target_latency_ms is not None and target_latency_ms <= 0:
        raise MeasurementError(f"target latency must be positive, got {target_latency_ms} ms")
    for what, value in (("threads", threads), ("timeout", timeout_s), ("server QPS", server_qps),
                        ("samples per query", samples_per_query)):
        if value is not None and not value > 0:  # 0 threads would mean "the runtime's default", unrecorded
            raise MeasurementError(f"{what} must be positive, got {value}")
    batches = as_list(batch)
    if not batches or any(b is not None and not is_positive_int(b) for b in batches):
        raise MeasurementError(f"batch sizes must be positive integers, got {batches}")
    if input_files and len(batches) > 1:
        raise MeasurementError("input files fix the batch; give one batch (or none) with input files")
    run = RunSettings(
        runtime=rt.name, runtime_version=runtime_version, device=dev, scenario=sc, precision=precision,
        percentile=pct, sizing=sizing, threads=threads, target_latency_ms=target_latency_ms, server_qps=server_qps,
        samples_per_query=int(samples_per_query), quick=quick, timeout_s=timeout_s,
        memory_limit_bytes=memory_limit_bytes, seed=seed, compile=compile, include_h2d=include_h2d, driver=driver,
        command=command, log_dir=None if log_dir is None else str(log_dir), layers=bool(layer_times),
    )
    src = ModelArgs(inputs=inputs, input_files=input_files, dims=dims, name=name, zoo_params=dict(zoo_params))
    from .convert import ConversionCache

    cache = ConversionCache()
    results: list[MeasureResult] = []
    try:
        for i, b in enumerate(batches):
            res = _measure_one(model, None if b is None else int(b), run, src, cache, index=i, points=len(batches))
            results.append(res)
            if res.interrupted:
                raise MeasurementInterrupted(results)
    finally:
        cache.cleanup()
    return results if isinstance(batch, (list, tuple)) else results[0]


class MeasurementInterrupted(KeyboardInterrupt):
    """Ctrl-C during a measurement: ``results`` holds the batches measured so far, the last one partial
    (its samples up to the interrupt, marked INVALID). A ``KeyboardInterrupt``, so a sweep still stops."""

    def __init__(self, results: list[MeasureResult]) -> None:
        super().__init__("interrupted (Ctrl-C)")
        self.results = results


def _budget(run: RunSettings) -> tuple[int, float, float]:
    """(minimum query count, LoadGen's max duration, the child's timeout) of one run."""
    cfg = run.sizing
    runs = SERVER_TRIALS if run.server_search else 1
    count = cfg.min_count
    if run.scenario == "server":  # the server figure is a percentile: run enough queries to report it
        count = max(count, MIN_SAMPLES[run.percentile])
    # LoadGen stops a run at max_duration even if min_count is not reached (a slow model then
    # reports fewer samples, with a warning); the child is killed at timeout_s (a hang)
    max_duration = cfg.max_duration()
    if run.timeout_s is None:
        timeout_s = 300.0 + 3 * cfg.warmup_s + 1.5 * runs * max_duration
    else:
        timeout_s = run.timeout_s
        max_duration = max(min(max_duration, (timeout_s * 0.8 - cfg.warmup_s) / runs), 0.1)
    return count, max_duration, timeout_s


def _label(model: Any, batch: int | None) -> str:
    name = os.path.basename(str(model)) if isinstance(model, (str, os.PathLike)) else type(model).__name__
    return f"{name[:24]}" + (f" b{batch}" if batch else "")


def _measure_one(model: Any, batch: int | None, run: RunSettings, src: ModelArgs, cache: Any = None,
                 index: int = 0, points: int = 1) -> MeasureResult:
    from .isolate import run_isolated
    from .logs import batch_log_dir
    from .memory import guard, host_estimate_bytes
    from .runtimes import get

    log_dir = batch_log_dir(run.log_dir, batch)
    label = _label(model, batch)
    tell = progress.active()
    if tell:
        progress.emit(ProgressEvent(label, "prepare", index, points))
    prepared = get(run.runtime).prepare(model, batch, src, run, cache)
    prep, run_precision, conversion = prepared.prep, prepared.precision, prepared.conversion
    cfg = run.sizing
    try:
        limit, limit_rule = guard(
            host_estimate_bytes(prep.estimate, run.device), f"{prep.name} at shapes {prep.shapes}",
            run.memory_limit_bytes,
        )
        count, max_duration, timeout_s = _budget(run)
        layers_budget = None
        if run.layers:  # the profiled per-layer pass runs after the timed run, within its own budget
            from .layers import PASS_BUDGET_S

            layers_budget = PASS_BUDGET_S
            timeout_s += layers_budget
        job = {
            "runtime": run.runtime,
            "device": run.device,
            "threads": run.threads,
            "precision": run.precision,
            "compile": run.compile,
            "include_h2d": run.include_h2d,
            "scenario": run.scenario,
            "driver": run.driver,
            "layers": run.layers,
            "layers_budget_s": layers_budget,
            "seed": run.seed,
            "shapes": prep.shapes,
            "dtypes": prep.dtypes,
            "input_files": dict(src.input_files) if src.input_files else None,
            "warmup_count": cfg.warmup_count,
            "warmup_s": cfg.warmup_s,
            "warmup_cap_s": cfg.warmup_cap_s(max_duration),
            "max_duration_s": max_duration,
            "server_trials": SERVER_TRIALS,
            "settings": {
                "min_count": cfg.offline_min_samples if run.scenario == "offline" else count,
                "min_duration_s": cfg.min_duration_s,
                "max_duration_s": max_duration,
                "samples_per_query": run.samples_per_query,
                "log_dir": log_dir,
            },
            "target_latency_ms": run.target_latency_ms,
            "server_qps": run.server_qps,
            "percentile": run.percentile,
            **prep.job_model,
        }
        on_event = _progress_relay(label, index, points, run) if tell else None
        if tell:
            progress.emit(ProgressEvent(label, "load", index, points))
        outcome = run_isolated(job, timeout_s=timeout_s, memory_limit_bytes=limit, on_event=on_event)
    finally:
        prep.cleanup()
    conditions = {
        "model_name": prep.name,
        "model_sha256": prep.sha256,
        "input_shapes": {k: list(v) for k, v in prep.shapes.items()},
        "input_dtypes": prep.dtypes,
        "batch_requested": batch,
        "precision": run_precision,
        "precision_requested": run.precision,
        "conversion": conversion,
        "converted_model_sha256": conversion.get("converted_model_sha256"),
        "runtime": run.runtime,
        "runtime_version": run.runtime_version,
        "device": run.device,
        "threads_requested": run.threads,
        "scenario": run.scenario,
        "driver": "MLPerf LoadGen" if run.driver == "loadgen" else "direct timed loop (no LoadGen)",
        "quick": run.quick,
        "settings": {
            **cfg.to_dict(),
            "min_count_effective": count,
            "max_duration_s": max_duration,
            "timeout_s": timeout_s,
            "samples_per_query": run.samples_per_query if run.scenario == "multi-stream" else None,
            "seed": run.seed,
            "input_source": "npy files" if src.input_files else "synthetic (seeded)",
            "log_dir": log_dir,
        },
        "memory_estimate": prep.estimate,
        "memory_limit_bytes": limit,
        "memory_limit_rule": limit_rule,
        "child_peak_rss_bytes": outcome.peak_rss_bytes,
        "command": run.command,
        "notes": prep.notes,
        "percentile_method": "nearest-rank",
    }
    common = {
        "model": prep.name,
        "batch": batch or _first_dim(prep.shapes),
        "runtime": run.runtime,
        "device": run.device,
        "precision": run_precision,
        "conditions": conditions,
    }
    if outcome.ok:
        res = _build_result(outcome.data, common, run)
    else:
        res = _partial_result(outcome, common, run) or failed(
            run.scenario, outcome.cause or "unknown failure", wall_s=outcome.wall_s, **common)
    res.interrupted = outcome.interrupted
    if tell:
        kind = "failed" if not res.ok else "partial" if res.partial else "ok"
        progress.emit(ProgressEvent(label, "end", index, points, done=res.samples, outcome=kind))
    return res


def _quick_seconds(unit: str, per: float) -> float:
    """What the timed run would take with ``--quick`` at ``per`` seconds a unit."""
    q = QUICK_SETTINGS
    if unit == "samples":  # offline
        n = offline_sample_count(1, q.min_duration_s, 1.0 / max(per, 1e-9))
        return min(n * per, q.max_duration() + per)
    return forecast(per, q.min_count, q.min_duration_s, q.max_duration())[1]


def _progress_relay(label: str, index: int, points: int, run: RunSettings):
    """The child's channel events as :class:`ProgressEvent` for the listeners."""
    state: dict[str, Any] = {"forecast": None}

    def relay(ev: dict[str, Any], reader: Any) -> None:
        kind = ev.get("ev")
        if kind in ("loaded", "warmup"):
            progress.emit(ProgressEvent(label, "warmup", index, points, done=reader.warmup_runs))
        elif kind == "plan":
            unit, per = ev["unit"], float(ev["per_unit_s"])
            runs = int(ev.get("runs", 1))
            fc = Forecast(unit=unit, count=int(ev["count"]), per_unit_s=per, expected_s=float(ev["expected_s"]),
                          runs=runs, quick_s=None if run.quick else _quick_seconds(unit, per),
                          min_count=int(ev.get("min_count_effective", 1)),
                          min_duration_s=float(ev.get("min_duration_s", 0.0)),
                          max_duration_s=float(ev.get("max_s", float("inf"))) / runs)
            state["forecast"] = fc
            progress.emit(ProgressEvent(label, "timed", index, points, forecast=fc))
        elif kind in ("track", "lat"):
            progress.emit(ProgressEvent(label, "timed", index, points, done=len(reader.latencies_ns),
                                        run=max(reader.run, 1), forecast=state["forecast"], elapsed_s=reader.timed_s))

    return relay


def _partial_result(outcome: Any, common: dict[str, Any], run: RunSettings) -> MeasureResult | None:
    """A result from the latencies the child reported before it was killed (timeout, memory guard) or
    interrupted, or died: its figures are real but partial, so it is marked INVALID; None without any."""
    rd = outcome.progress
    if rd is None or rd.plan is None or not rd.latencies_ns:
        return None
    from .conditions import host_conditions

    plan = rd.plan
    lat = list(rd.latencies_ns)
    n = len(lat)
    samples = n * run.samples_per_query if run.scenario == "multi-stream" else n
    # sequential scenarios: the sum of the calls' times; server (queueing overlaps): the reported span
    wall = rd.timed_s if run.scenario == "server" else sum(lat) / 1e9
    info = dict(plan.get("runtime_info") or {})
    info.update(fed_shapes=plan.get("fed_shapes", {}), fed_dtypes=plan.get("fed_dtypes"),
                output_shapes=plan.get("output_shapes"))
    data = {
        "runtime_info": info,
        "host": host_conditions(),
        "first_run_ns": plan["first_run_ns"],
        "warmup_ns": plan.get("warmup_ns", []),
        "warmup_s": plan.get("warmup_s", 0.0),
        "server": None,
        "plan": {k: plan.get(k) for k in ("unit", "per_unit_s", "count", "expected_s", "runs", "max_s")},
        "record": {
            "latencies_ns": lat, "samples": samples, "queries": 1 if run.scenario == "offline" else n,
            "wall_s": wall, "gaps_ns": [],
            "loadgen": {"driver": run.driver, "name": f"{run.scenario} (partial)", "summary_log": "",
                        "detail_log": "", "figures": {}, "result_validity": "INVALID"},
        },
    }
    res = _build_result(data, common, run, partial=f"{outcome.cause}; {n} {plan.get('unit', 'queries')} "
                                                   f"measured before it")
    res.wall_s = wall
    return res


def _first_dim(shapes) -> int:
    for s in shapes.values():
        return int(s[0]) if s else 1
    return 1


def _build_result(data: dict[str, Any], common: dict[str, Any], run: RunSettings,
                  partial: str | None = None) -> MeasureResult:
    scenario, target_latency_ms, percentile, cfg = run.scenario, run.target_latency_ms, run.percentile, run.sizing
    info = data["runtime_info"]
    fed = info.get("fed_shapes", {})
    batch = next((int(s[0]) if s else 1 for s in fed.values()), common["batch"])
    common = dict(common, batch=batch)
    cond = common["conditions"]
    cond.update(
        {
            "batch": batch,
            "fed_shapes": fed,
            "fed_dtypes": info.get("fed_dtypes"),
            "output_shapes": info.get("output_shapes"),
            "providers": info.get("providers"),
            "threads": info.get("threads"),
            "runtime_info": info,
            **data["host"],
        }
    )
    warm = data["warmup_ns"]
    warmup = WarmupInfo(
        first_run_ms=data["first_run_ns"] / 1e6,
        count=len(warm),
        duration_s=data["warmup_s"],
        median_ms=(sorted(warm)[len(warm) // 2] / 1e6) if warm else None,
        requested_count=cfg.warmup_count,
        requested_s=cfg.warmup_s,
    )
    server = None
    if data.get("server") is not None and target_latency_ms is not None:
        srv = data["server"]
        server = ServerSearch(
            target_latency_ms=float(target_latency_ms),
            percentile=percentile,
            peak_qps=srv["peak_qps"],
            trials=[ServerTrial(**t) for t in srv["trials"]],
        )
    if server is not None and server.trials and all(t.meets_bound for t in server.trials):
        server_note = (
            f"peak QPS is a lower bound: every rate tried (up to {server.trials[-1].target_qps:.6g}/s) met "
            f"p{percentile} <= {target_latency_ms} ms"
        )
    else:
        server_note = None
    rec = data.get("record")
    warnings: list[str] = []
    if rec is None:
        res = MeasureResult(scenario=scenario, status="ok", warmup=warmup, server=server, **common)
        res.warnings.append(f"no arrival rate met p{percentile} <= {target_latency_ms} ms")
        return res
    if server_note:
        warnings.append(server_note)
    lat_ms = [x / 1e6 for x in rec["latencies_ns"]]
    if not lat_ms:
        return failed(scenario, "LoadGen completed no queries", warmup=warmup, **common)
    stats = summarize(lat_ms, seed=run.seed)
    warnings += noise_warnings(stats)
    warnings += stats.notes
    lg = rec["loadgen"]
    if rec.get("skipped"):  # offline reached its maximum duration before its last samples
        cap = (data.get("plan") or {}).get("max_s") or cfg.max_duration()
        partial = (f"stopped at the maximum duration ({cap:.3g} s) after {rec['samples']} of "
                   f"{rec['samples'] + rec['skipped']} samples")
        lg = dict(lg, result_validity="INVALID", loadgen_result_validity=lg.get("result_validity"))
    if partial:
        warnings.insert(0, f"partial result, INVALID: {partial}")
    if lg.get("result_validity") and lg["result_validity"] != "VALID":
        reasons = [ln.strip() for ln in lg.get("summary_log", "").splitlines() if ": NO" in ln]
        warnings.append(
            "LoadGen result " + lg["result_validity"] + (": " + "; ".join(reasons) if reasons else "")
        )
    # the count asked for: offline's is its planned sample count (sized by the rate), the others' min count
    wanted = (data.get("plan") or {}).get("min_count_effective") if scenario == "offline" else None
    wanted = int(wanted or cfg.min_count)
    if rec["samples"] < wanted and not rec.get("skipped"):
        warnings.append(f"only {rec['samples']} samples completed (< min count {wanted})")
    wall = rec["wall_s"]
    throughput = rec["samples"] * batch / wall if wall > 0 else None
    qps = rec["queries"] / wall if wall > 0 else None
    if scenario == "server" and (data.get("server") or {}).get("qps") is not None:
        cond["server_qps"] = data["server"]["qps"]
    layer_times = None
    if data.get("layers") is not None:
        from .layers import from_child

        if "error" in data["layers"]:
            warnings.append(f"per-layer pass failed: {data['layers']['error']}")
        else:
            layer_times = from_child(data["layers"], stats.p50_ms)
    if data.get("plan"):
        cond["plan"] = data["plan"]
        if scenario == "offline":
            cond["settings"]["min_count_effective"] = data["plan"].get("min_count_effective")
    return MeasureResult(
        scenario=scenario,
        status="ok",
        layers=layer_times,
        latency=stats,
        warmup=warmup,
        throughput=throughput,
        queries_per_s=qps,
        samples=rec["samples"],
        items=rec["samples"] * batch,
        wall_s=wall,
        server=server,
        warnings=warnings,
        loadgen=lg,
        latencies_ms=lat_ms,
        gaps_us=[g / 1e3 for g in rec.get("gaps_ns", [])],
        partial=partial,
        **common,
    )


make_module_callable(__name__, "measure")
