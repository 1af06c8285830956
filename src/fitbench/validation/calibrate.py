"""Calibration: fit a few of a spec's uncertain parameters to measured or published points, with an error band.

**Points.** A :class:`CalibrationPoint` is one measured or published figure of a model (a zoo name with its
parameters, or an ONNX path) at a batch and precision: ``throughput_ips`` (samples per second) or
``latency_s`` (seconds per call of the whole batch). On the command line a point is written
``MODEL:batch=N:ips=X`` or ``MODEL:batch=N:latency=2.5ms`` with optional ``:precision=int8``,
``:resolution=WIDTHxHEIGHT`` and ``:seq_len=N`` (:func:`parse_point`); points also come from a results
database (:func:`points_from_store`) or MLPerf LoadGen summaries (:func:`points_from_loadgen`).

**Parameters** (:data:`PARAMETERS`; all are :class:`~fitbench.hardware.spec.HardwareSpec` fields, absent
meaning the documented default of the spec's ``kind``): ``compute_efficiency`` and ``dram_efficiency`` in
(0.01, 1], fitted in log space; ``layer_overhead`` and ``inference_overhead`` in [0, 10 ms], fitted in
microseconds.

**Which parameters.** Never more than the number of distinct conditions (model, input, batch, precision,
metric) among the points: the same condition from several submitters pins one thing. With one point: the one
parameter its estimate's dominant bound names (:data:`BOUND_PARAMETER`: compute -> compute_efficiency; weights,
activations, state -> dram_efficiency; overhead -> layer_overhead; call, link -> inference_overhead); when that
parameter is not among those allowed (or the bound names none, e.g. fallback), the most sensitive allowed one.
With ``N`` points: up to as many allowed parameters as they have distinct conditions, of those that move the
predictions at all, **rates before overheads** (:data:`RATE_PARAMETERS`): ``compute_efficiency`` then
``dram_efficiency``, then the overheads in order of **sensitivity** = the sum over points of
``|log pred(moved) - log pred|`` where *moved* halves an efficiency or adds 5 us (layer) / 50 us (call) to an
overhead. The reason: an achieved MAC rate or DRAM bandwidth is the chip's and carries over to other models,
while a per-layer or per-call overhead fitted on one model also absorbs what the estimator misses about that
model (its small-batch kernels, its host code) and carries that into every other model. On the shipped dataset
(leave-model-out, below) fitting the overheads first put 50 % of the held-out points within ±25 %, rates
first 80 %.

**Fit.** Least squares on the log residuals ``r_i = ln(predicted_i / measured_i)``: a bounded
Levenberg-Marquardt iteration with a forward-difference Jacobian (no scipy), each prediction a full
:func:`fitbench.hardware.estimator.estimate` of the calibrated copy.

**Band** (``band_factor`` F, a factor >= 1: an estimate ``x`` made with the calibrated spec is stated as
within ``[x / F, x F]``). With ``N > k`` points for ``k`` fitted parameters: ``F = exp(2 s)``,
``s = sqrt(sum r_i^2 / (N - k))`` — the RMS log residual scaled up for the degrees of freedom, times two
(about 95 % coverage if log errors are normal). With ``N <= k`` the residuals say nothing about the error and
F is the stated prior :data:`PRIOR_BAND`.

**Prior** (:data:`PRIOR_BAND` = x1.31, :data:`PRIOR_NOTE`): the leave-model-out spread on the shipped dataset,
measured by ``PYTHONPATH=src python scripts/leave_model_out.py``: every catalog chip that has ResNet-50 points
and points of other models is calibrated on its ResNet-50 points only (default parameter choice) and scored on
its other models' points; the prior is the 80th percentile of those held-out error factors (``max(p/q, q/p)``).
With the real-chip catalog, 10 chips qualify (74 held-out points of SSD-MobileNet-v1, SSD-ResNet34 and
BERT-Large): median x1.14, 59 of 74 within ±25 % (0.75 <= p/q <= 1.25), 80th percentile x1.31 — the prior.
(Earlier measurements: x1.60 with the overheads chosen by sensitivity and BERT estimated with its padding;
x1.79 when only ``nvidia-t4`` qualified, on 8 points.) Rerun the script when the catalog, the dataset or the
estimator changes.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FitbenchError

PARAMETERS = ("compute_efficiency", "layer_overhead", "inference_overhead", "dram_efficiency")
#: the achieved rates, fitted before any overhead when several points allow several parameters (module doc)
RATE_PARAMETERS = ("compute_efficiency", "dram_efficiency")
BOUND_PARAMETER = {"compute": "compute_efficiency", "weights": "dram_efficiency", "activations": "dram_efficiency",
                   "state": "dram_efficiency", "overhead": "layer_overhead", "call": "inference_overhead",
                   "link": "inference_overhead"}
EFFICIENCIES = ("compute_efficiency", "dram_efficiency")
EFF_BOUNDS = (0.01, 1.0)
OVERHEAD_MAX_S = 10e-3
US = 1e-6
#: how far each parameter is moved to rank sensitivities (efficiency x 1/2; overhead + this many seconds)
SWING = {"compute_efficiency": 0.5, "dram_efficiency": 0.5, "layer_overhead": 5e-6, "inference_overhead": 50e-6}
#: band coverage multiplier: F = exp(BAND_Z x s)
BAND_Z = 2.0
#: the band of a fit without spare points (N <= k); see the module doc for how it was measured
PRIOR_BAND = 1.31
PRIOR_NOTE = ("the 80th percentile of the leave-model-out error factors on the shipped dataset "
              "(scripts/leave_model_out.py; 10 chips, 74 held-out points)")
METRIC_WORDS = {"throughput_ips": "ips", "latency_s": "latency"}


class CalibrationError(FitbenchError):
    """A calibration point or request that cannot be used (one line)."""


@dataclass(frozen=True)
class CalibrationPoint:
    """One measured or published figure: ``value`` in samples/s (``throughput_ips``) or in seconds per call of
    the whole batch (``latency_s``). ``model`` is a zoo name or an ONNX path; ``params`` its zoo parameters
    (``resolution`` as ``WIDTHxHEIGHT`` text, ``seq_len`` an int)."""

    model: str
    batch: int
    metric: str
    value: float
    precision: str = "int8"
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def zoo_params(self) -> dict[str, Any]:
        """Keyword arguments for :func:`fitbench.profile.profile`: ``resolution`` as (height, width)."""
        from .._checks import parse_resolution

        out = dict(self.params)
        if "resolution" in out:
            out["resolution"] = parse_resolution(str(out["resolution"]), "resolution")
        return out

    def label(self) -> str:
        """``resnet50 b1 latency 0.819 ms`` style text."""
        extra = "".join(f" {k}={v}" for k, v in sorted(self.params.items()))
        fig = f"{self.value:.4g} ips" if self.metric == "throughput_ips" else f"latency {_fmt_s(self.value)}"
        return f"{self.model}{extra} b{self.batch} {self.precision} {fig}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt_s(s: float) -> str:
    return f"{s * 1e3:.4g} ms" if s >= 1e-3 else f"{s * 1e6:.4g} us"


_POINT_KEYS = ("batch", "ips", "throughput", "latency", "precision", "resolution", "seq_len", "source")


def parse_point(text: str, default_precision: str = "int8") -> CalibrationPoint:
    """``resnet50:batch=32:ips=4000[:precision=int8][:resolution=224x224][:seq_len=384]`` or
    ``...:latency=2.5ms`` -> a :class:`CalibrationPoint`; bad text is a one-line :class:`CalibrationError`.
    ``batch`` is required with ``ips`` and defaults to 1 with ``latency``."""
    from .._checks import parse_resolution
    from ..hardware.units import parse_quantity
    from ..precision import Precision

    raw = str(text).strip()
    where = f"point {raw!r}"
    model, *items = [x.strip() for x in raw.split(":")]
    if not model or "=" in model:
        raise CalibrationError(f"{where}: expected MODEL:batch=N:ips=X or MODEL:batch=N:latency=2.5ms")
    kv: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not value.strip():
            raise CalibrationError(f"{where}: {item!r} is not KEY=VALUE")
        if key not in _POINT_KEYS:
            raise CalibrationError(f"{where}: unknown key {key!r}; allowed: {', '.join(_POINT_KEYS)}")
        if key in kv:
            raise CalibrationError(f"{where}: {key} given twice")
        kv[key] = value.strip()
    figs = [k for k in ("ips", "throughput", "latency") if k in kv]
    if len(figs) != 1:
        raise CalibrationError(f"{where}: give exactly one figure, ips=SAMPLES_PER_S or latency=TIME (e.g. 2.5ms)")
    if figs[0] == "latency":
        try:
            value = parse_quantity(kv["latency"], "time", "latency")
        except FitbenchError as exc:
            raise CalibrationError(f"{where}: {exc}") from None
        metric = "latency_s"
    else:
        try:
            value = float(kv[figs[0]])
        except ValueError:
            raise CalibrationError(f"{where}: ips must be a number of samples per second, got {kv[figs[0]]!r}") \
                from None
        metric = "throughput_ips"
        if "batch" not in kv:
            raise CalibrationError(f"{where}: a throughput needs the batch it was measured at (batch=N)")
    if not math.isfinite(value) or value <= 0:
        raise CalibrationError(f"{where}: the figure must be a positive number, got {value!r}")
    batch_text = kv.get("batch", "1")
    if not batch_text.isdigit() or int(batch_text) <= 0:
        raise CalibrationError(f"{where}: batch must be a positive integer, got {batch_text!r}")
    try:
        prec = Precision.parse(kv.get("precision", default_precision)).value
    except (FitbenchError, ValueError) as exc:
        raise CalibrationError(f"{where}: {exc}") from None
    params: dict[str, Any] = {}
    if "resolution" in kv:
        try:
            parse_resolution(kv["resolution"], "resolution")
        except (FitbenchError, ValueError) as exc:
            raise CalibrationError(f"{where}: {exc}") from None
        params["resolution"] = kv["resolution"]
    if "seq_len" in kv:
        if not kv["seq_len"].isdigit() or int(kv["seq_len"]) <= 0:
            raise CalibrationError(f"{where}: seq_len must be a positive integer, got {kv['seq_len']!r}")
        params["seq_len"] = int(kv["seq_len"])
    return CalibrationPoint(model=model, batch=int(batch_text), metric=metric, value=value, precision=prec,
                            params=params, source=kv.get("source", "given on the command line"))


def parse_points(text: str, default_precision: str = "int8") -> list[CalibrationPoint]:
    """Several points separated by ``;`` (as ``compare --calibrate NAME=POINTS`` takes them)."""
    out = [parse_point(t, default_precision) for t in str(text).split(";") if t.strip()]
    if not out:
        raise CalibrationError(f"no calibration point in {text!r}; expected MODEL:batch=N:ips=X[;...]")
    return out


def from_published(p: Any) -> CalibrationPoint:
    """A dataset :class:`~fitbench.validation.dataset.PublishedPoint` as a calibration point; a hold-out point
    (``split: holdout``) is refused: nothing is fitted on figures outside the calibration set."""
    if getattr(p, "split", "calibration") == "holdout":
        raise CalibrationError(f"{p.chip} / {p.model} ({p.source.label()}) is a hold-out point: calibration never "
                               "uses hold-out figures")
    return CalibrationPoint(model=p.model, batch=p.batch, metric=p.metric, value=p.value, precision=p.precision,
                            params=p.estimate_params(), source=f"{p.source.label()} ({p.system or p.scenario})")


# ------------------------------------------------------------------ points from files and databases

_LG_SCENARIO = re.compile(r"^\s*Scenario\s*:\s*(.+?)\s*$", re.M)
_LG_FIELDS = {"Samples per second": "throughput_ips", "90th percentile latency (ns)": "latency_s"}


def points_from_loadgen(folder: str | Path, model: str, batch: int = 1, precision: str = "int8",
                        params: dict[str, Any] | None = None) -> list[CalibrationPoint]:
    """Points from every ``mlperf_log_summary.txt`` under ``folder`` (or the file itself): Offline and Server
    give ``Samples per second`` (throughput), SingleStream ``90th percentile latency (ns)`` (latency of one
    query of ``batch`` samples). LoadGen does not record the model or batch: they come from the caller."""
    root = Path(folder)
    files = [root] if root.is_file() else sorted(root.rglob("mlperf_log_summary.txt")) if root.is_dir() else None
    if files is None:
        raise CalibrationError(f"--from-loadgen-log {root}: no such file or folder")
    if not files:
        raise CalibrationError(f"--from-loadgen-log {root}: no mlperf_log_summary.txt under it")
    out = []
    for f in files:
        text = f.read_text(errors="replace")
        m = _LG_SCENARIO.search(text)
        scenario = m.group(1).replace(" ", "").lower() if m else ""
        key = "90th percentile latency (ns)" if scenario == "singlestream" else "Samples per second"
        vm = re.search(r"^\s*" + re.escape(key) + r"\s*:\s*([-+0-9.eE]+)\s*$", text, re.M)
        if not vm:
            raise CalibrationError(f"{f}: no '{key}' line (scenario {scenario or 'not stated'})")
        value = float(vm.group(1))
        metric = _LG_FIELDS[key]
        if metric == "latency_s":
            value *= 1e-9
        if not math.isfinite(value) or value <= 0:
            raise CalibrationError(f"{f}: '{key}' is not a positive number")
        out.append(CalibrationPoint(model=model, batch=batch, metric=metric, value=value, precision=precision,
                                    params=dict(params or {}), source=f"LoadGen summary {f}"))
    return out


def points_from_store(store: Any, model: str | None = None, runtime: str | None = None,
                      params: dict[str, Any] | None = None) -> list[CalibrationPoint]:
    """Measured points from a results store (``kind: measure``, status ok): single-stream rows give their
    median latency per query (``latency.p50_ms``), other scenarios their throughput. ``model`` keeps rows of
    that model (and names the zoo model or ONNX path to profile); ``runtime`` keeps rows of that runtime."""
    where: dict[str, Any] = {"kind": "measure", "status": "ok"}
    if runtime:
        where["runtime"] = runtime
    out = []
    for rec in store.query(**where):
        if model and rec.model != model:
            continue
        m = rec.metrics or {}
        lat = (m.get("latency") or {}).get("p50_ms")
        scenario = str(m.get("scenario") or "")
        if scenario in ("single-stream", "singlestream", "") and lat:
            metric, value = "latency_s", float(lat) / 1e3
        elif m.get("throughput"):
            metric, value = "throughput_ips", float(m["throughput"])
        else:
            continue
        pt = ((rec.conditions or {}).get("point") or {}).get("params")
        out.append(CalibrationPoint(
            model=model or rec.model, batch=int(rec.batch or 1), metric=metric, value=value,
            precision=str(rec.precision or "fp32"), params=dict(params or (pt if isinstance(pt, dict) else {})),
            source=f"results store row {rec.id} ({rec.runtime or 'runtime'}, {scenario or 'measured'})"))
    if not out:
        raise CalibrationError("the results database holds no successful measurement"
                               + (f" of {model!r}" if model else "") + (f" on {runtime!r}" if runtime else ""))
    return out


# ------------------------------------------------------------------ results

@dataclass
class PointFit:
    """One point before and after the fit (predicted in the point's metric)."""

    point: CalibrationPoint
    before: float
    after: float
    bound: str

    @property
    def residual(self) -> float:
        """``ln(after / measured)``."""
        return math.log(self.after / self.point.value)

    def to_dict(self) -> dict[str, Any]:
        return {"point": self.point.to_dict(), "before": self.before, "after": self.after, "bound": self.bound,
                "ratio_before": self.before / self.point.value, "ratio_after": self.after / self.point.value,
                "residual": self.residual}


@dataclass
class Calibration:
    """A fit: the calibrated spec, the fitted and starting values, each point before/after, and the band."""

    spec: Any                          # the calibrated HardwareSpec
    base: Any                          # the spec it started from
    fitted: dict[str, float]           # parameter -> fitted value (seconds or fraction)
    start: dict[str, float]            # parameter -> value before the fit (the spec's or its kind default)
    points: list[PointFit]
    band_factor: float
    band_basis: str                    # "fit" (N > k) or "prior" (N <= k)
    choice: str                        # why these parameters
    sensitivity: dict[str, float] = field(default_factory=dict)
    iterations: int = 0

    @property
    def residuals(self) -> list[float]:
        return [p.residual for p in self.points]

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.name, "base": self.base.name, "calibrated_spec": self.spec.to_dict(),
                "fitted": self.fitted, "start": self.start,
                "points": [p.to_dict() for p in self.points], "band_factor": self.band_factor,
                "band_basis": self.band_basis, "choice": self.choice, "sensitivity": self.sensitivity,
                "iterations": self.iterations}


