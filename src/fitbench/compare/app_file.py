"""The application file (YAML) and the same as options: what the buyer needs, read into an :class:`Application`.

Keys (units written out; every problem is one :class:`~fitbench.errors.SpecError` line naming the field)::

    name: 4-camera edge box
    model: yolov3                 # zoo name or ONNX path (relative to this file)
    resolution: 1920x1080         # zoo models: WIDTHxHEIGHT
    inputs: {images: 1x3x1080x1920}   # ONNX models: input shapes (optional)
    precision: int8               # optional
    streams: 4                    # the load: streams x fps (periodic frames) ...
    fps: 30
    # qps: 120                    # ... or a Poisson rate of queries per second
    latency: 50 ms                # the latency budget of the whole pipeline (host stages included)
    percentile: 99                # of the latency (default 99)
    power: 15 W                   # optional budget for the whole load
    price: 500 USD                # optional budget for the whole load
    max_chips: 4                  # optional chips per box
    objective: power              # power | price | chips: what "best" minimises among those that meet
    host:                         # optional host stages, per frame: a stated time, or a callable timed here
      - {name: resize, stage: pre, time: 2 ms}
      - {name: nms, stage: post, callable: "stages.py:nms"}   # or package.module:function (no arguments)
    hw: [catalog:*]               # optional offerings (as --hw)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .._checks import parse_resolution
from ..errors import FitbenchError, SpecError
from .requirements import Application, HostStage


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    stage: str = "pre"
    time: str | float | None = None
    callable: str | None = None


class _AppFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "application"
    model: str | None = None
    resolution: str | None = None
    inputs: dict[str, str | list[int]] | None = None
    precision: str | None = None
    streams: int | None = None
    fps: float | None = None
    qps: float | None = None
    latency: str | float
    percentile: float = 99.0
    power: str | float | None = None
    price: str | float | None = None
    max_chips: int | None = None
    objective: str = "power"
    host: list[_Stage] = []
    hw: list[str] | str | None = None


def parse_time(value: Any, field: str) -> float:
    """``"50 ms"`` / ``"50ms"`` -> 0.05 (seconds); a bare number is seconds."""
    from ..hardware.units import parse_quantity

    return parse_quantity(value, "time", field)


def parse_power(value: Any, field: str) -> float:
    """``"15 W"`` / ``"15W"`` / ``"800 mW"`` -> watts."""
    from ..hardware.units import parse_quantity

    return parse_quantity(value, "power", field)


def parse_price(value: Any, field: str) -> float:
    """``"500 USD"`` / ``"500USD"`` / ``"$500"`` / 500 -> US dollars."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).replace(",", "").replace("$", "").strip()
    if text.upper().endswith("USD"):
        text = text[:-3].strip()
    try:
        return float(text)
    except ValueError:
        raise SpecError(f"field {field!r}: expected a price in US dollars, e.g. 500 USD; got {value!r}") from None


def _first_error(exc: ValidationError, what: str) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err.get("loc", ())) or "(top level)"
    if err.get("type") == "extra_forbidden":
        allowed = ", ".join(_AppFile.model_fields) if len(err.get("loc", ())) == 1 else ", ".join(_Stage.model_fields)
        return f"{what}: unknown key {where!r}; allowed: {allowed}"
    if err.get("type") == "missing":
        return f"{what}: field {where!r} is required"
    return f"{what}: field {where!r}: {err.get('msg')}"


def application_from_dict(d: Any, what: str = "application", base: Path | None = None) -> Application:
    """A mapping (e.g. parsed YAML) -> :class:`Application`; one-line :class:`SpecError` on any problem."""
    if not isinstance(d, dict):
        raise SpecError(f"{what} must be a mapping of keys (latency, streams, fps ...), got {type(d).__name__}")
    try:
        f = _AppFile.model_validate(d)
    except ValidationError as exc:
        raise SpecError(_first_error(exc, what)) from None
    model = f.model
    if model and base is not None and model.lower().endswith(".onnx") and not os.path.isabs(model):
        model = str(base / model)
    try:
        app = Application(
            name=f.name, model=model, precision=f.precision,
            resolution=parse_resolution(f.resolution, f"{what}: field 'resolution'") if f.resolution else None,
            inputs={k: v if isinstance(v, str) else "x".join(map(str, v)) for k, v in f.inputs.items()}
            if f.inputs else None,
            streams=f.streams, fps=f.fps, qps=f.qps, latency_budget_s=parse_time(f.latency, "latency"),
            percentile=f.percentile, power_w=None if f.power is None else parse_power(f.power, "power"),
            price_usd=None if f.price is None else parse_price(f.price, "price"), max_chips=f.max_chips,
            objective=f.objective,
            host=[_stage(s, f.percentile, base) for s in f.host],
            hw=[f.hw] if isinstance(f.hw, str) else list(f.hw or []), source=str(base or ""),
        )
    except SpecError as exc:
        raise SpecError(f"{what}: {exc}") from None
    except FitbenchError as exc:
        raise SpecError(f"{what}: {exc}") from None
    return app


