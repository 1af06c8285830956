"""Per-layer measured vs estimated (:mod:`fitbench.compare.layers`) as text: a rich table with the largest misses
(``run --layers``, ``compare --measure``), Markdown lines and HTML rows for the report."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..format import cell, label

#: rows shown by default (the JSON output has all of them)
TOP = 15
MISSES = 5


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _ratio(v: float | None) -> str:
    return "—" if v is None else f"x{v:.2f}"


def render_comparison(cmp, console, top: int = TOP, misses: int = MISSES) -> None:
    """Measured vs estimated per layer (top by measured time) and the largest misses."""
    table = Table(title=f"Per layer: measured ({cell(cmp.runtime)}) vs estimated on {cell(cmp.spec)}, "
                        f"batch {cmp.batch} "
                        "(ms per call; ratio = measured / estimated)")
    for col in ("layer", "op", "measured ms", "share", "estimated ms", "ratio", "bound", "layers in row"):
        table.add_column(col, overflow="fold")
    total = cmp.measured_total_ms or 1.0
    for r in cmp.top(top):
        table.add_row(label(r.name), cell(r.op_type), _ms(r.measured_ms), f"{(r.measured_ms or 0) / total:.1%}",
                      _ms(r.estimated_ms), _ratio(r.ratio), r.bound, str(len(r.members)) if r.members else r.kind)
    console.print(table)
    e2e = f"; timed p50 {cmp.end_to_end_ms:.3f} ms" if cmp.end_to_end_ms else ""
    if cmp.profiled_run_ms:  # the same runs as the layers: a check independent of load drifting between passes
        e2e += f", profiled runs {cmp.profiled_run_ms:.3f} ms"
    est = f" (estimated latency {cmp.estimated_latency_ms:.3f} ms with per-call overhead)" \
        if cmp.estimated_latency_ms else ""
    console.print(f"sum over layers: measured {cmp.measured_total_ms:.3f} ms{e2e}; estimated "
                  f"{cmp.estimated_total_ms:.3f} ms{est}")
    worst = cmp.misses(misses)
    if worst:
        console.print("largest misses: " + "; ".join(f"{label(r.name)} ({cell(r.op_type)}) {_ratio(r.ratio)}: "
                                                      f"measured {_ms(r.measured_ms)} vs estimated "
                                                      f"{_ms(r.estimated_ms)} ms" for r in worst))
    for n in cmp.notes:
        console.print(f"note: {cell(n)}")


def misses_sentence(cmp, n: int = MISSES) -> str:
    return "; ".join(f"{r.name} ({r.op_type}) {_ratio(r.ratio)}: measured {_ms(r.measured_ms)} vs estimated "
                     f"{_ms(r.estimated_ms)} ms" for r in cmp.misses(n))


def comparisons(comp) -> list[tuple[str, Any]]:
    """(offering, LayerComparison) for each stored per-layer comparison of a :class:`Comparison`."""
    from ..compare.layers import from_dict

    return [(d.get("offering", ""), from_dict(d)) for d in comp.layer_comparisons]


def print_layer_comparisons(comp, console) -> None:
    for off, cmp in comparisons(comp):
        console.print(f"[bold]{cell(off)}[/bold]: per layer, measured vs estimated on {cell(cmp.spec)}")
        render_comparison(cmp, console)


def markdown_lines(comp, md_escape) -> list[str]:
    lines: list[str] = []
    for off, cmp in comparisons(comp):
        lines += ["", f"## Per layer: {md_escape(off)} measured vs estimated on {md_escape(cmp.spec)}", "",
                  "| layer | op | measured ms | estimated ms | ratio | bound |", "|---|---|---:|---:|---:|---|"]
        lines += [f"| {md_escape(r.name)} | {md_escape(r.op_type)} | {_ms(r.measured_ms)} | {_ms(r.estimated_ms)} | "
                  f"{_ratio(r.ratio)} | {r.bound} |" for r in cmp.top(TOP)]
        worst = misses_sentence(cmp)
        if worst:
            lines += ["", f"Largest misses: {md_escape(worst)}"]
    return lines


def html_sections(comp) -> list[dict[str, Any]]:
    """Per comparison: heading, summary, rows (top by measured time) and misses, as plain strings for the template."""
    out = []
    for off, cmp in comparisons(comp):
        out.append({
            "heading": f"{off}: per layer, measured vs estimated on {cmp.spec} (batch {cmp.batch}, ms per call)",
            "summary": (f"sum over layers: measured {cmp.measured_total_ms:.3f} ms"
                        + (f" (timed p50 {cmp.end_to_end_ms:.3f} ms)" if cmp.end_to_end_ms else "")
                        + f"; estimated {cmp.estimated_total_ms:.3f} ms"),
            "rows": [{"name": r.name, "op": r.op_type, "measured": _ms(r.measured_ms), "estimated": _ms(r.estimated_ms),
                      "ratio": _ratio(r.ratio), "bound": r.bound} for r in cmp.top(TOP)],
            "misses": misses_sentence(cmp), "notes": list(cmp.notes)})
    return out