# ------------------------------------------------------------------ the fit

def _start_value(spec: Any, name: str) -> float:
    from ..hardware.defaults import KIND_DEFAULTS

    v = getattr(spec, name)
    return float(getattr(KIND_DEFAULTS[spec.kind], name) if v is None else v)


def _to_x(name: str, v: float) -> float:
    return math.log(v) if name in EFFICIENCIES else v / US


def _from_x(name: str, x: float) -> float:
    return math.exp(x) if name in EFFICIENCIES else x * US


def _x_bounds(name: str) -> tuple[float, float]:
    return (math.log(EFF_BOUNDS[0]), 0.0) if name in EFFICIENCIES else (0.0, OVERHEAD_MAX_S / US)


class _Predictor:
    """Predictions of the points for a spec: one profile per (model, params, precision), one estimate per
    profile with all its batches."""

    def __init__(self, points: Sequence[CalibrationPoint]):
        from ..profile import profile

        self.points = list(points)
        self.groups: dict[tuple, list[int]] = defaultdict(list)
        for i, p in enumerate(self.points):
            self.groups[(p.model, tuple(sorted(p.params.items())), p.precision)].append(i)
        self.profiles = {}
        for key, idx in self.groups.items():
            p = self.points[idx[0]]
            try:
                self.profiles[key] = profile(p.model, precision=p.precision, **p.zoo_params())
            except FitbenchError as exc:
                raise CalibrationError(f"cannot profile {p.model} for point {p.label()}: {exc}") from None
        self.measured = np.array([p.value for p in self.points])
        self.calls = 0

    def predict(self, spec: Any) -> tuple[np.ndarray, list[str]]:
        from ..hardware.estimator import estimate

        pred = np.full(len(self.points), np.nan)
        bounds = [""] * len(self.points)
        self.calls += 1
        for key, idx in self.groups.items():
            try:
                est = estimate(self.profiles[key], spec, batch=sorted({self.points[i].batch for i in idx}),
                               precision=key[2])
            except FitbenchError as exc:
                raise CalibrationError(f"cannot estimate {key[0]} on {spec.name}: {exc}") from None
            for i in idx:
                p = self.points[i]
                ep = est.point(p.batch)
                v = ep.latency_s if p.metric == "latency_s" else ep.throughput_ips
                if not ep.feasible or v is None or not v > 0:
                    raise CalibrationError(f"point {p.label()} is infeasible on {spec.name}: "
                                           f"{ep.infeasible_reason or 'no estimate'}")
                pred[i] = v
                bounds[i] = max(ep.bound_share.items(), key=lambda kv: kv[1])[0] if ep.bound_share else ""
        return pred, bounds

    def residuals(self, spec: Any) -> np.ndarray:
        return np.log(self.predict(spec)[0] / self.measured)


