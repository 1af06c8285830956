"""Typed results of an estimate: one :class:`LayerEstimate` per (fused) layer, one :class:`EstimatePoint`
per batch, and the :class:`Estimate` that holds them with its conditions and notes.

Times are seconds; per-layer bytes are per batch of ``B``; point bytes are per inference unless named
otherwise (``state_bytes_per_sequence``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ...errors import FitbenchError


@dataclass(slots=True)
class LayerEstimate:
    """One (fused) layer at one batch. Times in seconds, bytes per batch of B."""

    name: str
    op_type: str
    macs: int
    effective_macs: float
    compute_s: float
    dram_weight_bytes: float
    dram_activation_bytes: float
    dram_s: float
    time_s: float
    bound: str
    utilization: float
    passes: int
    overhead_s: float = 0.0
    winograd: bool = False
    spilled: bool = False
    fused: list[str] = field(default_factory=list)
    op_class: str = ""
    engine: str = ""
    steps: int = 1                      # dependent sequential steps (recurrent layers: time steps)
    weights_resident: bool = True       # its weights stay in SRAM (no DRAM weight traffic)
    dram_state_bytes: float = 0.0       # persistent state (KV cache) read from DRAM
    link_s: float = 0.0                 # host-link time of a fallback layer (tensors both ways)
    stage: int = -1                     # pipeline stage (core) of a pipelined chip


@dataclass
class EstimatePoint:
    """Whole-model figures at one batch (bytes per inference unless named otherwise)."""

    batch: int
    sub_batch: int
    feasible: bool
    latency_s: float | None
    throughput_ips: float | None
    dram_bytes_per_inference: float
    dram_weight_bytes_per_inference: float
    dram_activation_bytes_per_inference: float
    dram_bandwidth_demand: float | None
    mac_utilization: float | None
    effective_tops: float | None
    peak_tops: float
    energy_j_per_inference: float | None
    bound_share: dict[str, float]
    weights_resident: bool
    activations_spill: bool
    spilled_activation_bytes: float
    plan: str
    infeasible_reason: str = ""
    layers: list[LayerEstimate] = field(default_factory=list)
    call_overhead_s: float = 0.0        # fixed per-inference-call cost
    link_s: float = 0.0                 # the graph's inputs and outputs over the host link
    dram_state_bytes_per_inference: float = 0.0
    state_bytes_per_sequence: float = 0.0
    resident_weight_bytes: float = 0.0
    cores_used: int = 1
    pipeline_stages: int = 0
    pipeline_contexts: int = 0
    error_band: float | None = None     # a factor >= 1: a calibrated spec's estimate is within x/÷ this

    @property
    def throughput_band(self) -> tuple[float, float] | None:
        """(low, high) inferences/s within the calibrated spec's error band, or None."""
        if self.error_band is None or self.throughput_ips is None:
            return None
        return self.throughput_ips / self.error_band, self.throughput_ips * self.error_band

    @property
    def bound(self) -> str:
        """The bound that takes the largest share of the time."""
        return max(self.bound_share, key=self.bound_share.get) if self.bound_share else "compute"


@dataclass
class Estimate:
    model: Any
    hardware: dict[str, str]
    conditions: dict[str, Any]
    points: list[EstimatePoint]
    notes: list[str] = field(default_factory=list)
    uncosted: list[str] = field(default_factory=list)

    def point(self, batch: int) -> EstimatePoint:
        for p in self.points:
            if p.batch == batch:
                return p
        raise FitbenchError(f"no estimate at batch {batch}; batches: {[p.batch for p in self.points]}")

    def to_dict(self, layers: bool = True) -> dict[str, Any]:
        model = asdict(self.model) if hasattr(self.model, "__dataclass_fields__") else dict(self.model)
        pts = []
        for p in self.points:
            d = asdict(p)
            if not layers:
                d.pop("layers")
            d["bound"] = p.bound
            pts.append(json_safe(d))
        return {"model": model, "hardware": dict(self.hardware), "conditions": json_safe(self.conditions),
                "points": pts, "notes": list(self.notes), "uncosted": list(self.uncosted)}

    def to_dataframe(self, layers: bool = False):
        """One row per batch (``layers=True``: one row per layer and batch). pandas is imported lazily."""
        import pandas as pd

        rows = []
        for p in self.points:
            base = {"model": self.model.name, "hardware": self.hardware["name"],
                    "precision": self.conditions["precision"], "winograd": self.conditions["winograd"]}
            if layers:
                for x in p.layers:
                    row = {**base, "batch": p.batch, **asdict(x)}
                    row["fused"] = ",".join(x.fused)
                    rows.append(row)
            else:
                d = asdict(p)
                d.pop("layers")
                share = d.pop("bound_share")
                d.update({f"share_{k}": v for k, v in share.items()})
                d["bound"] = p.bound
                rows.append({**base, **d})
        return pd.DataFrame(rows)


def json_safe(obj):
    """Plain JSON types: numpy scalars unwrapped, non-finite floats as None."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
