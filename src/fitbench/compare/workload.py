"""Name a workload in one string: ``resnet50@224:batch=32``, ``yolov3@1920x1080:batch=1,4``.

Grammar: ``MODEL[@RES][:KEY=VALUE[,VALUE...][:KEY=VALUE...]]`` where ``MODEL`` is a zoo name or an
ONNX path, ``RES`` is ``N`` (N x N) or ``WIDTHxHEIGHT`` (as cameras state it; stored as
``(height, width)``), and keys are ``batch`` (comma-separated list), ``precision``, ``seq_len`` or any
other zoo parameter (integers and floats are converted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._checks import auto_value, parse_resolution
from ..errors import FitbenchError


@dataclass
class Workload:
    """One model at the application's shapes: what is profiled, estimated and measured."""

    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    batches: list[int] = field(default_factory=lambda: [1])
    inputs: dict[str, Any] | None = None
    dims: dict[str, int] | None = None
    precision: str | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        from ..model_ref import model_ref

        # a file is named by its base name (the card keeps the full path and the sha256)
        return model_ref(self.model).display_name

    @property
    def resolution(self) -> tuple[int, int] | None:
        res = self.params.get("resolution")
        return tuple(res) if res else None

    def describe(self) -> str:
        """``yolov3 1920x1080`` — the model and its input size, as people say it."""
        res = self.resolution
        return f"{self.name} {res[1]}x{res[0]}" if res else self.name


def parse_workload(text: str | Workload, *, default_batches: list[int] | None = None) -> Workload:
    """Parse ``MODEL[@RES][:key=value...]`` into a :class:`Workload`."""
    if isinstance(text, Workload):
        return text
    if not isinstance(text, str) or not text.strip():
        raise FitbenchError(f"a workload is named like resnet50@224:batch=32, got {text!r}")
    head, *opts = text.strip().split(":")
    # ``pkg.mod:factory`` (no '=') belongs to the model name, not to the options
    while opts and "=" not in opts[0]:
        head = head + ":" + opts.pop(0)
    model, _, res = head.partition("@")
    params: dict[str, Any] = {}
    if res:
        params["resolution"] = parse_resolution(res, "resolution", square=True)  # "224" or "1920x1080"
    batches = list(default_batches or [1])
    precision = None
    for opt in opts:
        key, sep, value = opt.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key or not value:
            raise FitbenchError(f"workload option must be KEY=VALUE, got {opt!r} in {text!r}")
        if key == "batch":
            try:
                batches = [int(v) for v in value.split(",") if v.strip()]
            except ValueError:
                raise FitbenchError(f"batch expects integers like batch=1,4, got {value!r}") from None
            if not batches or min(batches) <= 0:
                raise FitbenchError(f"batch values must be positive, got {value!r}")
        elif key == "precision":
            precision = value
        else:
            params[key] = auto_value(value)
    if not model:
        raise FitbenchError(f"workload {text!r} names no model")
    return Workload(model=model, params=params, batches=batches, precision=precision)
