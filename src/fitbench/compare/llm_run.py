"""Measured TTFT / TPOT of a zoo LLM on this machine's runtimes, beside the estimate for this machine's spec.

``llm_run`` measures the prefill graph (TTFT) and one decode step (TPOT) with :func:`.llm.measure_llm` on each
runtime (``onnxruntime``: the zoo's ONNX graphs; ``torch``: :mod:`fitbench.measure.runtimes.torch_llama`, the
same configuration written in torch), random fp32 weights, and estimates the same two graphs with
:func:`.llm.llm_estimate` on a spec of this machine: ``hw`` (a name or YAML path, e.g. one written by
``fitbench hw probe``) or, when none is given, a quick ``fitbench hw probe`` run now at the measurement's
thread count. Weights and KV cache are fp32 in both (the runtimes run the graphs as built). The ratio
reported is measured / estimated (> 1: the estimate is optimistic).

``store_llm_run`` writes one ``estimate`` record (hardware = the spec's name, the spec in its conditions)
and one ``measure`` record per runtime (runtime + version, threads, CPU, both graphs' sha256, prompt,
context, batch, precision and the load average in its conditions; TTFT / TPOT percentiles, tokens/s and the
estimate's figures in its metrics), all under one sweep id.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from .._checks import is_positive_int
from ..errors import FitbenchError
from .llm import LLMEstimate, LLMMeasurement, is_llm, llm_estimate, measure_llm

RUNTIMES = ("onnxruntime", "torch")


@dataclass
class LLMRun:
    """One model at one (batch, prompt, context): the measurements per runtime and the estimate."""

    model: str
    batch: int
    prompt: int
    context: int
    threads: int
    hardware: str
    hardware_source: str
    spec: dict[str, Any]
    estimate: LLMEstimate
    measurements: list[LLMMeasurement] = field(default_factory=list)
    load_average: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def estimated(self):
        return self.estimate.point(self.batch)

    def rows(self) -> list[dict[str, Any]]:
        """Per runtime: measured TTFT / TPOT p50 (s), the estimate and measured / estimated."""
        p = self.estimated
        out = []
        for m in self.measurements:
            out.append({"runtime": m.runtime, "version": m.conditions.get("runtime_version"),
                        "ttft_s": m.ttft_p50_s, "ttft_p90_s": m.ttft_p90_s, "tpot_s": m.tpot_p50_s,
                        "tpot_p90_s": m.tpot_p90_s, "tokens_per_s": m.tokens_per_s,
                        "estimate_ttft_s": p.ttft_s, "estimate_tpot_s": p.tpot_s,
                        "ttft_ratio": _ratio(m.ttft_p50_s, p.ttft_s), "tpot_ratio": _ratio(m.tpot_p50_s, p.tpot_s)})
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows"] = self.rows()
        return d


def _ratio(measured: float | None, estimated: float | None) -> float | None:
    return measured / estimated if measured and estimated else None


def this_machine_spec(hw: Any, threads: int) -> tuple[Any, list[str]]:
    """``hw`` loaded, or (``None``) a quick probe of this CPU at ``threads`` threads."""
    from ..hardware.spec import load_hardware

    if hw is not None:
        return load_hardware(hw), []
    from ..measure.probe import probe

    res = probe(threads=threads, quick=True)
    return res.spec(), [f"spec probed now: fitbench hw probe --quick --threads {threads} ({res.cpu_model})"]


def llm_run(model: str, runtimes: tuple[str, ...] | list[str] = RUNTIMES, batch: int = 1, prompt: int = 128,
            context: int = 512, hw: Any = None, threads: int = 1, quick: bool = True,
            **kwargs: Any) -> LLMRun:
    """Measure ``model`` on each of ``runtimes`` and estimate it on ``hw`` (default: this CPU, probed now).
    ``kwargs`` go to :func:`.llm.measure_llm` (settings such as ``min_count``, configuration fields such as
    ``layers``; configuration fields reach the estimate too)."""
    from ..measure.runtimes import canonical

    if not is_llm(model):
        raise FitbenchError(f"{model!r} is not an LLM of the zoo (family llm: see `fitbench zoo list`)")
    if not is_positive_int(threads):
        raise FitbenchError(f"threads must be a positive integer, got {threads!r}")
    rts = [canonical(r) for r in runtimes]
    if not rts:
        raise FitbenchError("give at least one runtime (onnxruntime, torch)")
    spec, notes = this_machine_spec(hw, int(threads))
    from .. import zoo

    config_keys = set(zoo.get(model).defaults) - {"phase", "prompt", "context"}
    cfg = {k: v for k, v in kwargs.items() if k in config_keys}
    est = llm_estimate(model, spec, batch=batch, prompt=prompt, context=context, precision="fp32",
                       kv_precision="fp32", **cfg)
    ms = [measure_llm(model, batch=batch, prompt=prompt, context=context, runtime=rt, quick=quick,
                      threads=int(threads), **kwargs) for rt in rts]
    return LLMRun(model=model, batch=int(batch), prompt=int(prompt), context=int(context), threads=int(threads),
                  hardware=spec.name, hardware_source=spec.source, spec=spec.to_dict() if hasattr(spec, "to_dict")
                  else {}, estimate=est, measurements=ms, load_average=list(os.getloadavg()), notes=notes)


def store_llm_run(run: LLMRun, db: Any, command: str | None = None) -> str:
    """Store ``run`` (see the module doc); returns the sweep id."""
    from ..store import ResultRecord, open_store

    st = open_store(db) if not hasattr(db, "put") else db
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    sweep = f"llm-run/{run.model}/b{run.batch}/p{run.prompt}/c{run.context}/{stamp}"
    p = run.estimated
    shared = {"prompt": run.prompt, "context": run.context, "batch": run.batch, "threads": run.threads,
              "phases": "prefill (TTFT), decode (TPOT)", "command": command}
    recs = [ResultRecord(
        kind="estimate", model=run.model, batch=run.batch, precision="fp32", hardware=run.hardware,
        conditions={**shared, "hardware_source": run.hardware_source, "spec": run.spec,
                    "kv_precision": "fp32", "notes": run.notes + run.estimate.notes},
        metrics=asdict(p) | {"weight_bytes": run.estimate.weight_bytes,
                             "kv_bytes_per_token": run.estimate.kv_bytes_per_token},
        sweep_id=sweep, point_key=f"estimate/{run.hardware}")]
    for m, row in zip(run.measurements, run.rows(), strict=True):
        cond = {**m.conditions, **shared, "prefill_model_sha256": (m.prefill.get("conditions") or {}).get(
                    "model_sha256"), "prefill_conditions": m.prefill.get("conditions"),
                "load_average_1_5_15": run.load_average, "estimated_on": run.hardware}
        metrics = {**row, "samples": m.samples}
        recs.append(ResultRecord(
            kind="measure", model=run.model, model_sha256=m.conditions.get("model_sha256"), batch=run.batch,
            precision="fp32", runtime=m.runtime, conditions=cond, metrics=metrics, sweep_id=sweep,
            point_key=f"measure/{m.runtime}"))
    st.register_sweep(sweep, {"kind": "llm-run", "model": run.model, "runtimes": [m.runtime for m in
                                                                                   run.measurements],
                              "hardware": run.hardware}, len(recs), source="fitbench run --llm")
    for r in recs:
        st.put(r)
    return sweep
