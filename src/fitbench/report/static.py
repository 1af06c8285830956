"""Static outputs of a comparison: rich tables for the terminal, Markdown with PNG plots, CSV and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import format as fmt
from ..compare.ranking import fmt_bytes, fmt_pct, fmt_time, ordinal
from ..compare.result import Comparison
from ..store.record import SUPPLIER_VERIFIED
from .card import card_items
from .figures import WINOGRAD_ABOVE_PEAK


def _o(n: int | None) -> str:
    return "—" if n is None else ordinal(n)


def _n(x: float | None, d: int = 4) -> str:
    return fmt.number(x, d)


def ranking_rows(comp: Comparison) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the side-by-side ranking table (plain text cells)."""
    head = ["offering", "TOPS tells you", f"{comp.baseline['label']} b{comp.baseline_batch}",
            f"{comp.workload['label']} b{comp.rank_batch}", "inf/s", "latency", "baseline inf/s", "peak TOPS",
            "eff. TOPS", "util.", "bound", "DRAM/inf", "error band", "validation error"]
    rows = []
    above = set(above_peak(comp))
    for r in comp.rows:
        f = comp.offering(r.offering).at("workload", comp.rank_batch)
        rows.append([r.offering, _o(r.tops_rank), _o(r.baseline_rank),
                     _o(r.workload_rank) + (" INVALID" if r.figure_validity == "INVALID" else ""),
                     _n(r.workload_throughput_ips), fmt_time(r.workload_latency_s),
                     _n(r.baseline_throughput_ips), _n(r.peak_tops, 3),
                     _n(r.workload_effective_tops, 3) + ("*" if r.offering in above else ""),
                     "—" if r.workload_utilization is None else fmt_pct(r.workload_utilization),
                     r.workload_bound or "—",
                     fmt_bytes(f.dram_bytes_per_inference) if f and f.dram_bytes_per_inference is not None else "—",
                     *band_cells(comp.offering(r.offering))])
    if any(r.figure == SUPPLIER_VERIFIED for r in comp.rows):  # supplier-measured figures beside the estimates
        head += ["ranked on", "estimate inf/s (error)"]
        for r, row in zip(comp.rows, rows):
            verified = r.figure == SUPPLIER_VERIFIED
            row += ["supplier" if verified else (r.figure or "—"),
                    f"{_n(r.estimate_throughput_ips)} ({_signed(r.estimate_error)})"
                    if verified and r.estimate_throughput_ips is not None else "—"]
    return head, rows


def band_cells(off: Any) -> tuple[str, str]:
    """``(x/÷1.5, x1.84 (10 pts))``: the offering's stated error band and its chip's validation error."""
    band = "—" if off.error_band is None else f"x/÷{off.error_band:.2g}"
    val = "—" if off.validation_error is None else f"x{off.validation_error:.2f} ({off.validation_points} pts)"
    return band, val


def _signed(x: float | None) -> str:
    return "?" if x is None else f"{100 * x:+.0f}%"


def above_peak(comp: Comparison) -> list[str]:
    """The offerings whose effective TOPS on the workload exceeds their peak (Winograd)."""
    return [r.offering for r in comp.rows
            if r.workload_effective_tops is not None and r.peak_tops and r.workload_effective_tops > r.peak_tops]


def above_peak_note(comp: Comparison) -> str | None:
    """The sentence that labels an effective TOPS above the peak (marked * in the tables)."""
    names = above_peak(comp)
    if not names:
        return None
    return (f"* effective TOPS above peak on {', '.join(names)}: {WINOGRAD_ABOVE_PEAK}; on the roofline "
            f"{'its dot sits' if len(names) == 1 else 'their dots sit'} above the roof.")


