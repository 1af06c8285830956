"""Typed results of a comparison (all JSON-safe through ``to_dict()``).

Units: seconds, inferences per second (one inference = one sample of the batch), bytes per
inference, TOPS = 10^12 operations per second with one MAC = 2 operations.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figures:
    """One workload on one offering at one batch (estimated or measured)."""

    batch: int
    latency_s: float | None
    throughput_ips: float | None
    method: str = "estimate"  # "estimate" | "measured" | "supplier-measured, verified"
    dram_bytes_per_inference: float | None = None
    dram_weight_bytes_per_inference: float | None = None
    dram_activation_bytes_per_inference: float | None = None
    dram_bandwidth_demand: float | None = None
    mac_utilization: float | None = None
    effective_tops: float | None = None
    peak_tops: float | None = None
    energy_j_per_inference: float | None = None
    bound_share: dict[str, float] = field(default_factory=dict)
    weights_resident: bool | None = None
    activations_spill: bool | None = None
    feasible: bool = True
    infeasible_reason: str = ""
    plan: str = ""
    latency_p50_s: float | None = None
    latency_p90_s: float | None = None
    latency_p99_s: float | None = None
    samples: int | None = None
    #: a measured figure: "VALID" | "INVALID" (LoadGen's verdict and fitbench's sample-count rules,
    #: fitbench.measure.validity) and the reasons of an INVALID one; None for an estimate
    validity: str | None = None
    validity_reasons: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> bool:
        return self.validity == "INVALID"

    @property
    def dominant_bound(self) -> str | None:
        if not self.bound_share:
            return None
        return max(self.bound_share.items(), key=lambda kv: kv[1])[0]


@dataclass
class Offering:
    """A hardware spec (estimated), a runtime on this machine (measured) or a supplier's chip (kind "supplier":
    only a verified supplier measurement). ``verified`` holds supplier-measured figures of the workload that
    ``fitbench kit verify`` accepted; an offering with one is ranked on it (:meth:`ranked_at`)."""

    name: str
    kind: str  # "hardware" | "runtime"
    source: str = ""
    peak_tops: float | None = None
    sram_bytes: float | None = None
    dram_bandwidth: float | None = None  # bytes/s
    clock_hz: float | None = None
    winograd: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    workload: list[Figures] = field(default_factory=list)
    baseline: list[Figures] = field(default_factory=list)
    verified: list[Figures] = field(default_factory=list)
    # the stated error of its estimates: a factor >= 1 (x/÷), where it comes from, and the chip's median
    # validation error on the shipped published dataset (None: no published point of it)
    error_band: float | None = None
    band_basis: str = ""
    validation_error: float | None = None
    validation_points: int = 0

    def at(self, which: str, batch: int) -> Figures | None:
        for f in getattr(self, which):
            if f.batch == batch:
                return f
        return None

    def ranked_at(self, batch: int) -> Figures | None:
        """The workload figure this offering is ranked on: a verified supplier measurement, else its own."""
        return self.at("verified", batch) or self.at("workload", batch)


@dataclass
class Robustness:
    """Whether the order of two offerings on the workload survives their stated errors: ``ratio`` = the faster
    one's throughput / the slower one's (>= 1), ``band`` = the product of their error bands; the order survives
    when ``ratio > band`` (each estimate may be off by its own band, in opposite directions)."""

    offering: str
    other: str
    ratio: float
    band: float
    survives: bool
    sentence: str


@dataclass
class Flip:
    """An offering whose rank differs between the baseline ranking and the workload ranking."""

    offering: str
    baseline_rank: int | None
    workload_rank: int | None
    tops_rank: int | None
    cause: str  # "weights" | "activations" | "compute" | "measured" | ...
    sentence: str
    robustness: Robustness | None = None  # None: a band is unknown, or no order between two figures flipped

    @property
    def direction(self) -> str:
        if self.workload_rank is None:
            return "drops"
        if self.baseline_rank is None:
            return "rises"
        return "drops" if self.workload_rank > self.baseline_rank else "rises"


@dataclass
class RankRow:
    offering: str
    kind: str
    workload_rank: int | None
    workload_throughput_ips: float | None
    workload_latency_s: float | None
    baseline_rank: int | None
    baseline_throughput_ips: float | None
    tops_rank: int | None
    peak_tops: float | None
    workload_effective_tops: float | None
    workload_utilization: float | None
    workload_bound: str | None
    figure: str | None = None  # the method of the ranked workload figure (Figures.method)
    estimate_throughput_ips: float | None = None  # beside a verified supplier figure: the estimate
    estimate_error: float | None = None  # estimate / verified - 1 (+0.25: the estimate is 25% optimistic)
    figure_validity: str | None = None  # a measured figure: VALID | INVALID (ranked, with a warning)


@dataclass
class Comparison:
    """The answer: rankings for the user's workload and for the baseline, flips explained, the card."""

    workload: dict[str, Any]
    baseline: dict[str, Any]
    precision: str
    rank_batch: int
    baseline_batch: int
    offerings: list[Offering]
    rows: list[RankRow]
    flips: list[Flip]
    card: dict[str, Any]
    layers: list[dict[str, Any]] = field(default_factory=list)
    layer_bounds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    input_size_curve: list[dict[str, Any]] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sweep_id: str | None = None
    winner: Robustness | None = None  # does the 1st place survive the stated errors (against the 2nd)?
    requirements: Any = None  # a compare.requirements.RequirementsVerdict when an application was given
    llm: list[dict[str, Any]] = field(default_factory=list)  # an LLM workload: LLMEstimate.to_dict() per offering
    #: compare --measure with a kind: cpu spec: per-layer measured vs estimated (compare.layers), one per measurement
    layer_comparisons: list[dict[str, Any]] = field(default_factory=list)

    def offering(self, name: str) -> Offering:
        for off in self.offerings:
            if off.name == name:
                return off
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["flips"] = [dict(asdict(f), direction=f.direction) for f in self.flips]
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def to_dataframe(self):
        """One row per offering x workload x batch (pandas is imported lazily)."""
        import pandas as pd

        rows = []
        ranks = {r.offering: r for r in self.rows}
        for off in self.offerings:
            for which in ("workload", "baseline", "verified"):
                for fig in getattr(off, which):
                    row = {"offering": off.name, "kind": off.kind, "workload": which,
                           "model": getattr(self, "baseline" if which == "baseline" else "workload")["label"]}
                    row.update({k: v for k, v in asdict(fig).items() if k != "bound_share"})
                    for k, v in fig.bound_share.items():
                        row[f"bound_share_{k}"] = v
                    r = ranks.get(off.name)
                    ranked = which == ("verified" if off.at("verified", fig.batch) else "workload")
                    row["rank"] = None if r is None else (
                        r.workload_rank if ranked and fig.batch == self.rank_batch else
                        r.baseline_rank if which == "baseline" else None)
                    rows.append(row)
        return pd.DataFrame(rows)

    def rankings_dataframe(self):
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.rows])

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Comparison:
        """Rebuild a comparison from ``to_dict()`` output (e.g. read back from the store)."""
        offerings = []
        for o in d["offerings"]:
            o = dict(o)
            o["workload"] = [Figures(**f) for f in o.get("workload", [])]
            o["baseline"] = [Figures(**f) for f in o.get("baseline", [])]
            o["verified"] = [Figures(**f) for f in o.get("verified", [])]
            offerings.append(Offering(**o))
        flips = []
        for f in d.get("flips", []):
            f = {k: v for k, v in f.items() if k != "direction"}
            if f.get("robustness"):
                f["robustness"] = Robustness(**f["robustness"])
            flips.append(Flip(**f))
        rows = [RankRow(**r) for r in d.get("rows", [])]
        rest = {k: v for k, v in d.items() if k not in ("offerings", "flips", "rows", "winner")}
        winner = Robustness(**d["winner"]) if d.get("winner") else None
        if rest.get("requirements") is not None:
            from .requirements import RequirementsVerdict

            rest["requirements"] = RequirementsVerdict.from_dict(rest["requirements"])
        return cls(offerings=offerings, flips=flips, rows=rows, winner=winner, **rest)
