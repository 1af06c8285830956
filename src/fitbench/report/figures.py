"""Plotly figures of a comparison, as plain JSON-safe dicts (rendered offline by the HTML report).

Every string that comes from a model or a spec goes through :func:`esc` first: plotly renders a
small HTML subset inside text (``<b>``, ``<a href>``, ``<br>``), so names are entity-escaped and
plotly shows them literally (``&lt;script&gt;`` is drawn as ``<script>``).
"""

from __future__ import annotations

import html
from typing import Any

from ..compare.ranking import fmt_mem, ordinal
from ..compare.result import Comparison
from ..hardware.estimator.bounds import BOUND_COLORS, BOUNDS

PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac",
           "#eeca3b"]


def esc(text: Any) -> str:
    """Entity-escape a model/spec string for plotly text (which understands a little HTML)."""
    return html.escape(str(text), quote=True)


def colors(comp: Comparison) -> dict[str, str]:
    """One colour per offering, the same in every plot."""
    return {o.name: PALETTE[i % len(PALETTE)] for i, o in enumerate(comp.offerings)}


#: why an effective TOPS can exceed the peak: the words every output uses
WINOGRAD_ABOVE_PEAK = ("Winograd does fewer multiplies than the direct-convolution MACs that effective TOPS "
                       "counts")


def plain_log_ticks(axis: dict[str, Any]) -> dict[str, Any]:
    """A log axis labels its ticks as plain numbers with thousands separators ('0.5', '20,500'), never with
    plotly's SI suffixes ('500m' inf/s, '20.5k' ms); only a decade-ticked axis (dtick 1: 1k, 10k, 1M) keeps
    them."""
    if axis.get("type") == "log" and not (axis.get("tickformat") == "~s" and axis.get("dtick") == 1):
        axis = {k: v for k, v in axis.items() if k != "tickformat"}
        axis.update(exponentformat="none", separatethousands=True)
    return axis


def _layout(title: str, **kw: Any) -> dict[str, Any]:
    base = {"title": {"text": esc(title)}, "template": "plotly_white", "height": 420,
            "margin": {"l": 70, "r": 30, "t": 60, "b": 60}, "legend": {"orientation": "v"}}
    base.update({k: plain_log_ticks(v) if k.startswith(("xaxis", "yaxis")) else v for k, v in kw.items()})
    return base


def throughput_vs_batch(comp: Comparison) -> dict[str, Any] | None:
    traces = []
    col = colors(comp)
    for off in (o for o in comp.offerings if o.workload):
        pts = sorted((f.batch, f.throughput_ips) for f in off.workload if f.throughput_ips is not None)
        if not pts:
            continue
        traces.append({"type": "scatter", "mode": "lines+markers", "name": esc(off.name),
                       "x": [p[0] for p in pts], "y": [p[1] for p in pts],
                       "line": {"color": col[off.name], "dash": "dot" if off.kind == "runtime" else "solid"},
                       "hovertemplate": f"{esc(off.name)}<br>batch %{{x}}: %{{y:.4g}} inf/s<extra></extra>"})
    if not traces:
        return None
    return {"data": traces, "layout": _layout(
        f"{'Decode tokens/s' if comp.llm else 'Throughput'} vs batch — {comp.workload['label']} ({comp.precision})",
        xaxis={"title": {"text": "batch"}, "type": "log", "dtick": 0.30103},
        yaxis={"title": {"text": "tokens / s (all sequences)" if comp.llm else "inferences / s"}, "type": "log",
               "tickformat": "~s"})}


def llm_phases(comp: Comparison) -> dict[str, Any] | None:
    """An LLM workload: prefill (TTFT) beside decode (TPOT) per offering, log scale."""
    rows = [e for e in comp.llm if e["points"] and e["points"][0]["ttft_s"] and e["points"][0]["tpot_s"]]
    if not rows:
        return None
    names = [esc(e["hardware"]) for e in rows]
    traces = []
    for key, label, color in (("ttft_s", "prefill: time to first token", "#4c78a8"),
                              ("tpot_s", "decode: time per output token", "#f58518")):
        ys = [e["points"][0][key] * 1e3 for e in rows]
        bounds = [esc(e["points"][0]["prefill_bound" if key == "ttft_s" else "decode_bound"]) for e in rows]
        traces.append({"type": "bar", "name": label, "x": names, "y": ys, "marker": {"color": color},
                       "customdata": bounds,
                       "hovertemplate": "%{x}<br>%{y:.4g} ms, bound: %{customdata}<extra>" + label + "</extra>"})
    e0 = rows[0]
    return {"data": traces, "layout": _layout(
        f"Prefill vs decode — prompt {e0['prompt']}, context {e0['context']}, batch {comp.rank_batch}",
        barmode="group", yaxis={"title": {"text": "ms (log scale)"}, "type": "log"})}


