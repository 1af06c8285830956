"""``fitbench compare``: which offering is best for MY workload, next to the ResNet-50 story."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import FitbenchError
from .common import (
    batches_for_inputs,
    check_output,
    database_files,
    parse_dims,
    parse_hw,
    parse_inputs,
    parse_int_list,
    parse_list,
    parse_resolution,
    parse_zoo_params,
    user_errors,
)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)


def _sizes(value: str | None) -> list[tuple[int, int]] | None:
    if not value:
        return None
    return [parse_resolution(v.strip()) for v in value.split(",") if v.strip()]


@user_errors
def compare_cmd(
    model: list[str] | None = typer.Argument(None, help="MODEL (ONNX file or zoo name; optional with --app), then "
                                             "optionally more --hw specs (so that `--hw a.yaml b.yaml` works)"),
    hw: list[str] | None = typer.Option(None, "--hw", help="hardware: spec YAML, catalog name, or catalog:* "
                                        "(repeat, or comma-separate)"),
    batch: str | None = typer.Option(None, "--batch", "-b",
                                     help="your batch size(s), e.g. 1,4 (the first is ranked; default 1)"),
    resolution: str | None = typer.Option(None, help="zoo models: WIDTHxHEIGHT, e.g. 1920x1080"),
    input: list[str] | None = typer.Option(None, "--input", "-i", help="NAME=DIMS, e.g. images=1x3x1080x1920"),
    dim: list[str] | None = typer.Option(None, "--dim", help="bind a named symbolic dim: NAME=VALUE"),
    seq_len: int | None = typer.Option(None, help="zoo models: sequence length"),
    param: list[str] | None = typer.Option(None, "--param", help="zoo models: extra parameter KEY=VALUE"),
    precision: str = typer.Option("int8", "--precision", "-p", help="int8 | fp16 | bf16 | fp32"),
    baseline: str = typer.Option("resnet50@224:batch=32", help="the reference workload, MODEL[@RES][:batch=N]"),
    measure: list[str] | None = typer.Option(None, "--measure", help="runtime(s) to measure here, e.g. onnxruntime"),
    measure_baseline: bool = typer.Option(False, "--measure-baseline", help="also measure the baseline here"),
    full: bool = typer.Option(False, "--full", help="full-length measurements (default: quick)"),
    log_dir: Path | None = typer.Option(None, "--log-dir", help="--measure: keep LoadGen's summary and detail logs "
                                        "here (RUNTIME/ROLE/batch-B/)"),
    input_sizes: str | None = typer.Option(None, help="latency vs input size at these WxH, comma-separated"),
    winograd: str = typer.Option("auto", help="auto | on | off: Winograd where the spec supports it"),
    output: list[Path] | None = typer.Option(None, "--output", "-o",
                                             help="report file(s): .html, .md (+PNG plots), .csv or .json"),
    db: str | None = typer.Option(None, "--db", help="store every result here (SQLite path or postgresql:// URL)"),
    save: bool = typer.Option(False, "--save", help="store every result in the default database "
                              "(~/.fitbench/results.db or $FITBENCH_DB)"),
    fmt: str = typer.Option("table", "--format", "-f", help="stdout: table | json | csv"),
    calibrate: list[str] | None = typer.Option(None, "--calibrate", help="NAME=POINTS: calibrate catalog chip NAME "
                                               "on POINTS (as --point of fitbench calibrate, several separated "
                                               "by ';') before ranking (repeatable)"),
    app: Path | None = typer.Option(None, "--app", help="application file (YAML): load, latency budget, power, "
                                    "price, chips; the options below override it"),
    streams: int | None = typer.Option(None, "--streams", help="requirements: number of streams (cameras)"),
    fps: float | None = typer.Option(None, "--fps", help="requirements: frames per second per stream"),
    qps: float | None = typer.Option(None, "--qps", help="requirements: Poisson queries per second (not with --fps)"),
    latency: str | None = typer.Option(None, "--latency", help="requirements: pipeline latency budget, e.g. 50ms"),
    percentile: float | None = typer.Option(None, "--percentile", help="requirements: latency percentile (99)"),
    power: str | None = typer.Option(None, "--power", help="requirements: power budget for the load, e.g. 15W"),
    price: str | None = typer.Option(None, "--price", help="requirements: price budget for the load, e.g. 500USD"),
    max_chips: int | None = typer.Option(None, "--max-chips", help="requirements: at most this many chips"),
    objective: str | None = typer.Option(None, "--objective", help="requirements: power | price | chips"),
    pre: list[str] | None = typer.Option(None, "--pre", help="requirements: host stage before the chip, NAME=TIME"),
    post: list[str] | None = typer.Option(None, "--post", help="requirements: host stage after the chip, NAME=TIME"),
) -> None:
    """Rank offerings on your workload beside the baseline ranking and peak TOPS; explain every rank flip."""
    from ..compare import compare
    from ..report.static import print_comparison, write_outputs

    if fmt not in ("table", "json", "csv"):
        raise FitbenchError(f"--format must be table, json or csv, got {fmt!r}")
    from ..compare.app_file import application_from_options, load_application

    application = application_from_options(
        load_application(app) if app is not None else None, streams=streams, fps=fps, qps=qps, latency=latency,
        percentile=percentile, power=power, price=price, max_chips=max_chips, objective=objective, pre=pre, post=post)
    model = list(model or [])
    if not model and (application is None or not application.model):
        raise FitbenchError("give a MODEL (ONNX file or zoo name), or an application file with `model:` (--app)")
    name, extra_hw = (model[0], model[1:]) if model else (None, [])
    hw_list = parse_hw([*(hw or []), *extra_hw])
    if not hw_list and application is not None and application.hw:
        hw_list = list(application.hw)
    if application is not None and application.precision and precision == "int8":
        precision = application.precision
    if not hw_list and not measure:
        hw_list = ["catalog:*"]
    dims = parse_dims(dim)
    zoo_params = parse_zoo_params(resolution, seq_len, param)
    from ..report.static import report_suffix

    for out in output or []:
        report_suffix(out)
        check_output(out, make_folders=True, protect=[*model, *(hw or []), *database_files(db)])
    if log_dir is not None:
        if not measure:
            raise FitbenchError("--log-dir keeps the logs of the measurements: give --measure RUNTIME too")
        from ..measure.logs import check_log_dir

        check_log_dir(log_dir)
    store = None
    if db is not None or save:
        from ..store import open_store

        store = open_store(db)
    from ..compare.engine import resolve_hardware

    inputs = parse_inputs(input)
    batches = batches_for_inputs(inputs, parse_int_list(batch, "--batch"))
    specs = resolve_hardware(hw_list) if hw_list else []
    specs, bands = _calibrated(specs, calibrate, precision)
    from .progress import MeasureProgress

    with MeasureProgress(fmt == "table"):  # measurements' progress on stderr; none under JSON/CSV on stdout
        comp = compare(name, hw=specs, error_bands=bands, batch=batches or None,
                       measure_runtimes=parse_list(measure),
                       baseline=baseline, precision=precision, inputs=inputs or None, dims=dims or None,
                       input_sizes=_sizes(input_sizes), measure_quick=not full, measure_baseline=measure_baseline,
                       winograd=winograd, store=store, app=application,
                       measure_log_dir=None if log_dir is None else str(log_dir), **zoo_params)
    if fmt == "json":
        sys.stdout.write(comp.to_json() + "\n")
    elif fmt == "csv":
        sys.stdout.write(comp.to_dataframe().to_csv(index=False))
    else:
        print_comparison(comp)
    for out in output or []:
        for p in write_outputs(comp, out):
            sys.stderr.write(f"wrote {p}\n")
    if store is not None:
        sys.stderr.write(f"stored as sweep {comp.sweep_id} in {store.location}\n")


def _calibrated(specs: list, items: list[str] | None, precision: str) -> tuple[list, dict]:
    """``--calibrate NAME=POINTS``: each named chip replaced by (or, when not listed, joined by) its calibrated
    copy; then the stated error bands of the uncalibrated specs (their validation error on the dataset)."""
    from ..hardware.spec import load_hardware
    from ..validation.calibrate import calibrate, default_bands, parse_points
    from .common import parse_pairs

    for chip, text in parse_pairs(items, "--calibrate", "NAME=POINTS like nvidia-t4=resnet50:batch=1:latency=0.82ms"
                                  ).items():
        cal = calibrate(load_hardware(chip), parse_points(text, precision))
        names = [s.name for s in specs]
        if chip in names:
            specs[names.index(chip)] = cal.spec
        else:
            specs.append(cal.spec)
    plain = [s.name for s in specs if not (s.calibration or {}).get("band_factor")]
    return specs, default_bands(plain) if specs else {}
