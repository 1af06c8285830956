"""The "Meets your requirements?" part of every output: terminal table, Markdown, CSV rows and plotly figures.

Figures (plain JSON-safe dicts, names entity-escaped like :mod:`.figures`): one *pipeline latency vs batch*
plot per offering (the budget drawn as a horizontal line named ``latency budget``, the chosen batch marked),
*power vs load* and *chips vs load* over 0 to 2x the required load (the required load a vertical line, the
power budget / chip limit horizontal lines).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..compare.requirements import RequirementsVerdict, chips_for
from ..compare.result import Comparison
from .figures import PALETTE, _layout, esc

VERDICT_COLORS = {"meets": "#2e7d32", "fails": "#c62828", "unknown": "#9e9e9e"}


def _colors(req: RequirementsVerdict) -> dict[str, str]:
    return {v.offering: PALETTE[i % len(PALETTE)] for i, v in enumerate(req.verdicts)}


def headline(req: RequirementsVerdict) -> str:
    """One sentence: who wins, by what objective, or that nobody meets the requirements."""
    app = req.application
    n_meet = sum(1 for v in req.verdicts if v.status == "meets")
    if req.winner is None:
        return (f"No offering meets every requirement ({n_meet} of {len(req.verdicts)} meet them; each failure is "
                "listed with its margin).")
    v = req.verdict(req.winner)
    return (f"{req.winner} meets the requirements at the lowest {app.objective}: batch {v.batch}, {v.chips} "
            f"chip{'s' if v.chips != 1 else ''}" + (f", {v.power_w:.3g} W" if v.power_w is not None else "")
            + (f", {v.price_usd:,.0f} USD" if v.price_usd is not None else "")
            + f" ({n_meet} of {len(req.verdicts)} offerings meet them).")


def print_requirements(req: RequirementsVerdict, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    app = req.application
    t = Table(title=f"Meets your requirements? {escape(app.name)}: {escape(app.describe())} "
                    f"(objective: lowest {app.objective})")
    head, rows = req.rows()
    keep = head[:-1]  # failures are printed as sentences below
    for h in keep:
        t.add_column(escape(h), justify="left" if h in ("offering", "verdict", "power from") else "right",
                     no_wrap=h == "offering")
    for row in rows:
        t.add_row(*[escape(c) for c in row[:-1]])
    console.print(t)
    console.print(f"[bold]{escape(headline(req))}[/bold]")
    for v in req.verdicts:
        if v.status != "meets":
            console.print(f"  • {escape(v.sentence)}")
    for p in req.picks:
        console.print(f"  → {escape(p.sentence)}")
    for r in req.runtime_checks:
        console.print(f"  ⏱ {escape(r.get('sentence', ''))}")
    console.print(f"[dim]queueing model: {escape(req.queueing)}[/dim]")
    for n in req.notes:
        console.print(f"[dim]{escape(n)}[/dim]")


def _md(text: Any) -> str:
    import html

    return html.escape(str(text)).replace("|", "\\|").replace("\n", " ")


def markdown_lines(req: RequirementsVerdict) -> list[str]:
    app = req.application
    head, rows = req.rows()
    lines = ["## Meets your requirements?", "", f"**{_md(app.name)}**: {_md(app.describe())}; objective: lowest "
             f"{app.objective}.", "", f"**{_md(headline(req))}**", "",
             "| " + " | ".join(_md(h) for h in head) + " |",
             "|" + "|".join("---" if h in ("offering", "verdict", "power from", "fails") else "---:" for h in head)
             + "|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    lines += [""] + [f"- {_md(p.sentence)}" for p in req.picks]
    lines += [f"- {_md(r.get('sentence', ''))}" for r in req.runtime_checks]
    lines += ["", f"_Queueing model: {_md(req.queueing)}._"] + [f"\n_{_md(n)}_" for n in req.notes] + [""]
    return lines


def csv_rows(req: RequirementsVerdict) -> list[dict[str, Any]]:
    """One row per offering (the verdict table with numbers, not text)."""
    out = []
    for v in req.verdicts:
        row = {"offering": v.offering, "kind": v.kind, "verdict": v.status, "rank": v.rank, "batch": v.batch,
               "chip_latency_s": v.chip_latency_s, "wait_s": v.wait_s, "pipeline_latency_s": v.pipeline_latency_s,
               "rate_per_chip_ips": v.rate_per_chip_ips, "load_ips": req.load_ips, "chips": v.chips,
               "power_w": v.power_w, "power_method": v.power_method, "inferences_per_joule": v.inferences_per_joule,
               "price_usd": v.price_usd, "latency_method": v.method}
        for c in v.checks:
            row[f"{c.requirement}_status"] = c.status
            row[f"{c.requirement}_margin"] = c.margin
        row["sentence"] = v.sentence
        out.append(row)
    return out


def write_csv(req: RequirementsVerdict, path: Path) -> Path:
    import pandas as pd

    pd.DataFrame(csv_rows(req)).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ figures

def latency_vs_batch(req: RequirementsVerdict, name: str, color: str) -> dict[str, Any] | None:
    v = req.verdict(name)
    if not v.curve:
        return None
    app = req.application
    xs = [p.batch for p in v.curve]
    budget_ms = app.latency_budget_s * 1e3
    traces = [
        {"type": "scatter", "mode": "lines+markers", "name": "pipeline latency", "x": xs,
         "y": [p.pipeline_s * 1e3 for p in v.curve], "line": {"color": color},
         "hovertemplate": "batch %{x}: %{y:.4g} ms<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": "on the chip", "x": xs, "y": [p.latency_s * 1e3 for p in v.curve],
         "line": {"color": color, "dash": "dot", "width": 1.5},
         "hovertemplate": "batch %{x}: %{y:.4g} ms on the chip<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": f"latency budget ({budget_ms:.4g} ms)", "x": [min(xs), max(xs)],
         "y": [budget_ms, budget_ms], "line": {"color": "#c62828", "dash": "dash", "width": 2},
         "hovertemplate": f"budget {budget_ms:.4g} ms<extra></extra>"},
    ]
    chosen = next((p for p in v.curve if p.batch == v.batch), None)
    if chosen is not None:
        ok = v.check("latency") is not None and v.check("latency").status == "met"
        traces.append({"type": "scatter", "mode": "markers+text", "name": f"chosen batch {chosen.batch}",
                       "x": [chosen.batch], "y": [chosen.pipeline_s * 1e3], "text": [f"batch {chosen.batch}"],
                       "textposition": "top center",
                       "marker": {"symbol": "star", "size": 16, "color": VERDICT_COLORS["meets" if ok else "fails"]},
                       "hovertemplate": "chosen batch %{x}: %{y:.4g} ms<extra></extra>"})
    return {"data": traces, "layout": _layout(
        f"{name}: pipeline latency vs batch ({v.status})", height=340,
        xaxis={"title": {"text": "batch (frames per call)"}, "dtick": 1 if len(xs) <= 16 else None},
        yaxis={"title": {"text": f"p{app.percentile:g} latency (ms)"}, "rangemode": "tozero"})}


def _loads(req: RequirementsVerdict) -> list[float]:
    top = 2 * req.load_ips
    return [top * i / 40 for i in range(1, 41)]


def power_vs_load(req: RequirementsVerdict) -> dict[str, Any] | None:
    col = _colors(req)
    loads = _loads(req)
    traces = []
    for v in req.verdicts:
        if v.power_w is None:
            continue
        traces.append({"type": "scatter", "mode": "lines", "name": esc(f"{v.offering} ({v.power_method})"),
                       "x": loads, "y": [v.power_at(x) for x in loads], "line": {"color": col[v.offering],
                                                                                "shape": "hv"},
                       "hovertemplate": f"{esc(v.offering)}<br>%{{x:.4g}} inf/s: %{{y:.4g}} W<extra></extra>"})
    if not traces:
        return None
    app = req.application
    traces.append(_vline(req.load_ips, traces, "required load"))
    if app.power_w is not None:
        traces.append(_limit_line(f"power budget ({app.power_w:g} W)", loads, app.power_w))
    return {"data": traces, "layout": _layout(
        "Power vs load (at each offering's chosen batch)", height=380,
        xaxis={"title": {"text": "load (inferences / s)"}},
        yaxis={"title": {"text": "power (W)"}, "rangemode": "tozero"})}


def chips_vs_load(req: RequirementsVerdict) -> dict[str, Any] | None:
    col = _colors(req)
    loads = _loads(req)
    traces = []
    for v in req.verdicts:
        if not v.rate_per_chip_ips:
            continue
        traces.append({"type": "scatter", "mode": "lines", "name": esc(v.offering), "x": loads,
                       "y": [chips_for(x, v.rate_per_chip_ips) for x in loads],
                       "line": {"color": col[v.offering], "shape": "hv"},
                       "hovertemplate": f"{esc(v.offering)}<br>%{{x:.4g}} inf/s: %{{y}} chips<extra></extra>"})
    if not traces:
        return None
    app = req.application
    traces.append(_vline(req.load_ips, traces, "required load"))
    if app.max_chips is not None:
        traces.append(_limit_line(f"chip limit ({app.max_chips})", loads, app.max_chips))
    return {"data": traces, "layout": _layout(
        "Chips needed vs load (at each offering's chosen batch)", height=380,
        xaxis={"title": {"text": "load (inferences / s)"}},
        yaxis={"title": {"text": "chips (log scale)"}, "type": "log", "dtick": 1})}


def _limit_line(name: str, loads: list[float], y: float) -> dict[str, Any]:
    """A requirement's horizontal limit (power budget, chip limit) across the plotted loads."""
    return {"type": "scatter", "mode": "lines", "name": name, "x": [loads[0], loads[-1]], "y": [y, y],
            "line": {"color": "#c62828", "dash": "dash"}, "hoverinfo": "skip"}


