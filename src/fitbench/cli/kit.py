"""``fitbench kit create | run | verify``: the buyer's benchmark, run by the supplier, verified on return."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..errors import FitbenchError
from .common import parse_dims, parse_inputs, parse_pairs, parse_zoo_params, user_errors

kit_app = typer.Typer(help="Benchmark kit for suppliers: create it, run it (supplier), verify the results (buyer).",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(kit_app, name="kit")


def _split(values: list[str] | None) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


@kit_app.command("create")
@user_errors
def create_cmd(
    model: str | None = typer.Argument(None, help="ONNX file, zoo name or package.module:factory (default: the "
                                       "--app file's model)"),
    output: Path = typer.Option(..., "--output", "-o", help="the kit folder to write (new); a .tar.gz is written "
                                "beside it"),
    app: Path | None = typer.Option(None, "--app", help="application file (as fitbench compare --app): its model, "
                                    "input size and precision, and a server scenario at its load and latency budget "
                                    "(the host stages' time taken off the budget)"),
    scenario: list[str] | None = typer.Option(None, "--scenario", "-s", help="single-stream | multi-stream | "
                                              "server | offline (repeat or comma-separate; default "
                                              "single-stream,offline)"),
    batch: int | None = typer.Option(None, "--batch", "-b", help="the batch of every query (default 1)"),
    resolution: str | None = typer.Option(None, help="zoo models: WIDTHxHEIGHT, e.g. 1920x1080"),
    input: list[str] | None = typer.Option(None, "--input", "-i", help="NAME=DIMS, e.g. images=1x3x1080x1920"),
    dim: list[str] | None = typer.Option(None, "--dim", help="bind a named symbolic dim: NAME=VALUE"),
    seq_len: int | None = typer.Option(None, help="zoo models: sequence length"),
    param: list[str] | None = typer.Option(None, "--param", help="zoo models: extra parameter KEY=VALUE"),
    min_duration: float | None = typer.Option(None, help="minimum run time per scenario, seconds (default 10)"),
    max_duration: float | None = typer.Option(None, help="LoadGen stops a run here, seconds (default "
                                              "max(2 x min, min + 60))"),
    min_queries: int | None = typer.Option(None, help="minimum query count per scenario (default: single-stream "
                                           "1024, multi-stream 662, server 1024, offline 1)"),
    target_qps: float | None = typer.Option(None, help="server: the application's arrival rate, queries/s"),
    latency_bound: float | None = typer.Option(None, help="server: the application's latency budget, ms"),
    percentile: int = typer.Option(99, help="server: the percentile the latency bound applies to"),
    samples_per_query: int = typer.Option(8, help="multi-stream: samples per query"),
    samples: int = typer.Option(16, help="batches in the accuracy sample set (seeded synthetic)"),
    sample_file: list[str] | None = typer.Option(None, "--sample-file", help="NAME=FILE.npy: your own samples of "
                                                 "an input, shape (samples, *batch shape)"),
    seed: int = typer.Option(0, help="seed of the synthetic sample set"),
    precision: list[str] | None = typer.Option(None, "--precision", "-p", help="precisions the supplier may run "
                                               "(default fp32,fp16,bf16,int8)"),
    tolerance: list[str] | None = typer.Option(None, "--tolerance", help="PRECISION=VALUE: max|y - ref| / max|ref| "
                                               "allowed (defaults fp32 1e-3, fp16 1e-2, bf16 4e-2, int8 0.1)"),
    archive: bool = typer.Option(True, help="also write KIT.tar.gz"),
) -> None:
    """Write a self-contained kit: model + sha256, samples, LoadGen settings, reference outputs, rules."""
    from ..kit import TOLERANCES, create_kit, scenario_settings

    tol = {}
    for k, v in parse_pairs(tolerance, "--tolerance", "PRECISION=VALUE like int8=0.05").items():
        try:
            tol[k.lower()] = float(v)
        except ValueError:
            raise FitbenchError(f"--tolerance expects PRECISION=VALUE with a number, got {k}={v!r}") from None
        if not tol[k.lower()] >= 0:
            raise FitbenchError(f"--tolerance must not be negative, got {k}={v}")
    zoo = parse_zoo_params(resolution, seq_len, param)
    scenarios = _split(scenario)
    if app is not None:
        from ..compare.app_file import load_application

        application = load_application(app)
        model = model or application.model
        if application.resolution is not None and resolution is None and not input:
            zoo["resolution"] = application.resolution
        if application.precision and not precision:
            precision = [application.precision]
        target_qps = application.rate if target_qps is None else target_qps
        # the chip's share of the budget (the application file refuses host stages that take all of it)
        chip_budget = application.latency_budget_s - application.pre_s - application.post_s
        latency_bound = chip_budget * 1e3 if latency_bound is None else latency_bound
        if percentile == 99 and application.percentile != 99:
            percentile = int(application.percentile)
        scenarios = scenarios or ["single-stream", "server"]
    if model is None:
        raise FitbenchError("give a MODEL (ONNX file or zoo name), or --app with an application file that names one")
    settings = [scenario_settings(s, min_duration_s=min_duration, max_duration_s=max_duration,
                                  min_queries=min_queries, target_qps=target_qps, latency_bound_ms=latency_bound,
                                  percentile=percentile, samples_per_query=samples_per_query)
                for s in scenarios or ["single-stream", "offline"]]
    kit = create_kit(model, output, scenarios=settings, inputs=parse_inputs(input) or None, batch=batch,
                     dims=parse_dims(dim) or None, samples=samples,
                     sample_files=parse_pairs(sample_file, "--sample-file", "NAME=FILE.npy") or None, seed=seed,
                     precisions=_split(precision) or list(TOLERANCES), tolerances=tol, archive=archive, **zoo)
    m = kit.manifest
    typer.echo(f"kit {m['name']}: {kit.path} (kit {kit.kit_id[:12]}, model sha256 {m['model']['sha256'][:16]}…)")
    typer.echo("scenarios: " + ", ".join(s["scenario"] for s in m["scenarios"]) +
               f"; {m['samples']['count']} sample batches; tolerances " +
               ", ".join(f"{p} {v:g}" for p, v in m["tolerance"].items()))
    if kit.archive:
        typer.echo(f"archive: {kit.archive}")


@kit_app.command("run")
@user_errors
def run_cmd(
    kit: Path = typer.Argument(..., help="the kit folder"),
    output: Path = typer.Option(..., "--output", "-o", help="the results folder to write (new)"),
    sut: str | None = typer.Option(None, "--sut", help="your SUT: PYTHON_FILE:ClassName (see docs/kit.md)"),
    runtime: str | None = typer.Option(None, "--runtime", help="a built-in SUT instead: onnxruntime | torch"),
    torch_module: str | None = typer.Option(None, help="--runtime torch: the PyTorch port, package.module:factory"),
    device: str = typer.Option("cpu", help="built-in SUTs: cpu | cuda"),
    threads: int | None = typer.Option(None, help="built-in SUTs: intra-op threads"),
    precision: str = typer.Option("fp32", help="--runtime torch: fp32 | fp16 | bf16"),
) -> None:
    """Run the kit's scenarios through MLPerf LoadGen on your SUT; write the logs, outputs and manifest."""
    from ..kit import builtin_sut, load_sut, run_kit

    if (sut is None) == (runtime is None):
        raise FitbenchError("give exactly one of --sut PYTHON_FILE:ClassName or --runtime onnxruntime|torch")
    if threads is not None and threads < 1:
        raise FitbenchError(f"--threads must be positive, got {threads}")
    system = load_sut(sut) if sut else builtin_sut(runtime, device=device, threads=threads,
                                                  torch_module=torch_module, precision=precision.lower())
    res = run_kit(kit, system, output)
    for s in res.scenarios:
        typer.echo(f"{s.scenario}: {s.queries} queries, {s.samples} samples in {s.wall_s:.3g} s, LoadGen "
                   f"{s.result_validity}")
    if res.missing_conditions:
        typer.echo(f"warning: the SUT did not report {', '.join(res.missing_conditions)}: verify will reject it",
                   err=True)
    typer.echo(f"results: {res.path} (device {res.device}, {res.precision}); return this folder unedited")


