"""LLM serving figures per offering: time to first token, time per output token, tokens/s, memory fit.

A language model runs in two phases with different bottlenecks (zoo ``llm`` family,
:mod:`fitbench.zoo.llama`): **prefill** processes the ``prompt`` in one pass (compute-bound at useful prompt
lengths) and **decode** produces one token per step, reading every weight and the whole KV cache of
``context`` tokens per step (bandwidth-bound at small batches). Each phase is its own graph, profiled and
estimated with the v2 estimator (:mod:`fitbench.hardware.estimator`: the past K/V inputs are persistent
state, kept on chip when they fit, else read from DRAM, never over the host link). Conventions:

* ``batch`` B = concurrent sequences. **TTFT** (time to first token) = the prefill graph's latency at B
  (B prompts prefilled together); **TPOT** (time per output token) = the decode graph's latency at B with
  ``context`` tokens in each sequence's cache. Tokens/s per sequence = 1 / TPOT; aggregate = B / TPOT.
* Weight bytes at the weight precision (int4: 128-element groups with an fp16 scale, 4.125 bits per weight,
  :mod:`fitbench.precision`); the KV cache and activations at ``kv_precision`` (default fp16).
* **KV-cache bytes per token** = ``2 x layers x kv_heads x head_dim x bytes`` (K and V); per sequence at
  the decode step = that x ``context``. Weight bytes streamed per decode token (batch 1) = every weight but
  the embedding table, of which only the token's row is read (a tied LM head reads it whole).
* **Memory fit**: weights + B x KV cache per sequence must fit the spec's ``dram_capacity`` (activations,
  a few MB, are ignored); the largest such B is ``max_batch``. A spec without ``dram_capacity`` gives none.
* The bound of a phase = the largest share of its latency (compute, weights, state = KV cache, overhead...).
* **MoE** (``experts`` > 0, :mod:`fitbench.zoo.llama`): a step of T tokens (B sequences x 1 token in decode,
  B x prompt in prefill) reads the weights of the experts its tokens touch, taken as the expected number of
  distinct experts under uniform routing, E x (1 - (1 - k/E)^T) per layer, rounded: k at batch 1 (the
  active parameters), towards E as B grows. The graphs are therefore built and estimated at each batch (not
  scaled from batch 1); memory fit counts every expert.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .._checks import as_list, is_positive_int
from ..errors import FitbenchError
from ..precision import Precision

LLM_FAMILY = "llm"


@dataclass
class LLMPoint:
    """One batch size on one offering. Times in seconds; ``None`` where the phase is infeasible."""

    batch: int
    ttft_s: float | None
    tpot_s: float | None
    tokens_per_s_per_sequence: float | None
    tokens_per_s: float | None          # aggregate over the batch
    prefill_bound: str
    decode_bound: str
    prefill_bound_share: float
    decode_bound_share: float
    memory_bytes: float                 # weights + batch x KV cache per sequence
    fits_memory: bool | None            # None: the spec gives no dram_capacity
    decode_dram_bytes_per_token: float  # DRAM bytes per decode step / batch


@dataclass
class LLMEstimate:
    """TTFT / TPOT / tokens/s of one model on one offering at the given batches, prompt and context."""

    model: str
    hardware: str
    hardware_source: str
    precision: str
    kv_precision: str
    prompt: int
    context: int
    parameters: int
    weight_bytes: float
    kv_bytes_per_token: float
    kv_bytes_per_sequence: float
    prefill_macs_per_sequence: float
    decode_macs_per_token: float
    dram_capacity: float | None
    dram_bandwidth: float | None
    max_batch: int | None
    points: list[LLMPoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: decode at other context lengths, same batch (compare's side table fills it): dicts of context, tpot_s,
    #: tokens_per_s (aggregate), decode_bound, fits_memory
    context_curve: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def point(self, batch: int) -> LLMPoint:
        for p in self.points:
            if p.batch == batch:
                return p
        raise FitbenchError(f"no estimate at batch {batch}; batches: {', '.join(str(p.batch) for p in self.points)}")


@dataclass
class LLMProfiles:
    """The two phases of one model, profiled (batch 1), with the figures that need no hardware."""

    model: str
    config: dict[str, Any]
    prefill: Any
    decode: Any
    parameters: int
    kv_bytes_per_token: float

    @property
    def weight_bytes(self) -> float:
        """Every weight the model holds (the memory it needs): the batch-1 decode graph's weights, plus, for
        an MoE, the experts that graph does not touch (``experts - top_k`` per layer, ``3 d ffn`` each)."""
        w = float(self.decode.totals.weight_bytes)
        if self.is_moe:
            c = self.config
            idle = c["layers"] * (c["experts"] - c["top_k"]) * 3 * c["hidden"] * c["ffn"]
            w += idle * Precision.parse(self.decode.conditions.weight_precision).bytes
        return w

    @property
    def is_moe(self) -> bool:
        return bool(self.config.get("experts"))


def is_llm(model: Any) -> bool:
    """A zoo name of the ``llm`` family (:mod:`fitbench.zoo.llama`)."""
    if not isinstance(model, str):
        return False
    from .. import zoo
    from ..errors import UnknownNameError

    try:
        return zoo.get(model).family == LLM_FAMILY
    except UnknownNameError:
        return False


def kv_bytes_per_token(config: dict[str, Any], kv_precision: str = "fp16") -> float:
    """``2 x layers x kv_heads x head_dim x bytes`` of one token's K and V over all layers."""
    return 2.0 * config["layers"] * config["kv_heads"] * config["head_dim"] * Precision.parse(kv_precision).bytes


