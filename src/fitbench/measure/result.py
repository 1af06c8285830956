"""Typed measurement results: :class:`MeasureResult` with ``to_dict()`` and ``to_dataframe()``.

Units: latencies in milliseconds; ``throughput`` in items per second, where an item is one input
row (one image, one sequence) and a LoadGen *sample* is one inference call at the measured batch,
so ``throughput = completed samples x batch / wall time`` (never mean(1/latency)).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .stats import LatencyStats
from .validity import Validity, assess_result


@dataclass
class WarmupInfo:
    """Warm-up before timing: by count and by time, reported separately from the first run."""

    first_run_ms: float | None
    count: int
    duration_s: float
    median_ms: float | None
    requested_count: int
    requested_s: float


@dataclass
class ServerTrial:
    """One server-scenario run at a fixed Poisson arrival rate."""

    target_qps: float
    achieved_qps: float | None
    latency_ms: float | None  # None: too few samples for the percentile (stats.MIN_SAMPLES) or none at all
    percentile: int
    count: int
    meets_bound: bool


@dataclass
class ServerSearch:
    """Peak-QPS search: the highest tried arrival rate whose latency percentile met the bound."""

    target_latency_ms: float
    percentile: int
    peak_qps: float | None
    trials: list[ServerTrial] = field(default_factory=list)


@dataclass
class MeasureResult:
    """One measurement of one model at one batch in one scenario, with all its conditions.

    ``status`` is ``"ok"`` or ``"failed"``; a failed result carries ``cause`` and no figures.
    :attr:`validity` says whether the figures are a valid measurement (LoadGen's verdict and fitbench's
    sample-count rules, :mod:`.validity`); ``to_dict()`` states it under ``"validity"``.
    """

    scenario: str
    status: str
    model: str
    batch: int
    runtime: str
    device: str
    precision: str
    cause: str | None = None
    latency: LatencyStats | None = None
    warmup: WarmupInfo | None = None
    throughput: float | None = None
    queries_per_s: float | None = None
    samples: int = 0
    items: int = 0
    wall_s: float | None = None
    server: ServerSearch | None = None
    warnings: list[str] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    loadgen: dict[str, Any] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    #: single-stream: harness turnaround between consecutive queries (LoadGen + SUT), in microseconds
    gaps_us: list[float] = field(default_factory=list, repr=False)
    #: ``--layers``: per-layer times from a profiled pass after the timed run (:mod:`.layers`), else None
    layers: Any = field(default=None, repr=False)
    #: why the run stopped short (a timeout, Ctrl-C, the memory guard, offline's maximum duration): the
    #: figures come from the samples measured before it and ``loadgen["result_validity"]`` is ``INVALID``
    partial: str | None = None
    #: the measurement was interrupted (Ctrl-C); not part of the result's data
    interrupted: bool = field(default=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def validity(self) -> Validity | None:
        """VALID / INVALID with its reasons (``None`` for a failed run): see :mod:`.validity`."""
        return assess_result(self)

    @property
    def first_run_ms(self) -> float | None:
        return self.warmup.first_run_ms if self.warmup else None

    def to_dict(self, *, include_samples: bool = False, include_logs: bool = True) -> dict[str, Any]:
        """JSON-safe dict; per-query latencies only with ``include_samples``."""
        d = asdict(self)
        d.pop("interrupted", None)
        v = self.validity
        d["validity"] = None if v is None else v.to_dict()
        d["layers"] = self.layers.to_dict() if self.layers is not None else None
        if self.latency is not None:
            d["latency"] = self.latency.to_dict()
        if not include_samples:
            d.pop("latencies_ms", None)
            d.pop("gaps_us", None)
        if not include_logs:
            d["loadgen"] = {k: v for k, v in d["loadgen"].items() if not k.endswith("_log")}
        return _json_safe(d)

    def to_dataframe(self):
        """A one-row pandas DataFrame with flattened figures and the key conditions."""
        import pandas as pd

        return pd.DataFrame([self.row()])

    def row(self) -> dict[str, Any]:
        """Flat dict of the headline figures and conditions (one table row)."""
        lat = self.latency
        c = self.conditions
        return {
            "model": self.model,
            "scenario": self.scenario,
            "status": self.status,
            "validity": v.summary() if (v := self.validity) is not None else None,
            "cause": self.cause,
            "runtime": self.runtime,
            "device": self.device,
            "precision": self.precision,
            "batch": self.batch,
            "threads": c.get("threads"),
            "count": lat.count if lat else 0,
            "p50_ms": lat.p50_ms if lat else None,
            "p90_ms": lat.p90_ms if lat else None,
            "p99_ms": lat.p99_ms if lat else None,
            "mean_ms": lat.mean_ms if lat else None,
            "cv": lat.cv if lat else None,
            "first_run_ms": self.first_run_ms,
            "throughput": self.throughput,
            "queries_per_s": self.queries_per_s,
            "peak_qps": self.server.peak_qps if self.server else None,
            "samples": self.samples,
            "wall_s": self.wall_s,
            "warnings": "; ".join(self.warnings),
            "model_sha256": c.get("model_sha256"),
        }


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            return obj.item()
        except Exception:  # noqa: BLE001
            return str(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def failed(scenario: str, cause: str, **kw: Any) -> MeasureResult:
    """A failed result with its cause (the caller goes on)."""
    return MeasureResult(scenario=scenario, status="failed", cause=" ".join(str(cause).split()), **kw)
