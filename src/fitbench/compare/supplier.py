"""Supplier-measured figures beside the estimates: results that ``fitbench kit verify`` accepted.

A verified supplier result is a ``measure`` row of the results database whose
``conditions["provenance"]`` is ``"supplier-measured, verified"``, with the offering's name in
``hardware`` (see :mod:`fitbench.kit.verify`). It belongs to a comparison when its model is the
workload's (the same sha256, or the same model name with the same input shape per item, as a zoo model
built again) and its batch is the ranked batch. An offering with one is ranked on it, the estimate kept
beside it with the estimate's error = estimate / verified - 1 (throughput; +0.25 = the estimate promised
25% more than the supplier's chip delivered). A verified chip not among the compared offerings is added as
an offering of kind ``supplier`` with its verified figure only. Of several kits verified for one chip the
newest is used; of its scenarios, throughput comes from the first of offline, server, multi-stream,
single-stream, and latency from single-stream (p50, p90, p99 of LoadGen's per-query latency), else from
server or multi-stream (offline has no per-inference latency: its queries wait in one big query).
"""

from __future__ import annotations

import os
from typing import Any

from ..store.record import SUPPLIER_VERIFIED
from .result import Figures, Offering

SCENARIO_ORDER = ("offline", "server", "multi-stream", "single-stream")


def _per_item(shapes: Any) -> dict[str, list[int]]:
    return {str(k): [int(d) for d in list(v)[1:]] for k, v in dict(shapes or {}).items()}


def find_verified(store: Any, workload: dict[str, Any], batch: int) -> dict[str, list[Any]]:
    """``{hardware name: [ResultRecord per scenario]}``: the newest verified supplier kit result of
    ``workload`` (a comparison's workload info) at ``batch`` per offering."""
    from ..store import open_store

    st = open_store(store) if isinstance(store, (str, os.PathLike)) else store
    rows = {r.id: r for r in st.query(kind="measure", batch=batch, model=workload.get("model"))}
    if workload.get("sha256"):
        rows.update({r.id: r for r in st.query(kind="measure", batch=batch, model_sha256=workload["sha256"])})
    want = _per_item(workload.get("input_shapes"))
    best: dict[str, dict[str, Any]] = {}
    for r in sorted(rows.values(), key=lambda r: r.id):
        c = r.conditions
        if c.get("provenance") != SUPPLIER_VERIFIED or r.status != "ok" or not r.hardware:
            continue
        shapes = {k: v.get("shape") for k, v in ((c.get("kit") or {}).get("inputs") or {}).items()}
        if r.model_sha256 != workload.get("sha256") and _per_item(shapes) != want:
            continue
        kit = (c.get("kit") or {}).get("kit_id")
        got = best.setdefault(r.hardware, {})
        # rows come oldest first: a newer kit replaces the older one's scenarios
        if got and (next(iter(got.values())).conditions.get("kit") or {}).get("kit_id") != kit:
            got.clear()
        got[str(c.get("scenario"))] = r
    return {hw: sorted(scs.values(), key=_order) for hw, scs in best.items()}


def _order(r: Any) -> int:
    sc = r.conditions.get("scenario")
    return SCENARIO_ORDER.index(sc) if sc in SCENARIO_ORDER else len(SCENARIO_ORDER)


def figures_from_records(records: list[Any]) -> Figures:
    """One verified figure from one kit's scenarios (sorted as :data:`SCENARIO_ORDER`): throughput from the
    first, latency from single-stream, else server or multi-stream."""
    thr = records[0].metrics
    lat_rows = [r for sc in ("single-stream", "server", "multi-stream") for r in records
                if r.conditions.get("scenario") == sc]
    lat = lat_rows[0].metrics if lat_rows else {}
    return Figures(batch=int(records[0].batch), latency_s=lat.get("latency_s"),
                   throughput_ips=thr.get("throughput_ips"), method=SUPPLIER_VERIFIED,
                   latency_p50_s=lat.get("latency_p50_s"), latency_p90_s=lat.get("latency_p90_s"),
                   latency_p99_s=lat.get("latency_p99_s"), samples=lat.get("queries"))


def attach_verified(offerings: list[Offering], records: dict[str, list[Any]], precision: str | None,
                    notes: list[str]) -> None:
    """Give each offering its verified figure (adding ``supplier`` offerings for chips not compared) and say so
    in ``notes``: which kit, scenario, precision and device, and the estimate's error."""
    by_name = {o.name: o for o in offerings}
    for name, rows in sorted(records.items()):
        r = rows[0]
        off = by_name.get(name)
        if off is None:
            off = Offering(name=name, kind="supplier", source=f"supplier-measured on {r.conditions.get('device')}")
            offerings.append(off)
            by_name[name] = off
        fig = figures_from_records(rows)
        off.verified = [f for f in off.verified if f.batch != fig.batch] + [fig]
        c = r.conditions
        kit = c.get("kit") or {}
        est = off.at("workload", fig.batch)
        said = "" if est is None or est.throughput_ips is None else (
            f"; the estimate ({precision}) says {est.throughput_ips:.4g}/s, "
            f"error {_signed(estimate_error(est, fig))}")
        notes.append(f"{name} is ranked on a supplier measurement verified against kit {str(kit.get('kit_id'))[:12]} "
                     f"({kit.get('name')}): LoadGen {', '.join(x.conditions.get('scenario') for x in rows)}, "
                     f"{r.precision} on {c.get('device')}, "
                     f"{fig.throughput_ips:.4g} inferences/s at batch {fig.batch}{said}")


def estimate_error(est: Figures | None, fig: Figures | None) -> float | None:
    """estimate / verified - 1 of the throughputs (None when either is missing)."""
    if est is None or fig is None or not est.throughput_ips or not fig.throughput_ips:
        return None
    return est.throughput_ips / fig.throughput_ips - 1


def estimate_beside(off: Offering, w: Figures | None, batch: int) -> dict[str, Any]:
    """RankRow's estimate columns for a row ranked on a verified figure (empty otherwise)."""
    if w is None or w.method != SUPPLIER_VERIFIED:
        return {}
    est = off.at("workload", batch)
    return {"estimate_throughput_ips": est.throughput_ips if est else None, "estimate_error": estimate_error(est, w)}


def supplier_sentence(off: Offering, w: Figures, workload_label: str, batch: int) -> str:
    """Why a verified offering sits where it does: its verified figure and the estimate's error."""
    est = off.at("workload", batch)
    err = estimate_error(est, w)
    tail = "" if err is None else f" (the estimate said {est.throughput_ips:.4g}, error {_signed(err)})"
    return (f"ranked on its verified supplier measurement, {w.throughput_ips:.4g} inferences/s on {workload_label} "
            f"at batch {batch}{tail}")


def _signed(x: float | None) -> str:
    return "?" if x is None else f"{100 * x:+.0f}%"
