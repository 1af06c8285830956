"""PyTorch input: export an ``nn.Module`` to ONNX (TorchScript exporter) and use the same IR.

torch is an optional extra (``pip install fitbench[torch]``); importing this module without it
raises a clear :class:`~fitbench.errors.ModelLoadError`.
"""

from __future__ import annotations

import importlib
import inspect
import io
import warnings
from collections.abc import Mapping, Sequence

import onnx

from ..errors import ModelLoadError, ShapeError


def _torch():
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise ModelLoadError("PyTorch input needs torch: pip install 'fitbench[torch]'") from None


def is_torch_module(obj) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def load_factory(spec: str):
    """Import ``"package.module:factory"`` and call the factory (or return the module instance). The current
    folder is on the import path, as ``python -m`` puts it (the ``fitbench`` script alone would not)."""
    import os
    import sys

    mod_name, _, attr = spec.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ModelLoadError(f"cannot import {mod_name!r} for {spec!r}: {exc}") from None
    try:
        obj = getattr(mod, attr)
    except AttributeError:
        raise ModelLoadError(f"{mod_name!r} has no attribute {attr!r}") from None
    module = obj() if callable(obj) and not is_torch_module(obj) else obj
    if not is_torch_module(module):
        raise ModelLoadError(f"{spec!r} did not give a torch.nn.Module (got {type(module).__name__})")
    return module


def _forward_names(module, count: int) -> list[str]:
    """The names of ``module.forward``'s first ``count`` parameters (``input_<i>`` where unknown)."""
    try:
        params = [p.name for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"input_{i}" for i in range(count)]


def export_module(
    module,
    example_inputs=None,
    input_shapes: Mapping[str, Sequence[int]] | Sequence[Sequence[int]] | None = None,
    opset: int = 17,
    batch: int | None = None,
) -> onnx.ModelProto:
    """Export ``module`` in eval mode at the example inputs (or zeros of ``input_shapes``).

    With ``batch`` the export runs at that batch (the first example row repeated): the exporter
    bakes the example's batch into Reshape constants, so a graph exported at batch 1 often cannot
    be re-bound to another batch afterwards.
    """
    from .onnx_io import parse_dims

    torch = _torch()
    names: list[str] | None = None
    if example_inputs is None:
        if not input_shapes:
            raise ShapeError("a PyTorch module needs example inputs or input shapes (--input NAME=DIMS)")
        if isinstance(input_shapes, Mapping):
            names = list(input_shapes)
            if names == [""]:  # --input DIMS without a name: named after forward's parameter, as with a tuple
                names = None
                input_shapes = list(input_shapes.values())
        if names:
            shapes = list(input_shapes.values())
            labels = [f"--input {n}" for n in names]
        else:
            shapes = list(input_shapes)
            labels = [f"input {i}" for i in range(len(shapes))]
        example_inputs = tuple(torch.zeros(*parse_dims(s, label)) for s, label in zip(shapes, labels))
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    if batch is not None:
        from .._checks import is_positive_int

        if not is_positive_int(batch):
            raise ShapeError(f"--batch must be a positive integer, got {batch!r}")
        example_inputs = tuple(
            x[:1].repeat_interleave(int(batch), dim=0) if isinstance(x, torch.Tensor) and x.ndim > 0 else x
            for x in example_inputs
        )
    names = names or _forward_names(module, len(example_inputs))
    module = module.eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, example_inputs, buf, dynamo=False, opset_version=opset,
                              input_names=names, do_constant_folding=True)
    except Exception as exc:  # noqa: BLE001 - exporter errors are user-model errors
        raise ModelLoadError(f"torch.onnx.export failed: {' '.join(str(exc).split())[:300]}") from None
    return onnx.load_model_from_string(buf.getvalue())
