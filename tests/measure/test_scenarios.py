"""Every scenario produces a valid result on a tiny model (each run ~0.2-0.5 s of timed work)."""

from __future__ import annotations

import hashlib
import json
import math
import platform

import pytest
from measure_fast import FAST

from fitbench.measure import measure


def _check_common(r, batch, conv_path):
    assert r.status == "ok", r.cause
    assert r.batch == batch
    c = r.conditions
    assert c["model_sha256"] == hashlib.sha256(conv_path.read_bytes()).hexdigest()
    assert c["fed_shapes"] == {"x": [batch, 3, 32, 32]}
    assert c["input_shapes"] == {"x": [batch, 3, 32, 32]}
    assert c["runtime"] == "onnxruntime" and c["runtime_version"]
    assert c["providers"] == ["CPUExecutionProvider"]
    assert c["runtime_info"]["intra_op_num_threads"] == 1
    assert c["python"] == platform.python_version()
    assert c["cpu_model"] and c["fitbench_version"] and c["blas"]["source"]
    assert c["cpu_affinity"] and isinstance(c["cpu_flags"], list) and c["os"]
    assert c["command"] is None  # an API call: no command line to record
    lat = r.latency
    assert lat.count == len(r.latencies_ms) > 0
    assert lat.min_ms <= lat.p50_ms <= lat.max_ms
    assert lat.median_ci95_ms[0] <= lat.p50_ms <= lat.median_ci95_ms[1]
    assert r.warmup.first_run_ms > 0 and r.warmup.count >= FAST["warmup_count"]
    assert r.warmup.duration_s >= FAST["warmup_s"]
    # throughput = completed samples x batch / wall time (never mean(1/t))
    assert r.throughput == pytest.approx(r.samples * batch / r.wall_s)
    assert "MLPerf Results Summary" in r.loadgen["summary_log"]
    assert ":::MLLOG" in r.loadgen["detail_log"]
    json.dumps(r.to_dict())  # JSON-safe
    assert r.to_dataframe().shape[0] == 1


def test_single_stream(conv_path):
    r = measure(conv_path, batch=2, scenario="single-stream", **FAST)
    _check_common(r, 2, conv_path)
    assert r.samples >= FAST["min_count"] and r.wall_s >= FAST["min_duration_s"] * 0.95
    # single-stream runs queries back to back: wall >= sum of the per-query latencies
    assert r.wall_s * 1e3 >= sum(r.latencies_ms)
    # ... and exactly: wall = every query's latency + every turnaround between queries
    assert len(r.gaps_us) == r.samples - 1 and min(r.gaps_us) > 0
    assert r.wall_s * 1e3 == pytest.approx(sum(r.latencies_ms) + sum(r.gaps_us) / 1e3, rel=1e-9)
    assert len(r.to_dict(include_samples=True)["latencies_ms"]) == r.samples
    assert "latencies_ms" not in r.to_dict()
    assert r.loadgen["result_validity"] == "VALID"
    assert r.conditions["driver"] == "MLPerf LoadGen" and r.loadgen["driver"] == "loadgen"  # the default
    # LoadGen's own count and median (issue to completion, its overhead included) agree with ours
    figs = r.loadgen["figures"]
    assert figs["result_query_count"] == r.samples
    assert figs["result_50.00_percentile_latency_ns"] / 1e6 >= r.latency.p50_ms * 0.9


def test_single_stream_direct_driver(conv_path):
    """driver="direct": the single-stream schedule in a timed loop, no LoadGen (and no LoadGen logs)."""
    r = measure(conv_path, batch=2, scenario="single-stream", driver="direct", **FAST)
    assert r.status == "ok", r.cause
    assert r.conditions["driver"] == "direct timed loop (no LoadGen)"
    assert r.loadgen["driver"] == "direct" and r.loadgen["summary_log"] == "" and r.loadgen["figures"] == {}
    # LoadGen's stopping rule: the count is reached, and the last query was issued at or past the
    # minimum duration after the first one (so wall >= min duration)
    assert r.samples >= FAST["min_count"] and r.wall_s >= FAST["min_duration_s"]
    assert r.latency.count == r.samples == len(r.latencies_ms)
    assert len(r.gaps_us) == r.samples - 1 and min(r.gaps_us) > 0
    assert r.wall_s * 1e3 == pytest.approx(sum(r.latencies_ms) + sum(r.gaps_us) / 1e3, rel=1e-9)
    assert r.throughput == pytest.approx(r.samples * 2 / r.wall_s)
    json.dumps(r.to_dict())


def test_multi_stream(conv_path):
    r = measure(conv_path, batch=1, scenario="multi-stream", samples_per_query=4, **FAST)
    _check_common(r, 1, conv_path)
    # one latency per query of 4 samples
    assert r.samples == 4 * r.latency.count
    assert r.queries_per_s == pytest.approx(r.latency.count / r.wall_s)


