"""Does an offering meet the application's requirements, with what margin, how many chips, what power and price?

The application (:class:`Application`) states the load (``streams x fps``, or a Poisson ``qps``), the
latency budget at a percentile, and optional power, price and chip-count limits; host pre/post stages
(resize, NMS ...) take a stated time per frame on the host and count in the pipeline latency.

**Queueing model** (stated in every verdict, :data:`QUEUEING_PERIODIC` / :data:`QUEUEING_POISSON`). Frames
from every stream go to one batcher; a batch of ``N`` leaves when its ``N``-th frame has arrived, so its
first frame waits for the other ``N - 1``:

* periodic arrivals (``streams x fps``, frames evenly spaced at ``1 / rate``): ``wait(N) = (N - 1) / rate``;
* Poisson arrivals (``qps``): ``wait(N)`` = the ``percentile`` quantile of the sum of ``N - 1`` exponential
  gaps (an Erlang(N - 1, rate) time).

``pipeline(N) = pre + wait(N) + latency(N) + post``, ``latency(N)`` being the chip's latency of one call at
batch ``N`` (the estimator's, which includes the per-call overhead and the host link; for an estimate with a
calibration band the band's upper edge; for a measurement its percentile). The batch chosen is the one of
highest throughput ``N / latency(N)`` with ``pipeline(N) <= budget`` (the smaller ``N`` on a tie); when no
batch fits, batch 1 is reported and the latency requirement fails by ``pipeline(1) - budget``. Chips
needed = ``ceil(load / rate per chip)`` at that batch (batches are dealt to free chips; with periodic arrivals
and a chip count that keeps every chip below full load, no batch queues behind another).

**Power for the load**: with energy figures in the spec, ``energy per inference x load + static W x idle
chip-time`` (idle chip-time = ``chips - load / rate``; the estimator already counts static power while busy);
otherwise ``TDP x chips``; otherwise unknown. Inferences per joule = load / power. Price = list price x
chips. Units: seconds, inferences (frames) per second, watts, US dollars.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import FitbenchError

OBJECTIVES = ("power", "price", "chips")
QUEUEING_PERIODIC = ("frames from all streams are evenly spaced at 1/rate and batched in arrival order: a batch of "
                     "N waits (N - 1)/rate for its last frame, then runs for latency(N)")
QUEUEING_POISSON = ("Poisson arrivals at the given rate, batched in arrival order: a batch of N waits the "
                    "percentile quantile of N - 1 exponential gaps (Erlang) for its last query, then runs for "
                    "latency(N)")
MAX_BATCH = 64


@dataclass
class HostStage:
    """A host processing step per frame: ``stage`` is ``pre`` (before the chip) or ``post`` (after it)."""

    name: str
    stage: str
    time_s: float
    measured: str = ""  # how the time was measured on this machine ("" = stated in the application)


@dataclass
class Application:
    """What the buyer needs. ``rate`` is the load in inferences (frames) per second."""

    latency_budget_s: float
    streams: int | None = None
    fps: float | None = None
    qps: float | None = None
    percentile: float = 99.0
    power_w: float | None = None
    price_usd: float | None = None
    max_chips: int | None = None
    objective: str = "power"
    host: list[HostStage] = field(default_factory=list)
    name: str = "application"
    model: str | None = None
    resolution: tuple[int, int] | None = None  # (height, width)
    inputs: dict[str, Any] | None = None
    precision: str | None = None
    hw: list[str] = field(default_factory=list)
    source: str = ""  # the file it was read from

    def __post_init__(self) -> None:
        check_application(self)

    @property
    def arrivals(self) -> str:
        return "poisson" if self.qps is not None else "periodic"

    @property
    def rate(self) -> float:
        return float(self.qps) if self.qps is not None else float(self.streams) * float(self.fps)

    @property
    def pre_s(self) -> float:
        return sum(h.time_s for h in self.host if h.stage == "pre")

    @property
    def post_s(self) -> float:
        return sum(h.time_s for h in self.host if h.stage == "post")

    @property
    def queueing(self) -> str:
        return QUEUEING_POISSON if self.arrivals == "poisson" else QUEUEING_PERIODIC

    def describe(self) -> str:
        load = (f"Poisson {_n(self.qps)} queries/s" if self.arrivals == "poisson"
                else f"{self.streams} stream{'s' if self.streams != 1 else ''} x {_n(self.fps)} fps")
        parts = [load, f"p{_n(self.percentile)} latency <= {fmt_time(self.latency_budget_s)}"]
        if self.power_w is not None:
            parts.append(f"power <= {_n(self.power_w)} W")
        if self.price_usd is not None:
            parts.append(f"price <= {_usd(self.price_usd)}")
        if self.max_chips is not None:
            parts.append(f"at most {self.max_chips} chip{'s' if self.max_chips != 1 else ''}")
        if self.host:
            parts.append("host " + ", ".join(
                f"{h.name} {fmt_time(h.time_s)} ({h.stage}{', measured' if h.measured else ''})" for h in self.host))
        return "; ".join(parts)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Application:
        d = dict(d)
        d["host"] = [h if isinstance(h, HostStage) else HostStage(**h) for h in d.get("host") or []]
        if d.get("resolution") is not None:
            d["resolution"] = tuple(d["resolution"])
        return cls(**d)


def check_application(app: Application) -> None:
    """One-line :class:`FitbenchError` for an application that cannot be evaluated."""
    if app.qps is not None and (app.streams is not None or app.fps is not None):
        raise FitbenchError("give the load as streams x fps or as a Poisson qps, not both")
    if app.qps is None:
        if app.streams is None or app.fps is None:
            raise FitbenchError("the application needs its load: streams and fps (e.g. --streams 4 --fps 30) "
                                "or a Poisson qps")
        if not isinstance(app.streams, int) or isinstance(app.streams, bool) or app.streams < 1:
            raise FitbenchError(f"streams must be a positive integer, got {app.streams!r}")
    for what, v in (("fps", app.fps), ("qps", app.qps), ("latency budget", app.latency_budget_s),
                    ("power budget", app.power_w), ("price budget", app.price_usd)):
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise FitbenchError(f"{what} must be a positive number, got {v!r}")
    if not (0 < app.percentile < 100):
        raise FitbenchError(f"percentile must be between 0 and 100 (exclusive), got {app.percentile!r}")
    if app.max_chips is not None and (isinstance(app.max_chips, bool) or not isinstance(app.max_chips, int)
                                      or app.max_chips < 1):
        raise FitbenchError(f"max chips must be a positive integer, got {app.max_chips!r}")
    if app.objective not in OBJECTIVES:
        raise FitbenchError(f"objective must be one of {', '.join(OBJECTIVES)}, got {app.objective!r}")
    for h in app.host:
        if h.stage not in ("pre", "post"):
            raise FitbenchError(f"host stage {h.name!r}: stage must be pre or post, got {h.stage!r}")
        if not (math.isfinite(h.time_s) and h.time_s >= 0):
            raise FitbenchError(f"host stage {h.name!r}: time must be a non-negative time, got {h.time_s!r}")
    host = app.pre_s + app.post_s
    if host >= app.latency_budget_s:
        raise FitbenchError(f"the host stages take {fmt_time(host)}, the whole latency budget of "
                            f"{fmt_time(app.latency_budget_s)}: no chip can meet it")


# ------------------------------------------------------------------ the queueing model

def erlang_quantile(k: int, rate: float, q: float) -> float:
    """The ``q`` quantile (0 < q < 1) of the sum of ``k`` exponential gaps at ``rate`` (0 for ``k = 0``)."""
    if k <= 0:
        return 0.0

    def cdf(t: float) -> float:
        x = rate * t
        term, total = 1.0, 1.0
        for i in range(1, k):
            term *= x / i
            total += term
        return 1.0 - math.exp(-x) * total

    lo, hi = 0.0, (k + 10 * math.sqrt(k) + 10) / rate
    while cdf(hi) < q:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


def wait_s(app: Application, n: int) -> float:
    """How long the first frame of a batch of ``n`` waits for the last (the module's queueing model)."""
    if app.arrivals == "poisson":
        return erlang_quantile(n - 1, app.rate, app.percentile / 100.0)
    return (n - 1) / app.rate


def candidate_batches(app: Application, max_batch: int = MAX_BATCH) -> list[int]:
    """Every batch whose wait alone leaves room in the budget, plus two beyond (to show the curve cross it)."""
    room = app.latency_budget_s - app.pre_s - app.post_s
    n = 1
    while n < max_batch and wait_s(app, n + 1) <= room:
        n += 1
    return list(range(1, min(n + 2, max_batch) + 1))


# ------------------------------------------------------------------ results

@dataclass
class BatchPoint:
    """One batch on one offering: the chip's latency (at the percentile), the wait, the pipeline total."""

    batch: int
    latency_s: float
    wait_s: float
    pipeline_s: float
    throughput_ips: float
    within_budget: bool


@dataclass
class Check:
    """One requirement on one offering. ``margin`` = limit - value in the requirement's unit (negative: over)."""

    requirement: str  # "latency" | "chips" | "power" | "price"
    status: str  # "met" | "failed" | "unknown"
    value: float | None
    limit: float | None
    unit: str
    margin: float | None
    sentence: str


@dataclass
class OfferingVerdict:
    """One offering against the application. ``status``: ``meets`` | ``fails`` | ``unknown`` (nothing failed but
    a requirement could not be checked)."""

    offering: str
    kind: str
    method: str  # how the chip latency is known: "estimate" | "measured" | ...
    status: str
    batch: int | None
    chip_latency_s: float | None
    wait_s: float | None
    pipeline_latency_s: float | None
    rate_per_chip_ips: float | None
    chips: int | None
    power_w: float | None
    power_method: str | None  # "energy model x load" | "TDP x chips" | None (unknown)
    inferences_per_joule: float | None
    price_usd: float | None
    tdp_w: float | None = None
    unit_price_usd: float | None = None
    energy_j_per_inference: float | None = None
    static_w: float | None = None
    checks: list[Check] = field(default_factory=list)
    curve: list[BatchPoint] = field(default_factory=list)
    rank: int | None = None
    sentence: str = ""

    def check(self, requirement: str) -> Check | None:
        return next((c for c in self.checks if c.requirement == requirement), None)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "failed"]

    def power_at(self, load: float) -> float | None:
        """Power at another load, by the same method (chips re-counted at the chosen batch's rate)."""
        if not self.rate_per_chip_ips:
            return None
        chips = chips_for(load, self.rate_per_chip_ips)
        return power_for(load, chips, self.rate_per_chip_ips, self.energy_j_per_inference, self.static_w,
                         self.tdp_w)[0]


