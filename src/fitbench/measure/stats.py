"""Latency statistics: nearest-rank percentiles, spread, a bootstrap CI of the median, warnings.

Conventions (stated in every report):

- Percentiles are **nearest-rank**: the p-th percentile of n sorted samples is the value at
  1-based rank ``ceil(p/100 * n)``; it is always one of the measured samples (no interpolation).
- p90 needs at least 64 samples and p99 at least 662 (the MLPerf early-stopping minimums);
  with fewer the figure is ``None`` and reported as "insufficient samples".
- stdev is the sample standard deviation (n-1); CV = stdev / mean; IQR = p75 - p25 (nearest rank).
  With one sample stdev, CV and the CI are unknown: ``None`` and a note, never 0.
- The 95% confidence interval of the median is a seeded percentile bootstrap.
- A measurement is flagged noisy when CV > 5% or IQR / median > 10%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

MIN_SAMPLES = {50: 1, 90: 64, 99: 662}
CV_WARN = 0.05
IQR_WARN = 0.10
INSUFFICIENT = "insufficient samples"


def nearest_rank(values: Sequence[float] | np.ndarray, p: float, *, presorted: bool = False) -> float:
    """The p-th percentile (0 < p <= 100) by nearest rank: sorted[ceil(p/100*n) - 1]."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    arr = np.asarray(values, dtype=float)
    n = arr.size
    if n == 0:
        raise ValueError("no samples")
    if not presorted:
        arr = np.sort(arr)
    # round first so that binary noise (e.g. 0.9*100 = 90.00000000000001) does not add a rank
    rank = max(1, math.ceil(round(p / 100.0 * n, 9)))
    return float(arr[rank - 1])


def percentile_or_none(sorted_values: np.ndarray, p: int) -> float | None:
    """Nearest-rank percentile, or None when fewer than ``MIN_SAMPLES[p]`` samples exist."""
    if sorted_values.size < MIN_SAMPLES.get(p, 1):
        return None
    return nearest_rank(sorted_values, p, presorted=True)


def bootstrap_median_ci(
    values: Sequence[float] | np.ndarray, *, level: float = 0.95, resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median (seeded, so reproducible)."""
    arr = np.asarray(values, dtype=float)
    n = arr.size
    if n == 0:
        raise ValueError("no samples")
    if n == 1:
        raise ValueError("a confidence interval needs at least 2 samples")
    rng = np.random.default_rng(seed)
    medians = np.empty(resamples)
    chunk = max(1, min(resamples, 4_000_000 // n))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        medians[start:stop] = np.median(arr[idx], axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(medians, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


@dataclass
class LatencyStats:
    """Latency statistics in milliseconds (see the module docstring for the conventions)."""

    count: int
    mean_ms: float
    stdev_ms: float | None
    cv: float | None
    min_ms: float
    max_ms: float
    p50_ms: float
    p90_ms: float | None
    p99_ms: float | None
    p25_ms: float
    p75_ms: float
    iqr_ms: float
    median_ci95_ms: tuple[float, float] | None
    percentile_method: str = "nearest-rank"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["median_ci95_ms"] = None if self.median_ci95_ms is None else list(self.median_ci95_ms)
        return d


def summarize(latencies_ms: Sequence[float] | np.ndarray, *, seed: int = 0) -> LatencyStats:
    """Summarize per-query latencies (ms). Raises ValueError on an empty list."""
    arr = np.sort(np.asarray(latencies_ms, dtype=float))
    n = arr.size
    if n == 0:
        raise ValueError("no samples")
    mean = float(arr.mean())
    stdev = float(arr.std(ddof=1)) if n > 1 else None
    p25 = nearest_rank(arr, 25, presorted=True)
    p75 = nearest_rank(arr, 75, presorted=True)
    notes = []
    p90 = percentile_or_none(arr, 90)
    p99 = percentile_or_none(arr, 99)
    if p90 is None:
        notes.append(f"p90: {INSUFFICIENT} ({n} < {MIN_SAMPLES[90]})")
    if p99 is None:
        notes.append(f"p99: {INSUFFICIENT} ({n} < {MIN_SAMPLES[99]})")
    if stdev is None:
        notes.append(f"stdev, CV and median CI: {INSUFFICIENT} ({n} < 2)")
    return LatencyStats(
        count=n,
        mean_ms=mean,
        stdev_ms=stdev,
        cv=stdev / mean if stdev is not None and mean > 0 else None,
        min_ms=float(arr[0]),
        max_ms=float(arr[-1]),
        p50_ms=nearest_rank(arr, 50, presorted=True),
        p90_ms=p90,
        p99_ms=p99,
        p25_ms=p25,
        p75_ms=p75,
        iqr_ms=p75 - p25,
        median_ci95_ms=bootstrap_median_ci(arr, seed=seed) if n > 1 else None,
        notes=notes,
    )


def noise_warnings(stats: LatencyStats) -> list[str]:
    """Warnings for a noisy measurement: CV > 5% or IQR/median > 10%."""
    out = []
    if stats.cv is not None and stats.cv > CV_WARN:
        out.append(f"noisy: CV {stats.cv:.1%} > {CV_WARN:.0%}")
    if stats.p50_ms > 0 and stats.iqr_ms / stats.p50_ms > IQR_WARN:
        out.append(f"noisy: IQR/median {stats.iqr_ms / stats.p50_ms:.1%} > {IQR_WARN:.0%}")
    return out
