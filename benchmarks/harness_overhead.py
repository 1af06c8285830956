"""Harness overhead: fitbench's single-stream measurement vs a bare ``session.run`` loop.

For a trivial model (one Identity on 16 floats) and a ~1 ms model (MatMul 64x1024 by 1024x1024
= 67.1 M MAC, one thread), in one run, alternating R times (interleaved, so slow drifts of the
machine hit every contender alike):

- bare: a fresh child process runs ``session.run(None, feeds)`` back to back for D seconds, after
  the same warm-up (10 runs and 0.3 s); the session comes from fitbench's own ``OrtRunner`` (so the
  same options: intra-op threads, inter-op 1, sequential, all graph optimisations) and the feeds
  are fitbench's seeded synthetic inputs (the same values);
- fitbench/loadgen: ``fitbench.measure(..., scenario="single-stream", min_duration_s=D)`` (a child
  process, MLPerf LoadGen issuing every query) -- fitbench's default;
- fitbench/direct: the same with ``driver="direct"`` (the single-stream schedule in a timed loop).

Every contender times each inference call with ``time.perf_counter_ns``. Per query:

- latency = the inference call; turnaround = end of one call to the start of the next (for the
  bare loop: its own loop bookkeeping; for fitbench: LoadGen + the SUT callback, or the loop);
- per-query overhead (us) = median fitbench turnaround - median bare turnaround: the time the
  harness adds between two inference calls;
- throughput ratio = (L + bare turnaround) / (L + fitbench turnaround), L the bare median latency:
  the fraction of the bare loop's rate the harness keeps;
- latency delta (us) = median fitbench latency - median bare latency: whether running inside the
  harness makes the inference call itself slower (on a shared 2-vCPU VM this wanders by tens of
  us from run to run in either direction, so it is shown apart, with its per-rep values);
- cycle-based overhead = median fitbench cycle (start to start) - median bare cycle, and the
  mean-based ratio (completed queries / wall time vs runs / wall time): both include the latency
  delta and any preemption by other load, for reference.

Each figure is the median over the R repetitions of the per-repetition medians.
Goal: overhead <= 5 us per query and throughput within 2% of the bare loop on the ~1 ms model.

    PYTHONPATH=src python benchmarks/harness_overhead.py [--duration 1] [--reps 5]
    PYTHONPATH=src taskset -c 1 python benchmarks/harness_overhead.py   # pinned (children inherit it)
    PYTHONPATH=src python benchmarks/harness_overhead.py --drivers loadgen,direct,loadgen@/tmp/old  # vs a checkout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

WARMUP_COUNT, WARMUP_S = 10, 0.3


def bare_child(path: str, shape: list[int], duration_s: float, threads: int) -> dict:
    """In a child: a bare session.run loop; medians of latency, turnaround and cycle (us)."""
    from fitbench.measure.inputs import synthetic
    from fitbench.measure.runtimes.onnxruntime import OrtRunner

    runner = OrtRunner(path, threads=threads)
    feeds = synthetic({"x": tuple(shape)}, runner.input_dtypes(), 0)
    run = runner.session.run
    pc = time.perf_counter_ns
    n, end = 0, time.perf_counter() + WARMUP_S
    while n < WARMUP_COUNT or time.perf_counter() < end:  # warm-up, as fitbench's
        run(None, feeds)
        n += 1
    starts, ends = [], []
    add_s, add_e = starts.append, ends.append
    t_end = pc() + int(duration_s * 1e9)
    while True:
        t0 = pc()
        run(None, feeds)
        t1 = pc()
        add_s(t0)
        add_e(t1)
        if t0 >= t_end:
            break
    s, e = np.asarray(starts), np.asarray(ends)
    return {
        "lat": float(np.median(e - s)) / 1e3,
        "gap": float(np.median(s[1:] - e[:-1])) / 1e3,
        "cycle": float(np.median(np.diff(s))) / 1e3,
        "per_s": (len(s) - 1) / ((s[-1] - s[0]) / 1e9),
        "n": len(s),
    }


def run_bare(path: str, shape: list[int], duration_s: float, threads: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--bare-child", path, "x".join(map(str, shape)),
           str(duration_s), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_fitbench(path: str, batch: int, duration_s: float, threads: int, driver: str) -> dict:
    if "@" in driver:  # another source tree (e.g. an older commit): its default (LoadGen) driver
        cmd = [sys.executable, os.path.abspath(__file__), "--fitbench-child", path, str(batch), str(duration_s),
               str(threads)]
        env = dict(os.environ, PYTHONPATH=os.path.abspath(os.path.join(driver.split("@", 1)[1], "src")))
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        return json.loads(out.stdout.strip().splitlines()[-1])
    from fitbench.measure import measure

    kw = {} if driver == "loadgen" else {"driver": driver}  # older trees have no driver argument
    r = measure(path, batch=batch, scenario="single-stream", threads=threads, **kw,
                min_count=100, min_duration_s=duration_s, warmup_count=WARMUP_COUNT, warmup_s=WARMUP_S)
    if not r.ok:
        raise SystemExit(f"fitbench measurement failed: {r.cause}")
    lat = np.asarray(r.latencies_ms) * 1e3
    gaps = np.asarray(r.gaps_us)
    return {
        "lat": float(np.median(lat)),
        "gap": float(np.median(gaps)),
        "cycle": float(np.median(lat[:-1] + gaps)),
        "per_s": r.samples / r.wall_s,
        "n": r.samples,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=1.0, help="seconds of timed work per run")
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions (medians are printed)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--drivers", default="loadgen,direct",
                    help="fitbench drivers to time; 'loadgen@DIR' times the fitbench in checkout DIR (its src/)"
                         " as well, e.g. an older commit from `git worktree add` / `git archive`")
    ap.add_argument("--bare-child", nargs=4, metavar=("MODEL", "SHAPE", "DURATION", "THREADS"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--fitbench-child", nargs=4, metavar=("MODEL", "BATCH", "DURATION", "THREADS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fitbench_child:
        path, batch, dur, thr = args.fitbench_child
        print(json.dumps(run_fitbench(path, int(batch), float(dur), int(thr), "loadgen")))
        return 0
    if args.bare_child:
        path, shape, dur, thr = args.bare_child
        print(json.dumps(bare_child(path, [int(d) for d in shape.split("x")], float(dur), int(thr))))
        return 0

    from fitbench.measure import testmodels

    drivers = [d.strip() for d in args.drivers.split(",") if d.strip()]
    models = [
        ("trivial (Identity, 16 floats)", testmodels.identity_model(16), [1, 16]),
        ("~1 ms (MatMul 64x1024x1024)", testmodels.matmul_model(1024), [64, 1024]),
    ]
    affinity = sorted(os.sched_getaffinity(0))
    print(f"harness overhead: {args.reps} interleaved reps x {args.duration:g} s each, threads={args.threads}, "
          f"cpu count {os.cpu_count()}, affinity {affinity}, load average {os.getloadavg()[0]:.2f}")
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        for label, proto, shape in models:
            path = os.path.join(tmp, "m.onnx")
            onnx.save(proto, path)
            reps: dict[str, list[dict]] = {k: [] for k in ["bare", *drivers]}
            for _ in range(args.reps):
                reps["bare"].append(run_bare(path, shape, args.duration, args.threads))
                for d in drivers:
                    reps[d].append(run_fitbench(path, shape[0], args.duration, args.threads, d))
            b = {k: med(r[k] for r in reps["bare"]) for k in ("lat", "gap", "cycle", "per_s")}
            print(f"\n{label}: bare loop latency {b['lat']:.2f} us, turnaround {b['gap']:.2f} us, "
                  f"cycle {b['cycle']:.2f} us (median of {args.reps} reps; "
                  f"~{med(r['n'] for r in reps['bare']):.0f} runs each)")
            print(f"  {'driver':8s} {'turnaround us':>13s} {'overhead us/q':>13s} {'tput ratio':>10s} "
                  f"{'latency delta us':>16s} {'cycle overhead us':>17s} {'mean-based ratio':>16s}   "
                  "overhead per rep | latency delta per rep")
            for d in drivers:
                f = {k: med(r[k] for r in reps[d]) for k in ("lat", "gap", "cycle", "per_s")}
                over = f["gap"] - b["gap"]
                ratio = (b["lat"] + b["gap"]) / (b["lat"] + f["gap"])
                per_over = [r["gap"] - b["gap"] for r in reps[d]]
                per_lat = [r["lat"] - rb["lat"] for r, rb in zip(reps[d], reps["bare"])]
                print(f"  {d:8s} {f['gap']:13.2f} {over:13.2f} {ratio:10.4f} {f['lat'] - b['lat']:16.2f} "
                      f"{f['cycle'] - b['cycle']:17.2f} {f['per_s'] / b['per_s']:16.4f}   "
                      + " ".join(f"{x:.1f}" for x in per_over) + " | "
                      + " ".join(f"{x:+.0f}" for x in per_lat))
                if label.startswith("~1 ms"):
                    print(f"    goal on the ~1 ms model ({d}): overhead <= 5 us/query -> "
                          f"{'met' if over <= 5 else 'NOT met'} ({over:.2f} us); throughput within 2% -> "
                          f"{'met' if ratio >= 0.98 else 'NOT met'} (ratio {ratio:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