@dataclass
class Pick:
    """What another way of choosing would have picked, and why it differs, in one sentence."""

    basis: str  # e.g. "resnet50@224 at batch 32" or "peak TOPS"
    offering: str | None
    same: bool
    sentence: str


@dataclass
class RequirementsVerdict:
    """The application's answer: every offering's verdict (meeting ones ranked by the objective first)."""

    application: Application
    load_ips: float
    queueing: str
    verdicts: list[OfferingVerdict]
    winner: str | None
    picks: list[Pick] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    runtime_checks: list[dict[str, Any]] = field(default_factory=list)  # LoadGen server runs at the load

    def verdict(self, offering: str) -> OfferingVerdict:
        for v in self.verdicts:
            if v.offering == offering:
                return v
        raise KeyError(offering)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RequirementsVerdict:
        d = dict(d)
        d["application"] = Application.from_dict(d["application"])
        vs = []
        for v in d.get("verdicts", []):
            v = dict(v)
            v["checks"] = [Check(**c) for c in v.get("checks", [])]
            v["curve"] = [BatchPoint(**p) for p in v.get("curve", [])]
            vs.append(OfferingVerdict(**v))
        d["verdicts"] = vs
        d["picks"] = [Pick(**p) for p in d.get("picks", [])]
        return cls(**d)

    def rows(self) -> tuple[list[str], list[list[str]]]:
        """The verdict table as plain text cells (terminal, Markdown, CSV)."""
        head = ["rank", "offering", "verdict", "batch", "pipeline latency", "margin", "inf/s per chip", "chips",
                "power", "power from", "inf/J", "price", "fails"]
        out = []
        for v in self.verdicts:
            lat = v.check("latency")
            out.append([
                "—" if v.rank is None else str(v.rank), v.offering, v.status,
                "—" if v.batch is None else str(v.batch), fmt_time(v.pipeline_latency_s),
                "—" if lat is None or lat.margin is None else _signed_time(lat.margin),
                _n(v.rate_per_chip_ips), "—" if v.chips is None else str(v.chips),
                "—" if v.power_w is None else f"{_n(v.power_w, 3)} W", v.power_method or "unknown",
                _n(v.inferences_per_joule, 3), "—" if v.price_usd is None else _usd(v.price_usd),
                "; ".join(f"{c.requirement}: {c.sentence}" for c in v.failed) or "—",
            ])
        return head, out


