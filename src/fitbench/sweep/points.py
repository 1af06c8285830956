"""Sweep points and the registry of point kinds ('profile', 'estimate', 'measure').

A :class:`Point` is one cell of the grid. Its *definition* (kind, model identity, parameters, input sizes,
batch, precision, hardware or runtime + scenario, options) fully determines its result; the **point key**
is ``sha256(canonical JSON of the definition)``, canonical JSON = sorted keys, no whitespace, ASCII. Files
(models, hardware specs) enter the definition by name and content sha256, never by absolute path, so the
key is the same on every machine and changes when a file's content does.

A *point kind* is a function ``run(point, ctx) -> Outcome`` registered under a name. The sweep core only
knows the registry, so executors and their tests do not depend on which engines exist; the built-in
kinds import their engine lazily. ``ctx`` (:class:`PointContext`) caches profiles per (model, shapes,
batch, precision) and hardware specs, so a 10,000-point estimate sweep profiles each model once.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import platform
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from .. import __version__
from ..store.record import ResultRecord, utcnow


def canonical_json(obj: Any) -> str:
    """The canonical JSON text of ``obj``: sorted keys, no spaces, ASCII (what point keys hash)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class Point:
    """One point of a sweep. ``model`` is ``{name, zoo | path+sha256, params, inputs?}``;
    ``hardware`` is ``{name[, path, sha256]}`` for estimates; ``runtime``/``scenario`` for measurements."""

    kind: str
    model: dict[str, Any]
    batch: int
    precision: str
    hardware: dict[str, Any] | None = None
    runtime: str | None = None
    scenario: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def definition(self) -> dict[str, Any]:
        """Everything the result depends on, free of machine-specific paths."""
        model = {k: v for k, v in self.model.items() if k != "path"}
        if "path" in self.model:
            model["file"] = self.model["path"].replace("\\", "/").rsplit("/", 1)[-1]
        out: dict[str, Any] = {"kind": self.kind, "model": model, "batch": self.batch, "precision": self.precision}
        if self.hardware is not None:
            out["hardware"] = {k: v for k, v in self.hardware.items() if k not in ("path", "spec")}
        if self.runtime is not None:
            out["runtime"] = self.runtime
        if self.scenario is not None:
            out["scenario"] = self.scenario
        if self.options:
            out["options"] = self.options
        return json.loads(canonical_json(out))

    @cached_property
    def key(self) -> str:
        return hashlib.sha256(canonical_json(self.definition()).encode("ascii")).hexdigest()

    @property
    def model_name(self) -> str:
        return str(self.model.get("name") or self.model.get("zoo") or "model")

    @property
    def hardware_name(self) -> str | None:
        return None if self.hardware is None else str(self.hardware["name"])

    @property
    def label(self) -> str:
        """Short human description: ``estimate yolov3 resolution=[1080, 1920] b1 int8 @edge-npu``."""
        parts = [self.kind, self.model_name]
        parts += [f"{k}={v}" for k, v in sorted(self.model.get("params", {}).items())]
        if self.model.get("inputs"):
            parts.append(",".join(f"{k}={v}" for k, v in self.model["inputs"].items()))
        parts += [f"b{self.batch}", self.precision]
        if self.hardware is not None:
            parts.append("@" + self.hardware_name)
        if self.runtime is not None:
            parts.append(f"@{self.runtime}/{self.scenario}")
        return " ".join(parts)

    def engine_source(self) -> tuple[Any, dict[str, Any]]:
        """``(model, kwargs)`` to call an engine with: the path or zoo name, plus inputs and zoo params."""
        kwargs: dict[str, Any] = {}
        if self.model.get("inputs"):
            kwargs["inputs"] = dict(self.model["inputs"])
        params = dict(self.model.get("params", {}))
        # YAML gives lists; zoo parameters such as resolution are (h, w) tuples
        kwargs.update({k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
        return self.model.get("path") or self.model["zoo"], kwargs


@dataclass
class Outcome:
    """What a point kind returns: the model identity, every condition, and the metrics."""

    model: str
    model_sha256: str | None
    conditions: dict[str, Any]
    metrics: dict[str, Any]
    cause: str | None = None  # set when the engine reports a failed run (its data is kept)
    status: str | None = None  # None: "failed" with a cause, else "ok"; or "invalid" (LoadGen INVALID)


@dataclass(frozen=True)
class PointKind:
    """A registered kind. ``isolated``: run each point in a child process, one at a time (measurements);
    ``exclusive``: at most one such point per machine at once (a Ray custom resource)."""

    name: str
    run: Callable[[Point, PointContext], Outcome]
    isolated: bool = False
    exclusive: bool = False


_REGISTRY: dict[str, PointKind] = {}


def register_kind(name: str, run: Callable[[Point, PointContext], Outcome], *, isolated: bool = False,
                  exclusive: bool = False) -> PointKind:  # fmt: skip
    """Register (or replace) a point kind."""
    kind = PointKind(name, run, isolated=isolated, exclusive=exclusive)
    _REGISTRY[name] = kind
    return kind


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


def get_kind(name: str) -> PointKind:
    from ..errors import SpecError

    try:
        return _REGISTRY[name]
    except KeyError:
        raise SpecError(f"unknown point kind {name!r}; known: {', '.join(known_kinds())}") from None


class PointContext:
    """Per-process state shared by the points a process runs: caches and the node name."""

    def __init__(self, max_profiles: int = 256) -> None:
        self.node = socket.gethostname()
        self._profiles: OrderedDict[str, Any] = OrderedDict()
        self._hardware: dict[str, Any] = {}
        self.max_profiles = max_profiles
        self.profile_calls = 0  # how many profiles were computed (not served from the cache)

    def profile(self, point: Point, batch: int | None = None) -> Any:
        """The profile of ``point``'s model at ``batch`` (default: the point's) and precision, cached."""
        batch = point.batch if batch is None else batch
        key = canonical_json([{k: v for k, v in point.model.items() if k != "name"}, batch, point.precision])
        if key not in self._profiles:
            from ..profile import profile

            source, kwargs = point.engine_source()
            self.profile_calls += 1
            try:
                self._profiles[key] = profile(source, batch=batch, precision=point.precision, **kwargs)
            except Exception as exc:  # a model that cannot be profiled fails every point that needs it, once
                self._profiles[key] = exc
            if len(self._profiles) > self.max_profiles:
                self._profiles.popitem(last=False)
        self._profiles.move_to_end(key)
        result = self._profiles[key]
        if isinstance(result, Exception):
            raise result
        return result

    def hardware(self, point: Point) -> Any:
        assert point.hardware is not None
        ref = point.hardware.get("path") or point.hardware["name"]
        if ref not in self._hardware:
            from ..hardware.spec import load_hardware

            self._hardware[ref] = load_hardware(ref)
        return self._hardware[ref]


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    return {"fitbench": __version__, "python": platform.python_version(), "platform": platform.platform()}


def run_point(point: Point, kind: PointKind, ctx: PointContext, sweep_id: str) -> ResultRecord:
    """Run one point and return its record; an engine error becomes a ``failed`` record with its cause.

    ``KeyboardInterrupt`` (and other ``BaseException``) propagates: an interrupted point is not recorded.
    """
    started, t0 = utcnow(), time.perf_counter()
    try:
        out = kind.run(point, ctx)
        status, cause = ("failed", out.cause) if out.cause else ("ok", None)
        if out.status:
            status = out.status
    except Exception as exc:  # an engine failure is a result of the point, not of the sweep
        out = Outcome(point.model_name, point.model.get("sha256"), {}, {})
        status, cause = "failed", f"{type(exc).__name__}: {exc}"
    conditions = {**out.conditions, "point": point.definition(), "versions": versions()}
    return ResultRecord(
        kind=point.kind,
        model=out.model or point.model_name,
        model_sha256=out.model_sha256,
        batch=point.batch,
        precision=point.precision,
        hardware=point.hardware_name,
        runtime=point.runtime,
        status=status,
        cause=cause,
        conditions=conditions,
        metrics=out.metrics,
        started_at=started,
        finished_at=utcnow(),
        duration_s=time.perf_counter() - t0,
        sweep_id=sweep_id,
        point_key=point.key,
        node=ctx.node,
    )


# ---------------------------------------------------------------------- built-in kinds
def _without_layers(d: dict[str, Any], keep: bool) -> dict[str, Any]:
    return d if keep else {k: v for k, v in d.items() if k != "layers"}


def run_profile(point: Point, ctx: PointContext) -> Outcome:
    """Profile the model at the point's batch and precision. Metrics: the profile totals + uncosted ops
    (per-layer rows only with ``options: {profile: {layers: true}}``)."""
    prof = ctx.profile(point)
    d = prof.to_dict()
    metrics = {**d["totals"], "uncosted": d["uncosted"]}
    if point.options.get("layers"):
        metrics["layers"] = d["layers"]
    return Outcome(point.model_name, prof.model.sha256, {"model": d["model"], **d["conditions"]}, metrics)


def run_estimate(point: Point, ctx: PointContext) -> Outcome:
    """Estimate the model on the point's hardware with :func:`fitbench.hardware.estimator.estimate`.

    The profile is taken once per (model, shapes, precision) at batch 1 (the estimator works from
    per-sample figures and scales to the batch it is given) and shared by every batch and hardware.
    Metrics: the estimate at the point's batch (latency_s, throughput_ips, bound, DRAM bytes, ...), its
    notes and uncosted layers; per-layer rows only with ``options: {estimate: {layers: true}}``.
    ``options.estimate.winograd`` is passed on (auto | on | off | a storage mode).
    """
    from ..hardware.estimator import estimate

    prof = ctx.profile(point, batch=1)
    hw = ctx.hardware(point)
    kwargs = {"winograd": point.options["winograd"]} if "winograd" in point.options else {}
    result = estimate(prof, hw, batch=[point.batch], **kwargs)
    d = result.to_dict(layers=bool(point.options.get("layers")))
    (figures,) = d["points"]
    metrics = {**figures, "notes": d.get("notes", []), "uncosted": d.get("uncosted", [])}
    # the whole spec (every field), so that a stored result can be reproduced after its YAML is edited
    conditions = {**d.get("conditions", {}), "model": d.get("model"), "hardware_spec": hw.model_dump(mode="json"),
                  "profile_batch": prof.conditions.batch, "batch": point.batch}  # fmt: skip
    return Outcome(point.model_name, prof.model.sha256, conditions, metrics)


def run_measure(point: Point, ctx: PointContext) -> Outcome:
    """Measure the model with the point's runtime, scenario, batch and precision via
    :func:`fitbench.measure.measure` (``quick=True`` unless the options say otherwise; every other
    ``options.measure`` key is passed on, e.g. ``timeout_s``, ``threads``, ``device``; ``log_dir: DIR``
    keeps LoadGen's logs in ``DIR/<model>-<runtime>-<scenario>-<point key[:12]>/batch-<B>/``). The engine runs
    the measurement in its own child process; a run it reports as failed is stored as failed, with its
    cause and whatever figures it has."""
    from ..errors import MeasurementError
    from ..measure import measure

    source, kwargs = point.engine_source()
    opts = {k: v for k, v in point.options.items() if k != "layers"}
    if opts.get("log_dir"):  # options.measure.log_dir: LoadGen's logs kept, one folder per point
        import re
        from pathlib import Path

        label = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{point.model_name}-{point.runtime}-{point.scenario}")
        opts["log_dir"] = str(Path(str(opts["log_dir"])).expanduser() / f"{label}-{point.key[:12]}")
    params = inspect.signature(measure).parameters
    if "precision" in params:
        kwargs["precision"] = point.precision
    elif point.precision != "fp32":
        raise MeasurementError(f"measure() takes no precision; cannot measure at {point.precision}")
    result = measure(source, batch=point.batch, runtime=point.runtime, scenario=point.scenario,
                     **{"quick": True, **opts}, **kwargs)  # fmt: skip
    if "include_logs" in inspect.signature(result.to_dict).parameters:
        d = result.to_dict(include_logs=False)
    else:
        d = result.to_dict()
    conditions = d.pop("conditions", None) or {}
    sha = conditions.get("model_sha256") or point.model.get("sha256")
    cause = status = None
    if d.get("status") not in (None, "ok", "partial"):
        cause = d.get("cause") or f"measurement status {d.get('status')!r}"
    # an INVALID run keeps its figures, but the point is not a valid measurement: the verdict the engine states
    # (LoadGen's and fitbench's sample-count rules, fitbench.measure.validity: the rule of run --db and compare
    # --db too), else LoadGen's own
    stated = d.get("validity")
    validity = (d.get("loadgen") or {}).get("result_validity")
    if cause is None and isinstance(stated, dict) and stated.get("verdict") == "INVALID":
        status, cause = "invalid", "; ".join(stated.get("reasons") or []) or "INVALID"
    elif cause is None and not isinstance(stated, dict) and validity and validity != "VALID":
        status, cause = "invalid", f"LoadGen result {validity}"
    return Outcome(point.model_name, sha, conditions, d, cause=cause, status=status)


register_kind("profile", run_profile)
register_kind("estimate", run_estimate)
# measure() isolates each run in its own child process itself; the local executor runs points one at a
# time, and on Ray ``exclusive`` keeps measurements to one per node.
register_kind("measure", run_measure, exclusive=True)
