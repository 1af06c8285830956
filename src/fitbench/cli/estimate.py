"""``fitbench estimate``: what would my model get on this chip, at my batch sizes — and why."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .common import (
    HW_HELP,
    batches_for_inputs,
    check_output,
    emit,
    label,
    output_console,
    parse_dims,
    parse_hw,
    parse_inputs,
    parse_int_list,
    parse_zoo_params,
    user_errors,
)
from .render import duration, num, number, rate, si, size, traffic


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate_cmd)


@user_errors
def estimate_cmd(
    model: str = typer.Argument(..., help="ONNX file, zoo name (fitbench zoo list) or package.module:factory"),
    hw: list[str] | None = typer.Option(None, "--hw", help=HW_HELP + " (LLMs: default every catalog spec)"),
    batch: str | None = typer.Option(None, "--batch", "-b",
                                     help="batch sizes, comma-separated: 1,2,4,8 (default: the input's, or 1)"),
    precision: str = typer.Option("int8", "--precision", "-p", help="int8 | fp16 | bf16 | fp32"),
    winograd: str = typer.Option("auto", "--winograd", help="auto (the spec's) | on | off | expanded-in-dram | "
                                                            "expanded-on-chip"),
    input: list[str] | None = typer.Option(None, "--input", "-i", help="NAME=DIMS, e.g. images=1x3x1080x1920"),
    dim: list[str] | None = typer.Option(None, "--dim", help="bind a named symbolic dim: NAME=VALUE"),
    resolution: str | None = typer.Option(None, help="zoo models: WIDTHxHEIGHT, e.g. 1920x1080"),
    seq_len: int | None = typer.Option(None, help="zoo models: sequence length"),
    param: list[str] | None = typer.Option(None, "--param", help="zoo models: extra parameter KEY=VALUE"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | csv"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file"),
    layers: bool = typer.Option(False, "--layers", help="table/csv: per-layer rows"),
    top: int = typer.Option(15, min=0, help="table format: show the N slowest layers of the first batch"),
    prompt: int | None = typer.Option(None, "--prompt", help="LLMs: prompt tokens of the prefill (default 512)"),
    context: str | None = typer.Option(None, "--context", help="LLMs: tokens in the KV cache at decode, "
                                                               "comma-separated (default 4096)"),
    kv_precision: str = typer.Option("fp16", "--kv-precision", help="LLMs: KV cache and activations"),
) -> None:
    """Latency, throughput, DRAM traffic and bounds of MODEL on a hardware spec, per batch size.

    For an LLM of the zoo (family llm): time to first token (prefill), time per output token (decode at
    --context), tokens/s per sequence and in aggregate at each batch, the bound of each phase and the
    largest batch whose weights + KV cache fit the chip's memory, on each --hw (default: the catalog)."""
    from ..compare.llm import is_llm
    from ..errors import FitbenchError
    from ..hardware.estimator import WINOGRAD_CHOICES, estimate
    from ..hardware.spec import load_hardware
    from ..profile import profile

    if fmt not in ("table", "json", "csv"):
        raise FitbenchError(f"--format must be table, json or csv, got {fmt!r}")
    if is_llm(model):
        if seq_len is not None or resolution is not None:
            raise FitbenchError("an LLM takes --prompt (prefill tokens) and --context (KV-cache tokens), not "
                                "--seq-len or --resolution")
        _llm(model, parse_hw(hw) if hw else None, batch or "1", precision, kv_precision, prompt, context, param, fmt,
             output)
        return
    if prompt is not None or context is not None:
        raise FitbenchError("--prompt and --context apply to LLMs of the zoo (family llm, see fitbench zoo list)")
    if not hw:
        raise FitbenchError("give --hw (a catalog name or a hardware YAML file; several: --hw a,b or --hw a --hw b)")
    if winograd not in WINOGRAD_CHOICES:
        raise FitbenchError(f"--winograd must be one of {', '.join(WINOGRAD_CHOICES)}, got {winograd!r}")
    if batch is not None and not batch.strip():
        raise FitbenchError("--batch needs at least one batch size")
    inputs = parse_inputs(input)
    batches = batches_for_inputs(inputs, parse_int_list(batch, "--batch")) or [1]
    names = parse_hw(hw)
    if not names:
        raise FitbenchError("--hw needs at least one hardware spec")
    if any(n in ("catalog:*", "catalog", "*") for n in names):
        from ..hardware.spec import catalog_names

        names = [m for n in names for m in (catalog_names() if n in ("catalog:*", "catalog", "*") else [n])]
    specs = [load_hardware(n) for n in names]  # fail on a bad spec before profiling
    check_output(output, protect=[model, *names])
    dims = parse_dims(dim)
    zoo_params = parse_zoo_params(resolution, seq_len, param)
    prof = profile(model, inputs=inputs, dims=dims or None, precision=precision, **zoo_params)
    ests = [estimate(prof, spec, batch=batches, precision=precision, winograd=winograd) for spec in specs]
    if fmt == "json":
        import json

        data = [e.to_dict(layers=layers) for e in ests]
        emit(json.dumps(data[0] if len(data) == 1 else data, indent=2), output)
    elif fmt == "csv":
        import pandas as pd

        emit(pd.concat([e.to_dataframe(layers=layers) for e in ests]).to_csv(index=False), output)
    else:
        with output_console(output, 170) as console:
            for est in ests:
                render_estimate(est, console, top, layers)


