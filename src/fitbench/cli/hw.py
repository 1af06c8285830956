"""``fitbench hw``: the hardware catalog (``list``, ``show NAME|file.yaml``) and ``probe`` (this CPU as a spec)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .common import user_errors

hw_app = typer.Typer(help="Hardware specs: the built-in catalog and your own YAML files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(hw_app, name="hw")


@hw_app.command("list")
@user_errors
def hw_list(fmt: str = typer.Option("table", "--format", "-f", help="table | json")) -> None:
    """The built-in catalog, one line each, with sources."""
    from ..errors import FitbenchError
    from ..hardware.spec import catalog
    from ..hardware.units import format_bytes, format_si

    specs = catalog()
    if fmt == "json":
        sys.stdout.write(json.dumps([s.to_dict() for s in specs], indent=2) + "\n")
        return
    if fmt != "table":
        raise FitbenchError(f"--format must be table or json, got {fmt!r}")
    table = Table(title="fitbench hardware catalog (guessed = fields that are guesses; every source: hw show NAME)")
    for col in ("name", "kind", "peak TOPS", "SRAM", "DRAM", "cores", "TDP", "price", "guessed", "source"):
        table.add_column(col, overflow="fold")
    for s in specs:
        peaks = ", ".join(f"{s.peak_tops(p):.3g} {p}" for p in sorted(s.macs_per_cycle))
        guess = "all (illustrative)" if s.guess else (", ".join(s.guessed) if s.guessed else "")
        kind = s.kind if s.kind != "generic" else f"generic ({s.provenance})"
        cores = "" if s.cores == 1 else f"{s.cores} ({s.split})"
        source = " ".join(s.source.split())
        table.add_row(s.name, kind, peaks, format_bytes(s.sram_bytes),
                      format_si(s.dram_bandwidth, "B/s") if s.dram_bandwidth else "none", cores,
                      "" if s.tdp_w is None else f"{s.tdp_w:g} W",
                      "" if s.price_usd is None else f"${s.price_usd:,.0f}", guess,
                      source if len(source) <= 90 else source[:89] + "…")
    Console(width=200).print(table)


@hw_app.command("show")
@user_errors
def hw_show(
    name: str = typer.Argument(..., help="catalog name or a YAML file"),
    fmt: str = typer.Option("yaml", "--format", "-f", help="yaml | json"),
) -> None:
    """Every field of one spec (parsed, in base units: bytes, bytes/s, Hz), plus its peak TOPS; the YAML
    output is itself a spec file (save it, edit it, pass it to --hw)."""
    import yaml

    from ..errors import FitbenchError
    from ..hardware.spec import load_hardware

    spec = load_hardware(name)
    d = spec.to_dict()
    peak = {p: spec.peak_tops(p) for p in sorted(spec.macs_per_cycle)}
    if fmt == "json":
        d["peak_tops"] = peak
        d["spec_hash"] = spec.spec_hash()
        sys.stdout.write(json.dumps(d, indent=2) + "\n")
    elif fmt == "yaml":
        # a spec file that loads back (fitbench hw show X > my_chip.yaml, then edit it): the derived
        # figures are comments, and 'path' (where it was read from) is left out
        d.pop("path", None)
        sys.stdout.write(f"# {spec.path}  peak TOPS: " + ", ".join(f"{v:.4g} {k}" for k, v in peak.items())
                         + f"  spec_hash: {spec.spec_hash()}\n")
        sys.stdout.write(yaml.safe_dump(d, sort_keys=False, width=110))
    else:
        raise FitbenchError(f"--format must be yaml or json, got {fmt!r}")


@hw_app.command("probe")
@user_errors
def hw_probe(
    output: Path | None = typer.Option(None, "--output", "-o", help="write the spec YAML here (else to stdout)"),
    threads: int = typer.Option(1, "--threads", "-t", help="ONNX Runtime intra-op threads (a positive integer)"),
    quick: bool = typer.Option(False, "--quick", help="smaller sizes and a ~2.5 s budget (default ~12 s)"),
) -> None:
    """Measure this CPU with ONNX Runtime micro-benchmarks (GEMM per precision, conv, depthwise, element-wise
    rate, memory bandwidth, per-op dispatch, per-call cost) and write a `kind: cpu` spec for it. Every figure
    is a median over repeated calls, with its spread; the spec loads with --hw."""
    from ..errors import FitbenchError
    from ..measure.probe import format_value, probe
    from .common import check_output, emit

    if threads < 1:
        raise FitbenchError(f"--threads must be a positive integer, got {threads}")
    check_output(output)
    result = probe(threads=threads, quick=quick)
    text = result.to_yaml()
    result.spec()  # the derived spec must validate before anything is written
    emit(text, output)
    if output is not None:
        table = Table(title=f"{result.cpu_model}, {threads} thread(s), onnxruntime {result.onnxruntime}: "
                            "medians over samples (a sample = a slice's mean call time)")
        for col in ("figure", "value", "call median", "p25-p75", "min-max", "samples x calls", "what"):
            table.add_column(col, overflow="fold")
        for f in result.figures.values():
            table.add_row(f.name, format_value(f.value, f.unit), format_value(f.median_s, "s"),
                          f"{format_value(f.p25_s, 's')}-{format_value(f.p75_s, 's')}",
                          f"{format_value(f.min_s, 's')}-{format_value(f.max_s, 's')}",
                          f"{f.samples} x {f.calls_per_sample}", f.what)
        console = Console(width=160)
        console.print(table)
        for n in result.notes:
            console.print(f"note: {n}")
        console.print(f"spec {result.name} written to {output}")
