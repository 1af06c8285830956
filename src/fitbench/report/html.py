"""One self-contained HTML file: summary, rankings, plots (plotly, JavaScript inlined) and the card.

Works offline: plotly.js is embedded (``plotly.offline.get_plotlyjs()``), no CDN, no fonts to fetch.
Every string from a model or a spec is HTML-escaped by jinja2's autoescape; figure JSON inside
``<script>`` has ``<``, ``>`` and ``&`` written as ``\\u003c``/``\\u003e``/``\\u0026`` so no name can
close the script element, and names shown inside plots are entity-escaped (see ``figures.esc``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .. import format as fmt
from ..compare.ranking import fmt_bytes, fmt_pct, fmt_time, ordinal
from ..compare.result import Comparison
from .card import card_items
from .figures import all_figures
from .static import above_peak_note


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def script_json(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(_clean(obj), separators=(",", ":"), default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fitbench.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2", "html.j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update({
        "bytes": fmt_bytes, "time": fmt_time, "pct": fmt_pct, "ordinal": lambda n: "—" if n is None else ordinal(n),
        "num": fmt_num,
        "macs": fmt_macs,
        "tops": lambda x: fmt.UNKNOWN if x is None else f"{x:.3g}",
    })
    env.globals["ms"] = lambda v: "—" if v is None else fmt_time(float(v) / 1e3)
    return env


fmt_num = fmt.number  # plain figures: thousands separated from 1,000 up
fmt_macs = fmt.count  # counts with decimal prefixes


def layer_bound_lookup(comp: Comparison) -> dict[str, dict[str, str]]:
    """``{offering: {profile layer name: bound}}``; fused layers take the bound of the layer they join."""
    out: dict[str, dict[str, str]] = {}
    for off, rows in comp.layer_bounds.items():
        m: dict[str, str] = {}
        for r in rows:
            m[r["name"]] = r["bound"]
            for name in r.get("fused") or []:
                m.setdefault(name, r["bound"])
        out[off] = m
    return out


def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def top_layers(comp: Comparison, n: int = 25) -> list[dict[str, Any]]:
    """The ``n`` costliest layers by MACs, with their bound on each offering."""
    idx = sorted(range(len(comp.layers)), key=lambda i: -(comp.layers[i]["macs"] or 0))[:n]
    lookup = layer_bound_lookup(comp)
    out = []
    for i in sorted(idx):
        lay = dict(comp.layers[i])
        lay["index"] = i
        lay["bounds"] = {name: lookup[name].get(lay["name"]) for name in comp.layer_bounds}
        out.append(lay)
    return out


def render_html(comp: Comparison, title: str | None = None) -> str:
    """The report as one HTML string."""
    from ..measure.validity import validity_of
    from .layers import html_sections
    from .requirements import headline, requirement_figures

    figs = all_figures(comp)
    rfigs = requirement_figures(comp)
    tmpl = _env().get_template("report.html.j2")
    best_w = next((r for r in comp.rows if r.workload_rank == 1), None)
    best_b = next((r for r in sorted(comp.rows, key=lambda r: r.baseline_rank or 10**9)
                   if r.baseline_rank == 1), None)
    best_t = next((r for r in sorted(comp.rows, key=lambda r: r.tops_rank or 10**9) if r.tops_rank == 1), None)
    return tmpl.render(
        title=title or f"fitbench: {comp.workload['label']} vs {comp.baseline['label']}",
        comp=comp, figures=[(fid, heading) for fid, heading, _ in figs],
        figures_json=script_json({fid: fig for fid, _, fig in figs + rfigs}),
        req=comp.requirements, req_figures=[(fid, heading) for fid, heading, _ in rfigs],
        req_headline=headline(comp.requirements) if comp.requirements is not None else "",
        plotlyjs=_plotlyjs(), card=card_items(comp.card), top_layers=top_layers(comp),
        layer_sections=html_sections(comp),
        best_w=best_w, best_b=best_b, best_t=best_t,
        offerings={o.name: o for o in comp.offerings}, above_peak_note=above_peak_note(comp),
        validity=validity_of,
    )


def write_html(comp: Comparison, path: str | Path, title: str | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(comp, title), encoding="utf-8")
    return path
