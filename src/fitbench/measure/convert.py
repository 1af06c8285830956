"""Convert an fp32 ONNX model to the requested precision before it is measured (onnxruntime).

fitbench measures the user's model at the user's precision, so ``--precision fp16|int8`` on an
fp32 model converts it with the converters that ship with onnxruntime (no hand-written passes):

- **fp16**: ``onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)``:
  float initializers and activations become float16; graph inputs and outputs stay float32 (Cast
  nodes at the edges), so the same synthetic or ``.npy`` inputs feed both models. The converter
  appends the Cast nodes at the end of the node list; the graph is re-sorted topologically with
  ``onnxruntime.transformers.onnx_model.OnnxModel.topological_sort`` so ONNX tools accept it.
- **int8, static** (every graph input is float, e.g. images): ``onnxruntime.quantization.
  quantize_static`` in QDQ format with per-channel int8 weights and uint8 activations, calibrated
  (MinMax) on ``CALIBRATION_SAMPLES`` seeded synthetic inputs at the bound input shapes
  (seeds ``seed, seed+1, ...``; floats ~ N(0, 1), see :func:`.inputs.synthetic`).
- **int8, dynamic** (some graph input is an integer, e.g. token ids, where random ids give no
  representative activation ranges; onnxruntime's documentation recommends dynamic quantization
  for transformers): ``onnxruntime.quantization.quantize_dynamic``, int8 weights, activations
  quantized at run time (MatMulInteger / DynamicQuantizeLinear).

A model already at the requested precision (fp16 initializers; or quantize / QLinear / integer
ops for int8) runs as is, and the conditions say so. bf16 is refused on onnxruntime (no bf16
converter ships with it and its CPU provider lacks bf16 kernels for most ops). Conversions are
cached per (sha256 of the model file that would run, precision) in a :class:`ConversionCache`
(a temp dir that lives for one ``measure()`` call), so several batches convert once.

Calibration data is synthetic, so int8 accuracy figures from it mean nothing; the *speed* of the
quantized graph is what is measured (the kernels do not depend on the values).

Memory safety: a conversion runs in its own child (:mod:`.convert_worker`, started by
:func:`.isolate.run_isolated`) under the same memory guard as the measurement. Its memory is estimated
first (:func:`.memory.estimate_conversion`: weights, and for static int8 the calibration run's peak live
activations and one sample's inputs) and a conversion that would not fit the guard is refused with one
line before any work. Calibration is bounded: :data:`CALIBRATION_SAMPLES` samples at most, generated one
at a time, at batch 1 when the model's batch dimension is dynamic (the bound batch otherwise); the
samples, their seeds and shapes, the memory estimate and the child's peak resident memory are recorded
(``calibration`` and ``memory`` in ``conditions.conversion``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import MeasurementError

CALIBRATION_SAMPLES = 8
#: wall-clock limit of a conversion child when the measurement gives none (a large model's calibration)
CONVERT_TIMEOUT_S = 1800.0
#: op types that mark a graph as already quantized to 8-bit integers
QUANT_OPS = frozenset(
    {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
        "MatMulInteger", "ConvInteger", "QGemm", "QLinearAdd", "QLinearMul", "DynamicQuantizeMatMul",
    }
)


@dataclass
class Conversion:
    """What runs: ``path`` (converted or original) and how it came to be (JSON-safe ``to_dict``)."""

    precision: str
    path: str
    as_is: bool
    #: the precision the model runs at (differs from ``precision`` only for an fp32 request on a
    #: model exported at a lower precision, which runs as exported)
    actual: str = ""
    tool: str | None = None
    version: str | None = None
    mode: str | None = None
    converted_sha256: str | None = None
    note: str = ""
    #: static int8 only: {"samples", "seeds", "shapes", "batch", "method", "rule"}
    calibration: dict[str, Any] | None = None
    #: converted in a child: the estimate (bytes), the guard, the child's peak resident bytes
    memory: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision_requested": self.precision,
            "as_is": self.as_is,
            "tool": self.tool,
            "tool_version": self.version,
            "mode": self.mode,
            "converted_model_sha256": self.converted_sha256,
            "note": self.note,
            "calibration": self.calibration,
            "memory": self.memory,
        }


@dataclass
class ConversionCache:
    """Converted models of one run, keyed by (sha256 of the source file, precision)."""

    dir: str | None = None
    done: dict[tuple[str, str], Conversion] = field(default_factory=dict)

    def path_for(self, key: tuple[str, str]) -> str:
        if self.dir is None:
            from ..tempdirs import make_tempdir

            self.dir = make_tempdir("fitbench-convert-")
        return os.path.join(self.dir, f"{key[0][:16]}-{key[1]}.onnx")

    def cleanup(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self.done.clear()


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_precision(proto) -> str:
    """``"int8"`` if the graph has quantize / integer ops, else the float type of its initializers."""
    import onnx

    if any(n.op_type in QUANT_OPS for n in proto.graph.node):
        return "int8"
    kinds = {t.data_type for t in proto.graph.initializer}
    if onnx.TensorProto.FLOAT16 in kinds and onnx.TensorProto.FLOAT not in kinds:
        return "fp16"
    if onnx.TensorProto.BFLOAT16 in kinds and onnx.TensorProto.FLOAT not in kinds:
        return "bf16"
    return "fp32"


def convert(
    path: str,
    precision: str,
    *,
    shapes: Mapping[str, tuple[int, ...]],
    dtypes: Mapping[str, str],
    seed: int = 0,
    cache: ConversionCache | None = None,
    samples: int = CALIBRATION_SAMPLES,
    estimate: Mapping[str, Any] | None = None,
    memory_limit_bytes: int | None = None,
    timeout_s: float | None = None,
    name: str | None = None,
) -> Conversion:
    """The model at ``path`` at ``precision`` (fp32 | fp16 | int8), converted if it is fp32.

    A conversion runs in a child under the memory guard (``memory_limit_bytes``, else the rule of
    :func:`.memory.memory_limit`); ``estimate`` is :func:`.memory.estimate_onnx` of the model at ``shapes``
    (computed here when not given). One that would not fit is refused (MeasurementError) before any work."""
    import onnx

    if precision == "bf16":
        raise MeasurementError(
            "onnxruntime cannot run bf16 here (no bf16 converter ships with it and its CPU provider lacks "
            "bf16 kernels); use --runtime torch --precision bf16"
        )
    if not 1 <= int(samples) <= CALIBRATION_SAMPLES:
        raise MeasurementError(f"calibration samples must be 1..{CALIBRATION_SAMPLES}, got {samples}")
    proto = onnx.load(path, load_external_data=False)
    actual = model_precision(proto)
    if precision == "fp32":
        return Conversion(precision, path, as_is=True, actual=actual, note=f"model run as is ({actual} as exported)")
    if actual == precision:
        return Conversion(
            precision, path, as_is=True, actual=actual, note=f"model already {precision}: run as is, not converted"
        )
    if actual != "fp32":
        raise MeasurementError(
            f"cannot convert a {actual} model to {precision}; give fitbench the fp32 model to convert"
        )
    if precision not in ("fp16", "int8"):
        raise MeasurementError(f"unknown precision {precision!r}; use fp32, fp16, bf16 or int8")
    cache = cache if cache is not None else ConversionCache()
    key = (file_sha256(path), precision)
    if key in cache.done:
        return cache.done[key]
    static = precision == "int8" and all(str(dtypes.get(n, "float32")).startswith("float") for n in shapes)
    calib_shapes, calib_rule = calibration_shapes(proto, shapes) if static else (dict(shapes), "")
    bound = {k: tuple(int(d) for d in v) for k, v in shapes.items()}
    try:
        conv, mem, limit, rule = _guarded_conversion(path, precision, bound, calib_shapes, dtypes, seed, samples,
                                                     static, estimate, memory_limit_bytes, timeout_s, name, cache, key)
    except MeasurementError as exc:
        # a graph whose dynamic batch dim does not survive batch 1 (a Reshape with the batch baked in):
        # calibrate at the bound shapes instead, under the guard again
        if calib_shapes == bound or not str(exc).startswith("int8 quantization failed"):
            raise
        calib_shapes, calib_rule = bound, f"at the bound shapes: calibration at batch 1 failed ({exc})"
        conv, mem, limit, rule = _guarded_conversion(path, precision, bound, calib_shapes, dtypes, seed, samples,
                                                     static, estimate, memory_limit_bytes, timeout_s, name, cache, key)
    out = conv.path
    conv.memory = {**mem, "limit_bytes": limit, "limit_rule": rule,
                   "child_peak_rss_bytes": conv.memory.get("child_peak_rss_bytes") if conv.memory else None}
    if static:
        conv.calibration = {
            "samples": int(samples),
            "seeds": [int(seed) + i for i in range(int(samples))],
            "shapes": _listed(calib_shapes),
            "batch": _lead(calib_shapes),
            "method": "MinMax, synthetic N(0, 1) inputs generated one sample at a time",
            "rule": calib_rule,
        }
    conv.converted_sha256 = file_sha256(out)
    conv.actual = precision
    cache.done[key] = conv
    return conv


def _guarded_conversion(path, precision, shapes, calib_shapes, dtypes, seed, samples, static, estimate,
                        memory_limit_bytes, timeout_s, name, cache, key):
    """Estimate, guard (refused before any work) and convert in a child: (conversion, estimate, limit, rule)."""
    from .memory import guard

    mem = _conversion_memory(path, shapes, estimate, batch=_lead(shapes), calibration_batch=_lead(calib_shapes),
                             static=static)
    what = (f"the {precision} conversion of {name or os.path.basename(path)}"
            + (f" (calibration at shapes {_listed(calib_shapes)})" if static else ""))
    limit, rule = guard(mem["estimate_bytes"], what, memory_limit_bytes)
    out = cache.path_for(key)
    job = {"precision": precision, "src": path, "out": out, "shapes": calib_shapes, "dtypes": dict(dtypes),
           "seed": int(seed), "samples": int(samples), "static": static}
    return _convert_in_child(job, timeout_s or CONVERT_TIMEOUT_S, limit), mem, limit, rule


def _lead(shapes: Mapping[str, tuple[int, ...]]) -> int:
    for s in shapes.values():
        return int(s[0]) if s else 1
    return 1


def _listed(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, list[int]]:
    return {k: [int(d) for d in v] for k, v in shapes.items()}


def calibration_shapes(proto, shapes: Mapping[str, tuple[int, ...]]) -> tuple[dict[str, tuple[int, ...]], str]:
    """Shapes to calibrate at, and why: batch 1 when every graph input's leading dim is dynamic (a name or
    unset in the file: the same ranges, 1/B of the memory and time), else the bound shapes."""
    declared = {}
    for i in proto.graph.input:
        dims = i.type.tensor_type.shape.dim
        declared[i.name] = dims[0].HasField("dim_value") and dims[0].dim_value > 0 if len(dims) else True
    bound = {k: tuple(int(d) for d in v) for k, v in shapes.items()}
    if bound and all(v and not declared.get(k, True) for k, v in bound.items()) and _lead(bound) > 1:
        return ({k: (1, *v[1:]) for k, v in bound.items()},
                f"batch 1: the model's batch dimension is dynamic (measured at batch {_lead(bound)})")
    if _lead(bound) == 1:
        return bound, "at the bound shapes (batch 1)"
    return bound, "at the bound shapes: the model's batch dimension is fixed in the file"


def _conversion_memory(path, shapes, estimate, *, batch, calibration_batch, static) -> dict[str, int]:
    from .memory import estimate_conversion, estimate_onnx

    if estimate is None or "weight_bytes" not in estimate:
        from ..graph import onnx_io

        estimate = estimate_onnx(onnx_io.load_model(path, inputs={k: tuple(v) for k, v in shapes.items()}))
    return estimate_conversion(estimate, batch=batch, calibration_batch=calibration_batch, static=static)


def _convert_in_child(job: dict[str, Any], timeout_s: float, limit: int) -> Conversion:
    from .isolate import run_isolated

    outcome = run_isolated(job, timeout_s=timeout_s, memory_limit_bytes=limit,
                           module="fitbench.measure.convert_worker")
    if not outcome.ok:
        cause = " ".join(str(outcome.cause).split())
        if cause.startswith(("fp16 conversion failed", "int8 quantization failed")):
            raise MeasurementError(cause)
        raise MeasurementError(f"{job['precision']} conversion failed in its child: {cause}")
    fields = dict(outcome.data["conversion"])
    conv = Conversion(**fields)
    conv.memory = {"child_peak_rss_bytes": outcome.peak_rss_bytes}
    return conv


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def _to_fp16(src: str, out: str) -> Conversion:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    try:
        m16 = convert_float_to_float16(onnx.load(src), keep_io_types=True)
        om = OnnxModel(m16)
        om.topological_sort()
        onnx.save_model(om.model, out)
    except Exception as exc:  # noqa: BLE001 - the converter raises assorted types
        raise MeasurementError(f"fp16 conversion failed: {' '.join(str(exc).split())}") from None
    return Conversion(
        "fp16", out, as_is=False,
        tool="onnxruntime.transformers.float16.convert_float_to_float16", version=_ort_version(),
        mode="keep_io_types=True (float32 inputs/outputs, Cast at the edges), topologically re-sorted",
    )


def _to_int8(src, out, shapes, dtypes, seed, samples) -> Conversion:
    """Quantize in this process (the conversion child): static with ``samples`` seeded synthetic inputs at
    ``shapes``, generated one at a time, when every input is float; dynamic otherwise."""
    from onnxruntime import quantization as q

    from .inputs import synthetic

    all_float = all(str(dtypes.get(n, "float32")).startswith("float") for n in shapes)
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "please consider pre-processing" warnings on the root logger
    try:
        if all_float:

            class _Reader(q.CalibrationDataReader):
                def __init__(self) -> None:
                    self._i = 0

                def get_next(self):
                    if self._i >= samples:
                        return None
                    self._i += 1
                    return synthetic(shapes, dtypes, seed + self._i - 1)

            q.quantize_static(
                src, out, _Reader(), quant_format=q.QuantFormat.QDQ, per_channel=True,
                activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                calibrate_method=q.CalibrationMethod.MinMax,
            )
            tool, mode = (
                "onnxruntime.quantization.quantize_static",
                f"QDQ per-channel, int8 weights / uint8 activations, MinMax calibration on {samples} "
                f"synthetic samples seeded {seed}..{seed + samples - 1} at shapes "
                + str({k: list(v) for k, v in shapes.items()}),
            )
        else:
            q.quantize_dynamic(src, out, weight_type=q.QuantType.QInt8)
            tool, mode = (
                "onnxruntime.quantization.quantize_dynamic",
                "QOperator, int8 weights, activations quantized at run time (integer inputs: synthetic "
                "calibration would not be representative)",
            )
    except Exception as exc:  # noqa: BLE001
        raise MeasurementError(f"int8 quantization failed: {' '.join(str(exc).split())}") from None
    finally:
        quiet.setLevel(level)
    return Conversion("int8", out, as_is=False, tool=tool, version=_ort_version(), mode=mode)