def _llm(model, hw, batch, precision, kv_precision, prompt, context, param, fmt, output) -> None:
    from ..compare.engine import resolve_hardware
    from ..compare.llm import llm_estimate, llm_profiles
    from ..errors import FitbenchError

    batches = parse_int_list(batch, "--batch")
    if not batches:
        raise FitbenchError("--batch needs at least one batch size")
    specs = resolve_hardware(list(hw) if hw else "catalog:*")
    check_output(output)
    extra = parse_zoo_params(None, None, param)
    contexts = [4096] if context is None else parse_int_list(context, "--context")
    if not contexts:
        raise FitbenchError("--context needs at least one length")
    ests = []
    for ctx in contexts:  # tokens/s against the context length: one decode graph per length
        prof = llm_profiles(model, 512 if prompt is None else prompt, ctx, precision, kv_precision, **extra)
        ests += [llm_estimate(prof, s, batches) for s in specs]
    if fmt == "json":
        import json

        emit(json.dumps([e.to_dict() for e in ests], indent=2), output)
    elif fmt == "csv":
        import pandas as pd

        rows = [{"hardware": e.hardware, "model": e.model, "precision": e.precision, "kv_precision": e.kv_precision,
                 "prompt": e.prompt, "context": e.context, "max_batch": e.max_batch, **vars(p)}
                for e in ests for p in e.points]
        emit(pd.DataFrame(rows).to_csv(index=False), output)
    else:
        with output_console(output, 170) as console:
            render_llm(ests, console)


def render_llm(ests, console: Console) -> None:
    """Header figures (no hardware), then one row per offering and batch."""
    e0 = ests[0]
    contexts = list(dict.fromkeys(e.context for e in ests))
    console.print(f"[bold]{e0.model}[/]  {e0.parameters / 1e9:.3g} B parameters  weights {e0.precision}, "
                  f"KV cache {e0.kv_precision}  prompt {e0.prompt}  context {', '.join(map(str, contexts))}")
    console.print(f"weights {size(e0.weight_bytes)}; KV cache {size(e0.kv_bytes_per_token)}/token, "
                  f"{size(e0.kv_bytes_per_sequence)}/sequence at {e0.context}; "
                  f"prefill {si(e0.prefill_macs_per_sequence)}MAC/sequence; "
                  f"decode {si(e0.decode_macs_per_token)}MAC/token")
    t = Table(title="Time to first token (prefill) and per output token (decode)")
    cols = ("hardware", *(("context",) if len(contexts) > 1 else ()), "batch", "TTFT", "TPOT", "tok/s/seq", "tok/s",
            "prefill bound", "decode bound", "DRAM/token", "weights+KV", "fits", "max batch")
    for col in cols:
        t.add_column(col, justify="left" if col in ("hardware", "prefill bound", "decode bound") else "right")
    for e in ests:
        for p in e.points:
            fits = "" if p.fits_memory is None else ("yes" if p.fits_memory else "[red]no[/]")
            pbound, dbound = (b if b == "infeasible" else f"{b} {share:.0%}" for b, share in
                              ((p.prefill_bound, p.prefill_bound_share), (p.decode_bound, p.decode_bound_share)))
            t.add_row(e.hardware, *((str(e.context),) if len(contexts) > 1 else ()), str(p.batch),
                      duration(p.ttft_s) if p.ttft_s else "—",
                      duration(p.tpot_s) if p.tpot_s else "—", num(p.tokens_per_s_per_sequence, ",.1f"),
                      num(p.tokens_per_s, ",.1f"), pbound,
                      dbound, traffic(p.decode_dram_bytes_per_token),
                      size(p.memory_bytes), fits, "" if e.max_batch is None else str(e.max_batch))
    console.print(t)
    notes = list(dict.fromkeys(n for e in ests for n in e.notes))
    for note in notes[:8]:
        console.print(f"[yellow]note:[/] {label(note, 2000)}")