# ------------------------------------------------------------------ arithmetic

def chips_for(load: float, rate: float) -> int:
    """``ceil(load / rate)`` (a hair of float noise below an integer does not add a chip)."""
    return max(1, math.ceil(load / rate - 1e-9))


def power_for(load: float, chips: int, rate: float, energy_j: float | None, static_w: float | None,
              tdp_w: float | None) -> tuple[float | None, str | None]:
    """``(watts, method)`` for ``load`` on ``chips`` chips of ``rate`` each (the module docstring's rule)."""
    if energy_j is not None:
        idle = max(chips - load / rate, 0.0)
        return energy_j * load + (static_w or 0.0) * idle, "energy model x load"
    if tdp_w is not None:
        return tdp_w * chips, "TDP x chips"
    return None, None


def _percentile_latency(fig: Any, percentile: float) -> tuple[float | None, str]:
    """The chip latency of one call to compare with the budget, and how it was taken."""
    if fig.method == "measured":
        for p, key in ((50, "latency_p50_s"), (90, "latency_p90_s"), (99, "latency_p99_s")):
            if percentile <= p and getattr(fig, key, None) is not None:
                return getattr(fig, key), f"measured p{p}"
        if fig.latency_p99_s is not None:
            return fig.latency_p99_s, "measured p99 (the highest percentile measured)"
        return fig.latency_s, "measured median"
    band = getattr(fig, "error_band", None)
    if fig.latency_s is not None and band:
        return fig.latency_s * float(band), f"estimate x {float(band):.3g} (upper edge of the calibration band)"
    return fig.latency_s, fig.method


