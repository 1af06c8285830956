"""Turn whatever the user named (path, ONNX proto, zoo name, torch module, "pkg.mod:fn") into a Model."""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any

import onnx

from ._checks import is_positive_int
from .errors import FitbenchError, ModelLoadError, ShapeError, UnknownNameError
from .graph.ir import Model
from .graph.onnx_io import load_model
from .model_ref import kind_of


def resolve_model(
    model: Any,
    inputs: dict | None = None,
    batch: int | None = None,
    dims: dict | None = None,
    example_inputs: Any = None,
    materialize_weights: bool = False,
    **zoo_params: Any,
) -> tuple[Model, dict[str, Any]]:
    """Return the bound :class:`Model` and the parameters that built it (zoo parameters).

    ``materialize_weights=True`` builds a zoo model with real (seeded random) weights so that it runs;
    ``fitbench.measure`` uses :func:`build_zoo` with it, so profile and run size zoo models alike."""
    from .graph import torch_io

    kind = kind_of(model)
    zoo_params = {k: v for k, v in zoo_params.items() if v is not None}
    if batch is not None and not is_positive_int(batch):  # 0 must not become "the default batch" anywhere
        raise ShapeError(f"--batch must be a positive integer, got {batch!r}")
    if isinstance(model, Model):
        return model, {}
    if isinstance(model, onnx.ModelProto):
        _no_zoo_params(zoo_params, "an ONNX model")
        m = load_model(model, inputs, batch, dims)
        m.tags["kind"] = "memory"
        return m, {}
    if kind in ("module", "factory"):
        _no_zoo_params(zoo_params, "a PyTorch module")
        module = torch_io.load_factory(model) if isinstance(model, str) else model
        proto = torch_io.export_module(module, example_inputs, inputs, batch=batch)
        name = model if isinstance(model, str) else type(model).__name__
        m = load_model(proto, None, batch, dims, name=name)
        m.tags["kind"] = "torch"
        return m, {}
    if not isinstance(model, (str, os.PathLike)):
        raise ModelLoadError(f"a model is an ONNX path, an onnx.ModelProto, a zoo name, a torch nn.Module or "
                             f"'package.module:factory'; got {type(model).__name__}")
    text = os.fspath(model)
    if kind == "file":
        _no_zoo_params(zoo_params, "an ONNX file")
        return load_model(text, inputs, batch, dims), {}
    zb = build_zoo(text, inputs, batch, materialize_weights=materialize_weights, **zoo_params)
    m = load_model(zb.proto, zb.inputs, None, dims, name=zb.name)
    m.notes.extend(zb.notes)
    m.tags["kind"] = "zoo"
    return m, dict(zb.params)


@dataclass
class ZooBuild:
    """A zoo model built at the size the user asked for (``--resolution``/``--seq-len``, or ``--input``).

    ``inputs`` are the shapes still to bind (``None`` when ``--input`` became the build size), ``batch``
    the batch it was built at, ``notes`` what the user must see (how ``--input`` was read, builder notes)."""

    proto: onnx.ModelProto
    name: str
    inputs: dict | None
    batch: int
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def build_zoo(name: str, inputs: dict | None = None, batch: int | None = None, *,
              materialize_weights: bool = False, **zoo_params: Any) -> ZooBuild:
    """Build zoo model ``name`` the way ``fitbench profile`` and ``fitbench run`` both read their arguments:
    one ``--input`` of an image model (NxCxHxW, named or not) sets the resolution and batch N, one NxS
    input of a sequence model the sequence length; ``--batch`` wins over N. ``materialize_weights=True``
    gives a model that runs (seeded random weights)."""
    zoo_params = {k: v for k, v in zoo_params.items() if v is not None}
    zoo = _zoo_module()
    if zoo is None:
        raise UnknownNameError(
            f"{name!r} is not a file, and no model zoo is installed to look the name up; give a path to an ONNX file"
        )
    inputs, batch, from_inputs = zoo_size_from_inputs(zoo.get(name).defaults, inputs, batch, zoo_params)
    built = zoo.build(name, batch=batch or 1, materialize_weights=materialize_weights, **zoo_params, **from_inputs)
    notes = [zoo_size_note(from_inputs)] if from_inputs else []
    notes.extend(built.notes)
    return ZooBuild(proto=built.proto, name=built.name, inputs=inputs, batch=batch or 1,
                    params=dict(built.params), notes=notes)


def zoo_size_note(from_inputs: dict[str, Any]) -> str:
    """The note telling the user which zoo parameters ``--input`` set."""
    return "--input set the zoo model's " + ", ".join(
        f"--resolution {v[1]}x{v[0]}" if k == "resolution" else f"--{k.replace('_', '-')} {v}"
        for k, v in from_inputs.items())


def zoo_size_from_inputs(defaults: Any, inputs: dict | None, batch: int | None,
                          zoo_params: dict) -> tuple[dict | None, int | None, dict[str, Any]]:
    """A zoo model is built at its size: ``--input 1x3x1080x1920`` (one NxCxHxW input of an image model)
    becomes ``resolution=(1080, 1920)`` and batch N, ``--input input_ids=4x384`` of a sequence model
    ``seq_len=384`` and batch 4, instead of binding dims the built graph has fixed (which fails deep in
    shape inference). Returns the inputs left to bind, the batch and the parameters taken from inputs.

    Options that contradict each other are refused, never resolved silently: ``--batch 4`` with an input of
    batch 2 (a leading 1 is re-bound, as for an ONNX file), ``--resolution`` or ``--seq-len`` with an
    ``--input`` of another size."""
    if not inputs or len(inputs) != 1:
        return inputs, batch, {}
    (name, value), = inputs.items()
    text = value if isinstance(value, str) else "x".join(str(d) for d in value)
    parts = text.lower().split("x")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        return inputs, batch, {}
    d = [int(p) for p in parts]
    shown = "x".join(map(str, d))
    if batch is not None and d[0] not in (1, batch):
        raise ShapeError(f"--batch {batch} contradicts --input {shown} (batch {d[0]}); give the batch once")
    if len(d) == 4 and "resolution" in defaults:
        if "resolution" not in zoo_params:
            return None, batch or d[0], {"resolution": (d[2], d[3])}
        res = tuple(zoo_params["resolution"]) if not isinstance(zoo_params["resolution"], int) else (
            zoo_params["resolution"],) * 2
        if res != (d[2], d[3]):
            raise ShapeError(f"--resolution {res[1]}x{res[0]} contradicts --input {shown} ({d[3]}x{d[2]}); "
                             f"give the size once")
    if len(d) == 2 and "seq_len" in defaults:
        if "seq_len" not in zoo_params:
            return None, batch or d[0], {"seq_len": d[1]}
        if int(zoo_params["seq_len"]) != d[1]:
            raise ShapeError(f"--seq-len {zoo_params['seq_len']} contradicts --input {shown} (sequence length "
                             f"{d[1]}); give the length once")
    return inputs, batch, {}


def _zoo_module():
    """``fitbench.zoo`` when it is installed (it raises UnknownNameError with a suggestion), else None."""
    if importlib.util.find_spec("fitbench.zoo") is None:
        return None
    return importlib.import_module("fitbench.zoo")


def _no_zoo_params(params: dict, what: str) -> None:
    if params:
        names = ", ".join(f"--{k.replace('_', '-')}" for k in params)
        raise FitbenchError(f"{names} applies to zoo models only, not to {what}; use --input NAME=DIMS")
