"""Plot ticks and labels (issue 12): no SI-suffixed ticks such as "500m" inf/s or "20.5k" ms, and an effective
TOPS above the peak (Winograd) is labelled wherever it is shown."""

from __future__ import annotations

import pytest

from fitbench.report.figures import all_figures

WINO = {"name": "wino-chip", "source": "test", "clock": "1 GHz", "macs_per_cycle": {"int8": 64}, "sram": "1 GiB",
        "dram_bandwidth": "none", "winograd": "expanded-on-chip", "winograd_tile": 4}


def _axes(fig):
    return {k: v for k, v in fig["layout"].items() if k.startswith(("xaxis", "yaxis"))}


def test_no_si_suffixed_ticks(full_comp):
    for fid, _, fig in all_figures(full_comp):
        for name, axis in _axes(fig).items():
            if axis.get("type") != "log":
                continue
            # "~s" only on decade ticks (1k, 10k, 1M: never a fraction like "500m"), else plain numbers
            if axis.get("tickformat") == "~s":
                assert axis.get("dtick") == 1, (fid, name)
            else:
                assert axis.get("exponentformat") == "none" and axis.get("separatethousands"), (fid, name)


def test_png_log_ticks_are_plain_numbers(tmp_path, full_comp):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from fitbench.report import plots

    seen = []
    orig = plots._save

    def capture(fig, path):
        fig.canvas.draw()
        for ax in fig.axes:
            for t in ax.get_yticklabels() + ax.get_xticklabels():
                if t.get_text():
                    seen.append(t.get_text())
        return orig(fig, path)

    plots._save = capture
    try:
        plots.write_pngs(full_comp, tmp_path)
    finally:
        plots._save = orig
    assert seen and not [t for t in seen if "$" in t or "^" in t], seen[:10]


@pytest.fixture(scope="module")
def wino_comp():
    from fitbench.compare import compare

    return compare("tiny@64", hw=[WINO], batch=[1], baseline="tiny@32:batch=1", precision="int8")


def test_effective_tops_above_peak_is_labelled(wino_comp, tmp_path):
    from fitbench.report.html import render_html
    from fitbench.report.static import markdown, ranking_rows

    row = wino_comp.rows[0]
    assert row.workload_effective_tops > row.peak_tops  # Winograd: fewer multiplies than the MACs counted
    head, rows = ranking_rows(wino_comp)
    assert rows[0][head.index("eff. TOPS")].endswith("*")
    assert "above peak" in markdown(wino_comp) and "Winograd" in markdown(wino_comp)
    assert "above peak" in render_html(wino_comp)
    (roof,) = [fig for fid, _, fig in all_figures(wino_comp) if fid == "roofline"]
    dots = [t for t in roof["data"] if t.get("mode", "").startswith("markers")]
    assert any("above its roof" in t["hovertemplate"] for t in dots)