def _with(spec: Any, names: Sequence[str], x: np.ndarray) -> Any:
    return spec.model_copy(update={n: _from_x(n, float(v)) for n, v in zip(names, x)})


def _sensitivity(pred: _Predictor, spec: Any, names: Sequence[str], base_log: np.ndarray) -> dict[str, float]:
    out = {}
    for n in names:
        v = _start_value(spec, n)
        moved = v * SWING[n] if n in EFFICIENCIES else min(v + SWING[n], OVERHEAD_MAX_S)
        out[n] = float(np.abs(np.log(pred.predict(spec.model_copy(update={n: moved}))[0]) - base_log).sum())
    return out


def _levenberg_marquardt(fun, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_iter: int = 60
                         ) -> tuple[np.ndarray, np.ndarray, int]:
    """Minimise ``|fun(x)|^2`` within [lo, hi]: Marquardt-damped Gauss-Newton steps, projected onto the box,
    forward differences (backward at the upper bound)."""
    x = np.clip(x0.astype(float), lo, hi)
    r = fun(x)
    cost = float(r @ r)
    lam = 1e-3
    it = 0
    while it < max_iter:
        it += 1
        if cost < 1e-24:
            break
        J = np.empty((len(r), len(x)))
        for j in range(len(x)):
            h = 1e-6 * max(1.0, abs(x[j]))
            if x[j] + h > hi[j]:
                h = -h
            xh = x.copy()
            xh[j] += h
            J[:, j] = (fun(xh) - r) / h
        A, g = J.T @ J, J.T @ r
        improved = False
        while lam < 1e12:
            dx = np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-12), -g)
            xn = np.clip(x + dx, lo, hi)
            if np.allclose(xn, x, rtol=0, atol=1e-13):
                break
            rn = fun(xn)
            cn = float(rn @ rn)
            if cn < cost:
                step = np.abs(xn - x).max()
                x, r, cost = xn, rn, cn
                lam = max(lam / 5, 1e-9)
                improved = True
                break
            lam *= 4
        if not improved or step < 1e-11:
            break
    return x, r, it