def batch_curve(app: Application, figures: list[Any]) -> list[BatchPoint]:
    """The pipeline latency of every batch with a figure (the offering's workload figures)."""
    pts = []
    for f in sorted(figures, key=lambda f: f.batch):
        if not getattr(f, "feasible", True):
            continue
        lat, _ = _percentile_latency(f, app.percentile)
        if lat is None or lat <= 0:
            continue
        w = wait_s(app, f.batch)
        total = app.pre_s + w + lat + app.post_s
        pts.append(BatchPoint(batch=int(f.batch), latency_s=lat, wait_s=w, pipeline_s=total,
                              throughput_ips=f.batch / lat, within_budget=total <= app.latency_budget_s * (1 + 1e-12)))
    return pts


def choose_batch(curve: list[BatchPoint]) -> BatchPoint | None:
    """The within-budget point of highest throughput (smaller batch on a tie); ``None`` if none fits."""
    ok = [p for p in curve if p.within_budget]
    if not ok:
        return None
    return max(ok, key=lambda p: (p.throughput_ips, -p.batch))


def _figures(off: Any) -> list[Any]:
    """The offering's workload figures, a verified supplier figure replacing the estimate at its batch."""
    by_batch = {f.batch: f for f in off.workload}
    for f in getattr(off, "verified", []) or []:
        by_batch[f.batch] = f
    return list(by_batch.values())


