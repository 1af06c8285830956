"""Is a measurement valid? LoadGen's own verdict and fitbench's sample-count rules, in one place.

A measured result is **INVALID** when any of these holds (each gives one reason, in this order):

1. the run was stopped before its end (a partial result: a timeout or Ctrl-C);
2. MLPerf LoadGen judged it INVALID (``Result is : INVALID`` in its summary log: minimum duration or
   query count not met, latency bound missed, early stopping not satisfied); the summary's ``: NO``
   lines are its reasons;
3. it completed fewer queries than the minimum count asked for (LoadGen stopped it at its maximum
   duration, or the direct timed loop did); the count is the number of latency figures: queries in
   single-stream, multi-stream and server, samples (one inference call each) in offline;
4. a latency scenario (single-stream, multi-stream, server) has fewer than 64 latencies, so its p90 is
   not reportable (:data:`fitbench.measure.stats.MIN_SAMPLES`: p90 from 64 samples, p99 from 662);
5. it has no latency figures at all (e.g. a server search where no arrival rate met the bound).

A result without a LoadGen verdict (``driver="direct"``) is judged by rules 1, 3-5 alone. Every
percentile's reportability is stated separately (``reportable``): a VALID quick run (64 queries) has
a p90 but no p99. A failed run (its child crashed or timed out with nothing measured) has no validity.

The store's status of a measurement follows from it (:func:`store_status`): ``ok``, ``invalid`` (figures
kept, never used as a valid result; the cause is the reasons) or ``failed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .stats import MIN_SAMPLES

VALID = "VALID"
INVALID = "INVALID"
LATENCY_SCENARIOS = ("single-stream", "multi-stream", "server")
#: what the verdict rests on, stated with it
RULES = (f"LoadGen's verdict and fitbench's sample-count rules (p90 from {MIN_SAMPLES[90]} samples, "
         f"p99 from {MIN_SAMPLES[99]})")


@dataclass(frozen=True)
class Validity:
    """The verdict on one measurement. ``loadgen`` is LoadGen's own (``VALID`` / ``INVALID`` / ``None`` when
    LoadGen did not drive the run); ``count`` the latencies measured, ``min_count`` the minimum asked for;
    ``reportable`` says which percentiles have enough samples (``{"p50": True, "p90": ..., "p99": ...}``)."""

    verdict: str
    loadgen: str | None
    count: int | None
    min_count: int | None
    reportable: dict[str, bool] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    rules: str = RULES

    @property
    def valid(self) -> bool:
        return self.verdict == VALID

    def summary(self) -> str:
        """``VALID`` or ``INVALID: reason; reason`` (one line)."""
        return self.verdict if self.valid or not self.reasons else f"{self.verdict}: {'; '.join(self.reasons)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Validity:
        known = {k: d[k] for k in ("verdict", "loadgen", "count", "min_count", "reportable", "reasons", "rules")
                 if k in d}
        return cls(**known)


def loadgen_reasons(summary_log: str | None) -> list[str]:
    """The ``: NO`` lines of LoadGen's summary log (``Min queries satisfied : NO``), stripped."""
    return [" ".join(ln.split()) for ln in (summary_log or "").splitlines() if ": NO" in ln]


def assess(
    scenario: str,
    *,
    count: int | None,
    min_count: int | None,
    loadgen: str | None = None,
    loadgen_summary: str | None = None,
    partial: str | None = None,
) -> Validity:
    """The verdict from the figures (see the module docstring for the rules). ``partial``: why the run
    was stopped early, when it was."""
    reasons: list[str] = []
    if partial:
        reasons.append(f"partial result ({partial})")
    if loadgen and loadgen != VALID:
        why = loadgen_reasons(loadgen_summary)
        reasons.append(f"LoadGen result {loadgen}" + (": " + ", ".join(why) if why else ""))
    if count is not None and count <= 0:
        reasons.append("no latency figures")
    elif count is not None:
        if min_count is not None and count < min_count:
            reasons.append(f"{count} of the {min_count} queries asked for completed")
        if scenario in LATENCY_SCENARIOS and count < MIN_SAMPLES[90]:
            reasons.append(f"{count} latencies, fewer than the {MIN_SAMPLES[90]} a p90 needs")
    reportable = {} if count is None else {f"p{p}": count >= n for p, n in sorted(MIN_SAMPLES.items())}
    return Validity(verdict=INVALID if reasons else VALID, loadgen=loadgen, count=count, min_count=min_count,
                    reportable=reportable, reasons=reasons)


def _min_count(conditions: dict[str, Any]) -> int | None:
    settings = conditions.get("settings") if isinstance(conditions, dict) else None
    if not isinstance(settings, dict):
        return None
    value = settings.get("min_count_effective", settings.get("min_count"))
    return int(value) if isinstance(value, (int, float)) else None


def _partial(d: dict[str, Any]) -> str | None:
    if d.get("status") == "partial":
        return str(d.get("cause") or "stopped early")
    flag = d.get("partial")
    if flag:
        return str(flag) if isinstance(flag, str) else str(d.get("cause") or "stopped early")
    return None


def validity_of(d: dict[str, Any]) -> Validity | None:
    """The validity of a measurement given as ``MeasureResult.to_dict()`` (or a stored row's metrics): the
    one it states, else judged from its figures. ``None`` for a failed measurement."""
    if not isinstance(d, dict) or d.get("status") == "failed":
        return None
    stated = d.get("validity")
    if isinstance(stated, dict) and stated.get("verdict") in (VALID, INVALID):
        return Validity.from_dict(stated)
    lat = d.get("latency") if isinstance(d.get("latency"), dict) else None
    lg = d.get("loadgen") if isinstance(d.get("loadgen"), dict) else {}
    if "latency" not in d:  # not stated: no count rule applies
        count = None
    elif lat is None:  # stated as none: no latency figures
        count = 0
    else:
        count = lat.get("count")
        count = int(count) if isinstance(count, (int, float)) else None
    return assess(str(d.get("scenario") or ""), count=count, min_count=_min_count(d.get("conditions") or {}),
                  loadgen=lg.get("result_validity"), loadgen_summary=lg.get("summary_log"), partial=_partial(d))


def assess_result(res: Any) -> Validity | None:
    """The validity of a :class:`~fitbench.measure.result.MeasureResult` (``None`` when it failed)."""
    if res.status == "failed":
        return None
    lg = res.loadgen or {}
    count = res.latency.count if res.latency is not None else 0
    flag = getattr(res, "partial", None)  # a run stopped early (timeout, Ctrl-C) keeps what it measured
    partial = None
    if res.status == "partial" or flag:
        partial = flag if isinstance(flag, str) else str(res.cause or "stopped early")
    return assess(res.scenario, count=count, min_count=_min_count(res.conditions), loadgen=lg.get("result_validity"),
                  loadgen_summary=lg.get("summary_log"), partial=partial)


def store_status(d: dict[str, Any]) -> tuple[str, str | None]:
    """``(status, cause)`` of a measurement in the results database: ``("failed", cause)``, ``("invalid",
    reasons)`` or ``("ok", None)``."""
    if d.get("status") == "failed":
        return "failed", d.get("cause") or "measurement failed"
    v = validity_of(d)
    if v is not None and not v.valid:
        return "invalid", "; ".join(v.reasons) or INVALID
    return "ok", None
