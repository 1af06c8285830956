"""Measure for real: run the user's model on a runtime here, in MLPerf-style scenarios.

``measure(model, ...)`` runs each batch in its own child process (time limit, memory guard), drives
it with MLPerf LoadGen and returns a :class:`MeasureResult` (a list for a list of batches) with
nearest-rank latency percentiles, spread, throughput and every condition of the run.
See :mod:`.stats` for the statistical conventions and :mod:`.scenarios` for the scenarios.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._callable import make_module_callable
from .._checks import as_list, is_positive_int
from ..errors import MeasurementError
from .result import MeasureResult, ServerSearch, ServerTrial, WarmupInfo, failed
from .scenarios import SCENARIOS, canonical_scenario
from .stats import MIN_SAMPLES, noise_warnings, summarize

__all__ = ["measure", "MeasureResult", "SCENARIOS", "DEFAULTS", "QUICK"]

#: full measurement: p99 is reportable (>= 662 queries) and runs last at least 10 s
DEFAULTS = {"min_count": 1024, "min_duration_s": 10.0, "warmup_count": 10, "warmup_s": 2.0}
#: --quick, for sweeps: a fixed small count and duration (p90 reportable, p99 not)
QUICK = {"min_count": 64, "min_duration_s": 1.0, "warmup_count": 3, "warmup_s": 0.25}
SERVER_TRIALS = 6
_TORCH_DTYPE = {"fp16": "float16", "bf16": "bfloat16"}
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
    layers: bool = False,
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
    ``command`` is recorded as ``conditions.command``: the CLI passes its own parsed invocation; an API
    call records ``None`` (never the host process's ``sys.argv``, e.g. a test runner's).
    ``layers=True`` adds a profiled pass after the timed run: per-layer times in ``result.layers``
    (:mod:`.layers`).
    """
    from .runtimes import canonical, check_device, require, require_device

    rt = canonical(runtime)
    runtime_version = require(rt)
    dev = check_device(device)
    require_device(rt, dev)
    sc = canonical_scenario(scenario)
    precision = str(precision).lower()
    if precision not in ("fp32", "fp16", "bf16", "int8"):
        raise MeasurementError(f"unknown precision {precision!r}; use fp32, fp16, bf16 or int8")
    if rt == "torch" and precision == "int8":
        raise MeasurementError(
            "the torch runtime does not run int8 (fp32, fp16, bf16); use --runtime onnxruntime --precision int8"
        )
    if rt == "onnxruntime" and precision == "bf16":
        raise MeasurementError(
            "onnxruntime cannot run bf16 here (no bf16 converter ships with it and its CPU provider lacks "
            "bf16 kernels); use --runtime torch --precision bf16"
        )
    driver = str(driver).strip().lower()
    if driver not in DRIVERS:
        raise MeasurementError(f"unknown driver {driver!r}; use {' or '.join(DRIVERS)}")
    if driver == "direct" and sc != "single-stream":
        raise MeasurementError(f"driver 'direct' runs single-stream only; {sc} is driven by LoadGen")
    base = QUICK if quick else DEFAULTS
    cfg = {
        "min_count": int(min_count if min_count is not None else base["min_count"]),
        "min_duration_s": float(min_duration_s if min_duration_s is not None else base["min_duration_s"]),
        "warmup_count": int(warmup_count if warmup_count is not None else base["warmup_count"]),
        "warmup_s": float(warmup_s if warmup_s is not None else base["warmup_s"]),
    }
    if cfg["min_count"] < 1 or cfg["min_duration_s"] < 0 or cfg["warmup_count"] < 0 or cfg["warmup_s"] < 0:
        raise MeasurementError(f"measurement settings must be positive: {cfg}")
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
    from .convert import ConversionCache

    cache = ConversionCache()
    results = []
    try:
        for b in batches:
            results.append(
                _measure_one(
                    model,
                    batch=None if b is None else int(b),
                    rt=rt,
                    runtime_version=runtime_version,
                    device=dev,
                    scenario=sc,
                    threads=threads,
                    precision=precision,
                    target_latency_ms=target_latency_ms,
                    server_qps=server_qps,
                    percentile=pct,
                    samples_per_query=int(samples_per_query),
                    quick=quick,
                    cfg=cfg,
                    timeout_s=timeout_s,
                    memory_limit_bytes=memory_limit_bytes,
                    inputs=inputs,
                    input_files=input_files,
                    seed=seed,
                    compile=compile,
                    include_h2d=include_h2d,
                    dims=dims,
                    name=name,
                    command=command,
                    driver=driver,
                    layers=layers,
                    zoo_params=zoo_params,
                    cache=cache,
                )
            )
    finally:
        cache.cleanup()
    return results if isinstance(batch, (list, tuple)) else results[0]