def render_estimate(est, console: Console, top: int = 15, all_layers: bool = False) -> None:
    c = est.conditions
    console.print(f"[bold]{label(est.model.name)}[/] on [bold]{est.hardware['name']}[/]  precision {c['precision']}  "
                  f"winograd {c['winograd']}  inputs "
                  + ", ".join(f"{label(k)}={'x'.join(map(str, v))}" for k, v in c["input_shapes"].items()))
    console.print(f"hardware source: {est.hardware['source']}")
    for note in est.notes:
        console.print(f"[yellow]note:[/] {label(note, 2000)}")
    t = Table(title="Estimate per batch size")
    for col in ("batch", "sub-batch", "latency", "inf/s", "eff. TOPS", "peak TOPS", "MAC util", "DRAM/inf",
                "weights/inf", "acts/inf", "DRAM demand", "weights", "call + link", "bound (time share)", "mJ/inf"):
        t.add_column(col, justify="right")
    for p in est.points:
        if not p.feasible:
            t.add_row(str(p.batch), "", "—", "—", "", f"{p.peak_tops:.3g}", "", "", "", "", "", "", "",
                      f"[red]infeasible: {p.infeasible_reason}[/]", "")
            continue
        share = ", ".join(f"{k} {v:.0%}" for k, v in p.bound_share.items() if v >= 0.005)
        t.add_row(str(p.batch), str(p.sub_batch), duration(p.latency_s), number(p.throughput_ips),
                  num(p.effective_tops, ".3g"), f"{p.peak_tops:.3g}", num(p.mac_utilization, ".0%"),
                  traffic(p.dram_bytes_per_inference), traffic(p.dram_weight_bytes_per_inference),
                  traffic(p.dram_activation_bytes_per_inference), rate(p.dram_bandwidth_demand),
                  p.plan, duration(p.call_overhead_s + p.link_s), share,
                  "" if p.energy_j_per_inference is None else f"{p.energy_j_per_inference * 1e3:.3g}")
    console.print(t)
    first = next((p for p in est.points if p.feasible), None)
    if first is None or (top <= 0 and not all_layers):
        return
    layers = first.layers if all_layers else sorted(first.layers, key=lambda x: -x.time_s)[:top]
    lt = Table(title=f"{'All' if all_layers else f'Slowest {len(layers)}'} layers at batch {first.batch}")
    left = ("layer", "op", "engine", "bound", "Wino", "W res.")
    for col in ("layer", "op", "engine", "MACs", "util", "compute", "DRAM W", "DRAM A", "DRAM state", "overhead",
                "time", "bound", "passes", "steps", "W res.", "Wino"):
        lt.add_column(col, overflow="fold", justify="left" if col in left else "right")
    for x in layers:
        lt.add_row(label(x.name) + (f" (+{len(x.fused)})" if x.fused else ""), label(x.op_type),
                   x.engine + (f" ({x.op_class})" if x.engine != "main" else ""), si(x.macs), f"{x.utilization:.0%}",
                   duration(x.compute_s), traffic(x.dram_weight_bytes), traffic(x.dram_activation_bytes),
                   traffic(x.dram_state_bytes) if x.dram_state_bytes else "", duration(x.overhead_s + x.link_s),
                   duration(x.time_s), x.bound, str(x.passes), str(x.steps) if x.steps > 1 else "",
                   "yes" if x.weights_resident else "no", "yes" if x.winograd else "")
    console.print(lt)
