"""Reports of stored results: a stored comparison is rebuilt exactly; any other sweep gets a generic report.

The generic report shows every stored point (kind, model, input size, hardware or runtime, batch, precision,
status, headline figures), throughput vs batch per model x input size x precision x offering, measured latency
distributions where per-query samples were kept, and each point's full conditions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compare.result import Comparison
from ..errors import FitbenchError
from .figures import PALETTE, esc, latency_box, plain_log_ticks
from .static import report_suffix


@dataclass
class SweepData:
    sweep_id: str
    info: dict[str, Any]
    records: list[Any] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        return [headline(r) for r in self.records]

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.rows())


def load_sweep(store: Any, sweep_id: str) -> Comparison | SweepData:
    """The stored comparison of ``sweep_id`` when there is one, else every record of the sweep."""
    records = store.query(sweep_id=sweep_id)
    if not records:
        known = ", ".join(s["sweep_id"] for s in store.list_sweeps()[:10]) or "none"
        raise FitbenchError(f"no results stored for sweep {sweep_id!r} in {store.location} (sweeps: {known})")
    for r in records:
        if r.kind == "comparison" and r.status == "ok":
            comp = Comparison.from_dict(r.metrics)
            comp.sweep_id = sweep_id
            return comp
    info = next((s for s in store.list_sweeps() if s["sweep_id"] == sweep_id), {"sweep_id": sweep_id})
    return SweepData(sweep_id=sweep_id, info=info, records=records)


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        cur = d
        for part in k.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is not None:
            return cur
    return None


def headline(r: Any) -> dict[str, Any]:
    m = r.metrics or {}
    pts = m.get("points")
    if isinstance(pts, list) and pts:  # a whole Estimate (sweep estimate points): take the point's batch
        m = next((p for p in pts if isinstance(p, dict) and p.get("batch") == r.batch), pts[0])
    lat_s = _get(m, "latency_s")
    if lat_s is None and _get(m, "latency.p50_ms") is not None:
        lat_s = float(_get(m, "latency.p50_ms")) / 1e3
    thr = _get(m, "throughput_ips", "throughput")
    return {"id": r.id, "kind": r.kind, "model": r.model, "input": input_label(r.conditions),
            "hardware": r.hardware, "runtime": r.runtime,
            "batch": r.batch, "precision": r.precision, "status": r.status, "cause": r.cause,
            "latency_s": lat_s if isinstance(lat_s, (int, float)) else None,
            "throughput_ips": thr if isinstance(thr, (int, float)) else None,
            "macs": _get(m, "macs"), "point_key": r.point_key}


def input_label(conditions: Any) -> str:
    """The input size of one sample (the batch has its own column): ``{"input": [1, 3, 1088, 1920]}`` ->
    ``"3x1088x1920"``; several inputs are named: ``"input_ids 384, token_type_ids 384"``."""
    shapes = conditions.get("input_shapes") if isinstance(conditions, dict) else None
    if not isinstance(shapes, dict) or not shapes:
        return ""

    def per_sample(dims: Any) -> str:
        return "x".join(str(d) for d in list(dims)[1:]) if isinstance(dims, (list, tuple)) and dims else "?"

    if len(shapes) == 1:
        return per_sample(next(iter(shapes.values())))
    return ", ".join(f"{name} {per_sample(dims)}" for name, dims in shapes.items())


def sweep_figures(data: SweepData) -> list[tuple[str, str, dict[str, Any]]]:
    figs = []
    # one line per model x input size x precision x offering: points that differ in more than the batch
    # never share a line (a 416x416 and a 1920x1088 YOLOv3 are two workloads)
    series: dict[tuple[str, ...], list[tuple[int, float]]] = {}
    for row in data.rows():
        if row["status"] == "ok" and row["throughput_ips"] and row["batch"] and row["kind"] in ("estimate", "measure"):
            who = row["hardware"] or row["runtime"] or row["kind"]
            key = (row["model"], row["input"], row["precision"] or "", who)
            series.setdefault(key, []).append((row["batch"], row["throughput_ips"]))
    if series:
        traces = []
        batches = sorted({b for pts in series.values() for b, _ in pts})
        for i, (key, pts) in enumerate(sorted(series.items())):
            pts.sort()
            traces.append({"type": "scatter", "mode": "lines+markers", "name": esc(" · ".join(k for k in key if k)),
                           "x": [p[0] for p in pts], "y": [p[1] for p in pts],
                           "line": {"color": PALETTE[i % len(PALETTE)]}})
        figs.append(("throughput", "Throughput vs batch", {"data": traces, "layout": {
            "template": "plotly_white", "height": 440, "title": {"text": "Throughput vs batch"},
            "xaxis": plain_log_ticks({"title": {"text": "batch"}, "type": "log", "tickvals": batches}),
            "yaxis": plain_log_ticks({"title": {"text": "inferences / s"}, "type": "log"})}}))
    boxes = []
    for r in data.records:
        m = r.metrics or {}
        if r.kind != "measure" or r.status != "ok":
            continue
        lat = m.get("latencies_ms") if isinstance(m.get("latencies_ms"), list) else None
        box = latency_box(f"{r.model} · {r.runtime} · b{r.batch}", lat, m.get("latency"))
        if box is not None:
            boxes.append(box)
    if boxes:
        figs.append(("latency", "Measured latency distributions", {"data": boxes, "layout": {
            "template": "plotly_white", "height": 420, "title": {"text": "Measured latency per query"},
            "yaxis": plain_log_ticks({"title": {"text": "latency (ms, log scale)"}, "type": "log"}),
            "showlegend": False}}))
    return figs


def render_sweep_html(data: SweepData) -> str:
    from .html import _env, _plotlyjs, script_json

    figs = sweep_figures(data)
    tmpl = _env().get_template("sweep.html.j2")
    conditions = [(f"#{r.id} {r.kind} · {r.model} · {r.hardware or r.runtime or ''} · b{r.batch}",
                   json.dumps(r.conditions, indent=1, sort_keys=True, default=str)) for r in data.records]
    return tmpl.render(title=f"fitbench sweep {data.sweep_id}", data=data, rows=data.rows(),
                       figures=[(fid, h) for fid, h, _ in figs], figures_json=script_json({f: g for f, _, g in figs}),
                       plotlyjs=_plotlyjs(), conditions=conditions)


def write_sweep_outputs(data: SweepData, path: str | Path) -> list[Path]:
    """Write the sweep report in the format its suffix names: .html, .md, .csv or .json."""
    from ..errors import writing

    path = Path(path)
    suffix = report_suffix(path)
    with writing(path):
        _write_sweep(data, path, suffix)
    return [path]


def _write_sweep(data: SweepData, path: Path, suffix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".html", ".htm"):
        path.write_text(render_sweep_html(data), encoding="utf-8")
    elif suffix == ".csv":
        data.to_dataframe().to_csv(path, index=False)
    elif suffix == ".json":
        path.write_text(json.dumps({"sweep_id": data.sweep_id, "info": data.info,
                                    "records": [r.to_dict() for r in data.records]}, indent=2, default=str))
    elif suffix == ".md":
        rows = data.rows()
        cols = ["kind", "model", "input", "hardware", "runtime", "batch", "precision", "status", "latency_s",
                "throughput_ips"]

        from .static import md_escape

        lines = [f"# fitbench sweep {md_escape(data.sweep_id)}", "", "| " + " | ".join(cols) + " |",
                 "|" + "|".join("---" for _ in cols) + "|"]
        from ..compare.ranking import fmt_time
        from .html import fmt_num

        def cell(r: dict[str, Any], c: str) -> str:
            v = r[c]
            text = fmt_time(v) if c == "latency_s" and v is not None else fmt_num(v) if c == "throughput_ips" else (
                "—" if v is None else str(v))
            if c == "status" and r.get("cause"):  # why a point is failed or invalid, as the HTML report says
                text += f": {r['cause']}"
            return md_escape(text)

        lines += ["| " + " | ".join(cell(r, c) for c in cols) + " |" for r in rows]
        path.write_text("\n".join(lines) + "\n")
