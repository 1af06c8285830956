"""The benchmark card: every condition of every number in a comparison.

The opposite of a fuzzy TOPS figure: the model and its sha256, input shapes, batch sizes,
precision, each hardware spec with its source (or runtime with its version, threads and CPU),
the estimator's settings, the fitbench version and the date.
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
            "method": "analytical estimate (fitbench.hardware.estimator)" if o.kind == "hardware"
            else "measured on this machine (fitbench.measure)",
            "spec": o.spec,
        } for o in offerings],
        "estimator_conditions": est_conditions,
        "measurements": [{"offering": m["offering"], "role": m["role"], "batch": m["batch"],
                          "conditions": (m.get("result") or {}).get("conditions")} for m in measurements or []],
    }
    return jsonable(card)


def card_items(card: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The card as titled sections of (key, value) text pairs, for HTML, Markdown and terminal output."""
    import json

    def text(v: Any) -> str:
        if isinstance(v, (dict, list)):
            return json.dumps(v, sort_keys=True, default=str)
        return "—" if v is None else str(v)

    sections = [("Run", [(k, text(card.get(k))) for k in (
        "fitbench_version", "date", "python", "platform", "precision", "winograd", "metric")])]
    for w in card.get("workloads", []):
        sections.append((f"Model ({w.get('role')}): {w.get('label')}",
                         [(k, text(v)) for k, v in w.items() if k not in ("role",)]))
    for o in card.get("offerings", []):
        pairs = [("kind", text(o.get("kind"))), ("method", text(o.get("method"))), ("source", text(o.get("source"))),
                 ("peak TOPS (claimed)", text(o.get("peak_tops")))]
        spec = o.get("spec") or {}
        if isinstance(spec, dict):
            pairs += [(f"spec.{k}", text(v)) for k, v in spec.items()]
        sections.append((f"Offering: {o.get('name')}", pairs))
    for m in card.get("measurements", []):
        cond = m.get("conditions") or {}
        pairs = [(k, text(v)) for k, v in (cond.items() if isinstance(cond, dict) else [])]
        sections.append((f"Measurement: {m.get('offering')} · {m.get('role')} · batch {m.get('batch')}", pairs))
    if card.get("estimator_conditions"):
        sections.append(("Estimator conditions", [(k, text(v)) for k, v in card["estimator_conditions"].items()]))
    return sections
