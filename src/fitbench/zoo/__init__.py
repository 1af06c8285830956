"""The built-in model zoo: standard models emitted as ONNX at any input size, batch and length.

    >>> from fitbench import zoo
    >>> m = zoo.build("yolov3", resolution=(1080, 1920))     # (H, W); letterboxed to 1088
    >>> m.notes
    ['letterboxed 1920x1080 to 1920x1088 (darknet pads to a multiple of 32)']

``build(..., materialize_weights=False)`` (the default) emits initializers with dims only, for
profiling; ``materialize_weights=True`` fills them with deterministic, scaled random values so the
model runs in ONNX Runtime. See docs/zoo.md for every model, its source and its figures.
"""

from __future__ import annotations

from .registry import ZooEntry, ZooModel, build, get, list_models, register_model

__all__ = ["ZooEntry", "ZooModel", "build", "get", "list_models", "register_model"]