def distinct_conditions(points: Sequence[CalibrationPoint]) -> set[tuple]:
    """The distinct (model, params, batch, precision, metric) of ``points``: the same condition published by
    several submitters pins the same thing, so a fit never takes more parameters than there are conditions."""
    return {(p.model, tuple(sorted(p.params.items())), p.batch, p.precision, p.metric) for p in points}


def choose_parameters(spec: Any, points: Sequence[CalibrationPoint], params: Sequence[str] | None = None,
                      _pred: _Predictor | None = None) -> tuple[list[str], str, dict[str, float]]:
    """The parameters a fit of ``points`` would fit (module doc), why, and each allowed one's sensitivity."""
    allowed = _check_params(params)
    pred = _pred or _Predictor(points)
    base, bounds = pred.predict(spec)
    sens = _sensitivity(pred, spec, allowed, np.log(base))
    ranked = sorted(allowed, key=lambda n: (-sens[n], PARAMETERS.index(n)))
    if len(points) == 1:
        b = bounds[0]
        want = BOUND_PARAMETER.get(b)
        if want in allowed:
            return [want], f"one point: its estimate is {b}-bound, so {want} is fitted", sens
        return [ranked[0]], (f"one point: its estimate is {b or 'not'}-bound, which names no allowed parameter; "
                             f"{ranked[0]} moves it most"), sens
    moving = [n for n in ranked if sens[n] > 1e-6] or ranked[:1]
    rates = [n for n in RATE_PARAMETERS if n in moving]
    order = rates + [n for n in moving if n not in rates]
    conditions = len(distinct_conditions(points))
    chosen = order[:min(conditions, len(order))]
    why = (f"{len(points)} points in {conditions} distinct condition(s) (model, input, batch, precision, metric): "
           f"{', '.join(chosen)} of {', '.join(allowed)}: the achieved rates that move the "
           f"predictions first, then the overheads by sensitivity (summed |change of log prediction| when an "
           f"efficiency halves or an overhead grows by 5 us per layer / 50 us per call)")
    return chosen, why, sens


