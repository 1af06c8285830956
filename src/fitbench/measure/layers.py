"""Per-layer measured times (``fitbench run --layers``): a profiled pass after the timed run, mapped to layers.

Collection (in the measurement's child process, after the timed run, so the timed figures are not perturbed):

* **ONNX Runtime**: a second session with the timed session's options plus ``SessionOptions.enable_profiling``;
  ``WARMUP_RUNS`` runs, then ``runs`` profiled runs. The JSON trace's ``Node`` events named
  ``<node>_kernel_time`` give each executed node's kernel time (``dur``, microseconds); ``Session`` events
  named ``model_run`` delimit the runs (events of the warm-up runs are dropped). A node's time is its mean
  kernel time per run.
* **torch**: every leaf module's forward is wrapped in ``torch.profiler.record_function(<module path>)``
  under ``torch.profiler.profile``; a module's time is its range's mean CPU time per run.

Mapping to the profile's layers (:func:`map_node`): a node name equal to a layer name maps to it; otherwise the
name, or its longest ``_``-separated prefix, that is a layer name or a tensor name (then the layer producing that
tensor). ONNX Runtime renames the nodes it rewrites or fuses: its NCHWc rewrite of a fused Conv+BN+Relu is named
after the Relu's output tensor plus ``_nchwc``; a generated name ends ``_token_<n>``. Nodes that
ONNX Runtime inserts (layout reorders, device copies; and a node that maps to nothing and is named after its own
op type, ``Transpose`` / ``Transpose_token_0``: the layout transposes around int8 QLinearConv) are
*runtime-inserted*; any other node that maps to no layer is *unmapped*. Both keep their time in the totals and
are listed: no measured time is dropped.

Units: milliseconds per inference call at the measured batch (the batch's time, not per item).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

#: unprofiled runs of the profiled session before the profiled ones (first-run allocation, kernel selection)
WARMUP_RUNS = 2
#: profiled runs: enough for ~PROFILE_S seconds at the calibrated latency, within these bounds
MIN_RUNS, MAX_RUNS, PROFILE_S = 3, 50, 2.0
#: seconds the profiled pass may take (session build included): added to the child's time limit, so that the pass
#: never costs the timed result; a model too slow to profile MIN_RUNS times within it is not profiled (one warning)
PASS_BUDGET_S = 120.0
#: op types ONNX Runtime inserts itself (layout conversion, device copies): no layer of the model runs them
RUNTIME_INSERTED_OPS = frozenset({"ReorderInput", "ReorderOutput", "MemcpyToHost", "MemcpyFromHost"})


@dataclass
class NodeTime:
    """One executed node (ORT) or leaf module (torch) and the profile layer it maps to.

    ``mapped_by``: ``name`` (exact), ``prefix`` (a renamed/fused node: the longest ``_``-prefix of its name that
    is a layer), ``tensor`` / ``tensor-prefix`` (its name, or that prefix, is a tensor's: the layer producing it),
    ``runtime-inserted`` or ``unmapped`` (``layer`` is then ``None``)."""

    name: str
    op_type: str
    ms: float              # mean time per run
    calls: int             # executions of this node over the profiled runs
    layer: str | None
    mapped_by: str
    provider: str = ""


@dataclass
class LayerTime:
    """Measured time of one profile layer: the sum of the nodes mapped to it."""

    layer: str
    op_type: str
    ms: float
    nodes: list[str] = field(default_factory=list)


@dataclass
class LayerTimes:
    """Per-layer measured times of one model at one batch (ms per call), with what was not mapped."""

    runtime: str
    source: str            # how the times were taken (profiler, events used)
    runs: int              # profiled runs averaged
    nodes: list[NodeTime]
    profiled_run_ms: float | None = None   # median whole-run time of the profiled runs (profiler on)
    end_to_end_ms: float | None = None     # the timed run's median latency (profiler off), set by the parent
    notes: list[str] = field(default_factory=list)
    #: the join with an estimate (``fitbench.compare.layers.LayerComparison.to_dict()``) when one was made
    #: (``run --layers``): it then travels with the result (JSON, stored rows)
    vs_estimate: dict[str, Any] | None = None

    @property
    def total_ms(self) -> float:
        """Every node's time: mapped, runtime-inserted and unmapped."""
        return sum(n.ms for n in self.nodes)

    @property
    def unmapped_ms(self) -> float:
        return sum(n.ms for n in self.nodes if n.mapped_by == "unmapped")

    @property
    def inserted_ms(self) -> float:
        return sum(n.ms for n in self.nodes if n.mapped_by == "runtime-inserted")

    @property
    def coverage(self) -> float | None:
        """Sum of the node times / the timed end-to-end latency (1 = every microsecond is in some node)."""
        return self.total_ms / self.end_to_end_ms if self.end_to_end_ms else None

    def layers(self) -> list[LayerTime]:
        """Mapped time per profile layer, in the order the layers first ran."""
        out: dict[str, LayerTime] = {}
        for n in self.nodes:
            if n.layer is None:
                continue
            lt = out.setdefault(n.layer, LayerTime(layer=n.layer, op_type=n.op_type, ms=0.0))
            lt.ms += n.ms
            lt.nodes.append(n.name)
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(total_ms=self.total_ms, unmapped_ms=self.unmapped_ms, inserted_ms=self.inserted_ms,
                 coverage=self.coverage, layers=[asdict(x) for x in self.layers()])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LayerTimes:
        keep = {k: d.get(k) for k in ("runtime", "source", "runs", "profiled_run_ms", "end_to_end_ms")}
        return cls(**keep, nodes=[NodeTime(**n) for n in d.get("nodes", [])], notes=list(d.get("notes") or []),
                   vs_estimate=d.get("vs_estimate"))


# ------------------------------------------------------------------ mapping

def map_node(name: str, op_type: str, layer_names: set[str] | frozenset[str],
             producers: dict[str, str] | None = None) -> tuple[str | None, str]:
    """(layer, how) for an executed node: see the module doc for the rules. ``producers`` maps the model's tensor
    names to the layer producing each: ONNX Runtime names some rewritten nodes after their output tensor."""
    producers = producers or {}
    if name in layer_names:
        return name, "name"
    if op_type in RUNTIME_INSERTED_OPS:
        return None, "runtime-inserted"
    if name in producers:
        return producers[name], "tensor"
    parts = name.split("_")
    for k in range(len(parts) - 1, 0, -1):
        cand = "_".join(parts[:k])
        if cand in layer_names:
            return cand, "prefix"
        if cand in producers:
            return producers[cand], "tensor-prefix"
    if re.fullmatch(re.escape(op_type) + r"(_token)?(_\d+)?", name):  # a node ORT created, named after its op
        return None, "runtime-inserted"
    return None, "unmapped"


def map_nodes(raw: Iterable[dict[str, Any]], layer_names: Iterable[str],
              producers: dict[str, str] | None = None) -> list[NodeTime]:
    """Raw ``{name, op_type, ms, calls, provider}`` records -> :class:`NodeTime` mapped to ``layer_names`` (and, by
    output tensor name, through ``producers``)."""
    names = frozenset(layer_names)
    out = []
    for r in raw:
        layer, how = map_node(r["name"], r["op_type"], names, producers)
        out.append(NodeTime(name=r["name"], op_type=r["op_type"], ms=float(r["ms"]), calls=int(r["calls"]),
                            layer=layer, mapped_by=how, provider=r.get("provider", "")))
    return out


def module_of(layer_name: str) -> str | None:
    """The module path in a torch-exported node name, ``None`` without a scope. The TorchScript exporter names a
    node ``/<scope>/.../<OpType>``, one segment per module level, each the module's name under the last named
    attribute (``/layers/layers.0/body/body.0/body.0.0/Conv``): a segment extending the one before replaces it,
    any other starts a new component (``layers.0`` + ``body.0.0`` -> ``layers.0.body.0.0``)."""
    segs = [x for x in layer_name.split("/")[1:-1] if x]
    if not layer_name.startswith("/") or not segs:
        return None
    parts: list[str] = []
    for seg in segs:
        if parts and seg.startswith(parts[-1] + "."):
            parts[-1] = seg
        else:
            parts.append(seg)
    return ".".join(parts)


def remap_torch(lt: LayerTimes, layer_names: Iterable[str]) -> LayerTimes:
    """Torch module times -> the layers of the module's ONNX export (a profile of the same ``nn.Module``).

    A module maps to the first layer (in graph order) whose scope is that module (``mapped_by == "module"``); a
    module with no layer of its own (a BatchNorm the exporter folded into the conv before it) is counted with
    the module that ran before it (``"folded"``); the time outside leaf modules stays unmapped."""
    first: dict[str, str] = {}
    for name in layer_names:
        mod = module_of(name)
        if mod is not None:
            first.setdefault(mod, name)
    nodes, prev = [], None
    for n in lt.nodes:
        if n.name in first:
            layer, how = first[n.name], "module"
        elif prev is not None and not n.name.startswith("("):
            layer, how = prev, "folded"
        else:
            layer, how = None, "unmapped"
        prev = layer or prev
        nodes.append(NodeTime(name=n.name, op_type=n.op_type, ms=n.ms, calls=n.calls, layer=layer, mapped_by=how,
                              provider=n.provider))
    out = LayerTimes(runtime=lt.runtime, source=lt.source + "; modules mapped to their ONNX export's layers",
                     runs=lt.runs, nodes=nodes, profiled_run_ms=lt.profiled_run_ms, end_to_end_ms=lt.end_to_end_ms,
                     notes=list(lt.notes))
    folded = [n.name for n in nodes if n.mapped_by == "folded"]
    if folded:
        out.notes.append(f"{len(folded)} module(s) have no layer in the export (folded into the one before): "
                         + ", ".join(folded[:5]) + (" ..." if len(folded) > 5 else ""))
    return out


# ------------------------------------------------------------------ ONNX Runtime

def parse_ort_trace(events: list[dict[str, Any]], skip_runs: int = 0) -> tuple[list[dict[str, Any]], list[float]]:
    """ONNX Runtime profiler events -> (per-node records ``{name, op_type, ms, calls, provider}`` in first-run
    order, each kept run's whole time in ms). Node events outside the kept ``model_run`` windows (session
    set-up, the first ``skip_runs`` runs) are dropped; ``ms`` is the mean kernel time per kept run."""
    runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
                  key=lambda e: e["ts"])
    kept = runs[skip_runs:]
    if not kept:
        return [], []
    windows = [(r["ts"], r["ts"] + r["dur"]) for r in kept]
    nodes: dict[str, dict[str, Any]] = {}
    suffix = "_kernel_time"
    for e in sorted((e for e in events if e.get("cat") == "Node" and str(e.get("name", "")).endswith(suffix)),
                    key=lambda e: e["ts"]):
        ts = e["ts"]
        if not any(a <= ts <= b for a, b in windows):
            continue
        args = e.get("args") or {}
        name = e["name"][: -len(suffix)]
        rec = nodes.setdefault(name, {"name": name, "op_type": args.get("op_name", ""), "us": 0.0, "calls": 0,
                                      "provider": args.get("provider", "")})
        rec["us"] += float(e.get("dur", 0))
        rec["calls"] += 1
    out = [{"name": r["name"], "op_type": r["op_type"], "ms": r["us"] / 1e3 / len(kept), "calls": r["calls"],
            "provider": r["provider"]} for r in nodes.values()]
    return out, [r["dur"] / 1e3 for r in kept]


