"""``fitbench run MODEL --llm``: TTFT / TPOT of a zoo LLM measured here, beside the estimate for this machine.

single-stream (default): :func:`fitbench.compare.llm_run.llm_run` on each ``--runtime`` (comma-separated),
printed beside the estimate on ``--hw`` (default: a quick probe of this CPU); ``--db`` stores it.
server: :func:`fitbench.measure.llm_server.measure_server` per runtime, LoadGen with TTFT / TPOT bounds
(``--ttft`` / ``--tpot``), its validity and percentiles; ``--db`` stores each run (status ``invalid`` when
LoadGen said INVALID).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ..errors import FitbenchError
from .common import emit, output_console


def _ms(v: float | None, scale: float = 1e3) -> str:
    return "—" if v is None else f"{v * scale:.2f}"


def run_llm(model: str, *, runtime: str, batches: list[int], prompt: int, context: int, hw: str | None,
            db: str | None, threads: int | None, quick: bool, scenario: str, qps: float | None,
            output_tokens: int, ttft: float | None, tpot: float | None, settings: dict[str, Any],
            zoo_params: dict[str, Any], fmt: str, output: Path | None, command: str | None) -> None:
    from ..compare.llm import is_llm
    from ..measure.scenarios import canonical_scenario

    if not is_llm(model):
        raise FitbenchError(f"--llm needs a zoo LLM (family llm, see `fitbench zoo list`), got {model!r}")
    runtimes = [r.strip() for r in runtime.split(",") if r.strip()]
    if len(batches) > 1:
        raise FitbenchError("--llm measures one --batch at a time")
    batch = batches[0] if batches else 1
    sc = canonical_scenario(scenario)
    settings = {k: v for k, v in settings.items() if v is not None}
    if sc == "server":
        _server(model, runtimes, batch, prompt, context, db, threads, quick, qps, output_tokens, ttft, tpot,
                settings, zoo_params, fmt, output, command)
        return
    if sc != "single-stream":
        raise FitbenchError(f"--llm runs single-stream (TTFT, TPOT) or server (with --ttft/--tpot), not {sc}")
    from ..compare.llm_run import llm_run, store_llm_run

    run = llm_run(model, runtimes, batch=batch, prompt=prompt, context=context, hw=hw, threads=threads or 1,
                  quick=quick, **settings, **zoo_params)
    sweep = store_llm_run(run, db, command=command) if db else None
    if fmt == "json":
        emit(json.dumps(run.to_dict() | {"sweep_id": sweep}, indent=2, default=str), output)
        return
    if fmt != "table":
        raise FitbenchError("--llm prints --format table or json")
    with output_console(output, 160) as console:
        console.print(f"[bold]{model}[/]  batch {run.batch}  prompt {run.prompt}  context {run.context}  fp32 "
                      f"(random weights)  threads {run.threads}")
        console.print(f"estimate on {run.hardware}: {run.hardware_source}")
        t = Table(title="Measured here (p50) vs estimated: TTFT = prefill, TPOT = one decode step, ms")
        for col in ("runtime", "version", "TTFT", "TTFT p90", "est. TTFT", "meas/est", "TPOT", "TPOT p90",
                    "est. TPOT", "meas/est", "tokens/s"):
            t.add_column(col)
        for r in run.rows():
            t.add_row(r["runtime"], str(r["version"]), _ms(r["ttft_s"]), _ms(r["ttft_p90_s"]),
                      _ms(r["estimate_ttft_s"]), "—" if r["ttft_ratio"] is None else f"x{r['ttft_ratio']:.2f}",
                      _ms(r["tpot_s"]), _ms(r["tpot_p90_s"]), _ms(r["estimate_tpot_s"]),
                      "—" if r["tpot_ratio"] is None else f"x{r['tpot_ratio']:.2f}", f"{r['tokens_per_s']:.1f}")
        console.print(t)
        p = run.estimated
        console.print(f"estimate bounds: prefill {p.prefill_bound} {p.prefill_bound_share:.0%}, decode "
                      f"{p.decode_bound} {p.decode_bound_share:.0%}; load average {run.load_average[0]:.2f}")
        for n in run.notes:
            console.print(f"note: {n}")
        if sweep:
            console.print(f"stored in {db} as sweep {sweep}")


def _server(model, runtimes, batch, prompt, context, db, threads, quick, qps, output_tokens, ttft, tpot, settings,
            zoo_params, fmt, output, command) -> None:
    from ..measure.llm_server import measure_server

    if ttft is None or tpot is None:
        raise FitbenchError("--llm --scenario server needs both --ttft and --tpot bounds (e.g. --ttft 2s --tpot 100ms)")
    if batch != 1:
        raise FitbenchError("--llm --scenario server serves one sequence at a time: --batch 1")
    # as fitbench run: --quick judges p90 (64 requests suffice), else p99 (MLPerf's, 662 requests)
    kw = {"percentile": 90 if quick else 99, "min_count": settings.get("min_count"),
          "min_duration_s": settings.get("min_duration_s", 1.0 if quick else 10.0),
          "warmup_count": settings.get("warmup_count", 3)}
    runs = [measure_server(model, runtime=rt, prompt=prompt, context=context, output_tokens=output_tokens,
                           ttft_ms=ttft, tpot_ms=tpot, qps=qps, threads=threads, command=command, **kw,
                           **zoo_params)
            for rt in runtimes]
    if db:
        from ..store import ResultRecord, open_store

        st = open_store(db)
        for r in runs:
            valid = r["result_validity"] == "VALID"
            st.put(ResultRecord(kind="measure", model=model, model_sha256=r["conditions"]["model_sha256"], batch=1,
                                precision="fp32", runtime=r["runtime"], conditions=r["conditions"],
                                metrics={k: v for k, v in r.items() if k not in ("conditions",)},
                                status="ok" if valid else "invalid",
                                cause=None if valid else f"LoadGen: {r['result_validity']}"))
    if fmt == "json":
        emit(json.dumps(runs, indent=2, default=str), output)
        return
    with output_console(output, 160) as console:
        t = Table(title=f"{model} server (LoadGen, token latencies): prompt {prompt}, context {context}, "
                        f"{output_tokens} tokens per request, bounds TTFT {ttft:g} ms / TPOT {tpot:g} ms")
        for col in ("runtime", "QPS", "requests", "TTFT p50", "TTFT p90", "TTFT p99", "TPOT p50", "TPOT p90",
                    "TPOT p99", "tokens/s", "LoadGen (judged at)"):
            t.add_column(col)
        for r in runs:
            m, lg = r["measured"], r["loadgen"]
            t.add_row(r["runtime"], f"{r['conditions']['target_qps']:.3g}", str(m["count"]),
                      *(_ms(lg[f"{x}_p{p}_ms"], 1) for x in ("ttft", "tpot") for p in (50, 90, 99)),
                      f"{lg['completed_tokens_per_s'] or 0:.1f}",
                      f"{r['result_validity']} (p{r['conditions']['percentile']})")
        console.print(t)
        if db:
            console.print(f"stored in {db}")
