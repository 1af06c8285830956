"""Memory guard: estimate a measurement's memory before starting it and refuse what cannot fit.

Estimate (bytes) = 5 x weight bytes (the file read, the parsed proto, the runtime's initializers
and its pre-packed copies, with margin) + 4 x the peak bytes of activations alive at once over the
execution order (a runtime's arena rounds buffers up and grows in large steps) + input bytes + a 200 MiB allowance for
the interpreter and runtime libraries. Bytes use each tensor's native dtype. Calibration on this
project's dev machine: a trivial model's child peaks at ~150 MiB resident; ResNet-50 (102 MB of
fp32 weights, 9.6 MB peak live) at ~695 MB against an estimate of ~750 MB; YOLOv3 at
1920x1088 (248 MB weights, 535 MB peak live) at ~3.76 GB against ~3.6 GB.
A tensor whose shape is unknown (after a custom op) has no byte count: the estimate names it in
``unshaped_tensors`` (recorded with the measurement's conditions) and is then a lower bound.
"""

from __future__ import annotations

import psutil

from ..errors import MeasurementError
from ..graph.liveness import live_ranges, peak_bytes

RUNTIME_ALLOWANCE = 200 * 2**20
WEIGHT_FACTOR = 5
ACTIVATION_FACTOR = 4


def _bytes(t) -> int:
    """Native bytes of a tensor; 0 for an unknown shape (such tensors are listed as ``unshaped_tensors``)."""
    return 0 if t is None or t.shape is None else t.elements * t.native_bytes_per_element


def peak_live_bytes(graph) -> int:
    """Max over the execution order of the native bytes of non-constant tensors alive at once."""
    return peak_bytes(live_ranges(graph), lambda name: _bytes(graph.tensor(name)))


def estimate_onnx(model) -> dict[str, int | list[str]]:
    """Estimate for a loaded :class:`fitbench.graph.ir.Model` at its bound shapes."""
    g = model.graph
    weights = sum(_bytes(t) for t in g.tensors.values() if t.constant)
    inputs = sum(_bytes(g.tensor(n)) for n in g.inputs)
    peak = peak_live_bytes(g)
    unshaped = sorted(n for n, t in g.tensors.items() if t.shape is None)
    return {
        "weight_bytes": weights,
        "peak_activation_bytes": peak,
        "input_bytes": inputs,
        "estimate_bytes": WEIGHT_FACTOR * weights + ACTIVATION_FACTOR * peak + inputs + RUNTIME_ALLOWANCE,
        "unshaped_tensors": unshaped,
    }


def available_bytes() -> int:
    return int(psutil.virtual_memory().available)


def guard(estimate_bytes: int, what: str, limit_bytes: int | None = None) -> int:
    """Refuse a measurement whose estimate exceeds the limit (default: 90% of available memory).
    Returns the limit the child's resident memory is then held to."""
    limit = int(limit_bytes) if limit_bytes else int(available_bytes() * 0.9)
    if estimate_bytes > limit:
        raise MeasurementError(
            f"{what} needs about {estimate_bytes / 2**30:.2f} GiB (weights, activations, runtime) but only "
            f"{limit / 2**30:.2f} GiB is allowed here; use a smaller batch or input size"
        )
    return limit
