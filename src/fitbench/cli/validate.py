"""``fitbench validate``: the estimator against the published-figures dataset (predicted vs published)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .common import check_output, emit, output_console, user_errors
from .render import duration, num

CSV_COLUMNS = ("chip", "family", "model", "input", "batch", "precision", "scenario", "metric", "predicted",
               "published", "ratio", "error_factor", "status", "reason", "system", "source", "split")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_cmd)


@user_errors
def validate_cmd(
    hw: list[str] | None = typer.Option(None, "--hw", help="only this chip (repeatable): a catalog or dataset name"),
    model: list[str] | None = typer.Option(None, "--model", help="only this model (repeatable): a zoo name"),
    dataset: Path | None = typer.Option(None, "--dataset", help="a dataset YAML file (default: the shipped one)"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file"),
) -> None:
    """Estimate every published point and compare: per point, per chip, per family; batch-1 chip rankings."""
    from ..errors import FitbenchError
    from ..validation.validate import validate

    if fmt not in ("table", "json", "csv"):
        raise FitbenchError(f"--format must be table, json or csv, got {fmt!r}")
    check_output(output)
    report = validate(dataset=dataset, hw=hw or (), models=model or ())
    if fmt == "json":
        emit(json.dumps(report.to_dict(), indent=2), output)
    elif fmt == "csv":
        emit(to_csv(report), output)
    else:
        with output_console(output, 200) as console:
            render(report, console)


def value_text(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    if metric == "tokens_per_s":
        return f"{value:,.4g} tok/s"
    return duration(value) if metric == "latency_s" else f"{value:,.4g}/s"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def factor(value: float | None) -> str:
    return "—" if value is None else f"x{value:.2f}"


def to_csv(report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in [*report.points, *report.holdout]:
        p = r.point
        w.writerow([p.chip, r.family or "", p.model, p.input_label(), p.batch, p.precision, p.scenario, p.metric,
                    "" if r.predicted is None else f"{r.predicted:.6g}", f"{p.value:.6g}",
                    "" if r.ratio is None else f"{r.ratio:.4f}",
                    "" if r.error_factor is None else f"{r.error_factor:.4f}", r.status, r.reason, p.system,
                    p.source.label(), p.split])
    return buf.getvalue()


def render(report, console: Console) -> None:
    n, c = len(report.points), len(report.compared)
    console.print(f"[bold]fitbench validate[/]: {n} published point(s) of dataset {report.dataset}; {c} compared, "
                  f"{n - c} skipped or infeasible")
    t = Table(title="Predicted vs published (ratio = predicted / published)")
    for col in ("chip", "model", "input", "batch", "prec.", "scenario", "predicted", "published", "ratio",
                "error", "source"):
        t.add_column(col, overflow="fold", justify="right" if col in ("batch", "predicted", "published", "ratio",
                                                                      "error") else "left")
    for r in report.compared:
        p = r.point
        t.add_row(p.chip, p.model, p.input_label(), str(p.batch), p.precision, p.scenario,
                  value_text(r.predicted, p.metric), value_text(p.value, p.metric), num(r.ratio, ".3f"),
                  factor(r.error_factor), p.source.label())
    console.print(t)
    if report.skipped:
        s = Table(title=f"Not compared ({len(report.skipped)} point(s))")
        for col in ("chip", "model", "input", "batch", "scenario", "published", "status", "reason"):
            s.add_column(col, overflow="fold")
        for r in report.skipped:
            p = r.point
            s.add_row(p.chip, p.model, p.input_label(), str(p.batch), p.scenario, value_text(p.value, p.metric),
                      r.status, r.reason)
        console.print(s)
    for title, groups in (("Error per chip", report.per_chip),
                          (f"Error per family (family = {report.family_basis})", report.per_family)):
        g = Table(title=title)
        for col in ("name", "points", "median error", "within ±25 %", "within 2x"):
            g.add_column(col, justify="left" if col == "name" else "right")
        for grp in groups:
            st = grp.stats
            g.add_row(grp.name, str(st.n), factor(st.median_error_factor), pct(st.within_25pct), pct(st.within_2x))
        st = report.overall
        g.add_row("[bold]all[/]", str(st.n), factor(st.median_error_factor), pct(st.within_25pct), pct(st.within_2x))
        console.print(g)
    for rk in report.rankings:
        k = Table(title=f"{rk.model} {rk.input} at batch 1: chip ranking (1 = fastest), Spearman rho = "
                        f"{num(rk.spearman, '.3f')}")
        for col in ("chip", "published rank", "predicted rank", "published inf/s", "predicted inf/s"):
            k.add_column(col, justify="left" if col == "chip" else "right")
        for ch in rk.chips:
            k.add_row(ch.chip, f"{ch.published_rank:g}", f"{ch.predicted_rank:g}", f"{ch.published_ips:,.4g}",
                      f"{ch.predicted_ips:,.4g}")
        console.print(k)
    if report.holdout:
        render_holdout(report, console)


def render_holdout(report, console: Console) -> None:
    """The hold-out points (``split: holdout``): never fitted on, outside every statistic above."""
    st = report.holdout_stats
    h = Table(title=f"Hold-out points ({len(report.holdout)}; not in the calibration set or its statistics): "
                    f"median error {factor(st.median_error_factor)}, within ±25 % {pct(st.within_25pct)}")
    for col in ("chip", "model", "input", "scenario", "metric", "predicted", "published", "ratio", "error", "how",
                "source"):
        h.add_column(col, overflow="fold", justify="right" if col in ("predicted", "published", "ratio", "error")
                     else "left")
    for r in report.holdout:
        p = r.point
        h.add_row(p.chip, p.model, p.input_label(), p.scenario, p.metric, value_text(r.predicted, p.metric),
                  value_text(p.value, p.metric), num(r.ratio, ".3f"), factor(r.error_factor),
                  r.detail or f"{r.status}: {r.reason}", p.source.label())
    console.print(h)