def _named_model(model_path: str, tmp: str) -> tuple[str, list[str], dict[str, str]]:
    """The model path ORT should profile, its node names and ``{output tensor: node}``: unnamed nodes get the
    profile's names (``<op_type>_<index>``, :func:`fitbench.graph.onnx_io._name_nodes`) in a copy."""
    import onnx

    from ..graph.onnx_io import _name_nodes

    model = onnx.load(model_path, load_external_data=False)
    path = model_path
    if not all(n.name for n in model.graph.node):
        model = onnx.load(model_path)
        _name_nodes(model.graph)
        path = os.path.join(tmp, "named.onnx")
        onnx.save(model, path)
    nodes = model.graph.node
    return path, [n.name for n in nodes], {o: n.name for n in nodes for o in n.output if o}


def runs_for(per_call_s: float | None) -> int:
    """Profiled runs: ~PROFILE_S seconds at the calibrated latency, within [MIN_RUNS, MAX_RUNS]."""
    if not per_call_s or per_call_s <= 0:
        return MIN_RUNS
    return int(min(max(PROFILE_S / per_call_s, MIN_RUNS), MAX_RUNS))


def collect_ort(job: dict[str, Any], arrays: dict[str, Any], runs: int) -> dict[str, Any]:
    """The profiled pass on ONNX Runtime (child side): raw node records, run times and the model's node names."""
    from .runtimes.onnxruntime import OrtRunner

    with tempfile.TemporaryDirectory(prefix="fitbench-ortprof-") as tmp:
        path, names, producers = _named_model(job["model_path"], tmp)
        runner = OrtRunner(path, device=job["device"], threads=job["threads"], include_h2d=job["include_h2d"],
                           profile_prefix=os.path.join(tmp, "ort"))
        call = runner.make_call(arrays)
        for _ in range(WARMUP_RUNS):
            call()
        for _ in range(runs):
            call()
        trace = runner.session.end_profiling()
        with open(trace, encoding="utf-8") as f:
            events = json.load(f)
    raw, run_ms = parse_ort_trace(events, skip_runs=WARMUP_RUNS)
    return {"runtime": "onnxruntime", "raw": raw, "run_ms": run_ms, "layer_names": names, "producers": producers,
            "source": "onnxruntime profiler (SessionOptions.enable_profiling): Node events' kernel time "
                      "(<node>_kernel_time dur), mean per run"}


