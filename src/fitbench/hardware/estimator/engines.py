"""Which engine runs each layer: the main MAC array (with its vector unit), an extra engine, or the fallback.

A layer's op class goes to the first extra engine (``spec.engines``, in order) that lists it in its
``runs``; otherwise to the main engine when its ``runs`` (default: every class) lists it; otherwise to the
**fallback** (the host CPU), which pays the host link both ways for the layer's tensors. The assignment
is one array over the layers, the same for every spec of an :func:`estimate_many` table (extra engines and
``runs`` come from the base spec).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..defaults import MAC_CLASSES, OP_CLASSES
from ..spec import HardwareSpec

MAIN, FALLBACK = 0, -1


@dataclass(frozen=True)
class ExtraEngine:
    """An extra engine's rates (per second) and array, at one precision."""

    name: str
    mac_rate: float      # MACs/s (0: runs no MAC work)
    ops_rate: float      # element ops/s (0: its non-MAC ops go to the main vector unit)
    rows: float
    cols: float
    units: float         # copies of the rows x cols array
    direct: bool
    efficiency: float


@dataclass(frozen=True)
class EngineMap:
    index: np.ndarray            # (L,) MAIN, FALLBACK or 1 + position in ``extra``
    extra: tuple[ExtraEngine, ...]
    fallback_name: str

    def name_of(self, i: int) -> str:
        e = int(self.index[i])
        if e == MAIN:
            return "main"
        if e == FALLBACK:
            return self.fallback_name
        return self.extra[e - 1].name


def assign(op_class: np.ndarray, spec: HardwareSpec | None, precision: str, compute_efficiency: float) -> EngineMap:
    """The engine of every layer (``op_class``: indices into OP_CLASSES)."""
    if spec is None:
        return EngineMap(np.zeros(len(op_class), dtype=np.int64), (), "host-cpu")
    extra = []
    for e in spec.engines:
        clock = e.clock_hz or spec.sustained_clock_hz or spec.clock_hz
        macs = (e.macs_per_cycle or {}).get(precision, 0)
        rc = (e.array or {}).get(precision) or (e.array or {}).get("*")
        extra.append(ExtraEngine(
            name=e.name, mac_rate=float(macs) * clock, ops_rate=float(e.ops_per_cycle or 0.0) * clock,
            rows=float(rc[0]) if rc else 0.0, cols=float(rc[1]) if rc else 0.0,
            units=float(max(macs // (rc[0] * rc[1]), 1)) if rc else 1.0, direct=e.array_mapping == "direct",
            efficiency=float(e.efficiency if e.efficiency is not None else compute_efficiency)))
    main_runs = set(spec.runs) if spec.runs is not None else set(OP_CLASSES)
    table = np.full(len(OP_CLASSES), FALLBACK, dtype=np.int64)
    for ci, cls in enumerate(OP_CLASSES):
        for j, e in enumerate(spec.engines):
            # an engine runs a MAC class only at a precision it has a MAC rate for
            if cls in e.runs and (cls not in MAC_CLASSES or extra[j].mac_rate > 0):
                table[ci] = 1 + j
                break
        else:
            if cls in main_runs:
                table[ci] = MAIN
    name = spec.fallback.name if spec.fallback else "host-cpu"
    return EngineMap(table[op_class] if len(op_class) else np.zeros(0, dtype=np.int64), tuple(extra), name)
