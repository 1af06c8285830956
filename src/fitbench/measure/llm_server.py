"""LLM serving under MLPerf LoadGen's server scenario with token latencies (TTFT / TPOT bounds).

One LoadGen *sample* is one request: a prompt of ``prompt`` tokens and ``output_tokens`` generated tokens.
Requests arrive as a Poisson stream at ``qps`` into a queue served in order by one worker thread, one
sequence at a time (batch 1, no continuous batching): the prefill graph runs (its end is the first token:
``mlperf_loadgen.FirstTokenComplete``), then the decode graph ``output_tokens - 1`` times, then
``QuerySamplesComplete`` with ``n_tokens = output_tokens``. TestSettings ``use_token_latencies`` with
``ttft_latency`` / ``tpot_latency`` (ns) are the bounds LoadGen judges the run's validity against
(``result_validity``; early stopping on both).

Conventions (as LoadGen's ``results.cc`` computes them): TTFT of a request = first token - arrival
(queueing included); TPOT = (completion - first token) / (n_tokens - 1). fitbench records its own
per-request figures with the same definitions beside LoadGen's percentiles (nearest-rank). Every decode
step runs at the same ``context`` (the decode graph's KV-cache input has a fixed length: a real engine's
cache grows by one token per step, a relative change of ``output_tokens / context``).

The job runs in a child process (:func:`fitbench.measure.isolate.run_isolated`), like every measurement.
"""

from __future__ import annotations

import array
import queue
import threading
import time
from typing import Any

import numpy as np

#: LoadGen's default server latency percentile for token latencies (MLPerf's LLM rules use p99)
PERCENTILE = 99


def tpot_of(arrival_ns: int, first_ns: int, done_ns: int, n_tokens: int) -> float | None:
    """(completion - first token) / (n_tokens - 1) in ns; ``None`` for a one-token request."""
    if n_tokens < 2:
        return None
    return (done_ns - first_ns) / (n_tokens - 1)


def serve(prefill, decode, *, qps: float, output_tokens: int, ttft_ns: int, tpot_ns: int, min_count: int,
          min_duration_s: float, max_duration_s: float, seed: int = 0, percentile: int = PERCENTILE):
    """One LoadGen server run (see the module doc); ``prefill`` / ``decode`` are zero-argument calls.
    Returns (per-request records, LoadGen's logs and figures)."""
    import mlperf_loadgen as lg

    from .scenarios import Settings as S
    from .scenarios import _base_settings, _run

    pc = time.perf_counter_ns
    pending: queue.SimpleQueue = queue.SimpleQueue()
    recs: list[dict[str, int]] = []
    token = array.array("B", np.array([1], np.int32).tobytes())
    addr, size = token.buffer_info()
    resp = lg.QuerySampleResponse

    def worker():
        while True:
            item = pending.get()
            if item is None:
                return
            qid, arrival = item
            prefill()
            first = pc()
            lg.FirstTokenComplete([resp(qid, addr, size)])
            for _ in range(output_tokens - 1):
                decode()
            done = pc()
            recs.append({"arrival_ns": arrival, "first_ns": first, "done_ns": done})
            lg.QuerySamplesComplete([resp(qid, addr, size, output_tokens)])

    def issue(qs):
        t = pc()
        for q in qs:
            pending.put((q.id, t))

    th = threading.Thread(target=worker, name="fitbench-llm-server", daemon=True)
    th.start()
    ts = _base_settings(lg, lg.TestScenario.Server, S(min_count, min_duration_s, max_duration_s, 0.0, seed=seed))
    ts.server_target_qps = float(qps)
    ts.server_target_latency_ns = int(ttft_ns + (output_tokens - 1) * tpot_ns)
    ts.server_target_latency_percentile = percentile / 100.0
    ts.use_token_latencies = True
    ts.ttft_latency = int(ttft_ns)
    ts.tpot_latency = int(tpot_ns)
    try:
        logs = _run(lg, ts, issue, lambda: None, f"llm-server@{qps:.6g}qps")
    finally:
        pending.put(None)
        th.join()
    return recs, logs


