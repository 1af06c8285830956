"""``fitbench calibrate``: fit a spec's uncertain parameters to measured or published points (parse and render
only; the fit is :func:`fitbench.validation.calibrate.calibrate`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .common import check_output, emit, user_errors
from .render import duration


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_cmd)


@user_errors
def calibrate_cmd(
    spec: str = typer.Argument(..., help="the spec to calibrate: catalog name or YAML file"),
    point: list[str] | None = typer.Option(None, "--point", help="MODEL:batch=N:ips=X or MODEL:batch=N:latency=2.5ms "
                                           "[:precision=int8][:resolution=WxH][:seq_len=N] (repeatable)"),
    from_db: str | None = typer.Option(None, "--from", help="measured rows of this results database (SQLite path "
                                       "or URL)"),
    from_loadgen: Path | None = typer.Option(None, "--from-loadgen-log", help="a folder of mlperf_log_summary.txt "
                                             "files (give --model and --batch)"),
    model: str | None = typer.Option(None, "--model", help="the model of --from / --from-loadgen-log points "
                                     "(zoo name or ONNX path)"),
    batch: int = typer.Option(1, "--batch", help="the batch of --from-loadgen-log points"),
    precision: str = typer.Option("int8", "--precision", "-p", help="precision of points that state none"),
    params: str | None = typer.Option(None, "--params", help="parameters allowed to move, comma-separated "
                                      "(default: compute_efficiency,layer_overhead,inference_overhead,"
                                      "dram_efficiency)"),
    name: str | None = typer.Option(None, "--name", help="name of the calibrated spec (default: SPEC-calibrated)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write the calibrated spec (YAML) here"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
) -> None:
    """Fit a few of a spec's uncertain parameters to 1-N points; print each point before and after, the fitted
    values and the error band; write the calibrated spec with -o."""
    from ..errors import FitbenchError
    from ..validation import calibrate as cal

    if fmt not in ("table", "json"):
        raise FitbenchError(f"--format must be table or json, got {fmt!r}")
    sources = [x for x in (point, from_db, from_loadgen) if x]
    if len(sources) != 1:
        raise FitbenchError("give the points one way: --point ... (repeatable), --from results.db or "
                            "--from-loadgen-log DIR")
    if batch <= 0:
        raise FitbenchError(f"--batch must be a positive integer, got {batch}")
    check_output(output)
    if point:
        pts = [cal.parse_point(p, precision) for p in point]
    elif from_db:
        from ..store import open_store

        pts = cal.points_from_store(open_store(from_db, create=False), model=model)
    else:
        if not model:
            raise FitbenchError("--from-loadgen-log needs --model (LoadGen summaries do not name the model)")
        pts = cal.points_from_loadgen(from_loadgen, model=model, batch=batch, precision=precision)
    allowed = [x for x in params.split(",") if x.strip()] if params is not None else None
    result = cal.calibrate(spec, pts, params=allowed, name=name)
    if output is not None:
        emit(cal.spec_yaml(result.spec), output)
    if fmt == "json":
        emit(json.dumps(result.to_dict(), indent=2, default=str), None)
    else:
        render(result, Console(width=160))
    if output is not None:
        import sys

        sys.stderr.write(f"wrote {output}\n")


def _value(v: float, metric: str) -> str:
    return duration(v) if metric == "latency_s" else f"{v:,.4g}/s"


def _param(name: str, v: float) -> str:
    from ..validation.calibrate import EFFICIENCIES

    return f"{v:.4g}" if name in EFFICIENCIES else duration(v)


def render(result, console: Console) -> None:
    from ..validation.calibrate import PRIOR_NOTE

    console.print(f"[bold]fitbench calibrate[/] {result.base.name} -> {result.spec.name}: {result.choice}")
    t = Table(title="Points: measured vs predicted (ratio = predicted / measured)")
    for col in ("model", "batch", "prec.", "metric", "measured", "before", "ratio", "after", "ratio", "bound",
                "source"):
        t.add_column(col, overflow="fold", justify="left" if col in ("model", "metric", "bound", "source")
                     else "right")
    for f in result.points:
        p = f.point
        extra = "".join(f" {k}={v}" for k, v in sorted(p.params.items()))
        t.add_row(p.model + extra, str(p.batch), p.precision, p.metric, _value(p.value, p.metric),
                  _value(f.before, p.metric), f"{f.before / p.value:.3f}", _value(f.after, p.metric),
                  f"{f.after / p.value:.3f}", f.bound, p.source)
    console.print(t)
    g = Table(title="Fitted parameters")
    for col in ("parameter", "before", "after", "sensitivity"):
        g.add_column(col, justify="left" if col == "parameter" else "right")
    for n, v in result.fitted.items():
        g.add_row(n, _param(n, result.start[n]), _param(n, v), f"{result.sensitivity.get(n, 0.0):.3g}")
    console.print(g)
    basis = ("from the fit residuals: exp(2 sqrt(sum r^2 / (N - k))), r = ln(predicted / measured)"
             if result.band_basis == "fit" else
             f"a prior, since {len(result.points)} point(s) leave no spare degree of freedom for "
             f"{len(result.fitted)} parameter(s): {PRIOR_NOTE}")
    console.print(f"Error band: estimates with {result.spec.name} are stated within x/÷{result.band_factor:.3g} "
                  f"({basis}).")
