"""compare --measure: a measured row from an INVALID run (5 queries) is ranked only with a warning, marked in the
terminal table, the Markdown and HTML reports, and stored as invalid (issue 14, part B)."""

from __future__ import annotations

import pytest
from hand_chips import HOLDER, STREAMER

import fitbench.measure
from fitbench.compare import compare
from fitbench.compare.ranking import build_rows, invalid_warnings
from fitbench.compare.result import Figures, Offering
from fitbench.report.html import render_html
from fitbench.report.static import markdown, print_comparison, ranking_rows
from fitbench.store import open_store

HERE = "onnxruntime (this machine)"


@pytest.fixture(scope="module")
def five_query_comp(mm_path, tmp_path_factory):
    """The comparison with this machine measured from 5 queries (LoadGen stops after the 5 asked for)."""
    original = fitbench.measure.measure
    mp = pytest.MonkeyPatch()

    def five(model, **kw):
        kw.update(min_count=5, min_duration_s=0.0, warmup_count=1, warmup_s=0.0, threads=1, timeout_s=120)
        return original(model, **kw)

    mp.setattr(fitbench.measure, "measure", five)
    db = tmp_path_factory.mktemp("db") / "r.db"
    logs = db.parent / "logs"
    try:
        comp = compare(mm_path, hw=[STREAMER, HOLDER], batch=[1], baseline=f"{mm_path}:batch=1", batch_curve=(1,),
                       measure_runtimes=["onnxruntime"], store=str(db), measure_log_dir=str(logs))
    finally:
        mp.undo()
    return comp, db, logs


def test_the_invalid_row_is_ranked_marked_and_warned_about(five_query_comp):
    comp, _, _ = five_query_comp
    row = next(r for r in comp.rows if r.offering == HERE)
    fig = comp.offering(HERE).at("workload", 1)
    assert fig.samples < 64 and fig.validity == "INVALID"
    assert f"{fig.samples} latencies, fewer than the 64 a p90 needs" in fig.validity_reasons
    assert row.figure_validity == "INVALID" and row.workload_rank is not None  # still ranked ...
    warning = comp.notes[0]  # ... with a warning, first of the notes
    assert warning.startswith(f"warning: {HERE} is ranked ")
    assert "on an INVALID measurement at batch 1" in warning and "fewer than the 64 a p90 needs" in warning
    # estimated rows carry no validity and no mark
    assert all(r.figure_validity is None for r in comp.rows if r.offering != HERE)


def test_the_mark_is_in_the_table_markdown_and_html(five_query_comp):
    comp, _, _ = five_query_comp
    head, rows = ranking_rows(comp)
    yours = 3  # offering, TOPS tells you, the baseline's rank, then yours
    assert head[yours] == f"{comp.workload['label']} b1"
    cells = {r[0]: r[yours] for r in rows}
    assert cells[HERE].endswith(" INVALID") and not any("INVALID" in c for n, c in cells.items() if n != HERE)
    md = markdown(comp)
    assert "INVALID" in md and "**warning: onnxruntime \\(this machine\\) is ranked" in md
    html = render_html(comp)
    assert "INVALID measurement</small>" in html and 'class="note warning">warning: ' in html
    assert '<td class="l invalid">INVALID: ' in html  # the measured-on-this-machine table
    from rich.console import Console

    console = Console(record=True, width=200)
    print_comparison(comp, console)
    text = console.export_text()
    assert "INVALID" in text and f"warning: {HERE} is ranked" in text
    # the warning sits right under the ranking table (before the winner and the flips), once
    assert text.count(f"warning: {HERE} is ranked") == 1
    assert text.index(f"warning: {HERE} is ranked") < text.index("No rank flips" if not comp.flips else "Rank flips")
    assert md.count("warning: onnxruntime \\(this machine\\) is ranked") == 1
    assert md.index("warning: onnxruntime") < md.index("## Rank flips")


def test_the_measurement_is_stored_invalid_with_its_reasons(five_query_comp):
    comp, db, logs = five_query_comp
    with open_store(db, create=False) as store:
        (row,) = store.query(sweep_id=comp.sweep_id, kind="measure")
    fig = comp.offering(HERE).at("workload", 1)
    assert row.status == "invalid" and row.cause == "; ".join(fig.validity_reasons)
    assert row.metrics["validity"]["verdict"] == "INVALID"
    # --log-dir: LoadGen's logs of this machine's workload run, and the stored row points at them
    summary = logs / "onnxruntime" / "workload" / "batch-1" / "single-stream" / "mlperf_log_summary.txt"
    assert row.metrics["loadgen"]["summary_path"] == str(summary.resolve())
    assert f"Result is : {row.metrics['loadgen']['result_validity']}" in summary.read_text()


def test_a_valid_measured_row_gets_no_warning():
    off = Offering(name="rt", kind="runtime", workload=[Figures(batch=1, latency_s=1e-3, throughput_ips=1000.0,
                                                                  method="measured", validity="VALID")])
    chip = Offering(name="chip", kind="hardware", workload=[Figures(batch=1, latency_s=2e-3, throughput_ips=500.0)])
    rows = build_rows([off, chip], 1, 1)
    assert [(r.offering, r.workload_rank, r.figure_validity) for r in rows] == [("rt", 1, "VALID"), ("chip", 2, None)]
    assert invalid_warnings([off, chip], rows, 1) == []
    off.workload[0].validity, off.workload[0].validity_reasons = "INVALID", ["5 of the 64 queries asked for completed"]
    rows = build_rows([off, chip], 1, 1)
    assert invalid_warnings([off, chip], rows, 1) == [
        "warning: rt is ranked 1st on an INVALID measurement at batch 1 (5 of the 64 queries asked for completed): "
        "its figures are not a valid result; measure again with a longer run (compare --full)"]


def test_compare_log_dir_needs_measure(mm_path, tmp_path):
    from typer.testing import CliRunner

    from fitbench.cli.app import _register, app

    _register()
    res = CliRunner().invoke(app, ["compare", mm_path, "--hw", "nvidia-t4", "--log-dir", str(tmp_path / "l")])
    assert res.exit_code == 2
    err = res.stderr if getattr(res, "stderr", None) else res.output
    assert err.strip() == "error: --log-dir keeps the logs of the measurements: give --measure RUNTIME too"