def llm_tokens_vs_context(comp: Comparison) -> dict[str, Any] | None:
    """An LLM workload: decode tokens/s (all sequences of the batch) against the context length per offering,
    log-log; contexts whose KV cache does not fit the offering's memory drawn as open markers."""
    traces = []
    col = colors(comp)
    for e in comp.llm:
        pts = [c for c in e.get("context_curve") or [] if c.get("tokens_per_s")]
        if not pts:
            continue
        name = esc(e["hardware"])
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name,
                       "x": [c["context"] for c in pts], "y": [c["tokens_per_s"] for c in pts],
                       "customdata": [esc(c["decode_bound"]) for c in pts],
                       "marker": {"symbol": ["circle-open" if c["fits_memory"] is False else "circle" for c in pts]},
                       "line": {"color": col.get(e["hardware"], "#888")},
                       "hovertemplate": f"{name}<br>context %{{x}}: %{{y:.4g}} tokens/s, bound %{{customdata}}"
                                        "<extra></extra>"})
    if not traces:
        return None
    e0 = comp.llm[0]
    return {"data": traces, "layout": _layout(
        f"Decode tokens/s vs context — batch {comp.rank_batch}, weights {e0['precision']}, KV cache "
        f"{e0['kv_precision']} (open markers: does not fit memory)",
        xaxis={"title": {"text": "context (tokens in the KV cache)"}, "type": "log", "dtick": 0.30103},
        yaxis={"title": {"text": "tokens / s (all sequences)"}, "type": "log", "tickformat": "~s"})}


def latency_vs_input_size(comp: Comparison) -> dict[str, Any] | None:
    if not comp.input_size_curve:
        return None
    traces = []
    col = colors(comp)
    names = list(dict.fromkeys(c["offering"] for c in comp.input_size_curve))
    for name in names:
        pts = sorted((c["pixels"], c["latency_s"], f"{c['width']}x{c['height']}") for c in comp.input_size_curve
                     if c["offering"] == name and c["latency_s"] is not None)
        traces.append({"type": "scatter", "mode": "lines+markers", "name": esc(name),
                       "x": [p[0] / 1e6 for p in pts], "y": [p[1] * 1e3 for p in pts], "text": [p[2] for p in pts],
                       "line": {"color": col.get(name, "#888")},
                       "hovertemplate": f"{esc(name)}<br>%{{text}}: %{{y:.4g}} ms<extra></extra>"})
    sizes = sorted({(c["pixels"], f"{c['width']}x{c['height']}") for c in comp.input_size_curve})
    return {"data": traces, "layout": _layout(
        f"Latency vs input size — {comp.workload['model']} at batch {comp.rank_batch}",
        xaxis={"title": {"text": "input size (width x height, log scale of pixels)"}, "type": "log",
               "tickvals": [p / 1e6 for p, _ in sizes], "ticktext": [t for _, t in sizes]},
        yaxis={"title": {"text": "latency per batch (ms)"}, "type": "log"})}