def _check_args(prompt: int, context: int, precision: str, kv_precision: str) -> None:
    for name, v in (("prompt", prompt), ("context", context)):
        if not is_positive_int(v):
            raise FitbenchError(f"{name} must be a positive integer, got {v!r}")
    Precision.parse(precision)
    if Precision.parse(kv_precision).weight_only:
        raise FitbenchError(f"kv_precision {kv_precision!r} is a weight format; use fp16, bf16, int8 or fp32")


def llm_profiles(model: str, prompt: int = 512, context: int = 4096, precision: str = "int4",
                 kv_precision: str = "fp16", **params: Any) -> LLMProfiles:
    """Profile ``model``'s prefill (``prompt`` tokens) and decode (one token, ``context`` cached) graphs."""
    from .. import zoo
    from ..profile import profile

    _check_args(prompt, context, precision, kv_precision)
    if not is_llm(model):
        raise FitbenchError(f"{model!r} is not an LLM of the zoo (family llm: see `fitbench zoo list`)")
    common = dict(weight_precision=precision, activation_precision=kv_precision, **params)
    pre = profile(model, phase="prefill", prompt=prompt, **common)
    dec = profile(model, phase="decode", context=context, **common)
    built = zoo.build(model, phase="decode", context=1, **params)
    config = {k: v for k, v in built.params.items() if k not in ("phase", "prompt", "context", "batch")}
    if config.get("experts"):  # an MoE's graph at batch 1 holds the active experts only: count them all
        from ..zoo.llama import moe_parameters

        n_params = moe_parameters(config)[0]
    else:
        n_params = built.parameters
    return LLMProfiles(model=zoo.get(model).name, config=config, prefill=pre, decode=dec,
                       parameters=n_params, kv_bytes_per_token=kv_bytes_per_token(config, kv_precision))


def decode_state_inputs(prof) -> list[str]:
    """The KV cache of an LLM graph (past.N.* inputs, present.N.* outputs), as the estimator's state."""
    return _state_names(prof)


def _state_names(prof) -> list[str]:
    """past.N.* inputs and present.N.* outputs: the KV cache lives in DRAM, it never crosses the host link."""
    names = list(prof.totals.input_bytes) + list(prof.totals.output_bytes)
    return sorted(n for n in names if n.startswith(("past.", "present.")))


