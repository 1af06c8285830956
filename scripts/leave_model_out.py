"""Leave-model-out score of calibration on the shipped dataset (issue 11's calibration target).

For every catalog chip with ResNet-50 points and points of other models in the shipped dataset
(src/fitbench/validation/data/published.yaml): calibrate the chip on its ResNet-50 points only
(``fitbench.validation.calibrate.calibrate`` with its default parameter choice), then estimate its other
models' points with the calibrated spec and score them: the share within ±25 % (0.75 <= p/q <= 1.25), the
median error factor max(p/q, q/p), and its 80th percentile (the prior band of
``fitbench.validation.calibrate.PRIOR_BAND``). Prints one line per held-out point, then the totals.

    PYTHONPATH=src python scripts/leave_model_out.py
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from fitbench.hardware.spec import catalog_names
from fitbench.validation import load_dataset
from fitbench.validation.calibrate import _Predictor, calibrate, from_published
from fitbench.validation.stats import error_factor


def main() -> None:
    cat = set(catalog_names())
    by_chip = defaultdict(list)
    for p in load_dataset():
        if p.chip in cat:
            by_chip[p.chip].append(p)
    factors, before, ratios = [], [], []
    for chip, pts in sorted(by_chip.items()):
        fit_on = [p for p in pts if p.model == "resnet50"]
        held = [p for p in pts if p.model != "resnet50"]
        if not fit_on or not held:
            print(f"# {chip}: skipped ({len(fit_on)} ResNet-50 point(s), {len(held)} other)")
            continue
        cal = calibrate(chip, [from_published(p) for p in fit_on])
        print(f"# {chip}: fitted {cal.fitted} on {len(fit_on)} ResNet-50 point(s); band x{cal.band_factor:.3g}")
        pred = _Predictor([from_published(p) for p in held])
        after, _ = pred.predict(cal.spec)
        base, _ = pred.predict(cal.base)
        for p, a, b in zip(held, after, base):
            ratios.append(a / p.value)
            f = error_factor(a, p.value)
            factors.append(f)
            before.append(error_factor(b, p.value))
            print(f"{chip:24s} {p.model:18s} b{p.batch:<4d} {p.metric:15s} published {p.value:.4g} "
                  f"calibrated {a:.4g} (ratio {a / p.value:.3f}) datasheet {b:.4g} (ratio {b / p.value:.3f})")
    if not factors:
        print("no chip with ResNet-50 and other points in the catalog")
        return
    within = sum(0.75 <= r <= 1.25 for r in ratios)
    q80 = sorted(factors)[max(0, math.ceil(0.8 * len(factors)) - 1)]
    print(f"held-out points: {len(factors)}; within ±25 % after calibration: {within}/{len(factors)} "
          f"= {100 * within / len(factors):.0f} %; median error x{statistics.median(factors):.3g} "
          f"(datasheet-only x{statistics.median(before):.3g}); 80th percentile x{q80:.4g}")


if __name__ == "__main__":
    main()