def _measure_one(
    model,
    *,
    batch,
    rt,
    runtime_version,
    device,
    scenario,
    threads,
    precision,
    target_latency_ms,
    server_qps,
    percentile,
    samples_per_query,
    quick,
    cfg,
    timeout_s,
    memory_limit_bytes,
    inputs,
    input_files,
    seed,
    compile,
    include_h2d,
    dims,
    name,
    command,
    zoo_params,
    driver="loadgen",
    cache=None,
    layers=False,
) -> MeasureResult:
    from .isolate import run_isolated
    from .memory import guard
    from .prepare import prepare_onnx, prepare_torch

    if rt == "onnxruntime":
        prep = prepare_onnx(
            model,
            batch=batch,
            inputs=inputs,
            input_files=input_files,
            dims=dims,
            name=name,
            zoo_params=zoo_params,
        )
        from .convert import convert

        try:
            conv = convert(
                prep.job_model["model_path"], precision, shapes=prep.shapes, dtypes=prep.dtypes,
                seed=seed, cache=cache,
            )
        except BaseException:
            prep.cleanup()
            raise
        run_precision = conv.actual
        prep.job_model = {"model_path": conv.path}
        conversion = conv.to_dict()
        if run_precision == "fp16" and device == "cpu":
            conversion["note"] = (conversion["note"] + " " if conversion["note"] else "") + (
                "onnxruntime's CPU provider lacks fp16 kernels for most ops: its InsertCastTransformer runs "
                "them in fp32 between Casts (fp16-rounded weights), so the compute is largely fp32"
            )
    else:
        prep = prepare_torch(
            model,
            batch=batch,
            inputs=inputs,
            input_files=input_files,
            name=name,
            seed=seed,
            zoo_params=zoo_params,
        )
        run_precision = precision
        conversion = {
            "precision_requested": precision,
            "as_is": precision == "fp32",
            "tool": None if precision == "fp32" else f"torch.nn.Module.to(torch.{_TORCH_DTYPE[precision]})",
            "note": "module and float inputs cast in the child before timing" if precision != "fp32" else "",
        }
    try:
        limit, limit_rule = guard(
            prep.estimate["estimate_bytes"], f"{prep.name} at shapes {prep.shapes}", memory_limit_bytes
        )
        search = scenario == "server" and target_latency_ms is not None
        runs = SERVER_TRIALS if search else 1
        count = cfg["min_count"]
        if scenario == "server":  # the server figure is a percentile: run enough queries to report it
            count = max(count, MIN_SAMPLES[percentile])
        # LoadGen stops a run at max_duration even if min_count is not reached (a slow model then
        # reports fewer samples, with a warning); the child is killed at timeout_s (a hang)
        max_duration = max(cfg["min_duration_s"] * 2, cfg["min_duration_s"] + 60.0)
        if timeout_s is None:
            timeout_s = 300.0 + 3 * cfg["warmup_s"] + 1.5 * runs * max_duration
        else:
            max_duration = max(min(max_duration, (timeout_s * 0.8 - cfg["warmup_s"]) / runs), 0.1)
        job = {
            "runtime": rt,
            "device": device,
            "threads": threads,
            "precision": precision,
            "compile": compile,
            "include_h2d": include_h2d,
            "scenario": scenario,
            "driver": driver,
            "layers": layers,
            "seed": seed,
            "shapes": prep.shapes,
            "dtypes": prep.dtypes,
            "input_files": dict(input_files) if input_files else None,
            "warmup_count": cfg["warmup_count"],
            "warmup_s": cfg["warmup_s"],
            "max_duration_s": max_duration,
            "settings": {
                "min_count": count,
                "min_duration_s": cfg["min_duration_s"],
                "max_duration_s": max_duration,
                "samples_per_query": samples_per_query,
            },
            "target_latency_ms": target_latency_ms,
            "server_qps": server_qps,
            "percentile": percentile,
            **prep.job_model,
        }
        outcome = run_isolated(job, timeout_s=timeout_s, memory_limit_bytes=limit)
    finally:
        prep.cleanup()
    conditions = {
        "model_name": prep.name,
        "model_sha256": prep.sha256,
        "input_shapes": {k: list(v) for k, v in prep.shapes.items()},
        "input_dtypes": prep.dtypes,
        "batch_requested": batch,
        "precision": run_precision,
        "precision_requested": precision,
        "conversion": conversion,
        "converted_model_sha256": conversion.get("converted_model_sha256"),
        "runtime": rt,
        "runtime_version": runtime_version,
        "device": device,
        "threads_requested": threads,
        "scenario": scenario,
        "driver": "MLPerf LoadGen" if driver == "loadgen" else "direct timed loop (no LoadGen)",
        "quick": quick,
        "settings": {
            **cfg,
            "min_count_effective": job["settings"]["min_count"],
            "max_duration_s": max_duration,
            "timeout_s": timeout_s,
            "samples_per_query": samples_per_query if scenario == "multi-stream" else None,
            "seed": seed,
            "input_source": "npy files" if input_files else "synthetic (seeded)",
        },
        "memory_estimate": prep.estimate,
        "memory_limit_bytes": limit,
        "memory_limit_rule": limit_rule,
        "child_peak_rss_bytes": outcome.peak_rss_bytes,
        "command": command,
        "notes": prep.notes,
        "percentile_method": "nearest-rank",
    }
    common = {
        "model": prep.name,
        "batch": batch or _first_dim(prep.shapes),
        "runtime": rt,
        "device": device,
        "precision": run_precision,
        "conditions": conditions,
    }
    if not outcome.ok:
        return failed(scenario, outcome.cause or "unknown failure", wall_s=outcome.wall_s, **common)
    return _build_result(outcome.data, scenario, common, target_latency_ms, percentile, cfg, seed)


