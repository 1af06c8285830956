"""``validate``: the estimator against published figures — predicted vs published per point, error per chip and
per family, and each model's batch-1 chip ranking with its Spearman correlation.

For every dataset point whose chip is in the catalog and whose model is in the zoo, the model is profiled at
the point's zoo parameters and precision (once per (model, params, precision), reused across chips) and
estimated with :func:`fitbench.hardware.estimator.estimate` at the point's batch and precision (once per chip
and profile, all its batches together). The prediction is in the point's own metric: ``latency_s`` (seconds
per batch, as a single-stream query of batch 1) or ``throughput_ips`` (samples per second). Points whose chip
or model is missing, whose precision the chip's spec lacks, or whose estimate is infeasible are listed with
the reason, never dropped. Statistics (:mod:`fitbench.validation.stats`) cover the compared points only.

**Families**: a spec's ``kind`` when it names what the chip is (gpu / npu / dataflow ...; not ``archetype``,
``public`` or ``custom``, which say where a spec came from); otherwise the chip is its own family
(``family_basis`` says which).

**Rankings**: per (model, input), the compared batch-1 points; each chip's speed is samples/s
(``throughput_ips``, or ``1 / latency_s``), the geometric mean over that chip's points (several submitters);
chips are ranked fastest first by prediction and by publication, and Spearman's rho compares the two.

**Hold-out points** (``split: holdout``, e.g. MLPerf LLM ``tokens_per_s`` figures) are estimated too but kept
out of ``points``, the statistics and the rankings, which are the calibration set's alone: they are in
``holdout`` with their own ``holdout_stats`` (:mod:`fitbench.validation.llm_holdout` for the LLM formula).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FitbenchError, UnknownNameError
from .dataset import DatasetError, PublishedPoint, load_dataset
from .stats import ErrorStats, error_factor, error_stats, ranks, spearman

FAMILY_FIELDS = ("family", "device_class", "chip_class", "kind")
NOT_FAMILIES = ("archetype", "public", "custom")  # ``kind`` values that say where a spec came from, not what it is


@dataclass
class PointResult:
    """One point: ``status`` is ``compared``, ``skipped`` (chip/model/precision missing) or ``infeasible``."""

    point: PublishedPoint
    status: str
    reason: str = ""
    predicted: float | None = None  # in the point's metric: samples/s, seconds or tokens/s
    family: str | None = None
    detail: str = ""  # how the prediction was made where the point alone does not say (hold-out LLM points)

    @property
    def published(self) -> float:
        return self.point.value

    @property
    def ratio(self) -> float | None:
        """predicted / published (for latency > 1 means the estimate is slower than published)."""
        return None if self.predicted is None else self.predicted / self.point.value

    @property
    def error_factor(self) -> float | None:
        return None if self.predicted is None else error_factor(self.predicted, self.point.value)

    @property
    def speed(self) -> tuple[float, float] | None:
        """(predicted, published) samples/s: throughput, or 1 / latency."""
        if self.predicted is None:
            return None
        if self.point.metric == "latency_s":
            return self.point.batch / self.predicted, self.point.batch / self.point.value
        return self.predicted, self.point.value

    def to_dict(self) -> dict[str, Any]:
        return {**self.point.to_dict(), "status": self.status, "reason": self.reason, "family": self.family,
                "predicted": self.predicted, "published": self.published, "ratio": self.ratio,
                "error_factor": self.error_factor, "detail": self.detail}


@dataclass
class GroupSummary:
    """Error statistics of one chip or family (``kind``)."""

    name: str
    kind: str
    stats: ErrorStats

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **self.stats.to_dict()}


@dataclass
class RankedChip:
    chip: str
    predicted_ips: float
    published_ips: float
    predicted_rank: float
    published_rank: float


@dataclass
class Ranking:
    """A model's batch-1 chip ranking (rank 1 = fastest) by prediction and by publication."""

    model: str
    input: str
    chips: list[RankedChip]
    spearman: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "input": self.input, "spearman": self.spearman,
                "chips": [vars(c) for c in self.chips]}


