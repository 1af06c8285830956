"""Measured vs estimated per layer: a run's per-layer times (:mod:`fitbench.measure.layers`) joined to the
estimator's per-layer times for one spec (usually this machine's CPU: ``fitbench hw probe`` or a written spec).

The join is at the estimator's granularity: one row per estimated (fused) layer, its measured time the sum of
the runtime nodes mapped to any of its member layers. Rules, in order:

* an estimated layer no runtime node maps to (the runtime fused it into a neighbour's kernel, e.g. an Add or
  Relu folded into the Conv before it) is counted with the estimated layer that feeds it (its first input's
  producer), when that one has a measured time; the row lists it under ``members``;
* otherwise it stays a row with no measured time (``kind == "estimated-only"``: folded away or fused
  elsewhere);
* a measured layer the estimate has no row for (a view op such as Flatten, an uncosted op) is a
  ``not-estimated`` row; a layer of the converted model only (int8's QuantizeLinear / DequantizeLinear) is
  counted in one ``conversion-added`` row per op type; runtime-inserted nodes and unmapped nodes are one row
  each (``runtime-inserted``, ``unmapped``), so the measured rows add up to every measured node's time.

``ratio = measured / estimated`` (> 1: slower than estimated). Times in milliseconds per call at the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: a miss is listed only for rows holding at least this share of the measured or the estimated total
MISS_MIN_SHARE = 0.01


@dataclass
class LayerRow:
    name: str
    op_type: str
    kind: str  # layer | estimated-only | not-estimated | conversion-added | runtime-inserted | unmapped
    measured_ms: float | None
    estimated_ms: float | None
    bound: str = ""
    members: list[str] = field(default_factory=list)   # profile layers counted in this row
    nodes: list[str] = field(default_factory=list)     # runtime nodes whose time is in this row

    @property
    def ratio(self) -> float | None:
        if self.measured_ms is None or not self.estimated_ms:
            return None
        return self.measured_ms / self.estimated_ms


@dataclass
class LayerComparison:
    """Per-layer measured vs estimated for one model at one batch on one spec."""

    model: str
    batch: int
    runtime: str
    spec: str
    spec_source: str
    rows: list[LayerRow]
    end_to_end_ms: float | None          # the timed run's median latency
    estimated_latency_ms: float | None   # the estimate's whole latency (per-call overhead included)
    notes: list[str] = field(default_factory=list)
    profiled_run_ms: float | None = None  # the profiled runs' median whole-run time (same runs as the layers)

    @property
    def measured_total_ms(self) -> float:
        return sum(r.measured_ms or 0.0 for r in self.rows)

    @property
    def estimated_total_ms(self) -> float:
        return sum(r.estimated_ms or 0.0 for r in self.rows)

    def top(self, n: int = 15) -> list[LayerRow]:
        """The ``n`` rows with the largest measured time."""
        return sorted((r for r in self.rows if r.measured_ms is not None), key=lambda r: -r.measured_ms)[:n]

    def misses(self, n: int = 5) -> list[LayerRow]:
        """The ``n`` largest misses: rows with both times, ordered by ``|log(ratio)|``, among rows holding at
        least ``MISS_MIN_SHARE`` of the measured or of the estimated total."""
        mt, et = self.measured_total_ms, self.estimated_total_ms
        cand = [r for r in self.rows if r.ratio is not None and r.ratio > 0
                and ((mt and r.measured_ms / mt >= MISS_MIN_SHARE) or (et and r.estimated_ms / et >= MISS_MIN_SHARE))]
        return sorted(cand, key=lambda r: -abs(math.log(r.ratio)))[:n]

    def to_dict(self) -> dict[str, Any]:
        rows = [{"name": r.name, "op_type": r.op_type, "kind": r.kind, "measured_ms": r.measured_ms,
                 "estimated_ms": r.estimated_ms, "ratio": r.ratio, "bound": r.bound, "members": r.members,
                 "nodes": r.nodes} for r in self.rows]
        return {"model": self.model, "batch": self.batch, "runtime": self.runtime, "spec": self.spec,
                "spec_source": self.spec_source, "end_to_end_ms": self.end_to_end_ms,
                "profiled_run_ms": self.profiled_run_ms,
                "estimated_latency_ms": self.estimated_latency_ms, "measured_total_ms": self.measured_total_ms,
                "estimated_total_ms": self.estimated_total_ms, "rows": rows,
                "largest_misses": [r.name for r in self.misses()], "notes": list(self.notes)}


def join(layer_times, profile, point, *, model: str, spec: str, spec_source: str = "") -> LayerComparison:
    """Join ``layer_times`` (:class:`~fitbench.measure.layers.LayerTimes`) with ``point``
    (:class:`~fitbench.hardware.estimator.results.EstimatePoint` of ``profile`` at the measured batch)."""
    group_of: dict[str, str] = {}
    rows: dict[str, LayerRow] = {}
    for le in point.layers:
        rows[le.name] = LayerRow(name=le.name, op_type=le.op_type, kind="layer", measured_ms=None,
                                 estimated_ms=le.time_s * 1e3, bound=le.bound, members=[le.name, *le.fused])
        for m in (le.name, *le.fused):
            group_of[m] = le.name
    extra: list[LayerRow] = []
    added: dict[str, LayerRow] = {}
    profiled = {lc.name for lc in profile.layers}
    for lt in layer_times.layers():
        g = group_of.get(lt.layer)
        if g is None and lt.layer not in profiled:  # a node of the converted model only (int8: Q/DQ)
            row = added.setdefault(lt.op_type, LayerRow(name=f"({lt.op_type}: added by the conversion)",
                                                        op_type=lt.op_type, kind="conversion-added",
                                                        measured_ms=0.0, estimated_ms=None))
            row.measured_ms += lt.ms
            row.members.append(lt.layer)
            row.nodes += lt.nodes
            continue
        if g is None:
            extra.append(LayerRow(name=lt.layer, op_type=lt.op_type, kind="not-estimated", measured_ms=lt.ms,
                                  estimated_ms=None, members=[lt.layer], nodes=list(lt.nodes)))
            continue
        row = rows[g]
        row.measured_ms = (row.measured_ms or 0.0) + lt.ms
        row.nodes += lt.nodes
    # unmeasured estimated layers: counted with the (measured) layer that feeds them, in graph order
    producer = {o: lc.name for lc in profile.layers for o in (lc.outputs or []) if o}
    inputs = {lc.name: [i for i in (lc.inputs or []) if i] for lc in profile.layers}
    root: dict[str, str] = {}
    merged: list[str] = []
    for name in list(rows):
        row = rows[name]
        if row.measured_ms is not None:
            continue
        feeder = next((producer[i] for i in inputs.get(name, []) if i in producer), None)
        target = group_of.get(feeder) if feeder else None
        target = root.get(target, target)
        if target is not None and target in rows and rows[target].measured_ms is not None:
            t = rows[target]
            t.estimated_ms = (t.estimated_ms or 0.0) + (row.estimated_ms or 0.0)
            t.members += row.members
            root[name] = target
            merged.append(name)
            del rows[name]
        else:
            row.kind = "estimated-only"
    out = list(rows.values()) + extra + list(added.values())
    for kind, label in (("runtime-inserted", "(runtime-inserted nodes)"), ("unmapped", "(unmapped nodes)")):
        nodes = [n for n in layer_times.nodes if n.mapped_by == kind]
        if nodes:
            ops = sorted({n.op_type for n in nodes if n.op_type})
            out.append(LayerRow(name=label, op_type=",".join(ops), kind=kind, measured_ms=sum(n.ms for n in nodes),
                                estimated_ms=None, nodes=[n.name for n in nodes]))
    notes = list(layer_times.notes)
    if merged:
        notes.append(f"{len(merged)} estimated layer(s) ran inside a neighbour's kernel (no node of their own) and are "
                     "counted with the layer that feeds them: " + ", ".join(merged[:5])
                     + (" ..." if len(merged) > 5 else ""))
    only = [r.name for r in out if r.kind == "estimated-only"]
    if only:
        notes.append(f"{len(only)} estimated layer(s) have no measured time (folded or fused by the runtime): "
                     + ", ".join(only[:5]) + (" ..." if len(only) > 5 else ""))
    lat = point.latency_s * 1e3 if point.latency_s is not None else None
    return LayerComparison(model=model, batch=point.batch, runtime=layer_times.runtime, spec=spec,
                           spec_source=spec_source, rows=out, end_to_end_ms=layer_times.end_to_end_ms,
                           profiled_run_ms=layer_times.profiled_run_ms,
                           estimated_latency_ms=lat, notes=notes)


def compare_times(layer_times, profile, spec, *, batch: int, precision: str | None, model: str) -> LayerComparison:
    """Estimate ``profile`` on ``spec`` at ``batch`` / ``precision`` (the measured ones) and join ``layer_times``."""
    from ..hardware.estimator import estimate
    from ..hardware.spec import load_hardware

    hw = load_hardware(spec)
    est = estimate(profile, hw, batch=batch, precision=precision)
    return join(layer_times, profile, est.point(batch), model=model, spec=hw.name,
                spec_source=getattr(hw, "source", "") or "")


def for_result(result, spec, profile) -> LayerComparison | None:
    """The comparison for a :class:`~fitbench.measure.result.MeasureResult` with per-layer times (``None`` when it
    has none). ONNX Runtime's nodes are the profile's; the torch runtime's module paths are mapped to the layers of
    the module's ONNX export (:func:`fitbench.measure.layers.remap_torch`): ``profile`` must then be the profile of
    that ``nn.Module``."""
    from ..measure.layers import remap_torch

    lt = getattr(result, "layers", None)
    if lt is None:
        return None
    if lt.runtime == "torch":  # module paths -> the layers of the module's export (``profile`` must be of it)
        lt = remap_torch(lt, [x.name for x in profile.layers])
    return compare_times(lt, profile, spec, batch=result.batch, precision=result.precision, model=result.model)


def from_measurements(measurements: list[dict[str, Any]], profile, specs) -> list[dict[str, Any]]:
    """``compare --measure``: for each workload measurement with ONNX Runtime per-layer times, its comparison on each
    ``kind: cpu`` spec of ``specs`` (``to_dict()`` plus ``offering``, the measured offering's name)."""
    from ..measure.layers import LayerTimes

    cpus = [s for s in specs if getattr(s, "kind", "") == "cpu"]
    out = []
    for m in measurements:
        lt_d = (m.get("result") or {}).get("layers")
        if m.get("role") != "workload" or not lt_d or lt_d.get("runtime") != "onnxruntime":
            continue
        lt = LayerTimes.from_dict(lt_d)
        for spec in cpus:
            cmp = compare_times(lt, profile, spec, batch=m["batch"], precision=m["result"].get("precision"),
                                model=m.get("label") or profile.model.name)
            out.append({"offering": m["offering"], **cmp.to_dict()})
    return out


def from_dict(d: dict[str, Any]) -> LayerComparison:
    """A :class:`LayerComparison` back from its ``to_dict()`` (as stored in a comparison)."""
    rows = [LayerRow(name=r["name"], op_type=r["op_type"], kind=r["kind"], measured_ms=r["measured_ms"],
                     estimated_ms=r["estimated_ms"], bound=r.get("bound", ""), members=list(r.get("members") or []),
                     nodes=list(r.get("nodes") or [])) for r in d["rows"]]
    return LayerComparison(model=d["model"], batch=d["batch"], runtime=d["runtime"], spec=d["spec"],
                           spec_source=d.get("spec_source", ""), rows=rows, end_to_end_ms=d.get("end_to_end_ms"),
                           profiled_run_ms=d.get("profiled_run_ms"),
                           estimated_latency_ms=d.get("estimated_latency_ms"), notes=list(d.get("notes") or []))