def evaluate_offering(off: Any, app: Application) -> OfferingVerdict:
    """One offering (a :class:`~fitbench.compare.result.Offering`) against ``app``."""
    figs = _figures(off)
    curve = batch_curve(app, figs)
    spec = off.spec or {}
    tdp = _num(spec.get("tdp_w"))
    unit_price = _num(spec.get("price_usd"))
    energy = spec.get("energy") or None
    static_w = _num(energy.get("static_w")) if isinstance(energy, dict) else None
    budget = app.latency_budget_s
    pct = f"p{_n(app.percentile)}"
    checks: list[Check] = []
    chosen = choose_batch(curve)
    if not curve:
        return OfferingVerdict(
            offering=off.name, kind=off.kind, method="—", status="unknown", batch=None, chip_latency_s=None,
            wait_s=None, pipeline_latency_s=None, rate_per_chip_ips=None, chips=None, power_w=None, power_method=None,
            inferences_per_joule=None, price_usd=None, tdp_w=tdp, unit_price_usd=unit_price, static_w=static_w,
            checks=[Check("latency", "unknown", None, budget, "s", None, "no latency figure for this workload")],
            sentence=f"{off.name}: no latency figure for this workload, so no verdict.")
    point = chosen or min(curve, key=lambda p: p.batch)
    fig = next(f for f in figs if f.batch == point.batch)
    _, how = _percentile_latency(fig, app.percentile)
    parts = []
    if app.pre_s:
        parts.append(f"{fmt_time(app.pre_s)} pre")
    if point.wait_s:
        from .ranking import ordinal

        parts.append(f"{fmt_time(point.wait_s)} waiting for the {ordinal(point.batch)} frame")
    parts.append(f"{fmt_time(point.latency_s)} on the chip")
    if app.post_s:
        parts.append(f"{fmt_time(app.post_s)} post")
    margin = budget - point.pipeline_s
    breakdown = " + ".join(parts)
    if chosen is not None:
        checks.append(Check("latency", "met", point.pipeline_s, budget, "s", margin,
                            f"{pct} pipeline {fmt_time(point.pipeline_s)} at batch {point.batch} ({breakdown}), "
                            f"{fmt_time(margin)} ({_pct(margin / budget)}) under the {fmt_time(budget)} budget"))
    else:
        checks.append(Check("latency", "failed", point.pipeline_s, budget, "s", margin,
                            f"even at batch 1 the {pct} pipeline takes {fmt_time(point.pipeline_s)} ({breakdown}), "
                            f"{fmt_time(-margin)} ({_pct(-margin / budget)}) over the {fmt_time(budget)} budget"))
    rate = point.throughput_ips
    load = app.rate
    chips = chips_for(load, rate)
    if app.max_chips is not None:
        over = chips - app.max_chips
        checks.append(Check(
            "chips", "met" if over <= 0 else "failed", float(chips), float(app.max_chips), "chips",
            float(-over), f"needs {chips} chip{'s' if chips != 1 else ''} for {_n(load)} inf/s at {_n(rate)} inf/s "
            f"each, " + (f"within the {app.max_chips} allowed" if over <= 0 else
                         f"{over} over the {app.max_chips} allowed")))
    energy_j = fig.energy_j_per_inference if isinstance(energy, dict) else None
    power, method = power_for(load, chips, rate, energy_j, static_w, tdp)
    if app.power_w is not None:
        if power is None:
            checks.append(Check("power", "unknown", None, app.power_w, "W", None,
                                "the spec gives neither a TDP nor energy figures"))
        else:
            m = app.power_w - power
            how_p = (f"TDP {_n(tdp, 3)} W x {chips}" if method == "TDP x chips" else "energy model x load")
            checks.append(Check(
                "power", "met" if m >= 0 else "failed", power, app.power_w, "W", m,
                f"{_n(power, 3)} W ({how_p}), {_n(abs(m), 3)} W ({_pct(abs(m) / app.power_w)}) "
                f"{'under' if m >= 0 else 'over'} the {_n(app.power_w)} W budget"))
    price = unit_price * chips if unit_price is not None else None
    if app.price_usd is not None:
        if price is None:
            checks.append(Check("price", "unknown", None, app.price_usd, "USD", None, "the spec gives no price"))
        else:
            m = app.price_usd - price
            checks.append(Check(
                "price", "met" if m >= 0 else "failed", price, app.price_usd, "USD", m,
                f"{_usd(price)} ({_usd(unit_price)} x {chips}), {_usd(abs(m))} ({_pct(abs(m) / app.price_usd)}) "
                f"{'under' if m >= 0 else 'over'} the {_usd(app.price_usd)} budget"))
    status = ("fails" if any(c.status == "failed" for c in checks) else
              "unknown" if any(c.status == "unknown" for c in checks) else "meets")
    if status == "meets":
        sentence = f"{off.name} meets every requirement: " + "; ".join(c.sentence for c in checks) + "."
    elif status == "fails":
        sentence = f"{off.name} fails " + "; ".join(f"{c.requirement} ({c.sentence})" for c in checks
                                                     if c.status == "failed") + "."
    else:
        sentence = f"{off.name} cannot be shown to meet: " + "; ".join(
            f"{c.requirement}: {c.sentence}" for c in checks if c.status == "unknown") + "."
    return OfferingVerdict(
        offering=off.name, kind=off.kind, method=how, status=status, batch=point.batch,
        chip_latency_s=point.latency_s, wait_s=point.wait_s, pipeline_latency_s=point.pipeline_s,
        rate_per_chip_ips=rate, chips=chips, power_w=power, power_method=method,
        inferences_per_joule=None if not power else load / power, price_usd=price, tdp_w=tdp,
        unit_price_usd=unit_price, energy_j_per_inference=energy_j, static_w=static_w, checks=checks, curve=curve,
        sentence=sentence)