def summarize(recs: list[dict[str, int]], output_tokens: int, percentile: int = PERCENTILE) -> dict[str, Any]:
    """fitbench's own TTFT / TPOT percentiles (ms, nearest-rank) and throughput from the per-request records."""
    from .stats import percentile_or_none

    if not recs:
        return {"count": 0}
    ttft = np.sort([(r["first_ns"] - r["arrival_ns"]) / 1e6 for r in recs])
    tpot = np.sort([tpot_of(r["arrival_ns"], r["first_ns"], r["done_ns"], output_tokens) / 1e6 for r in recs]
                   ) if output_tokens > 1 else np.array([])
    span_s = (max(r["done_ns"] for r in recs) - min(r["arrival_ns"] for r in recs)) / 1e9
    out: dict[str, Any] = {"count": len(recs), "output_tokens": output_tokens, "span_s": span_s,
                           "tokens_per_s": len(recs) * output_tokens / span_s if span_s > 0 else None}
    for name, arr in (("ttft", ttft), ("tpot", tpot)):
        for p in (50, 90, percentile):
            out[f"{name}_p{p}_ms"] = percentile_or_none(arr, p) if arr.size else None
        out[f"{name}_mean_ms"] = float(arr.mean()) if arr.size else None
    return out


def loadgen_token_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """LoadGen's token-latency figures (ms) from its detail log: TTFT / TPOT p50, p90, p99 and tokens/s."""
    out: dict[str, Any] = {}
    for p in ("50.00", "90.00", "99.00"):
        v = figures.get(f"result_first_token_{p}_percentile_latency_ns")
        out[f"ttft_p{p[:2]}_ms"] = None if v is None else float(v) / 1e6
        v = figures.get(f"result_time_per_output_token_{p}_percentile_ns")
        out[f"tpot_p{p[:2]}_ms"] = None if v is None else float(v) / 1e6
    out["completed_tokens_per_s"] = figures.get("result_completed_tokens_per_second")
    return out


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """The child's side: load both phases on the runtime, warm up, calibrate the rate, serve."""
    from .conditions import host_conditions
    from .worker import _inputs, _make_runner

    calls, info = {}, {}
    for phase in ("prefill", "decode"):
        sub = {**job, **job["phases"][phase]}
        runner = _make_runner(sub)
        calls[phase] = runner.make_call(_inputs(sub))
        info[phase] = runner.info()
    warm: dict[str, list[int]] = {"prefill": [], "decode": []}
    pc = time.perf_counter_ns
    for phase, call in calls.items():
        for _ in range(max(int(job["warmup_count"]), 1)):
            t0 = pc()
            call()
            warm[phase].append(pc() - t0)
    med = {p: sorted(v)[len(v) // 2] for p, v in warm.items()}
    n = int(job["output_tokens"])
    service_s = (med["prefill"] + (n - 1) * med["decode"]) / 1e9
    qps = job.get("server_qps") or job["load"] / service_s
    max_duration = 2.0 * max(job["min_count"] / qps, job["min_duration_s"]) + 10.0
    recs, logs = serve(calls["prefill"], calls["decode"], qps=qps, output_tokens=n,
                       ttft_ns=int(job["ttft_ms"] * 1e6), tpot_ns=int(job["tpot_ms"] * 1e6),
                       min_count=int(job["min_count"]), min_duration_s=float(job["min_duration_s"]),
                       max_duration_s=max_duration, seed=int(job["seed"]), percentile=int(job["percentile"]))
    return {"ok": True, "records": recs, "loadgen": logs, "qps": qps, "warmup_ns": warm,
            "max_duration_s": max_duration,
            "calibrated_service_s": service_s, "runtime_info": info, "host": host_conditions()}


def measure_server(model: str, *, runtime: str = "onnxruntime", prompt: int = 128, context: int = 512,
                   output_tokens: int = 16, ttft_ms: float, tpot_ms: float, qps: float | None = None,
                   load: float = 0.5, threads: int | None = None, min_count: int | None = None,
                   min_duration_s: float = 10.0, percentile: int = PERCENTILE, warmup_count: int = 3, seed: int = 0,
                   timeout_s: float | None = None,
                   command: str | None = None, **zoo_params: Any) -> dict[str, Any]:
    """Serve zoo LLM ``model`` (random weights, fp32, batch 1) under LoadGen's server scenario with TTFT /
    TPOT bounds (see the module doc). ``qps`` None: ``load`` x the calibrated capacity (1 / the warm-up's
    prefill + (output_tokens - 1) decode steps). Returns a dict: ``measured`` (fitbench's per-request
    percentiles), ``loadgen`` (LoadGen's percentiles and tokens/s), ``result_validity`` (LoadGen's verdict),
    ``conditions`` (both graphs' sha256 and shapes, runtime + version, threads, CPU, bounds, rate...)."""
    from .._checks import is_positive_int
    from ..errors import MeasurementError
    from .isolate import run_isolated
    from .memory import guard
    from .prepare import prepare_onnx, prepare_torch
    from .runtimes import canonical, require
    from .stats import MIN_SAMPLES

    rt = canonical(runtime)
    version = require(rt)
    if percentile not in MIN_SAMPLES:
        raise MeasurementError(f"latency percentile must be one of {sorted(MIN_SAMPLES)}, got {percentile}")
    min_count = MIN_SAMPLES[percentile] if min_count is None else min_count
    for what, v in (("prompt", prompt), ("context", context), ("output tokens", output_tokens),
                    ("min count", min_count)):
        if not is_positive_int(v):
            raise MeasurementError(f"{what} must be a positive integer, got {v!r}")
    for what, v in (("TTFT bound", ttft_ms), ("TPOT bound", tpot_ms), ("QPS", qps), ("load", load),
                    ("threads", threads)):
        if v is not None and not v > 0:
            raise MeasurementError(f"{what} must be positive, got {v}")
    preps, phases = {}, {}
    try:
        for phase, extra in (("prefill", {"prompt": prompt}), ("decode", {"context": context})):
            params = {**zoo_params, "phase": phase, **extra}
            if rt == "onnxruntime":
                p = prepare_onnx(model, batch=1, inputs=None, input_files=None, dims=None, name=None,
                                 zoo_params=params)
            else:
                p = prepare_torch(model, batch=1, inputs=None, input_files=None, name=None, seed=seed,
                                  zoo_params=params)
            preps[phase] = p
            phases[phase] = {**p.job_model, "shapes": p.shapes, "dtypes": p.dtypes, "input_files": None}
        est = sum(p.estimate["estimate_bytes"] for p in preps.values())
        limit, rule = guard(est, f"{model} prefill + decode", None)
        # the child sets LoadGen's max duration from the calibrated rate (min_count requests at that rate, x 2)
        timeout = timeout_s or 3600.0
        job = {"llm_server": True, "runtime": rt, "device": "cpu", "threads": threads, "precision": "fp32",
               "compile": False, "include_h2d": True, "seed": seed, "phases": phases,
               "warmup_count": warmup_count, "output_tokens": int(output_tokens), "ttft_ms": float(ttft_ms),
               "tpot_ms": float(tpot_ms), "server_qps": qps, "load": float(load), "min_count": int(min_count),
               "min_duration_s": float(min_duration_s), "percentile": int(percentile)}
        outcome = run_isolated(job, timeout_s=timeout, memory_limit_bytes=limit)
    finally:
        for p in preps.values():
            p.cleanup()
    if not outcome.ok:
        raise MeasurementError(f"the LLM server run of {model} on {rt} failed: {outcome.cause}")
    d = outcome.data
    info = d["runtime_info"]["decode"]
    conditions = {
        **d["host"], "model_name": model, "model_sha256": preps["decode"].sha256,
        "prefill_model_sha256": preps["prefill"].sha256,
        "input_shapes": {ph: {k: list(v) for k, v in p.shapes.items()} for ph, p in preps.items()},
        "runtime": rt, "runtime_version": version, "threads_requested": threads, "threads": info.get("threads"),
        "providers": info.get("providers"), "precision": "fp32", "batch": 1, "prompt": prompt, "context": context,
        "output_tokens": output_tokens, "scenario": "server", "driver": "MLPerf LoadGen (use_token_latencies)",
        "ttft_bound_ms": ttft_ms, "tpot_bound_ms": tpot_ms, "target_qps": d["qps"],
        "qps_rule": "given" if qps else f"{load} x 1 / (prefill + (output_tokens - 1) decode steps) of the warm-up",
        "calibrated_service_s": d["calibrated_service_s"], "max_duration_s": d["max_duration_s"],
        "percentile": percentile, "loadgen_version": (d["loadgen"]["figures"] or {}).get(
            "loadgen_version"), "min_count": min_count, "min_duration_s": min_duration_s, "seed": seed,
        "memory_limit_bytes": limit, "memory_limit_rule": rule, "child_peak_rss_bytes": outcome.peak_rss_bytes,
        "command": command, "notes": preps["decode"].notes,
        "conventions": "TTFT = first token - arrival; TPOT = (completion - first token) / (output_tokens - 1); "
                       "nearest-rank percentiles; every decode step at the same context"}
    return {"model": model, "runtime": rt, "measured": summarize(d["records"], output_tokens, percentile),
            "loadgen": loadgen_token_figures(d["loadgen"]["figures"]),
            "result_validity": d["loadgen"]["result_validity"], "loadgen_summary": d["loadgen"]["summary_log"],
            "conditions": conditions}