@dataclass
class ValidationReport:
    """Every point's result, the error overall / per chip / per family, and the batch-1 rankings."""

    dataset: str
    points: list[PointResult]
    overall: ErrorStats
    per_chip: list[GroupSummary]
    per_family: list[GroupSummary]
    family_basis: str
    rankings: list[Ranking]
    elapsed_s: float = 0.0
    filters: dict[str, list[str]] = field(default_factory=dict)
    holdout: list[PointResult] = field(default_factory=list)
    holdout_stats: ErrorStats = field(default_factory=lambda: error_stats([]))

    @property
    def compared(self) -> list[PointResult]:
        return [r for r in self.points if r.status == "compared"]

    @property
    def skipped(self) -> list[PointResult]:
        return [r for r in self.points if r.status != "compared"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "filters": self.filters, "elapsed_s": self.elapsed_s,
            "family_basis": self.family_basis, "overall": self.overall.to_dict(),
            "per_chip": [g.to_dict() for g in self.per_chip], "per_family": [g.to_dict() for g in self.per_family],
            "rankings": [r.to_dict() for r in self.rankings], "points": [r.to_dict() for r in self.points],
            "counts": {"points": len(self.points), "compared": len(self.compared), "skipped": len(self.skipped)},
            "holdout": {"stats": self.holdout_stats.to_dict(), "points": [r.to_dict() for r in self.holdout]},
        }


def spec_family(spec) -> str | None:
    """The spec's own family (``kind: gpu | npu | dataflow``, or a ``family`` field) when it states one, else None."""
    for name in FAMILY_FIELDS:
        value = getattr(spec, name, None)
        if isinstance(value, str) and value.strip() and value.strip() not in NOT_FAMILIES:
            return value.strip()
    return None


def _check_names(asked: Sequence[str], known: Iterable[str], what: str) -> None:
    known = sorted(set(known))
    bad = [n for n in asked if n not in known]
    if bad:
        raise UnknownNameError(f"unknown {what} {', '.join(map(repr, bad))}; known: {', '.join(known)}")


