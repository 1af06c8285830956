"""Per-layer tables for ``run --layers`` and ``compare --measure``: measured times, and measured vs estimated on
this machine's spec (``--hw`` or ``fitbench hw probe --quick`` run now)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..report.layers import TOP, _ms


def machine_spec(hw: str | None, threads: int | None, console=None):
    """(spec, how it was obtained): ``hw`` loaded, or this CPU probed now (quick) at ``threads`` (1 by default)."""
    from ..hardware.spec import load_hardware

    if hw:
        spec = load_hardware(hw)
        return spec, f"spec {spec.name} (--hw {hw})"
    from ..measure.probe import probe

    if console is not None:
        console.print("probing this CPU for the per-layer estimate (fitbench hw probe --quick --threads "
                      f"{threads or 1}; give --hw SPEC.yaml to reuse a probed spec) ...")
    spec = probe(threads=threads or 1, quick=True).spec()
    return spec, f"spec {spec.name} (this CPU, probed now: fitbench hw probe --quick --threads {threads or 1})"


def render_layer_times(lt, console, title: str, top: int = TOP) -> None:
    """Measured per-layer times only (no estimate: the torch runtime's module rows, or no spec)."""
    table = Table(title=title)
    for col in ("layer", "op", "measured ms", "share", "nodes"):
        table.add_column(col, overflow="fold")
    total = lt.total_ms or 1.0
    rows = sorted(lt.layers(), key=lambda x: -x.ms)
    for x in rows[:top]:
        table.add_row(x.layer, x.op_type, _ms(x.ms), f"{x.ms / total:.1%}", ", ".join(x.nodes[:3]))
    for kind in ("runtime-inserted", "unmapped"):
        ms = sum(n.ms for n in lt.nodes if n.mapped_by == kind)
        if ms:
            table.add_row(f"({kind})", "", _ms(ms), f"{ms / total:.1%}", "")
    console.print(table)
    _summary(lt, console, len(rows), top)


def _summary(lt, console, nrows: int, top: int) -> None:
    more = f"; {nrows - top} more rows in --format json" if nrows > top else ""
    e2e = f" = {lt.coverage:.1%} of the timed p50 {lt.end_to_end_ms:.3f} ms" if lt.coverage is not None else ""
    if lt.profiled_run_ms:
        e2e += f" (profiled runs {lt.profiled_run_ms:.3f} ms)"
    console.print(f"layers: {lt.total_ms:.3f} ms per call summed over {len(lt.nodes)} nodes{e2e} "
                  f"({lt.runs} profiled runs after the timed run{more})")
    for n in lt.notes:
        console.print(f"note: {n}")


def comparisons_for_run(results, model: str, spec, spec_text: str, profile_args: dict[str, Any]):
    """One :class:`~fitbench.compare.layers.LayerComparison` per result with per-layer times (else None), the model
    profiled at each result's batch and precision with ``profile_args`` (torch: the module it ran, exported)."""
    import fitbench

    from ..compare.layers import for_result

    out = []
    for r in results:
        if not r.ok or r.layers is None:
            out.append(None)
            continue
        if r.layers.runtime == "torch":
            prof = _torch_profile(model, r)
        else:
            prof = fitbench.profile(model, batch=r.batch, precision=r.precision, **profile_args)
        cmp = for_result(r, spec, prof)
        if cmp is not None:
            cmp.spec_source = spec_text
        out.append(cmp)
    return out


def _torch_profile(model: str, result):
    """The profile of the ``nn.Module`` the torch runtime ran (its ONNX export's layer names carry the module
    paths): a torch zoo builder at the fed shape, or a ``package.module:factory``."""
    import fitbench

    from ..measure.runtimes.torch_models import build, has_builder

    fed = {k: tuple(v) for k, v in (result.conditions.get("fed_shapes") or {}).items()}
    if has_builder(model):
        shape = fed.get("input")
        module, shapes = build(model, batch=result.batch, resolution=tuple(shape[2:4]) if shape else None)
        return fitbench.profile(module, inputs=dict(shapes), precision=result.precision)
    return fitbench.profile(model, inputs=fed, precision=result.precision)
