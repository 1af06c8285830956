"""The zoo registry, in the style of timm's ``@register_model``.

Each builder is a function ``fn(g: GraphBuilder, p: dict, notes: list[str]) -> None`` that adds
inputs, nodes and outputs to ``g`` for the resolved parameters ``p`` (which always hold ``batch``).
It is registered with its family, its defaults (every parameter it accepts, with its default
value), a one-line description of its default input, and the source it follows layer by layer.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import onnx

from .._checks import parse_resolution
from ..errors import FitbenchError, UnknownNameError
from .builder import GraphBuilder

BuilderFn = Callable[[GraphBuilder, dict, list], None]


@dataclass(frozen=True)
class ZooEntry:
    """A registered model: ``defaults`` lists every parameter it accepts (``resolution`` is (H, W))."""

    name: str
    family: str
    source: str
    description: str
    default_input: str
    defaults: dict[str, Any]
    param_help: dict[str, str]
    fn: BuilderFn = field(repr=False, compare=False)
    aliases: dict[str, str] = field(default_factory=dict)  # e.g. seq_len -> kv_len

    @property
    def parameters(self) -> int:
        """Trainable parameters at the defaults (PyTorch's count; cheap: built without weight bytes)."""
        if self.name not in _PARAM_CACHE:
            _PARAM_CACHE[self.name] = build(self.name).parameters
        return _PARAM_CACHE[self.name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "family": self.family, "source": self.source, "description": self.description,
            "default_input": self.default_input, "parameters": self.parameters,
            "defaults": {k: list(v) if isinstance(v, tuple) else v for k, v in self.defaults.items()},
        }


@dataclass
class ZooModel:
    """A built model: the ONNX proto plus every resolved parameter and what was changed (``notes``).

    ``parameters`` is the trainable parameter count (PyTorch's convention: BN running statistics are
    buffers, not parameters, though a profiler counts them as constant weights of the graph);
    ``buffers`` is the count of those statistics.
    """

    proto: onnx.ModelProto
    name: str
    params: dict[str, Any]
    input_shapes: dict[str, tuple[int, ...]]
    notes: list[str]
    family: str
    source: str
    parameters: int = 0
    buffers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "family": self.family, "source": self.source,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()},
            "input_shapes": {k: list(v) for k, v in self.input_shapes.items()},
            "notes": list(self.notes), "parameters": self.parameters, "buffers": self.buffers,
        }


_REGISTRY: dict[str, ZooEntry] = {}
_PARAM_CACHE: dict[str, int] = {}


def register_model(name: str, *, family: str, source: str, description: str, default_input: str,
                   defaults: dict[str, Any], param_help: dict[str, str] | None = None,
                   aliases: dict[str, str] | None = None) -> Callable[[BuilderFn], BuilderFn]:
    """Register a builder under ``name`` (lower-case, hyphenated)."""

    def deco(fn: BuilderFn) -> BuilderFn:
        if name in _REGISTRY:
            raise ValueError(f"zoo model {name!r} registered twice")
        _REGISTRY[name] = ZooEntry(name, family, source, description, default_input, dict(defaults),
                                   dict(param_help or {}), fn, dict(aliases or {}))
        return fn

    return deco