def _objective_value(v: OfferingVerdict, objective: str) -> float | None:
    return {"power": v.power_w, "price": v.price_usd, "chips": None if v.chips is None else float(v.chips)}[objective]


def _order_key(v: OfferingVerdict, objective: str) -> tuple:
    big = float("inf")
    val = _objective_value(v, objective)
    status = {"meets": 0, "unknown": 1, "fails": 2}[v.status]
    tail = tuple(x if x is not None else big for x in (v.chips, v.power_w, v.price_usd))
    return (status, val is None, val if val is not None else big) + tail + (v.offering,)


def evaluate(comp: Any, app: Application) -> RequirementsVerdict:
    """Every offering of ``comp`` (a :class:`~fitbench.compare.result.Comparison`) against ``app``, ranked by the
    objective among those that meet every requirement, beside the baseline's and peak TOPS' picks."""
    verdicts = [evaluate_offering(off, app) for off in comp.offerings]
    verdicts.sort(key=lambda v: _order_key(v, app.objective))
    meets = [v for v in verdicts if v.status == "meets"]
    for v in meets:
        val = _objective_value(v, app.objective)
        v.rank = None if val is None else 1 + sum(
            1 for w in meets if _objective_value(w, app.objective) is not None
            and _objective_value(w, app.objective) < val)
    winner = next((v for v in verdicts if v.rank == 1), None)
    notes = []
    if any(v.status == "meets" and v.rank is None for v in verdicts):
        notes.append(f"offerings that meet every requirement but have no {app.objective} figure are listed "
                     f"unranked")
    if any(v.method == "estimate" for v in verdicts):
        notes.append(f"estimates give one latency per batch (no spread): the p{_n(app.percentile)} applies to the "
                     "queueing wait and to measured figures; a calibrated spec's band widens the estimate")
    for off in comp.offerings:
        e = (off.spec or {}).get("energy")
        v = next(x for x in verdicts if x.offering == off.name)
        if isinstance(e, dict) and v.power_method == "energy model x load":
            missing = [k for k, f in (("per MAC", "pj_per_mac"), ("per SRAM byte", "pj_per_sram_byte"),
                                      ("per DRAM byte", "pj_per_dram_byte"), ("static", "static_w")) if not e.get(f)]
            if missing:
                notes.append(f"{off.name}'s power is a lower bound: its energy figures give nothing "
                             + ", ".join(missing))
    verdict = RequirementsVerdict(application=app, load_ips=app.rate, queueing=app.queueing, verdicts=verdicts,
                                  winner=winner.offering if winner else None, notes=notes)
    verdict.picks = other_picks(comp, verdict)
    return verdict