def _stage(s: _Stage, percentile: float, base: Path | None) -> HostStage:
    """A stated stage time, or one measured on this machine by calling ``callable`` (:mod:`.host_stages`)."""
    if (s.time is None) == (s.callable is None):
        raise SpecError(f"host stage {s.name!r}: give its time (time: 3 ms) or a callable to time here "
                        "(callable: package.module:function), one of the two")
    if s.callable is None:
        return HostStage(s.name, s.stage, parse_time(s.time, f"host.{s.name}.time"))
    from .host_stages import load_callable, time_stage

    t, n = time_stage(load_callable(s.callable, base), percentile, s.name)
    return HostStage(s.name, s.stage, t, measured=f"{s.callable}: p{percentile:g} of {n} calls on this machine")


def load_application(path: str | os.PathLike[str]) -> Application:
    """Read and validate an application file (see the module docstring)."""
    from ..yaml_file import read_yaml

    p = Path(path)
    app = application_from_dict(read_yaml(p, "application"), f"application {os.fspath(path)}", p.parent)
    app.source = os.fspath(path)
    return app


def application_from_options(app: Application | None = None, *, streams: int | None = None, fps: float | None = None,
                             qps: float | None = None, latency: str | None = None, percentile: float | None = None,
                             power: str | None = None, price: str | None = None, max_chips: int | None = None,
                             objective: str | None = None, pre: list[str] | None = None,
                             post: list[str] | None = None) -> Application | None:
    """The CLI's options (``--streams 4 --fps 30 --latency 50ms --power 15W ...``), over ``app`` when given.

    ``pre``/``post`` are host stages ``NAME=TIME`` (``resize=2ms``). Returns ``None`` when neither an
    application nor any requirement option is given.
    """
    given = {k: v for k, v in dict(streams=streams, fps=fps, qps=qps, latency=latency, percentile=percentile,
                                   power=power, price=price, max_chips=max_chips, objective=objective).items()
             if v is not None}
    if app is None and not given and not pre and not post:
        return None
    if app is None and "latency" not in given:
        raise FitbenchError("requirements need a latency budget: --latency 50ms (or an application file, --app)")
    d: dict[str, Any] = {} if app is None else {
        "name": app.name, "model": app.model, "precision": app.precision, "streams": app.streams, "fps": app.fps,
        "qps": app.qps, "latency_budget_s": app.latency_budget_s, "percentile": app.percentile,
        "power_w": app.power_w, "price_usd": app.price_usd, "max_chips": app.max_chips, "objective": app.objective,
        "host": list(app.host), "resolution": app.resolution, "inputs": app.inputs, "hw": list(app.hw),
        "source": app.source}
    if "qps" in given:
        d["streams"] = d["fps"] = None
    if "streams" in given or "fps" in given:
        d["qps"] = None
    conv = {"latency": ("latency_budget_s", lambda v: parse_time(v, "--latency")),
            "power": ("power_w", lambda v: parse_power(v, "--power")),
            "price": ("price_usd", lambda v: parse_price(v, "--price"))}
    for k, v in given.items():
        key, fn = conv.get(k, (k, lambda x: x))
        d[key] = fn(v)
    stages = []
    for stage, items in (("pre", pre), ("post", post)):
        for item in items or []:
            name, sep, t = str(item).partition("=")
            if not sep or not name.strip():
                raise FitbenchError(f"--{stage} expects NAME=TIME like resize=2ms, got {item!r}")
            stages.append(HostStage(name.strip(), stage, parse_time(t.strip(), f"--{stage} {name.strip()}")))
    if stages:
        d["host"] = [h for h in d.get("host", []) if h.stage not in {s.stage for s in stages}] + stages
    return Application(**d)