def _bound(point) -> tuple[str, float]:
    if not point.feasible or not point.bound_share:
        return ("infeasible" if not point.feasible else "", 0.0)
    name, share = max(point.bound_share.items(), key=lambda kv: kv[1])
    return name, float(share)


def llm_estimate(model: str | LLMProfiles, hw: Any, batch: int | list[int] = 1, prompt: int = 512,
                 context: int = 4096, precision: str = "int4", kv_precision: str = "fp16",
                 **params: Any) -> LLMEstimate:
    """TTFT, TPOT, tokens/s, bounds and memory fit of an LLM on ``hw`` (a spec, name or path)."""
    from ..hardware.estimator import estimate
    from ..hardware.spec import load_hardware

    spec = load_hardware(hw)
    batches = as_list(batch)
    if not batches or not all(is_positive_int(b) for b in batches):
        raise FitbenchError(f"batch must be a positive integer or a list of them, got {batch!r}")
    prof = model if isinstance(model, LLMProfiles) else llm_profiles(model, prompt, context, precision,
                                                                      kv_precision, **params)
    pre_p, dec_p = prof.prefill, prof.decode
    prompt = int(pre_p.conditions.params.get("prompt", prompt))
    context = int(dec_p.conditions.params.get("context", context))
    if prof.is_moe:
        pre_pts, dec_pts = _moe_points(prof, spec, batches, prompt, context)
    else:
        pre = estimate(pre_p, spec, batch=batches, state_inputs=_state_names(pre_p))
        dec = estimate(dec_p, spec, batch=batches, state_inputs=_state_names(dec_p))
        pre_pts, dec_pts, notes = pre.points, dec.points, list(dict.fromkeys(pre.notes + dec.notes))
    weights = prof.weight_bytes
    kv_seq = prof.kv_bytes_per_token * context
    cap = spec.dram_capacity
    max_batch = None if cap is None else max(int(math.floor((cap - weights) / kv_seq)), 0)
    points = []
    for b, pp, dp in zip(batches, pre_pts, dec_pts, strict=True):
        ttft = pp.latency_s if pp.feasible else None
        tpot = dp.latency_s if dp.feasible else None
        pb, ps = _bound(pp)
        db, ds = _bound(dp)
        mem = weights + b * kv_seq
        points.append(LLMPoint(
            batch=int(b), ttft_s=ttft, tpot_s=tpot,
            tokens_per_s_per_sequence=1.0 / tpot if tpot else None, tokens_per_s=b / tpot if tpot else None,
            prefill_bound=pb, decode_bound=db, prefill_bound_share=ps, decode_bound_share=ds,
            memory_bytes=mem, fits_memory=None if cap is None else mem <= cap,
            decode_dram_bytes_per_token=float(dp.dram_bytes_per_inference or 0.0) if dp.feasible else 0.0))
    if prof.is_moe:
        notes = [f"MoE: {prof.config['experts']} experts, top-{prof.config['top_k']}; each batch's step reads "
                 "the expected distinct experts under uniform routing, E (1 - (1 - k/E)^T), rounded"]
    if cap is None:
        notes.append(f"{spec.name} gives no dram_capacity: whether weights + KV cache fit is not checked")
    elif weights > cap:
        notes.append(f"the weights ({weights / 1e9:.3g} GB) do not fit {spec.name}'s {cap / 1e9:.3g} GB of DRAM")
    return LLMEstimate(
        model=prof.model, hardware=spec.name, hardware_source=spec.source,
        precision=Precision.parse(pre_p.conditions.weight_precision).value,
        kv_precision=Precision.parse(pre_p.conditions.activation_precision).value,
        prompt=prompt, context=context, parameters=prof.parameters, weight_bytes=weights,
        kv_bytes_per_token=prof.kv_bytes_per_token, kv_bytes_per_sequence=kv_seq,
        prefill_macs_per_sequence=float(pre_p.totals.macs), decode_macs_per_token=float(dec_p.totals.macs),
        dram_capacity=None if cap is None else float(cap), dram_bandwidth=spec.dram_bandwidth,
        max_batch=max_batch, points=points, notes=notes)