def other_picks(comp: Any, verdict: RequirementsVerdict) -> list[Pick]:
    """What the baseline (ResNet-50 at a large batch) and peak TOPS would have picked; each difference explained."""
    out = []
    base = next((r for r in sorted(comp.rows, key=lambda r: r.baseline_rank or 10**9) if r.baseline_rank == 1), None)
    tops = next((r for r in sorted(comp.rows, key=lambda r: r.tops_rank or 10**9) if r.tops_rank == 1), None)
    label = f"{comp.baseline['label']} at batch {comp.baseline_batch}"
    for basis, row, why in ((label, base, "the highest throughput on " + label),
                            ("peak TOPS", tops, "the most peak TOPS")):
        out.append(_pick(basis, row.offering if row else None, why, verdict))
    return out


def _pick(basis: str, name: str | None, why: str, verdict: RequirementsVerdict) -> Pick:
    app = verdict.application
    win = verdict.winner
    if name is None:
        return Pick(basis, None, False, f"{basis} picks nothing: no offering has a figure for it.")
    v = verdict.verdict(name)
    if name == win:
        return Pick(basis, name, True, f"{basis} picks {name} too ({why}), and it is also the offering that meets "
                                       f"the requirements at the lowest {app.objective}.")
    head = f"{basis} would pick {name} ({why}), but"
    if v.status == "fails":
        c = v.failed[0]
        return Pick(basis, name, False, f"{head} it fails the {c.requirement} requirement: {c.sentence}.")
    if v.status == "unknown":
        return Pick(basis, name, False, f"{head} it cannot be shown to meet the requirements: "
                                        + "; ".join(c.sentence for c in v.checks if c.status == "unknown") + ".")
    w = verdict.verdict(win) if win else None
    mine, theirs = _objective_value(v, app.objective), _objective_value(w, app.objective) if w else None
    return Pick(basis, name, False, f"{head} though it meets every requirement it takes "
                                    f"{_obj(mine, app.objective)} for the load against {win}'s "
                                    f"{_obj(theirs, app.objective)}.")


def _obj(x: float | None, objective: str) -> str:
    if x is None:
        return "an unknown " + objective
    return {"power": f"{_n(x, 3)} W", "price": _usd(x), "chips": f"{x:.0f} chip{'s' if x != 1 else ''}"}[objective]


# ------------------------------------------------------------------ formatting

def fmt_time(s: float | None) -> str:
    from .ranking import fmt_time as f

    return f(s)


def _signed_time(s: float) -> str:
    return ("+" if s >= 0 else "-") + fmt_time(abs(s))


def _num(x: Any) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def _n(x: float | None, d: int = 4) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.{d}g}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.01 else f"{100 * x:.2g}%"


def _usd(x: float) -> str:
    return f"{x:,.0f} USD" if abs(x) >= 100 else f"{x:.4g} USD"


def app_workload(app: Any, workload: Any, inputs: dict | None, zoo_params: dict[str, Any]
                 ) -> tuple[Application, Any, dict | None, dict[str, Any]]:
    """``compare(app=...)``: the application (read when a path), and the workload it names where none is given."""
    if not isinstance(app, Application):
        from .app_file import load_application

        app = load_application(app)
    zoo_params = dict(zoo_params)
    if workload is None:
        if not app.model:
            raise FitbenchError("no model to compare: give MODEL or put `model:` in the application file")
        workload = app.model
        if app.resolution is not None and zoo_params.get("resolution") is None:
            zoo_params["resolution"] = app.resolution
        inputs = inputs or app.inputs
    return app, workload, inputs, zoo_params


# ------------------------------------------------------------------ measured on this machine (LoadGen server)