def _normalise(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def get(name: str) -> ZooEntry:
    """The registered entry, or :class:`UnknownNameError` with the closest names."""
    _load_families()
    key = _normalise(name)
    if key in _REGISTRY:
        return _REGISTRY[key]
    close = difflib.get_close_matches(key, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownNameError(f"unknown zoo model {name!r}{hint} (see `fitbench zoo list`)")


def list_models() -> list[ZooEntry]:
    _load_families()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def _check_value(model: str, key: str, value: Any, default: Any) -> Any:
    if key == "resolution":
        if isinstance(value, str):  # "1920x1080" is WIDTHxHEIGHT, as on the command line
            value = parse_resolution(value, f"{model}: resolution")
        try:
            h, w = (int(v) for v in value)
        except (TypeError, ValueError):
            raise FitbenchError(f"{model}: resolution must be (height, width), got {value!r}") from None
        if h <= 0 or w <= 0:
            raise FitbenchError(f"{model}: resolution dims must be positive, got {value!r}")
        return (h, w)
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0"):
                raise FitbenchError(f"{model}: {key} must be true or false, got {value!r}")
            return value.lower() in ("true", "1")
        return bool(value)
    if isinstance(default, int):
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise FitbenchError(f"{model}: {key} must be an integer, got {value!r}") from None
        if v != float(value) or v <= 0:
            raise FitbenchError(f"{model}: {key} must be a positive integer, got {value!r}")
        return v
    if isinstance(default, float):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise FitbenchError(f"{model}: {key} must be a number, got {value!r}") from None
        if not math.isfinite(v) or v <= 0:
            raise FitbenchError(f"{model}: {key} must be a positive number, got {value!r}")
        return v
    return str(value).lower() if isinstance(default, str) else value


def build(name: str, *, resolution: tuple[int, int] | None = None, batch: int = 1, seq_len: int | None = None,
          materialize_weights: bool = False, **params: Any) -> ZooModel:
    """Build zoo model ``name`` at the given input size, batch and model parameters.

    ``resolution`` is (height, width) (a string is read as the CLI's ``"WIDTHxHEIGHT"``).
    Parameters left at ``None`` take the model's default; a
    parameter the model does not accept is an error naming the ones it does. With
    ``materialize_weights=False`` the initializers carry dims only (for profiling); with ``True``
    they hold deterministic random values (seeded by ``seed``, default 0) and the model runs.
    """
    entry = get(name)
    seed = params.pop("seed", None)
    supplied = {k: v for k, v in params.items() if v is not None}
    if resolution is not None:
        supplied["resolution"] = resolution
    if seq_len is not None:
        supplied["seq_len"] = seq_len
    for alias, target in entry.aliases.items():
        if alias in supplied:
            supplied[target] = supplied.pop(alias)
    unknown = sorted(set(supplied) - set(entry.defaults))
    if unknown:
        accepted = ", ".join(sorted(entry.defaults)) or "none"
        raise FitbenchError(f"zoo model {entry.name!r} has no parameter {', '.join(unknown)}; it accepts: {accepted}")
    try:
        batch = int(batch)
    except (TypeError, ValueError):
        raise FitbenchError(f"batch must be a positive integer, got {batch!r}") from None
    if batch <= 0:
        raise FitbenchError(f"batch must be a positive integer, got {batch}")
    resolved = dict(entry.defaults)
    for key, value in supplied.items():
        resolved[key] = _check_value(entry.name, key, value, entry.defaults[key])
    resolved["batch"] = batch
    g = GraphBuilder(entry.name, materialize=bool(materialize_weights), seed=int(seed or 0))
    notes: list[str] = []
    entry.fn(g, resolved, notes)
    proto = g.finish(doc=f"fitbench zoo {entry.name}: {entry.source}")
    shapes = {vi.name: tuple(d.dim_value for d in vi.type.tensor_type.shape.dim) for vi in g.inputs}
    return ZooModel(proto=proto, name=entry.name, params=resolved, input_shapes=shapes, notes=notes,
                    family=entry.family, source=entry.source, parameters=g.parameters, buffers=g.buffers)


def pad_to_multiple(p: dict, multiple: int, notes: list[str], why: str, minimum: int | None = None) -> tuple[int, int]:
    """Letterbox ``p['resolution']`` (H, W) up to a multiple; record the change in ``notes`` and
    ``p['input_resolution']``. ``minimum`` (default ``multiple``) is the smallest accepted side."""
    h, w = p["resolution"]
    low = minimum or multiple
    if h < low or w < low:
        raise FitbenchError(f"resolution {w}x{h} is too small: each side must be at least {low}")
    ph, pw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    if (ph, pw) != (h, w):
        notes.append(f"letterboxed {w}x{h} to {pw}x{ph} ({why})")
    p["input_resolution"] = (ph, pw)
    return ph, pw


def _load_families() -> None:
    from . import llama, mobilenet, resnet, retinanet, speech, ssd, tiny, transformer, unet, yolo  # noqa: F401
