"""What the user named as a model, read once: one :class:`ModelRef` instead of a "is this a path?" test per module.

A model argument is one of (``ModelRef.kind``):

- ``"file"``: a path (``os.PathLike``, or text that :func:`looks_like_file`: ends with ``.onnx`` in any case,
  holds a path separator, or names something on disk);
- ``"factory"``: ``"package.module:factory"`` text that is not a file (a callable returning an ``nn.Module``);
- ``"zoo"``: any other text, a zoo name (looked up later; an unknown name fails there, with suggestions);
- ``"proto"`` (an ``onnx.ModelProto``), ``"module"`` (a torch ``nn.Module``), ``"ir"`` (a loaded
  :class:`fitbench.graph.ir.Model`), ``"other"`` (anything else, refused by whoever loads it).

:func:`looks_like_file` is also the one rule for hardware spec and sweep arguments (with their suffixes).
Base helper: imports nothing of fitbench, and torch only if the caller already imported it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("file", "factory", "zoo", "proto", "module", "ir", "other")


def looks_like_file(text: str, suffixes: tuple[str, ...] = (".onnx",), on_disk: bool = True) -> bool:
    """Text names a file: it ends with one of ``suffixes`` (any case), holds a path separator (``/`` or
    ``os.sep``), or (``on_disk``) exists. ``on_disk=False`` where names are resolved against another folder
    than the current one (a sweep file's)."""
    if text.lower().endswith(tuple(s.lower() for s in suffixes)) or "/" in text or os.sep in text:
        return True
    return on_disk and Path(text).exists()


def _is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


@dataclass(frozen=True)
class ModelRef:
    """A model argument, classified once: ``kind`` (see the module doc), ``source`` (the path as text, the
    zoo or factory name, or the object itself), and the shape arguments that go with it."""

    kind: str
    source: Any
    inputs: Mapping[str, Any] | None = None
    dims: Mapping[str, int] | None = None
    zoo_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def display_name(self) -> str:
        """A file by its base name, a zoo or factory by its text, an object by its type."""
        if self.kind == "file":
            return os.path.basename(str(self.source))
        if isinstance(self.source, str):
            return self.source
        return type(self.source).__name__


def kind_of(model: Any) -> str:
    """The :data:`KINDS` entry of a model argument (see the module doc)."""
    if isinstance(model, ModelRef):
        return model.kind
    if isinstance(model, os.PathLike):
        return "file"
    if isinstance(model, str):
        if looks_like_file(model):
            return "file"
        return "factory" if ":" in model else "zoo"
    if _is_torch_module(model):
        return "module"
    cls = type(model)
    if cls.__name__ == "ModelProto" and cls.__module__.startswith("onnx"):
        return "proto"
    if cls.__name__ == "Model" and cls.__module__ == "fitbench.graph.ir":
        return "ir"
    return "other"


def model_ref(model: Any, inputs: Mapping[str, Any] | None = None, dims: Mapping[str, int] | None = None,
              **zoo_params: Any) -> ModelRef:
    """Classify ``model`` once (a :class:`ModelRef` is returned as is)."""
    if isinstance(model, ModelRef):
        return model
    kind = kind_of(model)
    source = os.fspath(model) if kind == "file" else model
    params = {k: v for k, v in zoo_params.items() if v is not None}
    return ModelRef(kind, source, inputs, dims, params)