def _moe_points(prof: LLMProfiles, spec: Any, batches: list[int], prompt: int, context: int):
    """Per batch B: both graphs built at B (the experts B sequences touch) and estimated at B; the points'
    per-inference figures are per sequence, as the dense path's are."""
    from ..hardware.estimator import estimate
    from ..profile import profile

    wp = prof.decode.conditions.weight_precision
    ap = prof.decode.conditions.activation_precision
    cfg = dict(prof.config)
    pre_pts, dec_pts = [], []
    for b in batches:
        for phase, extra, out in (("prefill", {"prompt": prompt}, pre_pts), ("decode", {"context": context}, dec_pts)):
            p = prof.prefill if phase == "prefill" else prof.decode
            if b != 1:  # built at B: its weights are the experts B sequences touch (the estimator takes the
                # profile's figures per sequence, its weights once per call)
                p = profile(prof.model, batch=int(b), weight_precision=wp, activation_precision=ap, phase=phase,
                            **extra, **cfg)
            out.append(estimate(p, spec, batch=int(b), state_inputs=_state_names(p)).points[0])
    return pre_pts, dec_pts


def llm_estimate_many(model: str, hw: Any, batch: int | list[int] = 1, prompt: int = 512, context: int = 4096,
                      precision: str = "int4", kv_precision: str = "fp16", **params: Any) -> list[LLMEstimate]:
    """:func:`llm_estimate` on every offering of ``hw`` (a list, ``catalog:*``...); profiled once."""
    from .engine import resolve_hardware

    prof = llm_profiles(model, prompt, context, precision, kv_precision, **params)
    return [llm_estimate(prof, spec, batch) for spec in resolve_hardware(hw)]


def llm_side_table(w: Any, specs: list[Any], batch: int, precision: str) -> list[dict[str, Any]]:
    """For a compare workload (``w.params`` may hold ``prompt``, ``context`` and configuration fields):
    :func:`llm_estimate` at ``batch`` on each spec, as dicts."""
    params = {k: v for k, v in w.params.items() if k not in ("phase", "batch")}
    prompt, context = int(params.pop("prompt", 512)), int(params.pop("context", 4096))
    kv = str(params.pop("kv_precision", "fp16"))
    prof = llm_profiles(w.model, prompt, context, precision, kv, **params)
    ests = [llm_estimate(prof, spec, batch) for spec in specs]
    curves = llm_context_curve(prof, specs, batch, context_curve_points(context))
    for e, curve in zip(ests, curves, strict=True):
        e.context_curve = curve
    return [e.to_dict() for e in ests]


#: the context lengths of compare's tokens/s-vs-context curve (with the workload's own added)
CONTEXT_CURVE = (1024, 4096, 16384)


def context_curve_points(context: int) -> list[int]:
    return sorted({*CONTEXT_CURVE, int(context)})