@kit_app.command("verify")
@user_errors
def verify_cmd(
    kit: Path = typer.Argument(..., help="the kit folder"),
    results: Path = typer.Argument(..., help="the results folder the supplier returned"),
    hw: str | None = typer.Option(None, "--hw", help="the offering these are results of (a catalog or spec name, "
                                  "to show them beside its estimate); default: the device name reported"),
    db: str | None = typer.Option(None, "--db", help="results database (SQLite path or postgresql:// URL; default "
                                  "~/.fitbench/results.db or $FITBENCH_DB)"),
    store: bool = typer.Option(True, help="store a verified result in the database"),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json"),
) -> None:
    """Check returned results against the kit (one line per check, a verdict); store them when verified."""
    from ..kit import verify_kit
    from ..store import default_location

    if fmt not in ("text", "json"):
        raise FitbenchError(f"--format must be text or json, got {fmt!r}")
    ver = verify_kit(kit, results, store=(db or default_location()) if store else None, hardware=hw)
    if fmt == "json":
        sys.stdout.write(json.dumps(ver.to_dict(), indent=2, default=str) + "\n")
    else:
        for line in ver.lines():
            typer.echo(line)
    if not ver.verified:
        reasons = ver.reasons
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise FitbenchError(f"results rejected, nothing stored: {reasons[0]}{more}")
    if ver.stored_ids:
        typer.echo(f"stored as {ver.hardware!r}, result id(s) {', '.join(map(str, ver.stored_ids))}", err=True)