def terminal_console():
    """A rich console that keeps tables readable when the output is piped (no terminal width)."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150)


def print_comparison(comp: Comparison, console: Any = None) -> None:
    """Rankings, flips and notes, as rich tables."""
    from rich.markup import escape
    from rich.table import Table

    console = console or terminal_console()
    if comp.requirements is not None:
        from .requirements import print_requirements

        print_requirements(comp.requirements, console)
    head, rows = ranking_rows(comp)
    unit = "tok" if comp.llm else "inf"  # an LLM is ranked on decode tokens/s
    short = ["offering", "by TOPS", "by baseline", "yours", f"{unit}/s", "latency", "base inf/s", "peak TOPS",
             "eff. TOPS", "util.", "bound", f"DRAM/{unit}", "± band", "valid. err."] + head[14:]
    t = Table(title=f"Your workload: {escape(comp.workload['label'])} at batch {comp.rank_batch} ({comp.precision}); "
                    f"baseline: {escape(comp.baseline['label'])} at batch {comp.baseline_batch}")
    for i, h in enumerate(short):
        t.add_column(escape(h), justify="left" if i == 0 or h == "bound" else "right",
                     no_wrap=i == 0)
    for row in rows:
        t.add_row(*[escape(c) for c in row])
    console.print(t)
    for n in comp.notes:  # right under the ranking: e.g. a rank from an INVALID measurement
        if n.startswith("warning:"):
            console.print(f"[yellow]{escape(n)}[/yellow]")
    if comp.winner is not None:
        console.print(f"[bold]Winner[/bold]: {escape(comp.winner.sentence)}")
    if comp.llm:
        title, head, rows = llm_rows(comp)
        lt = Table(title=title)
        for h in head:
            lt.add_column(h, justify="left" if h in ("offering", "prefill bound", "decode bound") else "right")
        for row in rows:
            lt.add_row(*[escape(c) for c in row])
        console.print(lt)
    if comp.flips:
        console.print("[bold]Rank flips[/bold]")
        for f in comp.flips:
            console.print(f"  • {escape(f.sentence)}")
            if f.robustness is not None:
                console.print(f"    {'holds' if f.robustness.survives else 'fragile'}: {escape(f.robustness.sentence)}")
    else:
        console.print("No rank flips: the baseline ranking holds for this workload.")
    note = above_peak_note(comp)
    if note:
        console.print(escape(note))
    for n in comp.notes:
        if not n.startswith("warning:"):  # the warnings are printed under the ranking
            console.print(f"[dim]{escape(n)}[/dim]")
    if comp.layer_comparisons:
        from .layers import print_layer_comparisons

        print_layer_comparisons(comp, console)


def llm_rows(comp: Comparison) -> tuple[str, list[str], list[list[str]]]:
    """An LLM workload's side table: TTFT, TPOT, tokens/s, bounds and the largest batch that fits, per offering."""
    e0 = comp.llm[0]
    title = (f"LLM: prompt {e0['prompt']}, context {e0['context']}, batch {comp.rank_batch}, weights "
             f"{e0['precision']}, KV cache {e0['kv_precision']}")
    head = ["offering", "TTFT", "TPOT", "tok/s/seq", "tok/s", "prefill bound", "decode bound", "max batch"]
    rows = []
    for e in comp.llm:
        p = e["points"][0]
        rows.append([e["hardware"], fmt_time(p["ttft_s"]), fmt_time(p["tpot_s"]),
                     "?" if p["tokens_per_s_per_sequence"] is None else f"{p['tokens_per_s_per_sequence']:,.1f}",
                     "?" if p["tokens_per_s"] is None else f"{p['tokens_per_s']:,.1f}", p["prefill_bound"],
                     p["decode_bound"], "?" if e["max_batch"] is None else str(e["max_batch"])])
    return title, head, rows


_MD_SPECIAL = "\\`*_[]()<>|!&~#{}+"


