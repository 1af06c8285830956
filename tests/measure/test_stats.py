"""Statistics against hand-computed values: nearest-rank p = sorted[ceil(p/100 * n) - 1]."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from fitbench.measure.stats import bootstrap_median_ci, nearest_rank, noise_warnings, summarize

TEN = [15, 20, 35, 40, 50, 1, 2, 3, 4, 5]  # sorted: 1 2 3 4 5 15 20 35 40 50


@pytest.mark.parametrize(
    "values, p, expected",
    [
        (TEN, 50, 5),    # ceil(0.5 * 10) = 5th smallest
        (TEN, 90, 40),   # ceil(0.9 * 10) = 9th
        (TEN, 99, 50),   # ceil(9.9) = 10th
        (TEN, 25, 3),    # ceil(2.5) = 3rd
        (TEN, 75, 35),   # ceil(7.5) = 8th
        (TEN, 10, 1),    # ceil(1.0) = 1st
        (TEN, 100, 50),
        ([3, 1, 2], 50, 2),         # ceil(1.5) = 2nd
        ([7], 99, 7),
        (list(range(1, 101)), 90, 90),   # ceil(90.0) = 90th: no rank added by 0.9*100 rounding noise
        (list(range(1, 101)), 99, 99),
        (list(range(1, 1001)), 99, 990),
        (list(range(1, 1001)), 99.9, 999),
    ],
)
def test_nearest_rank_matches_hand_computed(values, p, expected):
    assert nearest_rank(values, p) == expected


def test_nearest_rank_is_always_a_sample():
    rng = np.random.default_rng(1)
    vals = rng.exponential(size=257)
    for p in (1, 25, 50, 90, 99):
        assert nearest_rank(vals, p) in vals


@pytest.mark.parametrize(
    "n, p90_present, p99_present",
    [(63, False, False), (64, True, False), (661, True, False), (662, True, True)],
)
def test_insufficient_samples_rule(n, p90_present, p99_present):
    s = summarize(np.arange(1, n + 1, dtype=float))
    assert (s.p90_ms is not None) is p90_present
    assert (s.p99_ms is not None) is p99_present
    if p90_present:
        assert s.p90_ms == math.ceil(0.9 * n)
    if p99_present:
        assert s.p99_ms == math.ceil(0.99 * n)   # 662 -> ceil(655.38) = 656
    assert any("insufficient samples" in x for x in s.notes) is not (p90_present and p99_present)


def test_summary_figures_by_second_method():
    vals = [4.0, 1.0, 3.0, 2.0, 10.0, 6.0, 5.0, 8.0, 7.0, 9.0]
    s = summarize(vals)
    assert s.count == 10
    assert s.mean_ms == pytest.approx(statistics.fmean(vals))
    assert s.stdev_ms == pytest.approx(statistics.stdev(vals))
    assert s.cv == pytest.approx(statistics.stdev(vals) / statistics.fmean(vals))
    assert (s.min_ms, s.max_ms, s.p50_ms) == (1.0, 10.0, 5.0)
    assert (s.p25_ms, s.p75_ms, s.iqr_ms) == (3.0, 8.0, 5.0)   # ranks ceil(2.5)=3 and ceil(7.5)=8


def test_bootstrap_ci_brackets_median_and_is_seeded():
    rng = np.random.default_rng(7)
    vals = rng.normal(10.0, 1.0, size=400)
    lo, hi = bootstrap_median_ci(vals, seed=3)
    assert lo <= float(np.median(vals)) <= hi
    # the median of 400 N(10, 1) draws has a standard error ~ 1.2533/sqrt(400) = 0.063: CI width ~ 4 x 0.063
    assert 0.1 < hi - lo < 0.5
    assert bootstrap_median_ci(vals, seed=3) == (lo, hi)


@pytest.mark.parametrize(
    "values, n_warnings",
    [
        ([1.0] * 99 + [1.01], 0),                 # CV ~0.1%, IQR 0
        ([1.0, 1.2] * 50, 2),                     # CV ~9.1% > 5%, IQR/median = 0.2/1.0 = 20% > 10%
        ([1.0] * 90 + [3.0] * 10, 1),             # CV ~58% > 5%, IQR 0
    ],
)
def test_noise_warnings(values, n_warnings):
    assert len(noise_warnings(summarize(values))) == n_warnings


def test_one_sample_has_no_spread_figures_rather_than_zero():
    # one latency says nothing about spread: stdev, CV and the median's CI are unknown (None, with a note),
    # never 0 -- a 0 would read as "perfectly stable" and silence the noise warning
    s = summarize([7.5])
    assert (s.count, s.mean_ms, s.p50_ms, s.min_ms, s.max_ms) == (1, 7.5, 7.5, 7.5, 7.5)
    assert (s.stdev_ms, s.cv, s.median_ci95_ms) == (None, None, None)
    assert "stdev, CV and median CI: insufficient samples (1 < 2)" in s.notes
    assert s.to_dict()["median_ci95_ms"] is None
    assert noise_warnings(s) == []  # nothing to judge, and no crash
    with pytest.raises(ValueError, match="at least 2 samples"):
        bootstrap_median_ci([7.5])
    # two samples: the figures exist again (sample stdev of 1 and 3 = sqrt(2))
    two = summarize([1.0, 3.0])
    assert two.stdev_ms == pytest.approx(math.sqrt(2)) and two.cv == pytest.approx(math.sqrt(2) / 2)
    assert two.median_ci95_ms is not None
