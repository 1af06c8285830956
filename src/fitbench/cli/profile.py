"""``fitbench profile``: what does my model demand at my shapes?"""

from __future__ import annotations

import heapq
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .common import check_output, emit, label, output_console, parse_dims, parse_inputs, parse_zoo_params, user_errors
from .render import shape, si, size


def register(app: typer.Typer) -> None:
    app.command("profile")(profile_cmd)


@user_errors
def profile_cmd(
    model: str = typer.Argument(..., help="ONNX file, zoo name (fitbench zoo list) or package.module:factory"),
    input: list[str] | None = typer.Option(None, "--input", "-i", help="NAME=DIMS, e.g. images=1x3x1080x1920"),
    batch: int | None = typer.Option(None, "--batch", "-b", help="bind the leading (batch) dim"),
    dim: list[str] | None = typer.Option(None, "--dim", help="bind a named symbolic dim: NAME=VALUE"),
    precision: str = typer.Option("fp32", "--precision", "-p", help="int8 | fp16 | bf16 | fp32"),
    weight_precision: str | None = typer.Option(None, help="weights' precision (default: --precision)"),
    activation_precision: str | None = typer.Option(None, help="activations' precision (default: --precision)"),
    resolution: str | None = typer.Option(None, help="zoo models: WIDTHxHEIGHT, e.g. 1920x1080"),
    seq_len: int | None = typer.Option(None, help="zoo models: sequence length"),
    param: list[str] | None = typer.Option(None, "--param", help="zoo models: extra parameter KEY=VALUE"),
    strict: bool = typer.Option(False, "--strict", help="fail when any op has no cost rule"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file"),
    top: int = typer.Option(25, min=0, help="table format: show the N costliest layers"),
) -> None:
    """Per-layer and total MACs, weights, activations and Winograd figures at the bound shapes."""
    from ..errors import FitbenchError
    from ..profile import profile

    dims = parse_dims(dim)
    zoo_params = parse_zoo_params(resolution, seq_len, param)
    if fmt not in ("table", "json", "csv"):
        raise FitbenchError(f"--format must be table, json or csv, got {fmt!r}")
    check_output(output, protect=[model])
    prof = profile(model, inputs=parse_inputs(input), batch=batch, dims=dims or None, precision=precision,
                   weight_precision=weight_precision, activation_precision=activation_precision, strict=strict,
                   **zoo_params)
    if fmt in ("json", "csv"):
        emit(prof.to_json() if fmt == "json" else prof.to_dataframe().to_csv(index=False), output)
        # the notes are in the JSON, but a batch that was not applied must not pass unseen: stderr, so
        # that stdout stays pure JSON/CSV
        for note in prof.conditions.notes:
            sys.stderr.write(f"note: {note}\n")
    else:
        with output_console(output, 160) as console:
            render_profile(prof, console, top)


def render_profile(prof, console: Console, top: int = 25) -> None:
    t, c = prof.totals, prof.conditions
    console.print(f"[bold]{label(prof.model.name)}[/]  sha256 {prof.model.sha256[:12]}  opset {prof.model.opset}")
    shapes = ", ".join(f"{label(k)}={shape(v)}" for k, v in c.input_shapes.items())
    console.print(f"inputs {shapes}  batch {c.batch}  weights {c.weight_precision}  activations "
                  f"{c.activation_precision}")
    for note in c.notes:
        console.print(f"[yellow]note:[/] {label(note, 2000)}")
    summary = Table(title="Totals", show_header=False)
    largest = t.largest_activation_tensor
    n_uncosted = sum(1 for x in prof.layers if x.macs is None)
    if prof.layers and n_uncosted == len(prof.layers):  # nothing was costed: unknown, never a bare 0
        unknown = f"unknown: every layer ({n_uncosted}) is uncosted"
        macs, flops, other = unknown, unknown, unknown
    else:
        more = f" + {n_uncosted} uncosted layer(s)" if n_uncosted else ""
        macs, flops, other = f"{si(t.macs)}  ({t.macs:,}){more}", si(t.flops) + more, si(t.other_ops) + more
    rows = [
        ("MACs", macs),
        ("FLOPs (2 x MACs)", flops),
        ("other ops", other),
        ("weights", f"{si(t.weights)}  ({size(t.weight_bytes)})"),
        ("largest activation", f"{size(t.largest_activation_bytes)}  {label(largest.name) if largest else ''} "
                               f"{shape(largest.shape) if largest else ''}"),
        ("peak live activations", size(t.peak_live_activation_bytes)),
        ("Winograd-eligible MACs", f"{t.winograd_mac_fraction:.1%}"),
        ("Winograd speed-up F(2x2,3x3) / F(4x4,3x3)", f"{t.winograd_speedup_f2:.2f}x / {t.winograd_speedup_f4:.2f}x"),
        ("weight growth, F(2x2) stored expanded", f"{t.winograd_weight_growth_f2:.2f}x"),
        ("layers / uncosted", f"{t.layer_count} / {t.uncosted_count}"),
        ("op mix", ", ".join(f"{k} {v}" for k, v in list(t.op_mix.items())[:8])),
    ]
    for k, v in rows:
        summary.add_row(k, v)
    console.print(summary)
    layers = heapq.nlargest(top, prof.layers, key=lambda x: x.macs or 0)  # = a stable sort's first N, in O(n)
    table = Table(title=f"Top {len(layers)} layers by MACs")
    for col in ("layer", "op", "output", "MACs", "other", "weights", "out bytes", "Wino", "rule"):
        table.add_column(col, overflow="fold")
    for x in layers:
        out = x.output_shapes[0] if x.output_shapes else None
        table.add_row(label(x.name), label(x.op_type), shape(out), si(x.macs), si(x.other_ops), si(x.weights),
                      size(x.output_activation_bytes), "yes" if x.winograd_eligible else "", x.rule)
    console.print(table)
    if prof.uncosted:
        console.print("[bold red]Uncosted ops (not counted in the totals):[/]")
        for u in prof.uncosted:
            names = ", ".join(label(n) for n in u.nodes[:5]) + (" ..." if len(u.nodes) > 5 else "")
            console.print(f"  {label(u.op_type)} x{u.count}: {label(u.reason, 2000)} \\[{names}]")