def per_layer_demand(comp: Comparison) -> dict[str, Any] | None:
    """MAC layers only (convolutions, GEMMs...): their weights and activations against each SRAM size."""
    layers = [(i, x) for i, x in enumerate(comp.layers) if x.get("macs")]
    if not layers:
        return None
    idx = list(range(len(layers)))
    names = [f"#{i} {esc(x['name'])} ({esc(x['op_type'])})" for i, x in layers]
    traces = [
        {"type": "bar", "name": "weights (bytes)", "x": idx, "y": [x["weight_bytes"] or None for _, x in layers],
         "text": names, "textposition": "none", "marker": {"color": "#e45756"},
         "hovertemplate": "%{text}<br>weights %{y:.4s}B<extra></extra>"},
        {"type": "bar", "name": "activations in+out (bytes)", "x": idx,
         "y": [x["activation_bytes"] or None for _, x in layers], "text": names, "textposition": "none",
         "marker": {"color": "#f58518"}, "hovertemplate": "%{text}<br>activations %{y:.4s}B<extra></extra>"},
        {"type": "scatter", "mode": "markers", "name": "MACs (right axis)", "x": idx, "yaxis": "y2",
         "y": [x["macs"] for _, x in layers], "text": names, "marker": {"color": "#4c78a8", "size": 6},
         "hovertemplate": "%{text}<br>%{y:.4s} MACs<extra></extra>"},
    ]
    col = colors(comp)
    srams = sorted({(o.sram_bytes, o.name) for o in comp.offerings if o.sram_bytes}, key=lambda s: s[0])
    for sram, name in srams:
        traces.append({"type": "scatter", "mode": "lines", "name": esc(f"SRAM {name} ({fmt_mem(sram)})"),
                       "x": [min(idx), max(idx)], "y": [sram, sram],
                       "line": {"dash": "dash", "width": 1.5, "color": col[name]},
                       "hovertemplate": esc(f"SRAM of {name}: {fmt_mem(sram)}") + "<extra></extra>"})
    return {"data": traces, "layout": _layout(
        f"Per-layer demand of the MAC layers — {comp.workload['label']} (per inference, {comp.precision})",
        barmode="group", height=520, bargap=0.15,
        legend={"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 10}},
        xaxis={"title": {"text": "MAC layer (execution order; hover for the name)"}},
        yaxis={"title": {"text": "bytes (dashed: SRAM sizes)"}, "type": "log", "dtick": 1, "tickformat": "~s"},
        yaxis2={"title": {"text": "MACs"}, "type": "log", "overlaying": "y", "side": "right", "showgrid": False,
                "dtick": 1, "tickformat": "~s"})}


def per_layer_bound(comp: Comparison) -> dict[str, Any] | None:
    if not comp.layer_bounds:
        return None
    order = list(BOUNDS)
    codes = {b: i for i, b in enumerate(order)}
    offs = list(comp.layer_bounds)
    n = max(len(v) for v in comp.layer_bounds.values())
    z, hover = [], []
    for name in offs:
        rows = comp.layer_bounds[name]
        z.append([codes.get(r["bound"], None) for r in rows] + [None] * (n - len(rows)))
        hover.append([f"{esc(r['name'])} ({esc(r['op_type'])})<br>{esc(r['bound'])}-bound, "
                      f"{(r['time_s'] or 0) * 1e6:.4g} µs" for r in rows] + [""] * (n - len(rows)))
    # one flat colour band per bound code (z = 0..3)
    last = len(order) - 1
    scale = []
    for i, b in enumerate(order):
        top = (i + 1) / (last + 1) - (1e-3 if i < last else 0)
        scale += [[i / (last + 1), BOUND_COLORS[b]], [top, BOUND_COLORS[b]]]
    trace = {"type": "heatmap", "z": z, "x": list(range(n)), "y": [esc(o) for o in offs], "text": hover,
             "zmin": -0.5, "zmax": last + 0.5, "colorscale": scale, "hovertemplate": "%{y}<br>%{text}<extra></extra>",
             "colorbar": {"tickvals": list(range(len(order))), "ticktext": order,
                          "title": {"text": "bound"}}}
    return {"data": [trace], "layout": _layout(
        f"Per-layer bound on each offering — {comp.workload['label']} at batch {comp.rank_batch}",
        height=max(260, 80 + 40 * len(offs)), xaxis={"title": {"text": "layer (execution order)"}},
        yaxis={"automargin": True})}


def roofline(comp: Comparison) -> dict[str, Any] | None:
    """Attained TOPS vs operational intensity (ops per DRAM byte), one roof per offering."""
    traces = []
    hw = [o for o in comp.offerings if o.kind == "hardware" and o.peak_tops]
    if not hw:
        return None
    pts_all = []
    col = colors(comp)
    for off in hw:
        color = col[off.name]
        for which, fb, symbol in (("workload", comp.rank_batch, "circle"),
                                  ("baseline", comp.baseline_batch, "diamond")):
            f = off.at(which, fb)
            info = getattr(comp, which)
            if f is None or f.effective_tops is None:
                continue
            ops = 2 * (info.get("macs") or 0) / max(info.get("profile_batch") or 1, 1)
            dram = f.dram_bytes_per_inference
            intensity = ops / dram if dram else None
            pts_all.append((off, which, f, intensity, color, symbol))
    finite = [p[3] for p in pts_all if p[3]]
    cap = max(finite) * 10 if finite else 1e4
    lo = min(finite) / 10 if finite else 1.0
    for off in hw:
        if off.dram_bandwidth:
            ridge = off.peak_tops * 1e12 / off.dram_bandwidth
            xs = [min(lo, ridge / 10), ridge, max(cap, ridge * 10)]
            ys = [min(off.peak_tops, off.dram_bandwidth * x / 1e12) for x in xs]
        else:  # no DRAM: everything on chip, the roof is flat at the peak
            xs, ys = [lo, cap], [off.peak_tops, off.peak_tops]
        traces.append({"type": "scatter", "mode": "lines", "name": esc(f"roof {off.name}"), "x": xs, "y": ys,
                       "line": {"color": col[off.name], "width": 1.5},
                       "hovertemplate": esc(off.name) + "<br>%{x:.3g} ops/B: %{y:.3g} TOPS<extra></extra>"})
    for off, which, f, intensity, color, symbol in pts_all:
        x = intensity if intensity else cap
        label = getattr(comp, which)["label"]
        traces.append({"type": "scatter", "mode": "markers", "showlegend": False,
                       "name": esc(f"{off.name}: {label}"), "x": [x], "y": [f.effective_tops],
                       "marker": {"color": color, "size": 11, "symbol": symbol, "line": {"width": 1, "color": "#222"}},
                       "hovertemplate": esc(f"{off.name} · {label} · batch {f.batch}") +
                       ("" if intensity else " (no DRAM traffic)") +
                       "<br>%{x:.3g} ops/B, %{y:.3g} TOPS" +
                       (esc(f" (above its roof: {WINOGRAD_ABOVE_PEAK})")
                        if f.peak_tops and f.effective_tops > f.peak_tops else "") + "<extra></extra>"})
    return {"data": traces, "layout": _layout(
        "Roofline: attained vs claimed — ● workload, ◆ baseline",
        height=460, xaxis={"title": {"text": "operational intensity (ops per DRAM byte)"}, "type": "log"},
        yaxis={"title": {"text": "TOPS (1 MAC = 2 ops)"}, "type": "log"})}


def rank_slope(comp: Comparison) -> dict[str, Any] | None:
    """Baseline rank -> workload rank per offering (lines that cross are the flips)."""
    traces = []
    rows = [r for r in comp.rows if r.baseline_rank is not None and r.workload_rank is not None]
    if len(rows) < 2:
        return None
    cols = ["TOPS alone", f"{comp.baseline['label']} b{comp.baseline_batch}",
            f"{comp.workload['label']} b{comp.rank_batch}"]
    col = colors(comp)
    for r in rows:
        ys = [r.tops_rank, r.baseline_rank, r.workload_rank]
        traces.append({"type": "scatter", "mode": "lines+markers+text", "name": esc(r.offering),
                       "x": [esc(c) for c in cols], "y": ys, "text": [ordinal(y) if y else "" for y in ys],
                       "textposition": "top center", "line": {"color": col[r.offering], "width": 3},
                       "hovertemplate": esc(r.offering) + "<br>%{x}: %{text}<extra></extra>"})
    return {"data": traces, "layout": _layout(
        "Rankings: what TOPS and the usual benchmark tell you vs your workload", height=400,
        yaxis={"title": {"text": "rank (1 = best)"}, "autorange": "reversed", "dtick": 1})}


def latency_box(name: str, samples_ms: list[float] | None, stats: dict[str, Any] | None) -> dict[str, Any] | None:
    """A box of per-query latencies (ms); from the stored quartiles when the samples were not kept."""
    if samples_ms:
        return {"type": "box", "name": esc(name), "y": list(samples_ms), "boxpoints": False, "boxmean": True}
    st = stats or {}
    keys = ("p25_ms", "p50_ms", "p75_ms", "min_ms", "max_ms")
    if not all(isinstance(st.get(k), (int, float)) for k in keys):
        return None
    box = {"type": "box", "name": esc(name), "x": [esc(name)], "q1": [st["p25_ms"]], "median": [st["p50_ms"]],
           "q3": [st["p75_ms"]], "lowerfence": [st["min_ms"]], "upperfence": [st["max_ms"]]}
    if isinstance(st.get("mean_ms"), (int, float)):
        box["mean"] = [st["mean_ms"]]
    return box


def latency_distributions(comp: Comparison) -> dict[str, Any] | None:
    traces = []
    for m in comp.measurements:
        res = m.get("result") or {}
        box = latency_box(f"{m['offering']} · {m['label']} · b{m['batch']}",
                          [x * 1e3 for x in m.get("latencies_s") or []], res.get("latency"))
        if box is not None:
            traces.append(box)
    if not traces:
        return None
    return {"data": traces, "layout": _layout("Measured latency distributions (per query)",
                                              yaxis={"title": {"text": "latency (ms, log scale)"}, "type": "log"},
                                              showlegend=False)}


def all_figures(comp: Comparison) -> list[tuple[str, str, dict[str, Any]]]:
    """``(id, heading, figure)`` for every figure this comparison can draw."""
    out = []
    for fid, heading, fn in (
        ("ranks", "Rankings side by side", rank_slope),
        ("llm-phases", "Prefill (TTFT) vs decode (TPOT) per offering", llm_phases),
        ("llm-context", "Decode tokens/s vs context length per offering", llm_tokens_vs_context),
        ("throughput", "Throughput vs batch", throughput_vs_batch),
        ("input-size", "Latency vs input size", latency_vs_input_size),
        ("layers", "Per-layer MACs, weights and activations against SRAM sizes", per_layer_demand),
        ("bounds", "Per-layer bound on each offering", per_layer_bound),
        ("roofline", "Roofline", roofline),
        ("latency", "Measured latency distributions", latency_distributions),
    ):
        fig = fn(comp)
        if fig is not None:
            out.append((fid, heading, fig))
    return out
