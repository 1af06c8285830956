"""Harness overhead: fitbench's single-stream measurement vs a bare ``session.run`` loop.

For a trivial model (one Identity on 16 floats) and a ~1 ms model (MatMul 64x1024 by 1024x1024
= 67.1 M MAC, one thread), in one run, alternating R times:

- bare: ``for _ in ...: session.run(None, feeds)`` in this process for D seconds;
- fitbench: ``fitbench.measure(..., scenario="single-stream", min_duration_s=D)`` (a child process,
  MLPerf LoadGen issuing every query).

A *cycle* is the time from the start of one query (run) to the start of the next. Printed per
model, as medians (robust to other processes preempting this one on a shared machine):

- per-query overhead (us) = median fitbench cycle - median bare cycle;
- throughput ratio = median bare cycle / median fitbench cycle (= fitbench q/s / bare runs/s);
- turnaround (us) = median time between one query's end and the next one's start inside the
  fitbench run (LoadGen + the SUT callback), measured in the same run as its queries;
- and, for reference, the mean-based ratio (completed queries / wall time), which includes any
  preemption by other load.
Goal: overhead <= 5 us per query and throughput within 2% of the bare loop on the ~1 ms model.

    PYTHONPATH=src python benchmarks/harness_overhead.py [--duration 1] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import onnx


def bare_loop(path: str, feeds: dict, duration_s: float, threads: int) -> tuple[float, float]:
    """(median cycle seconds, wall seconds per run) of a bare session.run loop."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
    run = sess.run
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:  # warm-up
        run(None, feeds)
    pc = time.perf_counter_ns
    starts = []
    t_end = pc() + int(duration_s * 1e9)
    while True:
        t0 = pc()
        run(None, feeds)
        starts.append(t0)
        if t0 >= t_end:
            break
    cycles = np.diff(starts)
    return float(np.median(cycles)) / 1e9, (starts[-1] - starts[0]) / 1e9 / (len(starts) - 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=1.0, help="seconds of timed work per run")
    ap.add_argument("--reps", type=int, default=5, help="alternating repetitions (medians are printed)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    from fitbench.measure import measure, testmodels

    models = [
        ("trivial (Identity, 16 floats)", testmodels.identity_model(16), 1, 16),
        ("~1 ms (MatMul 64x1024x1024)", testmodels.matmul_model(1024), 64, 1024),
    ]
    print(f"harness overhead: {args.reps} alternating reps x {args.duration:g} s each, threads={args.threads}, "
          f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, proto, batch, width in models:
            path = os.path.join(tmp, "m.onnx")
            onnx.save(proto, path)
            feeds = {"x": np.random.default_rng(0).standard_normal((batch, width)).astype(np.float32)}
            per = {k: [] for k in ("bare", "fb", "over", "ratio", "gap", "mean_ratio")}
            for _ in range(args.reps):
                bare_cycle, bare_wall = bare_loop(path, feeds, args.duration, args.threads)
                r = measure(path, batch=batch, scenario="single-stream", threads=args.threads,
                            min_count=100, min_duration_s=args.duration, warmup_count=10, warmup_s=0.3)
                if not r.ok:
                    print(f"{label}: fitbench measurement failed: {r.cause}")
                    return 1
                cycles = np.asarray(r.latencies_ms[:-1]) * 1e3 + np.asarray(r.gaps_us)  # us
                fb_cycle = float(np.median(cycles)) / 1e6
                per["bare"].append(bare_cycle * 1e3)
                per["fb"].append(fb_cycle * 1e3)
                per["over"].append((fb_cycle - bare_cycle) * 1e6)
                per["ratio"].append(bare_cycle / fb_cycle)
                per["gap"].append(float(np.median(r.gaps_us)))
                per["mean_ratio"].append((r.samples / r.wall_s) * bare_wall)
            rows.append((label, {k: statistics.median(v) for k, v in per.items()}, per["over"]))
    print(f"{'model':31s} {'bare cycle ms':>13s} {'fitbench ms':>12s} {'overhead us/q':>14s} "
          f"{'tput ratio':>11s} {'turnaround us':>14s} {'mean-based ratio':>17s}")
    for label, m, over in rows:
        print(f"{label:31s} {m['bare']:13.4f} {m['fb']:12.4f} {m['over']:14.2f} {m['ratio']:11.4f} "
              f"{m['gap']:14.2f} {m['mean_ratio']:17.4f}   (overhead per rep: "
              + ", ".join(f"{x:.2f}" for x in over) + ")")
    m = rows[-1][1]
    print(f"goal on the ~1 ms model (medians): overhead <= 5 us/query -> {'met' if m['over'] <= 5 else 'NOT met'} "
          f"({m['over']:.2f} us); throughput within 2% -> {'met' if m['ratio'] >= 0.98 else 'NOT met'} "
          f"(ratio {m['ratio']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
