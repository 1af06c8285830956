"""Speed of ``fitbench validate`` over the whole shipped dataset (goal: under 10 s in-process, issue "Real-chip
catalog, published validation and calibration"), against a baseline measured in the same run.

The baseline is the same validation run again in the same process: the shipped dataset's parse is then cached
and the lazy imports are done, so the ratio first / again is the one-time start-up share; every model is profiled
at its published shapes and every point estimated in both runs. Medians of ``--repeat`` repeats (a fresh process
adds ~2 s of imports on top of the first figure).

    PYTHONPATH=src python benchmarks/validate_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from fitbench.validation.validate import validate

    t = time.perf_counter()
    first = validate()  # cold: every model profiled at its published shapes
    cold = time.perf_counter() - t
    warm = []
    for _ in range(max(args.repeat, 1)):
        t = time.perf_counter()
        r = validate()
        warm.append(time.perf_counter() - t)
    n = len(first.points) + len(first.holdout)
    med = statistics.median(warm)
    print(f"points: {n} ({len(first.points)} calibration-set, {len(first.holdout)} hold-out)")
    verdict = "meets" if cold < 10 else "MISSES"
    print(f"validate(), first in this process : {cold:6.2f} s wall ({verdict} the 10 s goal)")
    print(f"validate(), again (median of {len(warm)})  : {med:6.2f} s wall, {med / n * 1e3:.1f} ms a point")
    print(f"ratio first / again               : {cold / med:6.2f}x")
    assert len(r.points) == len(first.points)
    return 0


if __name__ == "__main__":
    sys.exit(main())
