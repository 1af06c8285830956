"""The benchmark card as text sections (HTML, Markdown and terminal output render these).

The card itself is built with the comparison: :func:`fitbench.compare.card.build_card`.
"""

from __future__ import annotations

from typing import Any


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