def server_check(w: Any, runtime: str, app: Application, quick: bool = True, measured: Any = None,
                 timeout_s: float = 300.0) -> dict[str, Any]:
    """Does this machine meet ``app`` on ``runtime``? One LoadGen server run at the required QPS against the
    latency bound (budget minus the host stages), one sample per query. It meets when the run's percentile is
    within the bound and the measurement is VALID by :mod:`fitbench.measure.validity` (LoadGen's own verdict,
    and fitbench's rules: not stopped early, the query count asked for, enough latencies for the percentile).

    LoadGen's server scenario issues Poisson arrivals (periodic cameras are gentler). ``measured`` (the
    runtime's single-stream figure at batch 1, if any) shows when the machine cannot keep up at all: then
    the run is skipped, since at that rate its queue only grows.
    """
    from ..measure import measure
    from ..measure.stats import MIN_SAMPLES

    bound_s = app.latency_budget_s - app.pre_s - app.post_s
    pct = next((p for p in sorted(MIN_SAMPLES) if p >= app.percentile), max(MIN_SAMPLES))
    out: dict[str, Any] = {"runtime": runtime, "scenario": "server", "qps": app.rate, "bound_s": bound_s,
                           "percentile": pct, "latency_s": None, "validity": None, "meets": False, "status": "",
                           "achieved_qps": None, "samples": 0}
    name = f"{runtime} (this machine)"
    head = (f"{name}, LoadGen server at {_n(app.rate)} QPS against a p{pct} bound of {fmt_time(bound_s)} "
            f"(the budget less {fmt_time(app.pre_s + app.post_s)} of host stages)")
    cap = getattr(measured, "throughput_ips", None)
    if cap is not None and cap < app.rate:
        out["status"] = "not run"
        out["sentence"] = (f"{head}: not run, the machine cannot keep up — single-stream it completes {_n(cap)} "
                           f"inferences/s, below the {_n(app.rate)}/s required, so its queue would only grow; "
                           "does not meet.")
        return out
    try:
        res = measure(w.model, inputs=w.inputs, dims=w.dims, batch=1, runtime=runtime, scenario="server",
                      server_qps=app.rate, target_latency_ms=bound_s * 1e3, percentile=pct, quick=quick,
                      timeout_s=timeout_s, **w.params)
    except FitbenchError as exc:
        out["status"] = "failed"
        out["sentence"] = f"{head}: could not be measured ({exc}); no verdict."
        return out
    d = res.to_dict(include_logs=False)
    out["result"] = d
    if not res.ok:
        out["status"] = "failed"
        out["sentence"] = f"{head}: the run failed ({res.cause}); does not meet."
        return out
    lat = d.get("latency") or {}
    v = lat.get(f"p{pct}_ms")
    verdict = res.validity  # LoadGen's verdict and fitbench's own rules
    loadgen_verdict = (res.loadgen or {}).get("result_validity")
    out.update(status="ok", latency_s=None if v is None else v / 1e3, validity=loadgen_verdict,
               achieved_qps=res.queries_per_s, samples=res.samples,
               measurement=None if verdict is None else verdict.summary())
    # the percentile is None below the samples it needs (stats.MIN_SAMPLES): never within the bound then
    within = out["latency_s"] is not None and out["latency_s"] <= bound_s
    out["meets"] = bool(within and verdict is not None and verdict.valid)
    figs = (res.loadgen or {}).get("figures") or {}
    unmet = [k.replace("result_", "").replace("_met", "").replace("_", " ") for k in (
        "result_perf_constraints_met", "result_min_duration_met", "result_min_queries_met", "early_stopping_met")
        if figs.get(k) is False]
    out["unmet"] = unmet
    got = "too few samples for it" if out["latency_s"] is None else fmt_time(out["latency_s"])
    # fitbench's reasons beyond LoadGen's own (a partial run, too few queries or latencies)
    own = [r for r in (verdict.reasons if verdict is not None else []) if not r.startswith("LoadGen result")]
    out["sentence"] = (f"{head}: p{pct} {got} over {res.samples} queries at {_n(res.queries_per_s)} QPS achieved, "
                       f"LoadGen {loadgen_verdict or 'gave no verdict'}"
                       + (f" ({', '.join(unmet)} not met)" if unmet else "")
                       + (f"; measurement INVALID: {'; '.join(own)}" if own else "") + " — "
                       + ("meets." if out["meets"] else "does not meet."))
    return out
