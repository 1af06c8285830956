"""A spec's numbers as the estimator's parameter columns, derived in one place.

Each :class:`Column` says how it is read from a :class:`~fitbench.hardware.spec.HardwareSpec` at a
precision (falling back to the documented default of the spec's ``kind``,
:data:`fitbench.hardware.defaults.KIND_DEFAULTS`) and its neutral value for :func:`estimate_many` tables
given without a base spec. ``spec_params`` gives one spec's row; ``param_arrays`` turns rows or a table
into ``(S, 1)`` float arrays that broadcast against ``(1, L)`` layer arrays. Units: bytes, bytes/s, Hz,
seconds; ``inf`` for "none" (no batch limit, a shared-memory host link).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import SpecError
from ..defaults import DEFAULT_FALLBACK_OPS, KIND_DEFAULTS, LINK_PRESETS
from ..spec import HardwareSpec

WINOGRAD_CODES = {"none": 0, "expanded-in-dram": 1, "expanded-on-chip": 2}
WINOGRAD_CHOICES = ("auto", "on", "off", "none", "expanded-in-dram", "expanded-on-chip")
SPLIT_CODES = {"spatial": 0, "batch": 1, "pipeline": 2}
RESIDENCY_CODES = {"planned": 0, "streamed": 1}


@dataclass(frozen=True)
class Column:
    name: str
    read: Callable[[HardwareSpec, str], Any]   # (spec, precision) -> value
    neutral: Any                               # value when neither the table nor a base spec gives it
    codes: dict[str, int] | None = None        # string values allowed in a table, and their codes


def _kd(spec: HardwareSpec):
    return KIND_DEFAULTS[spec.kind]


def _array(spec: HardwareSpec, prec: str) -> tuple[int, int] | None:
    rc = spec.array_at(prec)
    if rc is None and spec.sm_count is None:
        rc = _kd(spec).array
    return rc


def _link(spec: HardwareSpec):
    if spec.host_link is not None:
        return spec.host_link.bandwidth, spec.host_link.latency
    p = LINK_PRESETS[_kd(spec).host_link]
    return p.bandwidth, p.latency


def _or(value, default):
    return default if value is None else value


COLUMNS: tuple[Column, ...] = (
    Column("sram_bytes", lambda s, p: float(s.sram_bytes), None),
    Column("dram_bandwidth", lambda s, p: float(s.dram_bandwidth or 0.0), None),
    Column("weight_bandwidth", lambda s, p: float(s.weight_bandwidth or 0.0), 0.0),
    Column("dram_efficiency", lambda s, p: float(_or(s.dram_efficiency, _kd(s).dram_efficiency)), 1.0),
    # the clock compute runs at: the sustained clock where the spec gives one
    Column("clock_hz", lambda s, p: float(s.sustained_clock_hz or s.clock_hz), None),
    Column("macs_per_cycle", lambda s, p: float(s.macs_at(p)), None),
    Column("compute_efficiency", lambda s, p: float(_or(s.compute_efficiency, _kd(s).compute_efficiency)), 1.0),
    Column("array_rows", lambda s, p: float(_array(s, p)[0]) if _array(s, p) else 0.0, 0.0),
    Column("array_cols", lambda s, p: float(_array(s, p)[1]) if _array(s, p) else 0.0, 0.0),
    Column("array_mapping", lambda s, p: s.array_mapping if s.array_at(p) else _kd(s).array_mapping, "direct",
           {"im2col": 0, "direct": 1}),
    # a kind's default array maps a grouped conv's groups onto its rows (channels side by side)
    Column("array_grouped_rows", lambda s, p: 0.0 if s.array_at(p) else 1.0, 0.0),
    Column("sm_count", lambda s, p: float(s.sm_count or 0), 0.0),
    Column("tile_m", lambda s, p: float((s.tile or _kd(s).gpu_tile)[0]), 128.0),
    Column("tile_n", lambda s, p: float((s.tile or _kd(s).gpu_tile)[1]), 128.0),
    Column("vector_ops_per_cycle", lambda s, p: float(s.vector_ops_per_cycle or 0.0), 0.0),
    Column("vector_serial", lambda s, p: float(_kd(s).vector_serial), 0.0),
    Column("winograd", lambda s, p: s.winograd, "none", WINOGRAD_CODES),
    Column("winograd_tile", lambda s, p: float(s.winograd_tile), 2.0),
    Column("overlap", lambda s, p: bool(s.overlap), True),
    Column("max_batch", lambda s, p: float(s.max_batch) if s.max_batch else math.inf, math.inf),
    Column("layer_overhead", lambda s, p: float(_or(s.layer_overhead, _kd(s).layer_overhead)), 0.0),
    Column("inference_overhead", lambda s, p: float(_or(s.inference_overhead, _kd(s).inference_overhead)), 0.0),
    Column("link_bandwidth", lambda s, p: float(_or(_link(s)[0], math.inf)), math.inf),
    Column("link_latency", lambda s, p: float(_link(s)[1]), 0.0),
    Column("residency", lambda s, p: s.residency, "planned", RESIDENCY_CODES),
    Column("cores", lambda s, p: float(s.cores), 1.0),
    Column("split", lambda s, p: s.split, "spatial", SPLIT_CODES),
    Column("split_efficiency", lambda s, p: float(_or(s.split_efficiency, 1.0)), 1.0),
    Column("context_reload", lambda s, p: float(s.context_reload or 0.0), 0.0),
    Column("layout_copy", lambda s, p: float((s.layout_ops or _kd(s).layout_ops) == "copy"), 0.0),
    Column("fallback_ops", lambda s, p: float(s.fallback.ops_per_second if s.fallback else DEFAULT_FALLBACK_OPS),
           DEFAULT_FALLBACK_OPS),
)
SPEC_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS)
_BY_NAME = {c.name: c for c in COLUMNS}


def resolve_winograd(spec: HardwareSpec, mode: str) -> tuple[str, str | None]:
    """The Winograd mode to use and a note when it differs from the spec's own."""
    if mode not in WINOGRAD_CHOICES:
        raise SpecError(f"winograd must be one of {', '.join(WINOGRAD_CHOICES)}; got {mode!r}")
    if mode == "auto":
        return spec.winograd, None
    if mode in ("off", "none"):
        return "none", None if spec.winograd == "none" else f"Winograd turned off (the spec supports {spec.winograd})"
    if mode == "on":
        if spec.winograd == "none":
            return "expanded-on-chip", ("what-if: Winograd on a spec without it, weights expanded on chip "
                                        "(use --winograd expanded-in-dram for the other storage)")
        return spec.winograd, None
    return mode, None if mode == spec.winograd else f"what-if: Winograd {mode} (the spec says {spec.winograd})"