def _vline(x: float, traces: list[dict[str, Any]], name: str) -> dict[str, Any]:
    ys = [y for t in traces for y in t["y"] if y]
    return {"type": "scatter", "mode": "lines", "name": f"{name} ({x:.4g} inf/s)", "x": [x, x],
            "y": [min(ys), max(ys)], "line": {"color": "#555", "dash": "dot"}, "hoverinfo": "skip"}


def requirement_figures(comp: Comparison) -> list[tuple[str, str, dict[str, Any]]]:
    """``(id, heading, figure)`` of the requirements section (empty without an application)."""
    req = comp.requirements
    if req is None:
        return []
    out = []
    col = _colors(req)
    for i, v in enumerate(req.verdicts):
        fig = latency_vs_batch(req, v.offering, col[v.offering])
        if fig is not None:
            out.append((f"req-latency-{i}", f"{v.offering}: latency vs batch", fig))
    for fid, heading, fn in (("req-power", "Power vs load", power_vs_load),
                             ("req-chips", "Chips vs load", chips_vs_load)):
        fig = fn(req)
        if fig is not None:
            out.append((fid, heading, fig))
    return out


def write_pngs(comp: Comparison, folder: Path, stem: str) -> dict[str, Path]:
    """Markdown's plots of the section (matplotlib): latency vs batch of every offering, chips vs load."""
    req = comp.requirements
    if req is None:
        return {}
    from .plots import _plt, _save

    plt = _plt()
    col = _colors(req)
    out = {}
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for v in req.verdicts:
        if v.curve:
            ax.plot([p.batch for p in v.curve], [p.pipeline_s * 1e3 for p in v.curve], marker="o",
                    color=col[v.offering], label=v.offering)
            c = next((p for p in v.curve if p.batch == v.batch), None)
            if c is not None:
                ax.plot([c.batch], [c.pipeline_s * 1e3], marker="*", markersize=14, color=col[v.offering])
    ax.axhline(req.application.latency_budget_s * 1e3, color="#c62828", linestyle="--", label="latency budget")
    ax.set_xlabel("batch")
    ax.set_ylabel(f"p{req.application.percentile:g} pipeline latency (ms)")
    ax.set_yscale("log")
    ax.set_title("Pipeline latency vs batch (star: chosen batch)")
    ax.legend(fontsize=7)
    out["requirements: latency vs batch"] = _save(fig, folder / f"{stem}-req-latency.png")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    loads = _loads(req)
    for v in req.verdicts:
        if v.rate_per_chip_ips:
            ax.step(loads, [chips_for(x, v.rate_per_chip_ips) for x in loads], where="post", color=col[v.offering],
                    label=v.offering)
    ax.axvline(req.load_ips, color="#555", linestyle=":", label="required load")
    if req.application.max_chips is not None:
        ax.axhline(req.application.max_chips, color="#c62828", linestyle="--", label="chip limit")
    ax.set_xlabel("load (inferences / s)")
    ax.set_ylabel("chips")
    ax.set_yscale("log")
    ax.set_title("Chips needed vs load")
    ax.legend(fontsize=7)
    out["requirements: chips vs load"] = _save(fig, folder / f"{stem}-req-chips.png")
    return out
