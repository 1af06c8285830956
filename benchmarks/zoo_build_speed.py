"""Speed of the zoo's profiling build (issue 3: "YOLOv3 at 2 MP profiles in well under a second").

    PYTHONPATH=src python benchmarks/zoo_build_speed.py [--reps N]

For YOLOv3 at 1920x1080 (letterboxed to 1920x1088), INT8, batch 1, in one run:

* profiling path: ``zoo.build(..., materialize_weights=False)`` (initializers carry dims only) then
  ``profile`` of the proto -- what ``fitbench profile yolov3 --resolution 1920x1080`` does;
* baseline beside it: ``zoo.build(..., materialize_weights=True)`` (62 M seeded random weights, the
  runnable model ``fitbench zoo export`` writes) then ``profile`` of that proto.

Prints the median seconds of each and the ratio, checks that both profiles agree (MACs, weights,
largest activation), and says whether the profiling path meets the goal of under one second.
"""

from __future__ import annotations

import argparse
import statistics
import time

from fitbench import zoo
from fitbench.profile import profile

NAME, RESOLUTION = "yolov3", (1080, 1920)
GOAL_S = 1.0


def build_and_profile(materialize: bool):
    t = time.perf_counter()
    m = zoo.build(NAME, resolution=RESOLUTION, materialize_weights=materialize)
    t_build = time.perf_counter() - t
    p = profile(m.proto, precision="int8")
    return t_build, time.perf_counter() - t, p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5, help="repetitions of the profiling path (median reported)")
    args = ap.parse_args()
    build_and_profile(False)  # warm-up: imports, rule registry
    fast = [build_and_profile(False) for _ in range(max(args.reps, 1))]
    slow = [build_and_profile(True) for _ in range(max(min(args.reps, 3), 1))]
    fast_s = statistics.median(t for _, t, _ in fast)
    slow_s = statistics.median(t for _, t, _ in slow)
    fast_build = statistics.median(b for b, _, _ in fast)
    slow_build = statistics.median(b for b, _, _ in slow)
    a, b = fast[-1][2].totals, slow[-1][2].totals
    agree = (a.macs, a.weights, a.largest_activation_bytes) == (b.macs, b.weights, b.largest_activation_bytes)
    print(f"YOLOv3 {RESOLUTION[1]}x{RESOLUTION[0]} INT8 batch 1: {a.macs / 1e9:.1f} GMAC, {a.weights / 1e6:.1f} M "
          f"weights, {len(fast[-1][2].layers)} layers")
    print(f"profiling build (dims only) + profile: median {fast_s:.3f} s over {len(fast)} runs "
          f"(build {fast_build:.3f} s)")
    print(f"baseline: materialised build + profile: median {slow_s:.3f} s over {len(slow)} runs "
          f"(build {slow_build:.3f} s)")
    print(f"ratio (baseline / profiling path): {slow_s / fast_s:.1f}x; profiles agree: {agree}")
    print(f"goal: under {GOAL_S:.0f} s -> {'met' if fast_s < GOAL_S else 'NOT met'} ({fast_s / GOAL_S:.2f} x goal)")


if __name__ == "__main__":
    main()
