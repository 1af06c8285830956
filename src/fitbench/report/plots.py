"""Matplotlib PNG plots of a comparison, for the Markdown report (Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

from .. import format as fmt
from ..compare.result import Comparison
from .figures import BOUND_COLORS, PALETTE


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def throughput_png(comp: Comparison, path: Path) -> Path | None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    drawn = False
    for i, off in enumerate(comp.offerings):
        pts = sorted((f.batch, f.throughput_ips) for f in off.workload if f.throughput_ips)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=PALETTE[i % len(PALETTE)],
                    label=off.name, linestyle="--" if off.kind == "runtime" else "-")
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    return _save_loglog(fig, ax, path, "batch", "inferences / s", f"Throughput vs batch — {comp.workload['label']}",
                        xbase=2)


def input_size_png(comp: Comparison, path: Path) -> Path | None:
    if not comp.input_size_curve:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    names = list(dict.fromkeys(c["offering"] for c in comp.input_size_curve))
    for i, name in enumerate(names):
        pts = sorted((c["pixels"] / 1e6, c["latency_s"] * 1e3) for c in comp.input_size_curve
                     if c["offering"] == name and c["latency_s"] is not None)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=PALETTE[i % len(PALETTE)], label=name)
    return _save_loglog(fig, ax, path, "input size (megapixels)", "latency per batch (ms)",
                        f"Latency vs input size — batch {comp.rank_batch}")


def _plain_ticks(axis, label=fmt.number) -> None:
    """Plain tick labels on a log axis ('0.5', '20,500' or '10 MB'), not matplotlib's 10^k."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: label(v)))
    axis.set_minor_formatter(NullFormatter())


def _save_loglog(fig, ax, path: Path, xlabel: str, ylabel: str, title: str, xbase: int = 10) -> Path:
    """Log-log axes with labels, title, grid and legend, then the PNG."""
    ax.set_xscale("log", base=xbase)
    ax.set_yscale("log")
    _plain_ticks(ax.xaxis)
    _plain_ticks(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def layers_png(comp: Comparison, path: Path) -> Path | None:
    if not comp.layers:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)
    idx = range(len(comp.layers))
    ax.bar(idx, [x["weight_bytes"] or 0 for x in comp.layers], color="#e45756", label="weights (B)", width=0.9)
    ax.plot(idx, [x["activation_bytes"] or 0 for x in comp.layers], ".", color="#f58518",
            label="activations in+out (B)")
    for i, off in enumerate(o for o in comp.offerings if o.sram_bytes):
        ax.axhline(off.sram_bytes, linestyle="--", linewidth=1, color=PALETTE[(i + 4) % len(PALETTE)],
                   label=f"SRAM {off.name}")
    ax.set_yscale("log")
    _plain_ticks(ax.yaxis, fmt.traffic)
    ax.set_xlabel("layer (execution order)")
    ax.set_ylabel("bytes per inference")
    ax.set_title(f"Per-layer weights and activations — {comp.workload['label']}")
    ax.legend(fontsize=6, ncol=2)
    return _save(fig, path)


def bounds_png(comp: Comparison, path: Path) -> Path | None:
    if not comp.layer_bounds:
        return None
    plt = _plt()
    names = list(comp.layer_bounds)
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(names)), dpi=100)
    for row, name in enumerate(names):
        layers = comp.layer_bounds[name]
        total = sum(x["time_s"] or 0 for x in layers) or 1.0
        left = 0.0
        for bound, color in BOUND_COLORS.items():
            share = sum(x["time_s"] or 0 for x in layers if x["bound"] == bound) / total
            ax.barh(row, share, left=left, color=color, label=bound if row == 0 else None)
            left += share
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel(f"share of latency at batch {comp.rank_batch}, by layer bound")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"What bounds each offering on {comp.workload['label']}")
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    _plt().close(fig)
    return path


def write_pngs(comp: Comparison, folder: Path, stem: str = "report") -> dict[str, Path]:
    """Write every plot this comparison can draw; returns ``{name: path}``."""
    out = {}
    for name, fn in (("throughput", throughput_png), ("input-size", input_size_png), ("layers", layers_png),
                     ("bounds", bounds_png)):
        p = fn(comp, Path(folder) / f"{stem}-{name}.png")
        if p is not None:
            out[name] = p
    return out
