"""Error statistics of predicted vs published figures, and Spearman's rank correlation (no scipy).

* **Error factor** of a prediction ``p`` against a published ``q`` (both > 0): ``max(p/q, q/p)`` (1 = exact;
  2 = off by 2x either way). Its median over points is the geometric median error (the median of
  ``|log p/q|``, exponentiated).
* **Within ±25 %**: ``0.75 <= p/q <= 1.25``; **within 2x**: ``0.5 <= p/q <= 2``.
* **Spearman's rho**: Pearson's correlation of the two rank vectors, ties taking their average rank; equals
  ``1 - 6 sum(d^2) / (n (n^2 - 1))`` when there are no ties. Undefined (None) for fewer than 2 items or
  when either side is constant.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def error_factor(predicted: float, published: float) -> float:
    """``max(p/q, q/p)``: how many times off the prediction is, whichever way."""
    r = predicted / published
    return max(r, 1.0 / r)


def within(predicted: float, published: float, low: float, high: float) -> bool:
    r = predicted / published
    return low <= r <= high


@dataclass(frozen=True)
class ErrorStats:
    """Error of ``n`` predicted/published pairs: median error factor, share within ±25 % and within 2x."""

    n: int
    median_error_factor: float | None
    within_25pct: float | None
    within_2x: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def error_stats(pairs: Sequence[tuple[float, float]]) -> ErrorStats:
    """Statistics of (predicted, published) pairs; all None for no pairs."""
    if not pairs:
        return ErrorStats(0, None, None, None)
    factors = [error_factor(p, q) for p, q in pairs]
    return ErrorStats(
        n=len(pairs),
        median_error_factor=statistics.median(factors),
        within_25pct=sum(within(p, q, 0.75, 1.25) for p, q in pairs) / len(pairs),
        within_2x=sum(within(p, q, 0.5, 2.0) for p, q in pairs) / len(pairs),
    )


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks in ascending order; tied values share their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation of ``x`` and ``y`` (equal length); None if undefined."""
    if len(x) != len(y):
        raise ValueError("spearman needs two sequences of the same length")
    if len(x) < 2:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return cov / math.sqrt(vx * vy)
