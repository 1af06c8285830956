"""Numeric precisions, a first-class condition of every profile, estimate and measurement.

Sizes are in **bytes per element**. ``int8`` is also used for uint8 data.

``int4`` is a **weight** format: group-wise symmetric 4-bit weights in groups of :data:`INT4_GROUP` = 128
elements along the reduction dimension, one fp16 scale (:data:`INT4_SCALE_BYTES` = 2 bytes) per group
(the GPTQ / AWQ / llama.cpp-style layout): 4 + 16/128 = 4.125 bits = 0.515625 bytes per weight, so weight
bytes = params x 0.5 + params / 128 x 2. Its weights are dequantised to the activation precision and the
MACs run at that precision's rate (W4A16 with fp16 activations; W4A8 with int8).
"""

from __future__ import annotations

from enum import Enum

from .errors import FitbenchError

INT4_GROUP = 128        # weights per group sharing one scale
INT4_SCALE_BYTES = 2    # one fp16 scale per group


class Precision(str, Enum):
    INT8 = "int8"
    FP16 = "fp16"
    BF16 = "bf16"
    FP32 = "fp32"
    INT4 = "int4"

    @property
    def bytes(self) -> float:
        """Bytes per element (int4: 0.5 + its group scale's share, 2/128)."""
        return _BYTES[self]

    @property
    def weight_only(self) -> bool:
        """A weight storage format whose MACs run at the activation precision (int4)."""
        return self is Precision.INT4

    @classmethod
    def parse(cls, value: str | Precision) -> Precision:
        if isinstance(value, Precision):
            return value
        key = str(value).strip().lower()
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(p.value for p in cls)
            raise FitbenchError(f"unknown precision {value!r}; allowed: {allowed}") from None


_BYTES = {Precision.INT8: 1, Precision.FP16: 2, Precision.BF16: 2, Precision.FP32: 4,
          Precision.INT4: 0.5 + INT4_SCALE_BYTES / INT4_GROUP}
_ALIASES = {"float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16",
            "uint8": "int8", "i8": "int8", "f32": "fp32", "f16": "fp16", "i4": "int4", "w4": "int4"}