def _check_params(params: Sequence[str] | None) -> list[str]:
    if params is None:
        return list(PARAMETERS)
    names = [p.strip() for p in params if p.strip()]
    bad = [p for p in names if p not in PARAMETERS]
    if bad or not names:
        raise CalibrationError(f"unknown calibration parameter {bad[0] if bad else ''!r}; "
                               f"allowed: {', '.join(PARAMETERS)}")
    return list(dict.fromkeys(names))


def band_factor(residuals: Sequence[float], k: int) -> tuple[float, str]:
    """``(F, basis)``: ``exp(BAND_Z sqrt(sum r^2 / (N - k)))`` from the fit when ``N > k``, else the prior."""
    n = len(residuals)
    if n <= k:
        return PRIOR_BAND, "prior"
    s = math.sqrt(sum(r * r for r in residuals) / (n - k))
    return math.exp(BAND_Z * s), "fit"


def calibrate(spec: Any, points: Sequence[CalibrationPoint], params: Sequence[str] | None = None,
              name: str | None = None) -> Calibration:
    """Fit ``spec`` (a HardwareSpec, catalog name or YAML path) to ``points`` (module doc); returns the
    :class:`Calibration` with the calibrated spec (``provenance: calibrated``, named ``NAME-calibrated``
    unless ``name`` is given, its ``source`` extended with the points and residuals, its ``calibration``
    holding points, fitted values, residuals, ``band_factor`` and the base spec's hash)."""
    from ..hardware.spec import load_hardware

    base = load_hardware(spec)
    pts = list(points)
    if not pts:
        raise CalibrationError("calibration needs at least one point")
    for p in pts:
        base.macs_at(p.precision)  # one line when the chip lacks the point's precision
    pred = _Predictor(pts)
    before, _ = pred.predict(base)
    names, why, sens = choose_parameters(base, pts, params, pred)
    start = {n: _start_value(base, n) for n in names}
    x0 = np.array([_to_x(n, start[n]) for n in names])
    lo = np.array([_x_bounds(n)[0] for n in names])
    hi = np.array([_x_bounds(n)[1] for n in names])
    x, r, iters = _levenberg_marquardt(lambda x: pred.residuals(_with(base, names, x)), x0, lo, hi)
    fitted = {n: _from_x(n, float(v)) for n, v in zip(names, x)}
    tuned = base.model_copy(update=fitted)
    after, bounds = pred.predict(tuned)
    fits = [PointFit(p, float(b), float(a), bd) for p, b, a, bd in zip(pts, before, after, bounds)]
    residuals = [f.residual for f in fits]
    F, basis = band_factor(residuals, len(names))
    cal_name = name or f"{base.name}-calibrated"
    calibration = {
        "points": [p.to_dict() for p in pts], "fitted": fitted, "start": start, "residuals": residuals,
        "band_factor": F, "band_basis": basis if basis == "fit" else f"{basis}: {PRIOR_NOTE}",
        "base_spec": base.name, "base_spec_hash": base.spec_hash(), "choice": why,
        "band_formula": f"N > k: exp({BAND_Z:g} sqrt(sum r^2 / (N - k))), r = ln(predicted / measured); "
                        f"N <= k: prior x{PRIOR_BAND}",
    }
    src = (f"{base.source} | calibrated by fitbench on {len(pts)} point(s): "
           + "; ".join(f"{f.point.label()} [{f.point.source}] residual {100 * (math.exp(f.residual) - 1):+.2f} %"
                       for f in fits)
           + " | fitted " + ", ".join(f"{n} {_fmt_param(n, v)} (was {_fmt_param(n, start[n])})"
                                      for n, v in fitted.items())
           + f" | band x/÷{F:.3g} ({'from the fit residuals' if basis == 'fit' else 'prior: no spare points'})")
    cal_spec = tuned.model_copy(update={"provenance": "calibrated", "name": cal_name, "calibration": calibration,
                                        "source": src, "path": None})
    return Calibration(spec=cal_spec, base=base, fitted=fitted, start=start, points=fits, band_factor=F,
                       band_basis=basis, choice=why, sensitivity=sens, iterations=iters)


