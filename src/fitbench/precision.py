"""Numeric precisions, a first-class condition of every profile, estimate and measurement.

Sizes are in **bytes per element**. ``int8`` is also used for uint8 data.
"""

from __future__ import annotations

from enum import Enum

from .errors import FitbenchError


class Precision(str, Enum):
    INT8 = "int8"
    FP16 = "fp16"
    BF16 = "bf16"
    FP32 = "fp32"

    @property
    def bytes(self) -> int:
        return _BYTES[self]

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


_BYTES = {Precision.INT8: 1, Precision.FP16: 2, Precision.BF16: 2, Precision.FP32: 4}
_ALIASES = {"float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16",
            "bfloat16": "bf16", "uint8": "int8", "i8": "int8", "f32": "fp32", "f16": "fp16"}
