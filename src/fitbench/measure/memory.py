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

The limit (the child is killed when its resident memory, children included, passes it) is, in order: the
caller's ``memory_limit_bytes``; ``$FITBENCH_MEMORY_LIMIT`` (bytes, or a number with KiB/MiB/GiB/TiB);
otherwise :data:`DEFAULT_FRACTION` of the memory available when the measurement starts, capped at
:data:`DEFAULT_CAP_BYTES` -- conservative on purpose, since other processes share the machine. The rule
that gave the limit is recorded with the measurement (``memory_limit_rule`` in its conditions).
"""

from __future__ import annotations

import os
import re

import psutil

from ..errors import MeasurementError
from ..graph.liveness import live_ranges, peak_bytes

RUNTIME_ALLOWANCE = 200 * 2**20
WEIGHT_FACTOR = 5
ACTIVATION_FACTOR = 4
DEFAULT_FRACTION = 0.5  # of the memory available when a measurement starts
DEFAULT_CAP_BYTES = 16 * 2**30
LIMIT_ENV = "FITBENCH_MEMORY_LIMIT"
_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


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
    total_acts = sum(_bytes(t) for n, t in g.tensors.items() if not t.constant and n not in g.inputs)
    unshaped = sorted(n for n, t in g.tensors.items() if t.shape is None)
    return {
        "weight_bytes": weights,
        "peak_activation_bytes": peak,
        "total_activation_bytes": total_acts,
        "input_bytes": inputs,
        "estimate_bytes": WEIGHT_FACTOR * weights + ACTIVATION_FACTOR * peak + inputs + RUNTIME_ALLOWANCE,
        "unshaped_tensors": unshaped,
    }


#: static int8 calibration: times the bytes of every activation tensor at the calibration batch (see below)
CALIBRATION_ACTIVATION_FACTOR = 2.5


def estimate_conversion(estimate, *, batch: int, calibration_batch: int, static: bool) -> dict[str, int]:
    """Memory (bytes) of converting the model of ``estimate`` (:func:`estimate_onnx` at batch ``batch``);
    ``static``: an int8 conversion calibrated by running the model at batch ``calibration_batch``.

    The converters hold the parsed model, the converted copy and (int8) onnxruntime's augmented calibration
    model and its session: :data:`WEIGHT_FACTOR` x weight bytes. A static int8 calibration also runs the
    augmented model (every float tensor read by an added ReduceMin/ReduceMax, graph optimisations off):
    :data:`CALIBRATION_ACTIVATION_FACTOR` x the bytes of *all* activation tensors (``total_activation_bytes``,
    not the peak live ones), scaled from ``batch`` to ``calibration_batch`` (linear in the batch), plus one
    sample's input bytes (samples are generated one at a time). fp16 and dynamic int8 run nothing. Plus
    :data:`RUNTIME_ALLOWANCE`. Calibration on this project's dev machine (onnxruntime 1.32, ResNet-50, 102 MB
    of fp32 weights, 150 MB of activations per image): the int8 child peaked at 775 MB at batch 1 (estimate
    1.10 GB) and 1.73 GB at batch 4 (estimate 2.22 GB); the fp16 child at 594 MB (estimate 722 MB).
    """
    weights = int(estimate.get("weight_bytes", 0))
    scale = calibration_batch / max(batch, 1)
    acts = int(estimate.get("total_activation_bytes", estimate.get("peak_activation_bytes", 0)) * scale)
    acts = acts if static else 0
    inputs = int(estimate.get("input_bytes", 0) * scale) if static else 0
    total = WEIGHT_FACTOR * weights + int(CALIBRATION_ACTIVATION_FACTOR * acts) + inputs + RUNTIME_ALLOWANCE
    return {"weight_bytes": weights, "calibration_activation_bytes": acts,
            "calibration_input_bytes": inputs, "estimate_bytes": total}


#: host memory a CUDA process adds: the CUDA context and the cuDNN / cuBLAS libraries mapped into it
CUDA_HOST_ALLOWANCE = 2 * 2**30


def host_estimate_bytes(estimate, device: str) -> int:
    """The estimate the host memory guard holds a measurement on ``device`` to: all of it on the CPU; on a
    GPU the activations live in device memory, so the activation term leaves and
    :data:`CUDA_HOST_ALLOWANCE` joins (weights are still read and staged on the host)."""
    total = int(estimate["estimate_bytes"])
    if device == "cpu":
        return total
    return total - ACTIVATION_FACTOR * int(estimate.get("peak_activation_bytes", 0)) + CUDA_HOST_ALLOWANCE


def available_bytes() -> int:
    return int(psutil.virtual_memory().available)


def _parse_limit(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS or float(m.group(1)) <= 0:
        raise MeasurementError(f"${LIMIT_ENV}={text!r} is not a memory size; write e.g. 8GiB, 512MiB or bytes")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def memory_limit(limit_bytes: int | None = None) -> tuple[int, str]:
    """``(limit in bytes, the rule that gave it)``; see the module docstring for the order."""
    if limit_bytes:
        return int(limit_bytes), "given by the caller (memory_limit_bytes)"
    env = os.environ.get(LIMIT_ENV)
    if env:
        return _parse_limit(env), f"${LIMIT_ENV}={env}"
    avail = available_bytes()
    limit = min(int(avail * DEFAULT_FRACTION), DEFAULT_CAP_BYTES)
    return limit, (f"default: {DEFAULT_FRACTION:.0%} of the {avail / 2**30:.2f} GiB available at start, capped "
                   f"at {DEFAULT_CAP_BYTES / 2**30:.0f} GiB (memory_limit_bytes or ${LIMIT_ENV} to change it)")


def guard(estimate_bytes: int, what: str, limit_bytes: int | None = None) -> tuple[int, str]:
    """Refuse a measurement whose estimate exceeds the limit (:func:`memory_limit`).
    Returns ``(the limit the child's resident memory is then held to, the rule that gave it)``."""
    limit, rule = memory_limit(limit_bytes)
    if estimate_bytes > limit:
        raise MeasurementError(
            f"{what} needs about {estimate_bytes / 2**30:.2f} GiB (weights, activations, runtime) but only "
            f"{limit / 2**30:.2f} GiB is allowed here ({rule}); use a smaller batch or input size"
        )
    return limit, rule