def _fmt_param(name: str, v: float) -> str:
    return f"{v:.4g}" if name in EFFICIENCIES else f"{v * 1e6:.4g} us"


def spec_yaml(spec: Any) -> str:
    """The spec as a YAML file that :func:`fitbench.hardware.spec.load_hardware` loads back (base units, as
    ``fitbench hw show`` prints it; ``path`` left out)."""
    import yaml

    d = spec.to_dict()
    d.pop("path", None)
    return f"# {spec.name}: calibrated by fitbench (base units: bytes, bytes/s, Hz, seconds)\n" + yaml.safe_dump(
        d, sort_keys=False, width=110)


# ------------------------------------------------------------------ default bands for uncalibrated specs

@dataclass(frozen=True)
class Band:
    """An offering's stated error: a factor >= 1 and where it comes from; ``validation_error`` is the chip's
    median error factor on the shipped dataset (None when the dataset has no point of it)."""

    factor: float
    basis: str
    validation_error: float | None = None
    validation_points: int = 0


def default_bands(names: Iterable[str]) -> dict[str, Band]:
    """Bands of uncalibrated catalog chips: the chip's median validation error (``validate()`` on the shipped
    dataset) where the dataset has points of it, else the dataset's overall median error factor."""
    report = _shipped_report()
    overall = report.overall.median_error_factor or PRIOR_BAND
    per = {g.name: g.stats for g in report.per_chip}
    out = {}
    for n in names:
        st = per.get(n)
        if st is not None and st.median_error_factor is not None:
            out[n] = Band(st.median_error_factor, f"its median validation error on {st.n} published point(s)",
                          st.median_error_factor, st.n)
        else:
            out[n] = Band(overall, f"the dataset's median validation error over {report.overall.n} points "
                          "(no published point of this chip)")
    return out


_REPORT: list[Any] = []


def _shipped_report():
    """``validate()`` of the shipped dataset, computed once per process."""
    if not _REPORT:
        from .validate import validate

        _REPORT.append(validate(holdout=False))  # the calibration set's errors; hold-outs are never used here
    return _REPORT[0]
