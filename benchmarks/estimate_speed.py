"""Speed of the analytical estimator.

    PYTHONPATH=src python benchmarks/estimate_speed.py [--quick]

1. The whole catalog x zoo models x batches 1..64: estimate points per second.
2. One (YOLOv3 1920x1080, spec, batch 1) estimate: median milliseconds (goal <= 1 ms, issue "Estimator v2").
3. A design-space sweep of 10,000 specs (SRAM x DRAM bandwidth x MACs/cycle) for YOLOv3 with
   ``estimate_many`` (goal <= 0.3 s; the median of 5 sweeps), against a baseline run beside it: calling
   ``estimate`` spec by spec on a sample of the same grid, extrapolated to 10,000.
Profiling (done once per model) is timed separately and not counted in the estimate figures.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

from fitbench.hardware.estimator import estimate, estimate_many
from fitbench.hardware.spec import catalog
from fitbench.profile import profile

MODELS = [("resnet50", {}), ("resnet50-v1", {}), ("yolov3", {"resolution": (1080, 1920)}), ("mobilenet-v2", {}),
          ("yolov3-tiny", {}), ("bert-base", {}), ("unet", {})]
BATCHES = [1, 2, 4, 8, 16, 32, 64]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer models and repetitions")
    args = ap.parse_args()
    models = MODELS[:3] if args.quick else MODELS
    profiles = {}
    t0 = time.perf_counter()
    for name, params in models:
        profiles[name] = profile(name, precision="int8", **params)
    print(f"profiled {len(profiles)} zoo models in {time.perf_counter() - t0:.2f} s (not counted below)")

    specs = [s for s in catalog() if "int8" in s.macs_per_cycle]
    points = 0
    t0 = time.perf_counter()
    for s in specs:
        for prof in profiles.values():
            est = estimate(prof, s, batch=BATCHES)
            points += len(est.points)
    dt = time.perf_counter() - t0
    print(f"[1] catalog x zoo x batches: {len(specs)} specs x {len(profiles)} models x {len(BATCHES)} batches = "
          f"{points} points in {dt:.2f} s -> {points / dt:,.0f} points/s")

    yolo = profiles["yolov3"]
    reps = 20 if args.quick else 100
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        estimate(yolo, "edge-npu-slow-dram", batch=1)
        times.append(time.perf_counter() - t)
    single = statistics.median(times)
    print(f"[2] one YOLOv3 1920x1080 estimate (edge-npu-slow-dram, batch 1, {len(yolo.layers)} nodes): "
          f"median {single * 1e3:.2f} ms over {reps} runs; goal 1 ms -> {single / 1e-3:.2f} x goal")

    sram = np.geomspace(256 * 1024, 256 * 2**20, 25)
    bw = np.geomspace(1e9, 2e12, 20)
    macs = np.geomspace(64, 262144, 20).round()
    grid = np.array(list(itertools.product(sram, bw, macs)))
    # no array shape; a vector unit of 1 op per 64 MACs (scaled with the MACs so it does not cap the sweep)
    cols = {"sram_bytes": grid[:, 0], "dram_bandwidth": grid[:, 1], "macs_per_cycle": grid[:, 2],
            "vector_ops_per_cycle": grid[:, 2] / 64, "array_rows": np.zeros(len(grid)),
            "array_cols": np.zeros(len(grid))}
    estimate_many(yolo, {k: v[:10] for k, v in cols.items()}, batch=1, base="edge-npu-slow-dram")  # warm-up
    sweeps = []
    for _ in range(2 if args.quick else 5):
        t = time.perf_counter()
        df = estimate_many(yolo, cols, batch=1, base="edge-npu-slow-dram")
        sweeps.append(time.perf_counter() - t)
    sweep = statistics.median(sweeps)
    print(f"[3] vectorised sweep: {len(df):,} specs for YOLOv3 1920x1080 in a median {sweep:.3f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in sweeps)} s; {len(df) / sweep:,.0f} specs/s); "
          f"goal 0.3 s -> {sweep / 0.3:.2f} x goal")
    from fitbench.hardware.spec import load_hardware

    base = load_hardware("edge-npu-slow-dram").model_dump(exclude={"path"})
    sample = np.random.default_rng(0).choice(len(grid), 20 if args.quick else 100, replace=False)
    t = time.perf_counter()
    for i in sample:
        d = {**base, "name": "sweep", "sram_bytes": int(grid[i, 0]), "dram_bandwidth": float(grid[i, 1]),
             "macs_per_cycle": {"int8": int(grid[i, 2])}, "array": None, "vector_ops_per_cycle": grid[i, 2] / 64}
        estimate(yolo, load_hardware(d), batch=1)
    loop = (time.perf_counter() - t) / len(sample) * len(grid)
    print(f"    baseline, estimate() spec by spec: {loop:.1f} s for {len(grid):,} specs (extrapolated from "
          f"{len(sample)}) -> vectorised is {loop / sweep:.0f}x faster")
    best = df.loc[df.throughput_ips.idxmax()]
    print(f"    fastest point: SRAM {best.sram_bytes / 2**20:.1f} MiB, DRAM {best.dram_bandwidth / 1e9:.0f} GB/s, "
          f"{best.macs_per_cycle:.0f} MACs/cycle -> {best.throughput_ips:.1f} inf/s")


if __name__ == "__main__":
    main()
