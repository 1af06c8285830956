"""Leave-model-out: how far a calibration on one model carries to the others, on the published dataset.

For every catalog chip with points of the fit model (ResNet-50 by default) and points of other models:
calibrate the chip on the fit model's points only (:func:`~fitbench.validation.calibrate.calibrate`, its
default parameter choice), estimate the other models' points with the calibrated spec, and score them. The
score is the share within ±25 % (``0.75 <= predicted / published <= 1.25``), the median error factor
``max(p/q, q/p)`` and its 80th percentile (nearest rank), which is what
:data:`~fitbench.validation.calibrate.PRIOR_BAND` states.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .stats import error_factor


@dataclass(frozen=True)
class HeldOutPoint:
    """One held-out published point: ``calibrated`` and ``datasheet`` predictions in the point's unit."""

    point: Any
    calibrated: float
    datasheet: float

    @property
    def ratio(self) -> float:
        return self.calibrated / self.point.value


@dataclass(frozen=True)
class ChipFit:
    chip: str
    fitted: dict[str, float]
    fit_points: int
    band_factor: float


@dataclass
class LeaveModelOut:
    """The held-out points and each chip's fit; the summary figures are properties."""

    fit_model: str
    held: list[HeldOutPoint] = field(default_factory=list)
    chips: list[ChipFit] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def within_25pct(self) -> float:
        return sum(0.75 <= h.ratio <= 1.25 for h in self.held) / len(self.held) if self.held else math.nan

    @property
    def median_error(self) -> float:
        return statistics.median(error_factor(h.calibrated, h.point.value) for h in self.held)

    @property
    def datasheet_median_error(self) -> float:
        return statistics.median(error_factor(h.datasheet, h.point.value) for h in self.held)

    @property
    def p80_error(self) -> float:
        f = sorted(error_factor(h.calibrated, h.point.value) for h in self.held)
        return f[max(0, math.ceil(0.8 * len(f)) - 1)]


def leave_model_out(points: list[Any] | None = None, fit_model: str = "resnet50") -> LeaveModelOut:
    """Score calibration from ``fit_model``'s points on every other model's points (module doc); ``points``
    default to the shipped dataset."""
    from ..hardware.spec import catalog_names
    from .calibrate import _Predictor, calibrate, from_published
    from .dataset import calibration_points, load_dataset

    cat = set(catalog_names())
    by_chip: dict[str, list[Any]] = defaultdict(list)
    for p in calibration_points(load_dataset() if points is None else list(points)):  # hold-outs: never fitted
        if p.chip in cat:
            by_chip[p.chip].append(p)
    out = LeaveModelOut(fit_model=fit_model)
    for chip, pts in sorted(by_chip.items()):
        fit_on = [p for p in pts if p.model == fit_model]
        held = [p for p in pts if p.model != fit_model]
        if not fit_on or not held:
            out.skipped.append(f"{chip}: {len(fit_on)} {fit_model} point(s), {len(held)} other")
            continue
        cal = calibrate(chip, [from_published(p) for p in fit_on])
        out.chips.append(ChipFit(chip, dict(cal.fitted), len(fit_on), cal.band_factor))
        pred = _Predictor([from_published(p) for p in held])
        after, _ = pred.predict(cal.spec)
        before, _ = pred.predict(cal.base)
        out.held += [HeldOutPoint(p, float(a), float(b)) for p, a, b in zip(held, after, before)]
    return out
