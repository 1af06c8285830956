"""The benchmark card: every condition of every number in a comparison.

The opposite of a fuzzy TOPS figure: the model and its sha256, input shapes, batch sizes,
precision, each hardware spec with its source (or runtime with its version, threads and CPU),
the estimator's settings, the fitbench version and the date. Built with the comparison
(:func:`build_card`); rendered by :func:`fitbench.report.card.card_items`.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
from typing import Any

from .. import __version__


def build_card(*, workloads: list[dict[str, Any]], offerings: list[Any], precision: str, winograd: str = "auto",
               measurements: list[dict[str, Any]] | None = None, started: dt.datetime | None = None,
               estimates: list[tuple[str, str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    """A JSON-safe card (see the module doc)."""
    from ..store import jsonable

    est_conditions: dict[str, Any] = {}
    for role, hw, est in estimates or []:
        cond = est.get("conditions")
        if cond is not None:
            est_conditions[f"{role} on {hw}"] = cond
    card = {
        "fitbench_version": __version__,
        "date": (started or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "precision": precision,
        "winograd": winograd,
        "metric": "throughput in inferences per second (one inference = one sample of a batch)",
        "workloads": [{k: w.get(k) for k in (
            "role", "label", "model", "path", "sha256", "opset", "input_shapes", "profile_batch", "batches",
            "params", "weight_precision", "activation_precision", "macs", "weight_bytes", "uncosted", "notes")}
            for w in workloads],
        "offerings": [{
            "name": o.name, "kind": o.kind, "source": o.source, "peak_tops": o.peak_tops,
            "method": ("supplier-measured, verified (fitbench kit verify)" if o.verified else
                       "analytical estimate (fitbench.hardware.estimator)" if o.kind == "hardware"
                       else "measured on this machine (fitbench.measure)"),
            "spec": o.spec,
        } for o in offerings],
        "estimator_conditions": est_conditions,
        "measurements": [{"offering": m["offering"], "role": m["role"], "batch": m["batch"],
                          "conditions": (m.get("result") or {}).get("conditions")} for m in measurements or []],
    }
    return jsonable(card)