# ------------------------------------------------------------------ torch

def collect_torch(module: Any, call, runs: int) -> dict[str, Any]:
    """The profiled pass on torch (child side): each leaf module's forward in a ``record_function`` range."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    leaves = [(n, m) for n, m in module.named_modules() if n and not any(True for _ in m.children())]
    ctx: dict[int, Any] = {}

    def pre(mod, _inp, name=None):
        ctx[id(mod)] = record_function(name)
        ctx[id(mod)].__enter__()

    def post(mod, _inp, _out):
        rf = ctx.pop(id(mod), None)
        if rf is not None:
            rf.__exit__(None, None, None)

    handles = []
    for n, m in leaves:
        handles.append(m.register_forward_pre_hook(lambda mod, inp, _n=n: pre(mod, inp, _n)))
        handles.append(m.register_forward_hook(post))
    types = {n: type(m).__name__ for n, m in leaves}
    try:
        for _ in range(WARMUP_RUNS):
            call()
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
        t0 = time.perf_counter()
        with profile(activities=activities) as prof:
            for _ in range(runs):
                with record_function("fitbench_run"):
                    call()
        wall_ms = (time.perf_counter() - t0) * 1e3 / runs
    finally:
        for h in handles:
            h.remove()
    agg: dict[str, dict[str, Any]] = {}
    run_us: list[float] = []
    for e in prof.events():
        if e.name == "fitbench_run":
            run_us.append(e.cpu_time_total)
        elif e.name in types:
            rec = agg.setdefault(e.name, {"name": e.name, "op_type": types[e.name], "us": 0.0, "calls": 0})
            rec["us"] += e.cpu_time_total
            rec["calls"] += 1
    order = {n: i for i, (n, _) in enumerate(leaves)}
    raw = [{"name": r["name"], "op_type": r["op_type"], "ms": r["us"] / 1e3 / runs, "calls": r["calls"]}
           for r in sorted(agg.values(), key=lambda r: order[r["name"]])]
    run_ms = [u / 1e3 for u in run_us] or [wall_ms]
    # the time between leaf modules (functional ops in forward(), e.g. a residual add) is no module's: shown as such
    between = sorted(run_ms)[len(run_ms) // 2] - sum(r["ms"] for r in raw)
    if between > 0:
        raw.append({"name": "(outside leaf modules)", "op_type": "", "ms": between, "calls": runs})
    return {"runtime": "torch", "raw": raw, "run_ms": run_ms, "layer_names": [n for n, _ in leaves],
            "source": "torch.profiler: each leaf module's forward in a record_function range, mean CPU time per "
                      "run; '(outside leaf modules)' = the run's time minus the modules' (functional ops)"}


def collect(job: dict[str, Any], runner: Any, arrays: dict[str, Any], per_call_s: float | None) -> dict[str, Any]:
    """The profiled pass after the timed run (child side); never raises: a failure comes back as ``error``.

    Within ``job["layers_budget_s"]`` (:data:`PASS_BUDGET_S`): at most as many runs as fit in 80 % of it at the
    calibrated latency (half of it kept for building the profiled session), none when ``MIN_RUNS`` do not fit."""
    budget = float(job.get("layers_budget_s") or PASS_BUDGET_S)
    runs = runs_for(per_call_s)
    if per_call_s:
        fit = int(0.4 * budget / per_call_s) - WARMUP_RUNS
        if fit < MIN_RUNS:
            return {"error": f"skipped: {WARMUP_RUNS + MIN_RUNS} runs at {per_call_s:.3g} s each do not fit in the "
                             f"pass's {budget:g} s budget"}
        runs = min(runs, fit)
    try:
        if job["runtime"] == "onnxruntime":
            # the timed session goes first: two sessions of a large model at once would outgrow the memory guard
            runner.session = None
            out = collect_ort(job, arrays, runs)
        else:
            out = collect_torch(runner.module, runner.make_call(arrays), runs)
    except Exception as exc:  # noqa: BLE001 - the timed result stands; the layer pass reports its failure
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}
    out["runs"] = runs
    return out


def from_child(data: dict[str, Any], end_to_end_ms: float | None) -> LayerTimes:
    """The parent's :class:`LayerTimes` from what :func:`collect` returned (mapped to the run model's names)."""
    nodes = map_nodes(data["raw"], data["layer_names"], data.get("producers"))
    run_ms = sorted(data["run_ms"])
    lt = LayerTimes(runtime=data["runtime"], source=data["source"], runs=int(data["runs"]), nodes=nodes,
                    profiled_run_ms=run_ms[len(run_ms) // 2] if run_ms else None, end_to_end_ms=end_to_end_ms)
    if lt.unmapped_ms > 0:
        names = [n.name for n in nodes if n.mapped_by == "unmapped"]
        lt.notes.append(f"{len(names)} node(s) map to no layer ({lt.unmapped_ms:.3f} ms): "
                        + ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""))
    return lt

