"""Leave-model-out score of calibration on the shipped dataset (issue 11's calibration target).

For every catalog chip with ResNet-50 points and points of other models in the shipped dataset
(src/fitbench/validation/data/published.yaml): calibrate the chip on its ResNet-50 points only, then estimate
its other models' points with the calibrated spec and score them (``fitbench.validation.holdout``): the share
within ±25 % (0.75 <= p/q <= 1.25), the median error factor max(p/q, q/p), and its 80th percentile (the prior
band of ``fitbench.validation.calibrate.PRIOR_BAND``). Prints one line per held-out point, then the totals.

    PYTHONPATH=src python scripts/leave_model_out.py
"""

from __future__ import annotations

from fitbench.validation.holdout import leave_model_out


def main() -> None:
    res = leave_model_out()
    for s in res.skipped:
        print(f"# skipped {s}")
    for c in res.chips:
        print(f"# {c.chip}: fitted {c.fitted} on {c.fit_points} ResNet-50 point(s); band x{c.band_factor:.3g}")
    for h in res.held:
        p = h.point
        print(f"{p.chip:24s} {p.model:18s} b{p.batch:<4d} {p.metric:15s} published {p.value:.4g} "
              f"calibrated {h.calibrated:.4g} (ratio {h.ratio:.3f}) datasheet {h.datasheet:.4g} "
              f"(ratio {h.datasheet / p.value:.3f})")
    if not res.held:
        print("no chip with ResNet-50 and other points in the catalog")
        return
    n = len(res.held)
    print(f"held-out points: {n}; within ±25 % after calibration: {round(res.within_25pct * n)}/{n} "
          f"= {100 * res.within_25pct:.0f} %; median error x{res.median_error:.3g} "
          f"(datasheet-only x{res.datasheet_median_error:.3g}); 80th percentile x{res.p80_error:.4g}")


if __name__ == "__main__":
    main()