def llm_context_curve(prof: LLMProfiles, specs: list[Any], batch: int, contexts: list[int]) -> list[list[dict]]:
    """Per spec, decode at each of ``contexts`` (same model, precision and ``batch``): TPOT, aggregate tokens/s,
    the decode bound and the memory fit (weights + batch x KV cache of that context). One decode profile per
    context, shared by the specs; the prefill is not redone (TTFT does not depend on the context)."""
    from ..profile import profile

    dec = prof.decode
    wp, ap = dec.conditions.weight_precision, dec.conditions.activation_precision
    own = int(dec.conditions.params.get("context", 0))
    cfg = {k: v for k, v in prof.config.items() if v or k not in ("experts", "top_k")}  # 0 = dense: the default
    out: list[list[dict]] = [[] for _ in specs]
    for c in contexts:
        if c == own:
            p = dec
        else:
            p = profile(prof.model, weight_precision=wp, activation_precision=ap, phase="decode", context=int(c),
                        **cfg)
        sub = LLMProfiles(model=prof.model, config=prof.config, prefill=prof.prefill, decode=p,
                          parameters=prof.parameters, kv_bytes_per_token=prof.kv_bytes_per_token)
        for i, spec in enumerate(specs):
            pt = llm_estimate(sub, spec, batch, context=c).points[0]
            out[i].append({"context": int(c), "tpot_s": pt.tpot_s, "tokens_per_s": pt.tokens_per_s,
                           "decode_bound": pt.decode_bound, "fits_memory": pt.fits_memory})
    return out


@dataclass
class LLMMeasurement:
    """TTFT and TPOT measured on a runtime of this machine (random weights): the prefill graph's and the
    decode graph's single-stream latencies (p50 and p90, seconds) at ``batch``, with every condition."""

    model: str
    runtime: str
    batch: int
    prompt: int
    context: int
    ttft_p50_s: float
    ttft_p90_s: float | None
    tpot_p50_s: float
    tpot_p90_s: float | None
    tokens_per_s: float                 # aggregate: batch / TPOT p50
    samples: dict[str, int]             # queries per phase
    conditions: dict[str, Any]          # the decode run's conditions (runtime, threads, CPU, versions...)
    prefill: dict[str, Any] = field(repr=False, default_factory=dict)  # MeasureResult.to_dict() of each phase
    decode: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_llm(model: str, batch: int = 1, prompt: int = 128, context: int = 512, runtime: str = "onnxruntime",
                quick: bool = True, **kwargs: Any) -> LLMMeasurement:
    """Measure TTFT (the prefill graph) and TPOT (one decode step at ``context``) of a zoo LLM with random
    weights on ``runtime``; ``kwargs`` go to :func:`fitbench.measure.measure` (``threads``, ``min_count``...)
    and to the zoo (configuration fields such as ``layers``). Each phase is measured in its own run, with
    synthetic inputs (token ids 0/1, a random KV cache): speed, not text."""
    from ..errors import MeasurementError
    from ..measure import measure

    _check_args(prompt, context, "fp32", "fp16")
    if not is_llm(model):
        raise FitbenchError(f"{model!r} is not an LLM of the zoo (family llm: see `fitbench zoo list`)")
    if not is_positive_int(batch):
        raise FitbenchError(f"batch must be a positive integer, got {batch!r}")
    runs = {}
    for phase, extra in (("prefill", {"prompt": prompt}), ("decode", {"context": context})):
        res = measure(model, batch=int(batch), runtime=runtime, quick=quick, phase=phase, **extra, **kwargs)
        d = res.to_dict(include_samples=False, include_logs=False)
        if d.get("status") != "ok" or not d.get("latency"):
            raise MeasurementError(f"measuring {model} {phase} on {runtime} failed: {d.get('cause')}")
        runs[phase] = d

    def s(phase: str, key: str) -> float | None:
        v = runs[phase]["latency"].get(key)
        return None if v is None else float(v) / 1e3

    tpot = s("decode", "p50_ms")
    return LLMMeasurement(
        model=model, runtime=runtime, batch=int(batch), prompt=int(prompt), context=int(context),
        ttft_p50_s=s("prefill", "p50_ms"), ttft_p90_s=s("prefill", "p90_ms"), tpot_p50_s=tpot,
        tpot_p90_s=s("decode", "p90_ms"), tokens_per_s=int(batch) / tpot,
        samples={p: int(runs[p]["latency"].get("count") or 0) for p in runs},
        conditions=dict(runs["decode"].get("conditions") or {}), prefill=runs["prefill"], decode=runs["decode"])