def _first_dim(shapes) -> int:
    for s in shapes.values():
        return int(s[0]) if s else 1
    return 1


def _build_result(data, scenario, common, target_latency_ms, percentile, cfg, seed) -> MeasureResult:
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
        requested_count=cfg["warmup_count"],
        requested_s=cfg["warmup_s"],
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
    stats = summarize(lat_ms, seed=seed)
    warnings += noise_warnings(stats)
    warnings += stats.notes
    lg = rec["loadgen"]
    if lg.get("result_validity") and lg["result_validity"] != "VALID":
        reasons = [ln.strip() for ln in lg.get("summary_log", "").splitlines() if ": NO" in ln]
        warnings.append(
            "LoadGen result " + lg["result_validity"] + (": " + "; ".join(reasons) if reasons else "")
        )
    if rec["samples"] < cfg["min_count"]:
        warnings.append(f"only {rec['samples']} samples completed (< min count {cfg['min_count']})")
    wall = rec["wall_s"]
    throughput = rec["samples"] * batch / wall if wall > 0 else None
    qps = rec["queries"] / wall if wall > 0 else None
    if scenario == "server" and data.get("server", {}).get("qps") is not None:
        cond["server_qps"] = data["server"]["qps"]
    layer_times = None
    if data.get("layers") is not None:
        from .layers import from_child

        if "error" in data["layers"]:
            warnings.append(f"per-layer pass failed: {data['layers']['error']}")
        else:
            layer_times = from_child(data["layers"], stats.p50_ms)
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
        **common,
    )


make_module_callable(__name__, "measure")