def test_offline(conv_path):
    r = measure(conv_path, batch=4, scenario="offline", **FAST)
    _check_common(r, 4, conv_path)
    assert r.samples >= FAST["min_count"]
    # all samples issued at once and run back to back
    assert r.wall_s * 1e3 >= sum(r.latencies_ms)


def test_server_fixed_qps(conv_path):
    r = measure(conv_path, batch=1, scenario="server", server_qps=200, percentile=90, **FAST)
    _check_common(r, 1, conv_path)
    assert r.conditions["server_qps"] == 200
    # Poisson arrivals at 200/s over >= 0.2 s: the achieved rate is near 200/s, far below capacity
    assert 100 < r.queries_per_s < 400


def test_server_peak_search(conv_path):
    r = measure(conv_path, batch=1, scenario="server", target_latency_ms=50.0, percentile=90, **FAST)
    _check_common(r, 1, conv_path)
    s = r.server
    assert s.target_latency_ms == 50.0 and s.percentile == 90
    assert s.peak_qps is not None and len(s.trials) >= 2
    met = [t for t in s.trials if t.meets_bound]
    assert max(t.target_qps for t in met) == s.peak_qps
    for t in s.trials:
        # every trial ran the 64 queries p90 needs (MIN_SAMPLES), although FAST asks for 20
        assert t.count >= 64 and t.latency_ms is not None
        assert t.meets_bound == (t.latency_ms <= 50.0)
    # the latency reported is the peak run's: its p90 meets the bound
    assert r.latency.p90_ms is None or r.latency.p90_ms <= 50.0
    assert math.isfinite(r.throughput)


def test_batch_list_gives_one_result_per_batch(matmul_path):
    rs = measure(matmul_path, batch=[1, 3], quick=True, **{**FAST, "min_count": 10})
    assert [r.batch for r in rs] == [1, 3]
    assert [r.conditions["fed_shapes"]["x"] for r in rs] == [[1, 256], [3, 256]]
    assert all(r.ok for r in rs)


def _settings(**kw):
    from fitbench.measure.scenarios import Settings

    base = dict(min_count=5, min_duration_s=0.02, max_duration_s=5.0, expected_latency_s=0.001)
    return Settings(**{**base, **kw})


def _sleep_1ms():
    import time

    time.sleep(0.001)


@pytest.mark.parametrize("min_count, min_duration_s", [(5, 0.03), (40, 0.0)])
def test_direct_loop_keeps_loadgens_stopping_rule(min_count, min_duration_s):
    """Stop after the first query issued at/after the minimum duration once the count is reached."""
    from fitbench.measure.scenarios import single_stream_direct

    rec = single_stream_direct(_sleep_1ms, _settings(min_count=min_count, min_duration_s=min_duration_s))
    n = rec.samples
    assert n == rec.queries == len(rec.latencies_ns) >= min_count
    assert all(x >= 1_000_000 for x in rec.latencies_ns)  # each call slept >= 1 ms
    starts = [0]  # start offsets rebuilt from latencies + gaps
    for lat, gap in zip(rec.latencies_ns, rec.gaps_ns):
        starts.append(starts[-1] + lat + gap)
    last, before_last = starts[-1] - starts[0], starts[-2] - starts[0]
    # the last query was the first one that satisfied both conditions
    assert n == min_count or last >= min_duration_s * 1e9 - 1e6  # (1 ms: loop start to first call)
    assert not (n - 1 >= min_count and before_last >= min_duration_s * 1e9)
    assert rec.loadgen["driver"] == "direct" and rec.loadgen["figures"] == {}


def test_direct_loop_stops_at_max_duration():
    from fitbench.measure.scenarios import single_stream_direct

    rec = single_stream_direct(_sleep_1ms, _settings(min_count=10**9, max_duration_s=0.02))
    # calls start >= 1 ms apart: at most 21 issued by 20 ms, plus the one past it; never the billion
    assert 2 <= rec.samples <= 22 and rec.wall_s >= 0.02


def test_single_stream_without_fast_sut(monkeypatch):
    """An older LoadGen without ConstructFastSUT: the plain SUT path gives the same record."""
    import mlperf_loadgen

    from fitbench.measure import scenarios

    class OldLoadGen:
        def __getattr__(self, name):
            if name in ("ConstructFastSUT", "DestroyFastSUT"):
                raise AttributeError(name)
            return getattr(mlperf_loadgen, name)

    monkeypatch.setattr(scenarios, "_lg", lambda: OldLoadGen())
    rec = scenarios.single_stream(_sleep_1ms, _settings(min_count=10, min_duration_s=0.0))
    assert rec.samples == len(rec.latencies_ns) >= 10 and len(rec.gaps_ns) == rec.samples - 1
    assert "MLPerf Results Summary" in rec.loadgen["summary_log"] and rec.loadgen["driver"] == "loadgen"
    assert rec.loadgen["figures"]["result_query_count"] == rec.samples
