"""``fitbench run`` (measure a model here, MLPerf-style) and ``fitbench runtimes`` (what can run here)."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ..errors import FitbenchError
from .common import (
    cell,
    check_output,
    database_files,
    emit,
    invocation,
    output_console,
    parse_dims,
    parse_inputs,
    parse_int_list,
    parse_pairs,
    parse_zoo_params,
    printable,
    user_errors,
)
from .render import number


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("runtimes")(runtimes_cmd)


def parse_latency_ms(value: str | None, option: str = "--target-latency") -> float | None:
    """``"30ms"`` / ``"0.03s"`` / ``"500us"`` / ``"30"`` (ms) -> milliseconds."""
    if value is None or value == "":
        return None
    text = value.strip().lower()
    for suffix, factor in (("ms", 1.0), ("us", 1e-3), ("µs", 1e-3), ("s", 1e3)):
        if text.endswith(suffix):
            text, scale = text[: -len(suffix)], factor
            break
    else:
        scale = 1.0
    try:
        ms = float(text) * scale
    except ValueError:
        raise FitbenchError(f"{option} expects a time like 30ms, 0.03s or 500us, got {value!r}") from None
    if ms <= 0:
        raise FitbenchError(f"{option} must be positive, got {value!r}")
    return ms


@user_errors
def run_cmd(
    model: str = typer.Argument(..., help="ONNX file, zoo name (fitbench zoo list) or package.module:factory"),
    input: list[str] | None = typer.Option(None, "--input", "-i",
                                           help="NAME=DIMS, e.g. images=1x3x720x1280 (DIMS alone: the only input; "
                                                "on a zoo model it sets the resolution and batch)"),
    dim: list[str] | None = typer.Option(None, "--dim", help="bind a named symbolic dim: NAME=VALUE"),
    input_file: list[str] | None = typer.Option(None, "--input-file", help="NAME=PATH.npy: feed this array"),
    batch: str | None = typer.Option(None, "--batch", "-b", help="batch size(s), e.g. 1,2,4 (one run each)"),
    runtime: str = typer.Option("onnxruntime", "--runtime", "-r", help="onnxruntime | torch"),
    scenario: str = typer.Option("single-stream", "--scenario", "-s",
                                 help="single-stream | multi-stream | server | offline"),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda"),
    threads: int | None = typer.Option(None, "--threads", "-t", help="intra-op threads (default: runtime's)"),
    precision: str = typer.Option("fp32", "--precision", "-p", help="fp32 | fp16 | bf16 | int8"),
    target_latency: str | None = typer.Option(None, "--target-latency",
                                              help="server: find the peak QPS with p99 <= this, e.g. 30ms"),
    qps: float | None = typer.Option(None, "--qps", help="server: run at this Poisson arrival rate"),
    samples_per_query: int = typer.Option(8, "--samples-per-query", help="multi-stream: samples per query"),
    quick: bool = typer.Option(False, "--quick",
                               help="short run for sweeps: 64 queries and 1 s, at most 8 s timed (~10 s a point)"),
    driver: str = typer.Option("loadgen", "--driver",
                               help="loadgen (MLPerf LoadGen issues the queries) | direct (single-stream "
                                    "in a timed loop, no LoadGen per-query overhead or logs)"),
    min_count: int | None = typer.Option(None, "--min-count", help="minimum number of queries"),
    min_duration: float | None = typer.Option(None, "--min-duration", help="minimum timed seconds"),
    warmup_count: int | None = typer.Option(None, "--warmup-count", help="minimum warm-up runs"),
    warmup: float | None = typer.Option(None, "--warmup", help="minimum warm-up seconds"),
    timeout: float | None = typer.Option(None, "--timeout", help="kill the measurement after this many seconds"),
    compile: bool = typer.Option(False, "--compile", help="torch: use torch.compile"),
    h2d: bool = typer.Option(True, "--h2d/--no-h2d", help="GPU: host-to-device copy inside the timer"),
    resolution: str | None = typer.Option(None, help="zoo models: WIDTHxHEIGHT, e.g. 1920x1080"),
    seq_len: int | None = typer.Option(None, help="zoo models: sequence length"),
    param: list[str] | None = typer.Option(None, "--param", help="zoo models: extra parameter KEY=VALUE"),
    seed: int = typer.Option(0, help="seed of the synthetic inputs"),
    llm: bool = typer.Option(False, "--llm", help="zoo LLMs: measure TTFT (prefill) and TPOT (decode) on each "
                             "--runtime (comma-separated), beside the estimate for this machine's spec"),
    prompt: int = typer.Option(128, "--prompt", help="--llm: prompt tokens (prefill)"),
    context: int = typer.Option(512, "--context", help="--llm: tokens in the KV cache (decode)"),
    output_tokens: int = typer.Option(16, "--output-tokens", help="--llm server: tokens generated per query"),
    ttft_bound: str | None = typer.Option(None, "--ttft", help="--llm server: TTFT bound (LoadGen ttft_latency)"),
    tpot_bound: str | None = typer.Option(None, "--tpot", help="--llm server: TPOT bound (LoadGen tpot_latency)"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file"),
    db: str | None = typer.Option(None, "--db", help="store every result here (SQLite path or postgresql:// URL)"),
    save: bool = typer.Option(False, "--save", help="store every result in the default database "
                              "(~/.fitbench/results.db or $FITBENCH_DB)"),
    log_dir: Path | None = typer.Option(None, "--log-dir", help="keep LoadGen's summary and detail logs here "
                                        "(one subfolder per batch)"),
    layers: bool = typer.Option(False, "--layers",
                                help="per-layer times from a profiled pass after the timed run, beside the "
                                     "estimate for this machine's spec"),
    hw: str | None = typer.Option(None, "--hw", help="--layers / --llm: the spec to estimate on (name or YAML; "
                                                     "default: this CPU probed now, fitbench hw probe --quick)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or forecast on stderr"),
) -> None:
    """Measure latency percentiles and throughput on this machine, with every condition recorded."""
    from ..measure import MeasurementInterrupted, measure
    from .progress import MeasureProgress

    if fmt not in ("table", "json", "csv"):
        raise FitbenchError(f"--format must be table, json or csv, got {fmt!r}")
    batches = parse_int_list(batch, "--batch")
    check_output(output, protect=[model, *(v.split('=', 1)[-1] for v in input_file or []), *database_files(db)])
    if log_dir is not None:
        from ..measure.logs import check_log_dir

        if driver.strip().lower() == "direct":
            raise FitbenchError("--log-dir keeps LoadGen's logs; --driver direct runs without LoadGen (no logs)")
        check_log_dir(log_dir)
    store = None
    if (db is not None or save) and not llm:  # opened before the run: an unwritable database fails in a second
        from ..store import open_store

        store = open_store(db)
    dims = parse_dims(dim)
    # the same zoo options as profile; unset ones are dropped (they would reject an ONNX file)
    zoo_params = {k: v for k, v in parse_zoo_params(resolution, seq_len, param).items() if v is not None}
    # a zoo parameter must not land on one of measure()'s own keywords (or the builder's weights switch)
    own = {*inspect.signature(measure).parameters, "materialize_weights"} - {"zoo_params"}
    clash = sorted(k for k in zoo_params if k in own)
    if clash:
        raise FitbenchError(f"--param {clash[0]} is a setting of fitbench run, not a zoo parameter; "
                            f"use its own option")
    command = invocation()
    if llm:
        from ..store.db import default_location
        from .run_llm import run_llm

        llm_db = db if db is not None else (default_location() if save else None)
        run_llm(model, runtime=runtime, batches=batches, prompt=prompt, context=context, hw=hw, db=llm_db,
                threads=threads, quick=quick, scenario=scenario, qps=qps, output_tokens=output_tokens,
                ttft=parse_latency_ms(ttft_bound, "--ttft"), tpot=parse_latency_ms(tpot_bound, "--tpot"),
                settings={"min_count": min_count, "min_duration_s": min_duration, "warmup_count": warmup_count,
                          "warmup_s": warmup}, zoo_params=zoo_params, fmt=fmt, output=output, command=command)
        return
    from ..store.record import utcnow

    started = utcnow()
    if hw and not layers:
        raise FitbenchError("--hw goes with --layers or --llm (the spec the measurement is estimated on)")
    spec = spec_text = None
    if layers and hw:  # a bad spec is refused before the measurement
        from .layers import machine_spec

        spec, spec_text = machine_spec(hw, threads)
    # progress on stderr, unless asked for quiet or the output is machine-readable on stdout
    show = not quiet and (fmt == "table" or output is not None)
    interrupted = False
    try:
        with MeasureProgress(show):
            results = measure(
                model, inputs=parse_inputs(input) or None, batch=batches or None, runtime=runtime,
                scenario=scenario, device=device, threads=threads, precision=precision,
                target_latency_ms=parse_latency_ms(target_latency), server_qps=qps,
                samples_per_query=samples_per_query, quick=quick, min_count=min_count, min_duration_s=min_duration,
                warmup_count=warmup_count, warmup_s=warmup, timeout_s=timeout,
                input_files=parse_pairs(input_file, "--input-file", "NAME=PATH.npy") or None, seed=seed,
                compile=compile, include_h2d=h2d, dims=dims or None, command=command, driver=driver, layer_times=layers,
                **({"log_dir": str(log_dir)} if log_dir is not None else {}), **zoo_params,
            )
    except MeasurementInterrupted as exc:  # Ctrl-C: what was measured so far, the last point partial
        results, interrupted = exc.results, True
    if not isinstance(results, list):
        results = [results]
    comparisons = [None] * len(results)
    if layers and any(r.ok and r.layers is not None for r in results):
        from .layers import comparisons_for_run, machine_spec

        if spec is None:
            spec, spec_text = machine_spec(None, threads, Console(stderr=True, width=120))
        comparisons = comparisons_for_run(results, model, spec, spec_text, {
            "inputs": parse_inputs(input) or None, "dims": dims or None, **zoo_params})
        for r, c in zip(results, comparisons):  # the join travels with the result: JSON and stored rows
            if c is not None:
                r.layers.vs_estimate = c.to_dict()
    if store is not None:
        from .run_output import store_results

        sweep_id = store_results(store, results, command=command, started=started)
        store.close()
        sys.stderr.write(f"stored as sweep {printable(sweep_id)} in {store.location}\n")
    if fmt == "json":
        emit(json.dumps([r.to_dict() for r in results], indent=2), output)
    elif fmt == "csv":
        import pandas as pd

        emit(pd.concat([r.to_dataframe() for r in results]).to_csv(index=False), output)
    else:
        with output_console(output, 160) as console:
            render_results(results, console)
            if layers:
                render_layers(results, comparisons, console)
    if output is not None:  # the figures went to a file: say what they are, and where
        from .run_output import summary_line

        for r in results:
            sys.stderr.write(printable(summary_line(r)) + "\n")
        sys.stderr.write(f"wrote {printable(output)}\n")
    if interrupted:
        raise typer.Exit(130)
    if all(not r.ok or r.partial for r in results):
        raise typer.Exit(1)


def render_layers(results, comparisons, console: Console) -> None:
    from ..report.layers import render_comparison
    from .layers import render_layer_times

    for r, c in zip(results, comparisons):
        if c is not None:
            render_comparison(c, console)
            console.print(f"estimated on {c.spec_source}")
        elif r.ok and r.layers is not None:
            render_layer_times(r.layers, console, f"Per layer: measured ({r.layers.runtime}), batch {r.batch} "
                                                  "(ms per call)")


def _ms(v) -> str:
    return "insufficient" if v is None else f"{v:.3f}"


def render_results(results, console: Console) -> None:
    first = results[0]
    c = first.conditions
    console.print(f"[bold]{first.model}[/]  sha256 {str(c.get('model_sha256', ''))[:12]}  runtime {first.runtime} "
                  f"{c.get('runtime_version', '')}  device {first.device}  precision {first.precision}  "
                  f"scenario {first.scenario}")
    conv = c.get("conversion") or {}
    if conv.get("tool"):
        sha = str(c.get("converted_model_sha256") or "")[:12]
        console.print(f"converted to {c.get('precision_requested')} by {conv['tool']} {conv.get('tool_version') or ''}"
                      f"{' (' + conv['mode'] + ')' if conv.get('mode') else ''}{'  sha256 ' + sha if sha else ''}")
    elif conv.get("note"):
        console.print(conv["note"])
    cpu = c.get("cpu_model")
    if cpu:
        console.print(f"cpu {cpu}  threads {c.get('threads')}  affinity {c.get('cpu_affinity')}  "
                      f"providers {c.get('providers')}")
    table = Table(title="Measured (latency in ms, nearest-rank percentiles; throughput in items/s)")
    for col in ("batch", "status", "count", "p50", "p90", "p99", "mean", "CV", "median 95% CI", "first run",
                "throughput", "peak QPS"):
        table.add_column(col, overflow="fold")
    for r in results:
        lat = r.latency
        if not r.ok:
            table.add_row(str(r.batch), f"[red]failed[/]: {cell(r.cause)}", *[""] * 10)
            continue
        ci = f"{lat.median_ci95_ms[0]:.3f}-{lat.median_ci95_ms[1]:.3f}" if lat and lat.median_ci95_ms else ""
        v = r.validity
        st = "[green]VALID[/]" if v is None or v.valid else "[bold red]INVALID[/]"
        if r.partial:
            st += " [yellow]partial[/]"
        table.add_row(
            str(r.batch), st, str(lat.count) if lat else "", _ms(lat.p50_ms) if lat else "", _ms(lat.p90_ms) if lat
            else "", _ms(lat.p99_ms) if lat else "", f"{lat.mean_ms:.3f}" if lat else "",
            f"{lat.cv:.1%}" if lat and lat.cv is not None else "", ci, _ms(r.first_run_ms),
            number(r.throughput) if r.throughput else "",
            number(r.server.peak_qps) if r.server and r.server.peak_qps else "",
        )
    console.print(table)
    for r in results:
        v = r.validity
        if v is not None and not v.valid:
            console.print(f"[bold red]INVALID[/] (batch {r.batch}): {cell('; '.join(v.reasons))}")
        for w in r.warnings:
            console.print(f"[yellow]warning[/] (batch {r.batch}): {cell(w)}")
    if any(r.validity is not None for r in results):
        from ..measure.validity import RULES

        console.print(f"[dim]validity: {RULES}[/]")


@user_errors
def runtimes_cmd(
    fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
) -> None:
    """What can run here: runtimes, versions, execution providers, devices, how to install the rest."""
    from ..measure.runtimes import runtime_status

    rows = runtime_status()
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt != "table":
        raise FitbenchError(f"--format must be table or json, got {fmt!r}")
    table = Table(title="Runtimes")
    for col in ("runtime", "available", "version", "devices", "providers", "install"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["runtime"], "yes" if r["available"] else "no", r["version"] or "—", ", ".join(r["devices"]),
                      ", ".join(r["providers"]), "" if r["available"] else r["install"])
    Console(width=160).print(table)
