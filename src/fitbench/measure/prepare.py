"""Turn the user's model argument into what the child process runs, with its conditions.

- ONNX path / ``onnx.ModelProto`` / zoo name on onnxruntime: shapes are bound with
  :func:`fitbench.graph.onnx_io.load_model`; the child runs the file (or a rebound copy). A zoo name is
  built by :func:`fitbench.model_source.build_zoo` (as ``fitbench profile`` does, with runnable weights):
  one NxCxHxW ``--input``, named or bare, sets its resolution and batch, with a note.
- torch: an ``nn.Module`` (pickled to the child; input shapes given with ``inputs``) or a zoo name
  with a builder in :mod:`.runtimes.torch_models`. ONNX files are not converted to torch.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MeasurementError, ShapeError, UnknownNameError
from ..model_ref import kind_of
from . import inputs as inp
from .memory import RUNTIME_ALLOWANCE, estimate_onnx


@dataclass
class Prepared:
    name: str
    sha256: str
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, str]
    job_model: dict[str, Any]
    estimate: dict[str, int]
    notes: list[str] = field(default_factory=list)
    #: files made for the child, each alone in its own folder from :func:`_temp_file` (removed with it)
    temp_files: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        for p in self.temp_files:
            shutil.rmtree(os.path.dirname(p), ignore_errors=True)


def _temp_file(prefix: str, name: str) -> str:
    """A path ``<tmp>/<prefix><pid>-<random>/<name>`` for a file the child reads (a rebound model, a pickled
    module). The folder is named after this process (:func:`fitbench.tempdirs.make_tempdir`): when a sweep is
    SIGKILLed while its child measures, the next measurement removes it -- a plain ``mkstemp`` file would stay
    in the temp folder for good."""
    from ..tempdirs import make_tempdir

    return os.path.join(make_tempdir(prefix), name)


def _module_shapes(batch: int | None, inputs: Mapping | None, input_files: Mapping | None) -> dict:
    """Input shapes of an nn.Module: from ``inputs`` (leading dim replaced by ``batch``) or .npy files."""
    shapes_req, bind_batch = _shape_request(batch, inputs, input_files)
    if not shapes_req:
        raise ShapeError("a PyTorch module needs its input shapes: inputs={'x': (1, 3, 224, 224)} or input_files")
    shapes = {}
    for k, v in shapes_req.items():
        dims = tuple(int(d) for d in (v.lower().split("x") if isinstance(v, str) else v))
        if bind_batch is not None and dims:
            dims = (int(bind_batch),) + dims[1:]
        shapes[k] = dims
    return shapes


def _declared_dims(proto) -> dict[str, list]:
    init = {t.name for t in proto.graph.initializer}
    out = {}
    for i in proto.graph.input:
        if i.name in init:
            continue
        dims = []
        for d in i.type.tensor_type.shape.dim:
            dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
        out[i.name] = dims
    return out


def _has_external(proto) -> bool:
    import onnx

    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)


def _shape_request(batch: int | None, inputs: Mapping | None, input_files: Mapping | None):
    """(explicit shapes for binding, batch for binding) with the file shapes taking precedence."""
    shapes = dict(inputs or {})
    if input_files:
        file_shapes = inp.npy_shapes(input_files)
        fb = next(iter(file_shapes.values()))[0]
        if batch is not None and batch != fb:
            raise ShapeError(f"--batch {batch} does not match the batch {fb} of the given .npy inputs")
        shapes.update(file_shapes)
        return shapes, None
    if batch is None and not shapes:
        return shapes, 1  # no shapes and no batch: batch 1, the default
    return shapes, batch


def prepare_onnx(
    model: Any,
    *,
    batch: int | None,
    inputs: Mapping | None,
    input_files: Mapping | None,
    dims: Mapping | None,
    name: str | None,
    zoo_params: Mapping,
) -> Prepared:
    import onnx

    from ..graph import onnx_io

    notes: list[str] = []
    temp: list[str] = []
    path: str | None = None
    zoo_built = False
    kind = kind_of(model)
    if kind in ("factory", "module"):
        from ..graph import torch_io

        module = torch_io.load_factory(model) if isinstance(model, str) else model
        src_name = name or (model if isinstance(model, str) else type(module).__name__)
        shapes = _module_shapes(batch, inputs, input_files)
        proto = torch_io.export_module(module, None, shapes)
        notes.append("exported from PyTorch with torch.onnx.export (opset 17) at the requested shapes")
        inputs, batch = None, None
    elif isinstance(model, onnx.ModelProto):
        proto, src_name = model, name or model.graph.name or "model"
    elif kind == "file":
        if zoo_params:
            raise MeasurementError(
                f"zoo parameters {sorted(zoo_params)} apply to zoo names, not to an ONNX file"
            )
        proto, _sha = onnx_io.read_model_file(model)
        path, src_name = str(model), name or str(model)
    else:
        # the same reading of --input/--batch/--resolution as ``fitbench profile`` (model_source.build_zoo),
        # with weights that run; the model is built at its batch, so nothing is rebound afterwards
        from ..model_source import build_zoo

        shapes_req, _ = _shape_request(batch, inputs, input_files)
        zb = build_zoo(str(model), shapes_req or None, batch, materialize_weights=True, **dict(zoo_params))
        proto, src_name, notes = zb.proto, name or zb.name, list(zb.notes)
        inputs, zoo_built = zb.inputs, True
    if zoo_built:  # built at its size and batch: bind only what build_zoo left (as profile does)
        shapes_req, bind_batch = dict(inputs or {}), None
    else:
        shapes_req, bind_batch = _shape_request(batch, inputs, input_files)
    if input_files:
        inp.check_declared(_declared_dims(proto), inp.npy_shapes(input_files))
    ir = onnx_io.load_model(
        path or proto, inputs=shapes_req or None, batch=bind_batch, dims=dims, name=src_name
    )
    declared = _declared_dims(proto)
    needs_rebind = any(
        isinstance(d, int) and d > 0 and d != b
        for n, ds in declared.items()
        if n in ir.input_shapes
        for d, b in zip(ds, ir.input_shapes[n], strict=False)
    )
    if path is None or needs_rebind:
        if needs_rebind and _has_external(proto):
            raise MeasurementError(
                "this model stores weights as external data and declares fixed input dims "
                "that differ from the requested shapes; export it with dynamic dims"
            )
        run_proto = onnx_io.bind_shapes(proto, ir.input_shapes)[0] if needs_rebind else proto
        tmp = _temp_file("fitbench-model-", "model.onnx")
        temp.append(tmp)
        onnx.save_model(run_proto, tmp)
        path = tmp
        if needs_rebind:
            notes.append(
                "input dims rebound from the declared ones: "
                + str({k: list(v) for k, v in ir.input_shapes.items()})
            )
    dtypes = {n: ir.graph.tensor(n).dtype for n in ir.input_shapes}
    return Prepared(
        name=src_name,
        sha256=ir.sha256,
        shapes=dict(ir.input_shapes),
        dtypes=dtypes,
        job_model={"model_path": path},
        estimate=estimate_onnx(ir),
        notes=notes + list(ir.notes),
        temp_files=temp,
    )


def prepare_torch(
    model: Any,
    *,
    batch: int | None,
    inputs: Mapping | None,
    input_files: Mapping | None,
    name: str | None,
    seed: int,
    zoo_params: Mapping,
) -> Prepared:
    from .runtimes import torch_models

    b = batch
    notes: list[str] = []
    if kind_of(model) == "factory":
        from ..graph import torch_io

        name = name or model
        model = torch_io.load_factory(model)
    if kind_of(model) == "zoo" and _is_llm_name(model):
        return _prepare_torch_llm(model, batch=b, inputs=inputs, input_files=input_files, name=name, seed=seed,
                                  zoo_params=zoo_params)
    if kind_of(model) == "zoo":
        if not torch_models.has_builder(model):
            raise UnknownNameError(
                f"torch runtime needs a zoo model with a torch builder ({', '.join(torch_models.BUILDERS)}) "
                f"or an nn.Module from Python; {model!r} has none (use --runtime onnxruntime)"
            )
        if input_files:
            raise MeasurementError(
                "input files with a torch zoo model are not supported; use synthetic inputs"
            )
        from ..model_source import zoo_size_from_inputs, zoo_size_note

        params = {k: v for k, v in dict(zoo_params).items() if v is not None}
        # --input reads as in profile: one NxCxHxW input (named or not) sets the resolution and batch N
        left, b, from_inputs = zoo_size_from_inputs({"resolution": None}, dict(inputs or {}) or None, b, params)
        if left:
            raise ShapeError(
                f"a torch zoo model takes one NxCxHxW --input (or --resolution), got {dict(left)}"
            )
        if from_inputs:
            notes.append(zoo_size_note(from_inputs))
        resolution = from_inputs.get("resolution", params.pop("resolution", None))
        shapes = torch_models.input_shapes(model, batch=b or 1, resolution=resolution)
        key = f"fitbench.measure.runtimes.torch_models:{model}:{shapes}:{sorted(params.items())}:seed={seed}"
        notes.append("torch zoo builder with random seeded weights; sha256 hashes the builder spec")
        return Prepared(
            name=name or model,
            sha256=hashlib.sha256(key.encode()).hexdigest(),
            shapes=shapes,
            dtypes={"input": "float32"},
            job_model={
                "torch_model": {"zoo": model, "batch": b or 1, "resolution": resolution, "params": params}
            },
            estimate={"estimate_bytes": RUNTIME_ALLOWANCE + 4 * _prod(shapes["input"])},
            notes=notes,
        )
    try:
        import torch
    except ImportError:
        raise MeasurementError(
            "runtime 'torch' is not installed here; install it with: pip install 'fitbench[torch]'"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise MeasurementError(
            "torch runtime needs a zoo model with a torch builder or an nn.Module (ONNX files run on "
            "--runtime onnxruntime; onnx2torch is not used)"
        )
    shapes = _module_shapes(b, inputs, input_files)
    if list(shapes) == [""]:  # --input DIMS without a name: named after forward's parameter (as the export does)
        shapes = {_forward_arg(model): shapes[""]}
    try:  # cloudpickle (if installed) also ships classes defined in __main__ or a notebook, by value
        import cloudpickle

        blob = cloudpickle.dumps(model)
    except ImportError:
        blob = pickle.dumps(model)
    tmp = _temp_file("fitbench-module-", "module.pkl")
    with open(tmp, "wb") as f:
        f.write(blob)
    params_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    dtypes = {k: "float32" for k in shapes}
    if input_files:
        dtypes = {k: str(__import__("numpy").load(p, mmap_mode="r").dtype) for k, p in input_files.items()}
    return Prepared(
        name=name or type(model).__name__,
        sha256=hashlib.sha256(blob).hexdigest(),
        shapes=shapes,
        dtypes=dtypes,
        job_model={"torch_model": {"pickle_path": tmp}},
        estimate={"weight_bytes": params_bytes, "estimate_bytes": 2 * params_bytes + RUNTIME_ALLOWANCE},
        notes=["sha256 hashes the pickled nn.Module"],
        temp_files=[tmp],
    )


def _is_llm_name(model: str) -> bool:
    from .. import zoo

    try:
        return zoo.get(model).family == "llm"
    except UnknownNameError:
        return False


def _prepare_torch_llm(model: str, *, batch, inputs, input_files, name, seed, zoo_params) -> Prepared:
    """A zoo LLM on torch: :mod:`.runtimes.torch_llama` (the ONNX graph's inputs, outputs and weights' shapes,
    written in torch); sha256 hashes the configuration, the batch and the seed."""
    from .. import zoo
    from .runtimes import torch_llama

    if inputs or input_files:
        raise MeasurementError("a zoo LLM on torch takes no --input or input files: its shapes come from "
                               "batch, prompt (prefill) and context (decode)")
    params = {k: v for k, v in dict(zoo_params).items() if v is not None}
    b = int(batch or 1)
    cfg = torch_llama.config_for(model, params)
    shapes = torch_llama.input_shapes(cfg, b)
    key = f"fitbench.measure.runtimes.torch_llama:{model}:{sorted(cfg.items())}:batch={b}:seed={seed}"
    kv = sum(4 * _prod(s) for k, s in shapes.items() if k.startswith("past."))
    weights = 4 * zoo.build(model, batch=1, **{**params, "phase": "decode", "context": 1}).parameters
    return Prepared(
        name=name or model,
        sha256=hashlib.sha256(key.encode()).hexdigest(),
        shapes=shapes,
        dtypes=torch_llama.input_dtypes(shapes),
        job_model={"torch_model": {"llm": cfg}},
        estimate={"weight_bytes": weights, "estimate_bytes": RUNTIME_ALLOWANCE + weights + 3 * kv},
        notes=["torch: fitbench.measure.runtimes.torch_llama, the zoo LLM written in torch with random seeded "
               "weights (fp32 as built); sha256 hashes the configuration, batch and seed"],
    )


def _forward_arg(module) -> str:
    """The name of ``module.forward``'s first parameter (``"input"`` when it cannot be read)."""
    import inspect

    try:
        params = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params[0].name if params else "input"


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n
