"""Error statistics and Spearman's rho on hand-made numbers (the arithmetic is written out)."""

from __future__ import annotations

import math

import pytest

from fitbench.validation.dataset import PublishedPoint
from fitbench.validation.stats import error_factor, error_stats, ranks, spearman
from fitbench.validation.validate import PointResult, _rankings


def test_error_factor_is_symmetric():
    assert error_factor(200, 100) == 2.0 and error_factor(50, 100) == 2.0 and error_factor(7, 7) == 1.0


def test_error_stats_on_hand_made_pairs():
    # ratios p/q: 1.0, 1.2, 0.5, 3.0, 1.25 -> factors 1, 1.2, 2, 3, 1.25; sorted 1, 1.2, 1.25, 2, 3 -> median 1.25
    pairs = [(100, 100), (120, 100), (50, 100), (300, 100), (100, 80)]
    s = error_stats(pairs)
    assert s.n == 5
    assert s.median_error_factor == pytest.approx(1.25)
    assert s.within_25pct == pytest.approx(3 / 5)  # 1.0, 1.2, 1.25 lie in [0.75, 1.25]
    assert s.within_2x == pytest.approx(4 / 5)  # all but 3.0 lie in [0.5, 2]
    # an even count takes the mean of the middle two factors: 1.2 and 2 -> 1.6
    assert error_stats([(120, 100), (100, 200), (30, 10), (1, 1)]).median_error_factor == pytest.approx(1.6)
    assert error_stats([]).median_error_factor is None


def test_ranks_average_ties():
    assert ranks([30, 10, 20]) == [3, 1, 2]
    assert ranks([5, 1, 5, 2]) == [3.5, 1, 3.5, 2]


def test_spearman_on_a_hand_ranking():
    # ranks 1..4 against 1, 3, 2, 4: d = 0, -1, 1, 0, sum d^2 = 2, rho = 1 - 6*2 / (4*(16-1)) = 0.8
    assert spearman([10, 20, 30, 40], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4, 5], [50, 40, 30, 20, 10]) == pytest.approx(-1.0)
    # a tie: ranks (1, 2, 3) vs (1.5, 1.5, 3): cov = (-1)(-0.5) + 0 + (1)(1) = 1.5, var 2 and 1.5 -> 1.5/sqrt(3)
    assert spearman([1, 2, 3], [7, 7, 9]) == pytest.approx(1.5 / math.sqrt(3))
    assert spearman([1], [2]) is None and spearman([1, 2], [3, 3]) is None


def _result(chip: str, published: float, predicted: float, metric: str = "throughput_ips") -> PointResult:
    point = PublishedPoint(chip=chip, model="resnet50", params={"resolution": "224x224"}, batch=1, precision="int8",
                           scenario="single-stream" if metric == "latency_s" else "offline", metric=metric,
                           value=published, source={"document": "d", "table": "t"})
    return PointResult(point, "compared", predicted=predicted)


def test_rankings_rank_by_speed_and_merge_a_chips_points():
    # a: 1000/s published twice over (1000 and 4000/s: geometric mean 2000), predicted 1500 and 1500;
    # b: latency 1 ms -> 1000/s published, predicted 0.5 ms -> 2000/s; c: 10/s published, 20/s predicted
    results = [_result("a", 1000, 1500), _result("a", 4000, 1500), _result("b", 1e-3, 0.5e-3, "latency_s"),
               _result("c", 10, 20)]
    (rk,) = _rankings(results)
    got = {c.chip: (c.published_rank, c.predicted_rank) for c in rk.chips}
    # published: a 2000 > b 1000 > c 10 -> ranks 1, 2, 3; predicted: b 2000 > a 1500 > c 20 -> a 2, b 1, c 3
    assert got == {"a": (1, 2), "b": (2, 1), "c": (3, 3)}
    assert rk.chips[0].published_ips == pytest.approx(2000)
    # d = (1-2), (2-1), 0 -> sum d^2 = 2 -> rho = 1 - 12 / (3 * 8) = 0.5
    assert rk.spearman == pytest.approx(0.5)
