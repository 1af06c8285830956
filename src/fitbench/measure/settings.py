"""Frozen settings of a measurement: how long it runs (:class:`MeasureSettings`), what it runs on and how
(:class:`RunSettings`) and how the model was given (:class:`ModelArgs`).

:func:`fitbench.measure.measure` checks its keyword arguments once and builds these; everything after it
(preparing the model, the child's job, the result's conditions) reads them, never loose keywords.
Units: seconds for durations, bytes for memory, milliseconds for latency bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MeasureSettings:
    """How much to measure: a run stops once both the minimum count (queries) and duration are reached, or
    at its maximum duration (``None``: ``max(2 x min, min + 60 s)``; otherwise at least 2 x the minimum);
    the warm-up runs until both its count and its time are reached, within a cap (see ``warmup_cap_s``).
    Offline issues one query of ``max(offline_min_samples, 1.1 x min duration x the warm-up's rate)``
    samples, LoadGen's own sizing."""

    min_count: int
    min_duration_s: float
    warmup_count: int
    warmup_s: float
    max_duration_s: float | None = None
    offline_min_samples: int = 1

    def max_duration(self) -> float:
        """The timed run's maximum duration, in seconds."""
        if self.max_duration_s is None:
            return max(self.min_duration_s * 2, self.min_duration_s + 60.0)
        return max(self.max_duration_s, self.min_duration_s * 2)

    def warmup_cap_s(self, max_duration_s: float) -> float:
        """The warm-up (first run included) stops past this many seconds even short of its count: 10 % of the
        run's maximum duration, and never less than the warm-up time asked for."""
        return max(self.warmup_s, 0.1 * max_duration_s)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: full measurement: p99 is reportable (>= 662 queries) and runs last at least 10 s
FULL = MeasureSettings(min_count=1024, min_duration_s=10.0, warmup_count=10, warmup_s=2.0)
#: --quick, for sweeps: a small count and duration (p90 reportable, p99 not), about 10 s a point at most
#: for any model whose single inference takes under a second (8 s timed at most, after a warm-up <= 0.8 s)
QUICK = MeasureSettings(min_count=64, min_duration_s=1.0, warmup_count=3, warmup_s=0.25, max_duration_s=8.0)


@dataclass(frozen=True)
class ModelArgs:
    """The model's description as the caller gave it, besides the model argument itself."""

    inputs: Mapping[str, Any] | None = None
    input_files: Mapping[str, str] | None = None
    dims: Mapping[str, int] | None = None
    name: str | None = None
    zoo_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSettings:
    """One measurement's checked settings (every batch of a ``measure()`` call shares them)."""

    runtime: str
    runtime_version: str
    device: str
    scenario: str
    precision: str
    percentile: int
    sizing: MeasureSettings
    threads: int | None = None
    target_latency_ms: float | None = None
    server_qps: float | None = None
    samples_per_query: int = 8
    quick: bool = False
    timeout_s: float | None = None
    memory_limit_bytes: int | None = None
    seed: int = 0
    compile: bool = False
    include_h2d: bool = True
    driver: str = "loadgen"
    command: str | None = None
    log_dir: str | None = None  # keep LoadGen's logs under this folder, one subfolder per batch (.logs)
    layers: bool = False            # a profiled per-layer pass after the timed run (measure.layers)

    @property
    def server_search(self) -> bool:
        """A peak-QPS search (server with a latency bound and no fixed rate)."""
        return self.scenario == "server" and self.target_latency_ms is not None
