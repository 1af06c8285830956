"""MLPerf-style scenarios driven by MLPerf LoadGen (``mlcommons-loadgen``, ``import mlperf_loadgen``).

A LoadGen *sample* is one inference call at the measured batch B (B items). Each scenario's
system-under-test (SUT) times its own work with ``time.perf_counter_ns``:

- single-stream: one sample per query, the next issued when the last completes; the latency of a
  query is the wall time of its inference call.
- multi-stream: ``samples_per_query`` samples per query, run back to back; latency per query.
- server: Poisson arrivals at a target QPS into a queue served by one worker thread; latency is
  arrival (LoadGen's issue) to completion, queueing included. :func:`server_search` bisects for
  the peak QPS whose latency percentile meets the bound.
- offline: every sample in one query; throughput = samples x B / wall time.

LoadGen's own issue-to-completion figures and its summary/detail logs are kept beside ours.
The expected latency given to LoadGen comes from a calibration pre-run (the warm-up), so LoadGen
neither runs out of queries before the minimum duration nor pre-generates millions.

Every scenario function takes ``track``: called once, before the first query, with the list its
latencies are appended to. The child's progress reporter reads that list's length from its own
thread (see :mod:`.channel`), so progress costs the timed loop nothing per query.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCENARIOS = ("single-stream", "multi-stream", "server", "offline")
_QSL_SIZE = 1024
_MAX_GENERATED = 500_000


def canonical_scenario(name: str) -> str:
    from ..errors import UnknownNameError

    key = str(name).strip().lower().replace("_", "-")
    key = {"singlestream": "single-stream", "multistream": "multi-stream"}.get(key, key)
    if key not in SCENARIOS:
        raise UnknownNameError(f"unknown scenario {name!r}; known scenarios: {', '.join(SCENARIOS)}")
    return key


@dataclass
class Settings:
    min_count: int
    min_duration_s: float
    max_duration_s: float
    expected_latency_s: float
    samples_per_query: int = 8
    seed: int = 0
    log_dir: str | None = None  # keep LoadGen's logs here (see .logs); None: a temporary folder


Track = Callable[[list], None] | None

#: LoadGen's offline slack: it issues 10 % more samples than the expected rate needs for the minimum
#: duration (``kSlack = 1.1`` in ``loadgen/test_settings_internal.cc``)
OFFLINE_SLACK = 1.1


def forecast(per_unit_s: float, min_count: int, min_duration_s: float, max_duration_s: float,
             runs: int = 1) -> tuple[int, float]:
    """(units, seconds) a run is expected to take at ``per_unit_s`` a unit: LoadGen stops once both the
    minimum count and the minimum duration are reached, or at the maximum duration (each of ``runs``)."""
    per = max(per_unit_s, 1e-9)
    n = max(int(min_count), math.ceil(min_duration_s / per), 1)
    if n * per > max_duration_s:
        n = max(1, math.ceil(max_duration_s / per))
    return n, n * per * runs


def offline_sample_count(min_count: int, min_duration_s: float, rate_per_s: float) -> int:
    """Samples in the one offline query, LoadGen's own rule: ``max(min_query_count, 1.1 x min_duration x
    expected_qps)`` (``loadgen/test_settings_internal.cc``), with the expected rate measured in the warm-up."""
    return max(int(min_count), int(OFFLINE_SLACK * min_duration_s * rate_per_s), 1)


@dataclass
class RunRecord:
    """Raw output of one LoadGen run (our timings plus LoadGen's logs and figures)."""

    latencies_ns: list[int]
    samples: int
    queries: int
    wall_s: float
    loadgen: dict[str, Any] = field(default_factory=dict)
    gaps_ns: list[int] = field(default_factory=list)
    #: offline: samples LoadGen issued that were not run (the run reached its maximum duration first)
    skipped: int = 0


def _lg():
    import mlperf_loadgen as lg

    return lg


def detail_log_records(text: str) -> dict[str, Any]:
    """Every ``:::MLLOG`` record of LoadGen's detail log as ``{key: value}`` (a repeated key keeps its last
    value; a line that is not a record is skipped)."""
    records: dict[str, Any] = {}
    for line in text.splitlines():
        start = line.find("{")
        if ":::MLLOG" not in line or start < 0:
            continue
        try:
            rec = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(rec, dict) and "key" in rec:
            records[str(rec["key"])] = rec.get("value")
    return records


def parse_detail_log(text: str) -> dict[str, Any]:
    """LoadGen's result figures (``result_*`` keys, early stopping, validity) from the detail log."""
    figures: dict[str, Any] = {}
    for key, value in detail_log_records(text).items():
        if (
            key.startswith("result_")
            or key.startswith("early_stopping")
            or key
            in (
                "generated_query_count",
                "effective_min_query_count",
                "effective_target_qps",
                "effective_min_duration_ms",
                "effective_samples_per_query",
                "loadgen_version",
                "num_errors",
            )
        ):
            figures[key] = value
    return figures


def _log_settings(lg, outdir: str):
    ls = lg.LogSettings()
    ls.log_output.outdir = outdir
    ls.log_output.copy_summary_to_stdout = False
    ls.log_output.copy_detail_to_stdout = False
    ls.enable_trace = False
    return ls


def _run(lg, settings_obj, issue, flush, log_prefix: str, fast_issue=None, log_dir: str | None = None
         ) -> dict[str, Any]:
    """Run one LoadGen test; ``fast_issue(ids, indices)`` is used where LoadGen has a fast SUT. LoadGen's logs go
    to a temporary folder, or are kept under ``log_dir`` (:mod:`.logs`)."""
    from .logs import loadgen_outdir, log_paths

    fast = fast_issue is not None and hasattr(lg, "ConstructFastSUT")
    with loadgen_outdir(log_dir, log_prefix) as (outdir, kept):
        sut = lg.ConstructFastSUT(fast_issue, flush) if fast else lg.ConstructSUT(issue, flush)
        qsl = lg.ConstructQSL(_QSL_SIZE, _QSL_SIZE, lambda s: None, lambda s: None)
        try:
            lg.StartTestWithLogSettings(sut, qsl, settings_obj, _log_settings(lg, outdir))
        finally:
            lg.DestroyQSL(qsl)
            (lg.DestroyFastSUT if fast else lg.DestroySUT)(sut)
        summary = _read(os.path.join(outdir, "mlperf_log_summary.txt"))
        detail = _read(os.path.join(outdir, "mlperf_log_detail.txt"))
    valid = None
    for line in summary.splitlines():
        if line.strip().startswith("Result is"):
            valid = line.split(":", 1)[1].strip()
    return {
        "summary_log": summary,
        "detail_log": detail,
        "figures": parse_detail_log(detail),
        "result_validity": valid,
        "name": log_prefix,
        "driver": "loadgen",
        **(log_paths(outdir) if kept else {}),
    }


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _base_settings(lg, scenario, s: Settings):
    ts = lg.TestSettings()
    ts.scenario = scenario
    ts.mode = lg.TestMode.PerformanceOnly
    ts.min_query_count = int(s.min_count)
    ts.min_duration_ms = int(math.ceil(s.min_duration_s * 1000))
    ts.max_duration_ms = int(math.ceil(s.max_duration_s * 1000))
    ts.qsl_rng_seed = ts.sample_index_rng_seed = ts.schedule_rng_seed = int(s.seed)
    return ts


def _expected_ns(s: Settings, per_query_s: float) -> int:
    """Expected query latency for LoadGen: half the calibrated one (2x margin of queries), but never
    so small that LoadGen would generate more than ``_MAX_GENERATED`` queries."""
    floor = 2 * s.min_duration_s * 1e9 / _MAX_GENERATED
    return max(1000, int(max(per_query_s * 1e9 * 0.5, floor)))


def single_stream(call: Callable[[], Any], s: Settings, track: Track = None) -> RunRecord:
    """One query at a time; the next is issued when LoadGen has the last one's completion.

    The SUT callback does as little as it can between two inference calls (it is the harness's
    per-query overhead, see ``benchmarks/harness_overhead.py``): LoadGen's "fast" SUT hands it
    plain ids (no ``QuerySample`` objects built per query), one preallocated
    ``QuerySampleResponse`` is re-addressed per query (LoadGen copies responses on the call), the
    completion is reported right after the timed call, and the bookkeeping comes after it.
    """
    lg = _lg()
    pc = time.perf_counter_ns
    lat: list[int] = []
    starts: list[int] = []
    resp_cls, complete = lg.QuerySampleResponse, lg.QuerySamplesComplete
    resp = resp_cls(0, 0, 0)
    one = [resp]
    add_start, add_lat = starts.append, lat.append
    if track:
        track(lat)

    def issue_fast(ids, _indices):
        for qid in ids:  # one id per query in single-stream
            resp.id = qid
            t0 = pc()
            call()
            t1 = pc()
            complete(one)
            add_start(t0)
            add_lat(t1 - t0)

    def issue(qs):
        issue_fast([q.id for q in qs], None)

    ts = _base_settings(lg, lg.TestScenario.SingleStream, s)
    ts.single_stream_expected_latency_ns = _expected_ns(s, s.expected_latency_s)
    logs = _run(lg, ts, issue, lambda: None, "single-stream", fast_issue=issue_fast, log_dir=s.log_dir)
    # wall = first issue to last completion, LoadGen's turnaround between queries included
    wall = (starts[-1] + lat[-1] - starts[0]) / 1e9 if lat else 0.0
    # harness turnaround between queries (LoadGen + this SUT), query i to i+1
    gaps = [starts[i + 1] - starts[i] - lat[i] for i in range(len(lat) - 1)]
    return RunRecord(lat, len(lat), len(lat), wall, logs, gaps)


def single_stream_direct(call: Callable[[], Any], s: Settings, track: Track = None) -> RunRecord:
    """Single-stream without LoadGen: the same schedule in a tight timed loop (``driver="direct"``).

    MLPerf single-stream issues one query, waits for its completion and issues the next at once;
    LoadGen stops after issuing a query at or past the minimum duration once the minimum count is
    reached (or past the maximum duration). This loop keeps exactly that schedule and stopping
    rule, timing each call with ``time.perf_counter_ns``; it leaves out what LoadGen adds per query
    (its completion bookkeeping and logging, ~15 us per query after a 1 ms inference on a 2-vCPU VM)
    and LoadGen's logs, early-stopping estimate and validity verdict, which it cannot give.
    fitbench's queries all feed the same input tensors, so LoadGen's random choice of sample index
    has no effect on what runs, and leaving it out changes nothing the model sees.
    """
    pc = time.perf_counter_ns
    lat: list[int] = []
    starts: list[int] = []
    add_start, add_lat = starts.append, lat.append
    if track:
        track(lat)
    min_count = int(s.min_count)
    n = 0
    t_min = t_max = 0
    while True:
        t0 = pc()
        if n == 0:
            # durations count from the first query's issue, as LoadGen's do (so wall >= min duration)
            t_min = t0 + int(s.min_duration_s * 1e9)
            t_max = t0 + int(s.max_duration_s * 1e9)
        call()
        t1 = pc()
        add_start(t0)
        add_lat(t1 - t0)
        n += 1
        if (n >= min_count and t0 >= t_min) or t0 > t_max:
            break
    wall = (starts[-1] + lat[-1] - starts[0]) / 1e9
    gaps = [starts[i + 1] - starts[i] - lat[i] for i in range(len(lat) - 1)]
    logs = {
        "driver": "direct",
        "name": "single-stream (direct timed loop, no LoadGen)",
        "summary_log": "",
        "detail_log": "",
        "figures": {},
        "result_validity": None,
    }
    return RunRecord(lat, n, n, wall, logs, gaps)


def multi_stream(call: Callable[[], Any], s: Settings, track: Track = None) -> RunRecord:
    lg = _lg()
    pc = time.perf_counter_ns
    lat: list[int] = []
    if track:
        track(lat)
    count = [0]
    resp_cls, complete = lg.QuerySampleResponse, lg.QuerySamplesComplete
    first_last = [0, 0]

    def issue(qs):
        t0 = pc()
        if not first_last[0]:
            first_last[0] = t0
        for _ in qs:
            call()
        lat.append(pc() - t0)
        count[0] += len(qs)
        first_last[1] = pc()
        complete([resp_cls(q.id, 0, 0) for q in qs])

    ts = _base_settings(lg, lg.TestScenario.MultiStream, s)
    ts.multi_stream_samples_per_query = int(s.samples_per_query)
    ts.multi_stream_expected_latency_ns = _expected_ns(s, s.expected_latency_s * s.samples_per_query)
    logs = _run(lg, ts, issue, lambda: None, "multi-stream", log_dir=s.log_dir)
    wall = (first_last[1] - first_last[0]) / 1e9 if lat else 0.0
    return RunRecord(lat, count[0], len(lat), wall, logs)


def offline(call: Callable[[], Any], s: Settings, track: Track = None) -> RunRecord:
    """Every sample in one query (``s.min_count`` of them, see :func:`offline_sample_count`), run back to
    back. LoadGen has no maximum duration for its one offline query, so the SUT keeps it: once
    ``s.max_duration_s`` has passed since the first sample, the samples left are completed without being
    run and counted in ``RunRecord.skipped`` (the result is then partial: throughput over the samples run)."""
    lg = _lg()
    pc = time.perf_counter_ns
    lat: list[int] = []
    if track:
        track(lat)
    resp_cls, complete = lg.QuerySampleResponse, lg.QuerySamplesComplete
    span = [0, 0]
    skipped = [0]

    def issue(qs):
        span[0] = pc()
        t_stop = span[0] + int(s.max_duration_s * 1e9)
        done = []
        for q in qs:
            t0 = pc()
            if t0 > t_stop:
                skipped[0] += 1
            else:
                call()
                lat.append(pc() - t0)
                span[1] = pc()
            done.append(resp_cls(q.id, 0, 0))
            if len(done) >= 64:
                complete(done)
                done = []
        if done:
            complete(done)

    ts = _base_settings(lg, lg.TestScenario.Offline, s)
    # the measured rate, even below 1/s (a floor of 1/s would make LoadGen issue 11 samples of a 100 s model)
    ts.offline_expected_qps = 1.0 / max(s.expected_latency_s, 1e-7)
    logs = _run(lg, ts, issue, lambda: None, "offline", log_dir=s.log_dir)
    return RunRecord(lat, len(lat), 1, (span[1] - span[0]) / 1e9, logs, skipped=skipped[0])


def server(
    call: Callable[[], Any], s: Settings, qps: float, target_latency_ms: float | None, percentile: int = 99,
    track: Track = None,
) -> RunRecord:
    """One server run: Poisson arrivals at ``qps``; one worker thread serves the queue in order."""
    lg = _lg()
    pc = time.perf_counter_ns
    lat: list[int] = []
    if track:
        track(lat)
    resp_cls, complete = lg.QuerySampleResponse, lg.QuerySamplesComplete
    pending: queue.SimpleQueue = queue.SimpleQueue()
    span = [0, 0]

    def worker():
        while True:
            item = pending.get()
            if item is None:
                return
            qid, t_arrival = item
            call()
            t1 = pc()
            lat.append(t1 - t_arrival)
            span[1] = t1
            complete([resp_cls(qid, 0, 0)])

    def issue(qs):
        t = pc()
        if not span[0]:
            span[0] = t
        for q in qs:
            pending.put((q.id, t))

    th = threading.Thread(target=worker, name="fitbench-server-worker", daemon=True)
    th.start()
    ts = _base_settings(lg, lg.TestScenario.Server, s)
    ts.server_target_qps = float(qps)
    ts.server_target_latency_ns = int((target_latency_ms or 1e6) * 1e6)
    ts.server_target_latency_percentile = percentile / 100.0
    try:
        logs = _run(lg, ts, issue, lambda: None, f"server@{qps:.6g}qps", log_dir=s.log_dir)
    finally:
        pending.put(None)
        th.join()
    wall = (span[1] - span[0]) / 1e9 if lat else 0.0
    return RunRecord(lat, len(lat), len(lat), wall, logs)


def server_search(
    call: Callable[[], Any], s: Settings, target_latency_ms: float, *, percentile: int, max_trials: int = 6,
    track: Track = None,
) -> tuple[float | None, list[dict[str, Any]], RunRecord | None]:
    """Bisect the Poisson arrival rate for the highest QPS whose latency percentile meets the bound.

    The search starts at the calibrated capacity (1 / latency of one inference); a trial meets the
    bound when its nearest-rank ``percentile`` latency is <= ``target_latency_ms``. Each trial asks
    LoadGen for at least the samples that percentile needs (``stats.MIN_SAMPLES``: 662 for p99, 64 for
    p90); a trial that still completes fewer (stopped at max duration) has no latency figure
    ("insufficient samples") and does not meet the bound. Returns the peak QPS (None if even the
    lowest rate tried fails), every trial, and the run at the peak.
    """
    from dataclasses import replace

    from .stats import MIN_SAMPLES, percentile_or_none

    capacity = 1.0 / max(s.expected_latency_s, 1e-7)
    lo, hi = 0.0, None
    qps = 0.5 * capacity
    trials: list[dict[str, Any]] = []
    best: RunRecord | None = None
    best_qps: float | None = None
    s = replace(s, min_count=max(s.min_count, MIN_SAMPLES[percentile]))
    for _ in range(max_trials):
        rec = server(call, s, qps, target_latency_ms, percentile, **({"track": track} if track else {}))
        lat_ms = np.sort(np.asarray(rec.latencies_ns, dtype=float) / 1e6)
        value_ms = percentile_or_none(lat_ms, percentile) if lat_ms.size else None
        ok = value_ms is not None and value_ms <= target_latency_ms
        achieved = rec.samples / rec.wall_s if rec.wall_s > 0 else None
        trials.append(
            {
                "target_qps": qps,
                "achieved_qps": achieved,
                "latency_ms": value_ms,
                "percentile": percentile,
                "count": rec.samples,
                "meets_bound": ok,
            }
        )
        if ok:
            lo, best, best_qps = qps, rec, qps
        else:
            hi = qps
        if hi is None:
            nxt = qps * 1.5  # no failure yet: keep raising the rate
        else:
            nxt = (lo + hi) / 2 if lo > 0 else qps / 4
        if hi is not None and lo > 0 and (hi - lo) / hi < 0.05:
            break
        qps = nxt
    return best_qps, trials, best