def _md_escape(text: Any) -> str:
    """Markdown-escape a model or spec string: a backslash before each character that could start markup (HTML
    tags, links and images, code, emphasis, table cells, entities), so ``<script>`` or ``[x](javascript:..)``
    stays text, without HTML entities (``&#x27;``, ``&quot;``) that a Markdown reader shows as typed."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in " ".join(str(text).split()))


md_escape = _md_escape


def markdown(comp: Comparison, images: dict[str, Path] | None = None, base: Path | None = None) -> str:
    """A Markdown report (tables, flips, plots as PNG links, the card). Model strings are Markdown-escaped
    (backslashes, no HTML entities)."""
    lines = [f"# fitbench: {_md_escape(comp.workload['label'])} vs {_md_escape(comp.baseline['label'])}", "",
             f"Precision {comp.precision}; your workload ranked at batch {comp.rank_batch}, the baseline at batch "
             f"{comp.baseline_batch}. fitbench {comp.card.get('fitbench_version')}, {comp.card.get('date')}.", ""]
    if comp.requirements is not None:
        from .requirements import markdown_lines

        lines += markdown_lines(comp.requirements)
    head, rows = ranking_rows(comp)
    lines += ["## Rankings", "", "| " + " | ".join(_md_escape(h) for h in head) + " |",
              "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    lines += [f"\n**{_md_escape(n)}**" for n in comp.notes if n.startswith("warning:")]  # under the ranking
    if comp.llm:
        title, lhead, lrows = llm_rows(comp)
        lines += ["", f"## {_md_escape(title)}", "", "| " + " | ".join(lhead) + " |",
                  "|" + "|".join(["---"] + ["---:"] * (len(lhead) - 1)) + "|"]
        lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in lrows]
    lines += ["", "## Rank flips", ""]
    note = above_peak_note(comp)
    if note:
        lines[-3:-3] = ["", _md_escape(note)]
    lines += [f"- {_md_escape(f.sentence)}" + (f" _{_md_escape(f.robustness.sentence)}_" if f.robustness else "")
              for f in comp.flips] or ["No rank flips."]
    if comp.winner is not None:
        lines += ["", f"**Winner:** {_md_escape(comp.winner.sentence)}"]
    lines += [f"\n_{_md_escape(n)}_" for n in comp.notes if not n.startswith("warning:")]
    if comp.layer_comparisons:
        from .layers import markdown_lines

        lines += markdown_lines(comp, _md_escape)
    if images:
        lines += ["", "## Plots", ""]
        for name, p in images.items():
            rel = p.relative_to(base) if base and p.is_relative_to(base) else p
            lines.append(f"![{name}]({rel.as_posix()})")
            lines.append("")
    lines += ["## Benchmark card", ""]
    for heading, pairs in card_items(comp.card):
        lines += [f"### {_md_escape(heading)}", "", "| condition | value |", "|---|---|"]
        lines += [f"| {_md_escape(k)} | {_md_escape(v)} |" for k, v in pairs]
        lines.append("")
    return "\n".join(lines) + "\n"


def write_outputs(comp: Comparison, path: str | Path) -> list[Path]:
    """Write the report in the format its suffix names: .html, .md (+ PNGs), .csv or .json.

    An unknown suffix or a path that cannot be written raises a one-line :class:`FitbenchError`.
    """
    from ..errors import writing

    path = Path(path)
    suffix = report_suffix(path)
    with writing(path):
        return _write_outputs(comp, path, suffix)


def report_suffix(path: Path) -> str:
    """The report format ``path`` names (lower-case suffix); an unknown one is a one-line error."""
    from ..errors import FitbenchError

    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".csv", ".json"):
        raise FitbenchError(f"unknown report format {suffix or path.name!r}; use .html, .md, .csv or .json")
    return suffix


def _write_outputs(comp: Comparison, path: Path, suffix: str) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".html", ".htm"):
        from .html import write_html

        return [write_html(comp, path)]
    if suffix == ".md":
        from .plots import write_pngs
        from .requirements import write_pngs as requirement_pngs

        images = {**requirement_pngs(comp, path.parent, path.stem), **write_pngs(comp, path.parent, path.stem)}
        path.write_text(markdown(comp, images, path.parent), encoding="utf-8")
        return [path, *images.values()]
    if suffix == ".csv":
        comp.to_dataframe().to_csv(path, index=False)
        if comp.requirements is not None:  # the verdict table beside it: <stem>-requirements.csv
            from .requirements import write_csv

            return [path, write_csv(comp.requirements, path.with_name(f"{path.stem}-requirements.csv"))]
        return [path]
    if suffix == ".json":
        path.write_text(comp.to_json(), encoding="utf-8")
        return [path]
    raise AssertionError(suffix)  # checked by write_outputs