def spec_params(spec: HardwareSpec, precision: str, winograd: str = "auto") -> dict[str, Any]:
    """The parameter row of ``spec`` at ``precision`` (the columns of :func:`estimate_many`)."""
    row = {c.name: c.read(spec, precision) for c in COLUMNS}
    row["winograd"] = resolve_winograd(spec, winograd)[0]
    return row


def neutral_params() -> dict[str, Any]:
    """Values for columns a table leaves out when no base spec is given (``None``: the column is required)."""
    return {c.name: c.neutral for c in COLUMNS if c.neutral is not None}


def param_arrays(cols: dict[str, Any]) -> dict[str, np.ndarray]:
    """Columns -> (S, 1) float arrays; string columns are mapped through their codes."""
    out: dict[str, np.ndarray] = {}
    for name in SPEC_COLUMNS:
        arr = np.asarray(cols[name])
        codes = _BY_NAME[name].codes
        if codes is not None and arr.dtype.kind in "UO":
            try:
                arr = np.array([codes[str(v)] for v in arr.ravel()], dtype=float).reshape(arr.shape)
            except KeyError as exc:
                raise SpecError(f"column {name!r} values must be {', '.join(codes)}; got {exc}") from None
        out[name] = np.atleast_1d(arr).astype(float).reshape(-1, 1)
    return out