def _freeze(params: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


def validate(dataset: str | Path | None = None, hw: Sequence[str] = (), models: Sequence[str] = (),
             points: Sequence[PublishedPoint] | None = None, holdout: bool = True) -> ValidationReport:
    """Estimate every published point (of ``points``, or of the ``dataset`` file, or of the shipped dataset),
    keeping those whose chip is in ``hw`` and model in ``models`` when given; see the module doc. ``holdout=False``
    leaves the hold-out points out (``holdout`` stays empty): the calibration set's figures are the same."""
    from ..hardware.estimator import estimate
    from ..hardware.spec import catalog_names, load_hardware
    from ..profile import profile
    from ..zoo import list_models

    t0 = time.perf_counter()
    label = "explicit points" if points is not None else str(dataset) if dataset else "shipped"
    pts = list(points) if points is not None else load_dataset(dataset)
    cat = set(catalog_names())
    zoo_names = {e.name for e in list_models()}
    _check_names(hw, cat | {p.chip for p in pts}, "hardware (catalog or dataset chip)")
    _check_names(models, zoo_names | {p.model for p in pts}, "model (zoo or dataset model)")
    chosen = [p for p in pts if (not hw or p.chip in hw) and (not models or p.model in models)]
    sel = [p for p in chosen if not p.is_holdout]
    held = [p for p in chosen if p.is_holdout] if holdout else []
    if not chosen:
        raise DatasetError(f"no published point in dataset {label} for hardware {', '.join(hw) or 'any'} and "
                           f"model {', '.join(models) or 'any'}")

    results: list[PointResult | None] = [None] * len(sel)
    groups: dict[tuple, list[int]] = defaultdict(list)
    specs: dict[str, Any] = {}
    for i, p in enumerate(sel):
        if p.chip not in cat:
            results[i] = PointResult(p, "skipped", f"chip {p.chip!r} is not in the catalog")
        elif p.model not in zoo_names:
            results[i] = PointResult(p, "skipped", f"model {p.model!r} is not in the zoo")
        else:
            groups[(p.chip, p.model, _freeze(p.estimate_params()), p.precision)].append(i)

    profiles: dict[tuple, Any] = {}
    for (chip, model, frozen, prec), idx in groups.items():
        spec = specs.setdefault(chip, load_hardware(chip))
        family = spec_family(spec) or chip
        pkey = (model, frozen, prec)
        if pkey not in profiles:
            try:
                profiles[pkey] = profile(model, precision=prec, **sel[idx[0]].zoo_params())
            except FitbenchError as exc:
                profiles[pkey] = exc
        prof = profiles[pkey]
        if isinstance(prof, FitbenchError):
            for i in idx:
                results[i] = PointResult(sel[i], "skipped", f"cannot profile {model}: {prof}", family=family)
            continue
        try:
            est = estimate(prof, spec, batch=sorted({sel[i].batch for i in idx}), precision=prec)
        except FitbenchError as exc:
            for i in idx:
                results[i] = PointResult(sel[i], "skipped", str(exc), family=family)
            continue
        for i in idx:
            p = sel[i]
            ep = est.point(p.batch)
            if not ep.feasible:
                results[i] = PointResult(p, "infeasible", ep.infeasible_reason, family=family)
                continue
            pred = ep.latency_s if p.metric == "latency_s" else ep.throughput_ips
            results[i] = PointResult(p, "compared", predicted=pred, family=family)

    done = [r for r in results if r is not None]
    compared = [r for r in done if r.status == "compared"]
    has_family = any(spec_family(s) for s in specs.values())
    report = ValidationReport(
        dataset=label, points=done,
        overall=error_stats([(r.predicted, r.published) for r in compared]),
        per_chip=_groups(compared, lambda r: r.point.chip, "chip"),
        per_family=_groups(compared, lambda r: r.family, "family"),
        family_basis=("the spec's kind (gpu / npu / dataflow ...), the chip itself where its spec states none"
                      if has_family else "chip (the catalog's specs state no family)"),
        rankings=_rankings(compared),
        filters={"hw": list(hw), "model": list(models)},
    )
    report.holdout = [_holdout_result(p, cat, zoo_names, specs) for p in held]
    report.holdout_stats = error_stats([(r.predicted, r.published) for r in report.holdout
                                        if r.status == "compared"])
    report.elapsed_s = time.perf_counter() - t0
    return report


def _holdout_result(p: PublishedPoint, cat: set[str], zoo_names: set[str], specs: dict[str, Any]) -> PointResult:
    """One hold-out point: a ``tokens_per_s`` LLM point via :func:`~fitbench.validation.llm_holdout.
    estimate_llm_point`; other metrics are reported as not compared (no hold-out path for them yet)."""
    from ..hardware.spec import load_hardware
    from .llm_holdout import estimate_llm_point

    if p.chip not in cat:
        return PointResult(p, "skipped", f"chip {p.chip!r} is not in the catalog")
    if p.model not in zoo_names:
        return PointResult(p, "skipped", f"model {p.model!r} is not in the zoo")
    spec = specs.setdefault(p.chip, load_hardware(p.chip))
    family = spec_family(spec) or p.chip
    if p.metric != "tokens_per_s":
        return PointResult(p, "skipped", f"hold-out {p.metric} points are not estimated yet", family=family)
    try:
        e = estimate_llm_point(p, spec)
    except FitbenchError as exc:
        return PointResult(p, "skipped", str(exc), family=family)
    detail = (f"batch {e.batch} ({'max-fit' if p.llm.batch_rule == 'max-fit' else 'stated'}), context "
              f"{p.llm.context}; TTFT {e.ttft_s:.4g} s, TPOT {e.tpot_s:.4g} s" if e.ttft_s and e.tpot_s
              else f"batch {e.batch}")
    if e.tokens_per_s is None:
        return PointResult(p, "infeasible", e.reason, family=family, detail=detail)
    return PointResult(p, "compared", predicted=e.tokens_per_s, family=family, detail=detail)


def _groups(results: list[PointResult], key, kind: str) -> list[GroupSummary]:
    by: dict[str, list[PointResult]] = defaultdict(list)
    for r in results:
        by[key(r)].append(r)
    return [GroupSummary(name, kind, error_stats([(r.predicted, r.published) for r in rs]))
            for name, rs in sorted(by.items())]


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def _rankings(results: list[PointResult]) -> list[Ranking]:
    by: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r.point.batch == 1:
            by[(r.point.model, r.point.input_label())][r.point.chip].append(r.speed)
    out = []
    for (model, inp), chips in sorted(by.items()):
        names = sorted(chips)
        pred = [_geomean([s[0] for s in chips[c]]) for c in names]
        pub = [_geomean([s[1] for s in chips[c]]) for c in names]
        # rank 1 = fastest: rank the negated speeds ascending
        rp, rq = ranks([-v for v in pred]), ranks([-v for v in pub])
        ranked = [RankedChip(c, pred[i], pub[i], rp[i], rq[i]) for i, c in enumerate(names)]
        ranked.sort(key=lambda c: (c.published_rank, c.chip))
        out.append(Ranking(model, inp, ranked, spearman(pred, pub)))
    return out
