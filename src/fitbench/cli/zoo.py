"""``fitbench zoo list`` and ``fitbench zoo export``: the built-in models as runnable ONNX files."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import FitbenchError, writing
from .common import parse_pairs, parse_resolution, user_errors

zoo_app = typer.Typer(help="Built-in models (ResNet, YOLOv3, MobileNet, ViT, BERT, GPT-2, Llama-style LLMs, speech, "
                           "U-Net).",
                      no_args_is_help=True)


def _parse_params(values: list[str] | None) -> dict[str, str]:
    pairs = parse_pairs(values, "--param", "KEY=VALUE like width=0.5")
    return {key.replace("-", "_"): value for key, value in pairs.items()}


@zoo_app.command("list")
@user_errors
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Name, family, default input, parameters (trainable, at the defaults), accepted options and source."""
    from .. import zoo

    entries = zoo.list_models()
    if as_json:
        import json

        typer.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="fitbench zoo")
    for col in ("name", "family", "default input", "params", "options", "source"):
        table.add_column(col, justify="right" if col == "params" else "left")
    for e in entries:
        opts = ", ".join(f"{k}={'x'.join(map(str, v[::-1])) if k == 'resolution' else v}"
                         for k, v in e.defaults.items())
        table.add_row(e.name, e.family, e.default_input, params_text(e.parameters), opts, e.source)
    Console(width=200).print(table)


@zoo_app.command("export")
@user_errors
def export_cmd(
    name: str = typer.Argument(..., help="Zoo model name (see `fitbench zoo list`)."),
    output: Path = typer.Option(..., "-o", "--output", help="ONNX file to write."),
    resolution: str | None = typer.Option(None, "--resolution", help="Input size WIDTHxHEIGHT, e.g. 1920x1080."),
    batch: int = typer.Option(1, "--batch", help="Batch size."),
    seq_len: int | None = typer.Option(None, "--seq-len", help="Sequence length (BERT) or KV-cache length (GPT-2)."),
    param: list[str] | None = typer.Option(None, "--param", help="Model parameter KEY=VALUE (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights."),
    no_weights: bool = typer.Option(False, "--no-weights",
                                    help="Write initializers without data (for profiling only; not runnable)."),
) -> None:
    """Write a zoo model as ONNX with deterministic random weights (runnable in ONNX Runtime)."""
    from .. import zoo

    if batch <= 0:
        raise FitbenchError(f"--batch must be a positive integer, got {batch}")
    model = zoo.build(name, resolution=parse_resolution(resolution), batch=batch, seq_len=seq_len,
                      materialize_weights=not no_weights, seed=seed, **_parse_params(param))
    if output.exists() and output.is_dir():
        raise FitbenchError(f"-o {output} is a folder; give a file name like model.onnx")
    if not output.parent.exists():
        raise FitbenchError(f"the folder of -o {output} does not exist")
    with writing(output):
        output.write_bytes(model.proto.SerializeToString())
    shapes = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in model.input_shapes.items())
    if len(model.input_shapes) > 3:
        first = list(model.input_shapes.items())[:2]
        shapes = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in first)
        shapes += f", ... ({len(model.input_shapes)} inputs)"
    typer.echo(f"wrote {output} ({model.name}, {model.parameters:,} parameters, inputs {shapes})")
    for note in model.notes:
        typer.echo(f"note: {note}")


def register(app: typer.Typer) -> None:
    app.add_typer(zoo_app, name="zoo")


def params_text(n: int) -> str:
    """Parameters in millions, or exactly below 10,000: 25,557,032 -> '25.56 M', 1562 -> '1,562'
    (a 1,562-parameter net read '0.00 M')."""
    return f"{n:,}" if n < 10_000 else f"{n / 1e6:.2f} M"
