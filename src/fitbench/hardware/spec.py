"""Hardware specs: what an inference chip offers, read from YAML (validated, units written out).

A spec states where its numbers come from (``source``, required) and marks guesses (``guess: true``
for the whole spec, or ``guessed: [field, ...]`` for single fields). YAML keys and their units::

    name: edge-npu-slow-dram
    source: "generic archetype (illustrative numbers)"
    clock: 1 GHz                      # -> clock_hz
    macs_per_cycle: {int8: 2048, fp16: 1024}   # or  peak_tops: {int8: 4.1 TOPS}  (TOPS = 2 x MACs/cycle x clock)
    array: 32x64                      # optional MAC array rows x cols (rows = output channels, cols = reduction
                                      #   depth); or per precision {int8: 32x64, fp16: 16x64}
    array_mapping: direct             # direct: columns hold input channels, kernel taps take cycles (NVDLA-like);
                                      #   im2col: columns hold the whole Cin x kh x kw reduction (GEMM engines)
    vector_ops_per_cycle: 16          # optional rate of non-MAC element ops (BN, activations, pooling, adds)
    sram: 2 MiB                       # on-chip buffer for weights + activations -> sram_bytes
    dram_bandwidth: 8.5 GB/s          # bytes/s; "none" or 0 for a chip without DRAM
    dram_capacity: 16 GB              # optional DRAM size: weights + KV cache must fit (LLM batch limits)
    weight_bandwidth: 4 GB/s          # optional separate weight-load path (runs beside the activation traffic)
    dram_efficiency: 1.0              # fraction of the DRAM peak the chip sustains (a spec figure, default 1)
    winograd: none | expanded-in-dram | expanded-on-chip
    winograd_tile: 2                  # F(2x2,3x3) (2) or F(4x4,3x3) (4)
    overlap: true                     # compute and transfers overlap (layer time = max) or not (sum)
    max_batch: 64                     # optional
    layer_overhead: 5 us              # optional fixed time per executed layer (launch/dispatch/configuration)
    energy: {per_mac: 0.2 pJ, per_sram_byte: 1 pJ, per_dram_byte: 20 pJ, static: 1 W}   # optional

Estimator v2 fields (all optional; where a field is absent the estimator uses the documented default of
the spec's ``kind`` — :data:`fitbench.hardware.defaults.KIND_DEFAULTS` — and says so in its notes)::

    kind: gpu | npu | dataflow | cpu | generic   # architecture class; generic (default): an ideal analytical
                                      #   chip with no overheads and utilisation 1 where no array is given
    provenance: archetype | public | custom | calibrated   # where the numbers come from (old files: kind: public)
    sustained_clock: 1.2 GHz          # clock under full load (compute uses it; peak TOPS uses `clock`)
    compute_efficiency: 0.85          # fraction of the mapped peak the main engine achieves
    inference_overhead: 50 us         # fixed time per call (runtime, driver, synchronisation)
    host_link: pcie4x16               # or usb3, on-soc, {bandwidth: 16 GB/s, latency: 5 us}: carries the
                                      #   graph's inputs and outputs (and fallback layers' tensors)
    cores: 16                         # identical cores; `sram` is the total over all cores
    split: spatial | batch | pipeline # how one inference uses the cores
    split_efficiency: 0.9             # spatial: fraction of the cores' rate one image keeps (halo, sync)
    context_reload: 100 us            # pipeline: fixed cost of loading the next context
    sm_count: 108                     # GPU: SMs; with `tile` utilisation counts tiles in waves over SMs
    tile: 128x128                     # GPU: the output tile (M x N) one SM computes at a time
    layout_ops: copy | view           # Transpose & co.: copied by the vector unit, or a free view
    residency: planned | streamed     # planned (default): weights resident / partly / streamed, fastest wins;
                                      #   streamed: weights always stream (a cache that does not pin them)
    runs: [conv, depthwise, matmul, attention, recurrent]   # op classes the main engine runs
    engines: [{name: dsp, runs: [depthwise], macs_per_cycle: {int8: 256}, array: 16x16}]  # more engines
    fallback: {name: host-cpu, ops_per_second: 100 GOPS}    # where op classes no engine runs go
    tdp: 70 W                         # thermal design power
    price: 2299 USD                   # public list price

Every problem is one :class:`~fitbench.errors.SpecError` line that names the field and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..errors import SpecError, UnknownNameError
from ..model_ref import looks_like_file
from ..precision import Precision
from .defaults import KINDS, LINK_PRESETS, MAC_CLASSES, OP_CLASSES
from .units import format_bytes, format_si, parse_quantity

CATALOG_DIR = Path(__file__).parent / "catalog"
WINOGRAD_MODES = ("none", "expanded-in-dram", "expanded-on-chip")
PRECISIONS = tuple(p.value for p in Precision if not p.weight_only)  # int4 weights run MACs at another precision
PROVENANCES = ("archetype", "public", "custom", "calibrated")
SPLITS = ("spatial", "batch", "pipeline")


class Energy(BaseModel):
    """Energy figures: picojoules per MAC / per SRAM byte / per DRAM byte, static watts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pj_per_mac: float = 0.0
    pj_per_sram_byte: float = 0.0
    pj_per_dram_byte: float = 0.0
    static_w: float = 0.0


class HostLink(BaseModel):
    """The path that carries the graph's inputs and outputs: bandwidth in bytes/s (None: shared memory, no
    copy) and latency in seconds per transfer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "custom"
    bandwidth: float | None = None
    latency: float = 0.0


class Engine(BaseModel):
    """An extra compute engine: the op classes it runs, its MAC rate per precision (MAC classes) or its
    element-op rate (``ops_per_cycle``, non-MAC classes), its array and mapping, its achieved efficiency,
    and its clock (default: the chip's sustained clock)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    runs: tuple[str, ...]
    macs_per_cycle: dict[str, int] | None = None
    ops_per_cycle: float | None = None
    array: dict[str, tuple[int, int]] | None = None
    array_mapping: Literal["direct", "im2col"] = "direct"
    efficiency: float | None = None
    clock_hz: float | None = None


class Fallback(BaseModel):
    """Where op classes that no engine runs go (the host CPU): element ops or MACs per second."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "host-cpu"
    ops_per_second: float


class HardwareSpec(BaseModel):
    """A validated hardware spec; sizes in bytes, bandwidths in bytes/s, clock in Hz (see module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    source: str
    description: str = ""
    provenance: Literal["archetype", "public", "custom", "calibrated"] = "custom"
    kind: Literal["generic", "gpu", "npu", "dataflow", "cpu"] = "generic"
    guess: bool = False
    guessed: tuple[str, ...] = ()
    clock_hz: float
    macs_per_cycle: dict[str, int]
    array: dict[str, tuple[int, int]] | None = None
    array_mapping: Literal["direct", "im2col"] = "direct"
    vector_ops_per_cycle: float | None = None
    sram_bytes: int
    dram_bandwidth: float | None = None
    dram_capacity: int | None = None  # bytes of DRAM; None: not given
    weight_bandwidth: float | None = None
    dram_efficiency: float | None = None
    winograd: Literal["none", "expanded-in-dram", "expanded-on-chip"] = "none"
    winograd_tile: Literal[2, 4] = 2
    overlap: bool = True
    max_batch: int | None = None
    layer_overhead: float | None = None  # seconds per executed layer and sub-batch; None: not given (0, noted)
    energy: Energy | None = None
    sustained_clock_hz: float | None = None
    compute_efficiency: float | None = None
    inference_overhead: float | None = None
    host_link: HostLink | None = None
    cores: int = 1
    split: Literal["spatial", "batch", "pipeline"] = "spatial"
    split_efficiency: float | None = None
    context_reload: float | None = None
    sm_count: int | None = None
    tile: tuple[int, int] | None = None
    layout_ops: Literal["copy", "view"] | None = None
    residency: Literal["planned", "streamed"] = "planned"
    runs: tuple[str, ...] | None = None
    engines: tuple[Engine, ...] = ()
    fallback: Fallback | None = None
    tdp_w: float | None = None
    price_usd: float | None = None
    calibration: dict[str, Any] | None = None
    path: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise SpecError(f"a hardware spec must be a mapping of fields, got {type(data).__name__}")
        return _normalise(dict(data))

    # ------------------------------------------------------------ derived figures
    def peak_tops(self, precision: str | Precision) -> float:
        """Peak TOPS at ``precision``: 2 x MACs/cycle x clock / 1e12 (a MAC is 2 ops)."""
        return 2.0 * self.mac_rate(precision) / 1e12

    def mac_rate(self, precision: str | Precision) -> float:
        """Peak MACs per second at ``precision``."""
        return self.macs_at(precision) * self.clock_hz

    def macs_at(self, precision: str | Precision) -> int:
        p = Precision.parse(precision).value
        if p not in self.macs_per_cycle:
            raise SpecError(f"hardware {self.name!r} has no MAC rate for {p}; it supports: "
                            f"{', '.join(sorted(self.macs_per_cycle))}")
        return self.macs_per_cycle[p]

    def array_at(self, precision: str | Precision) -> tuple[int, int] | None:
        """(rows, cols) of the MAC array at ``precision``, or None when the spec gives no array shape."""
        if not self.array:
            return None
        p = Precision.parse(precision).value
        return self.array.get(p) or self.array.get("*")

    @property
    def has_dram(self) -> bool:
        return bool(self.dram_bandwidth)

    def spec_hash(self) -> str:
        """sha256 of the spec's canonical JSON (its path excluded): identifies the numbers used."""
        # fields left at their defaults are not hashed: adding an optional field keeps earlier hashes
        d = self.model_dump(mode="json", exclude={"path"}, exclude_defaults=True)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def summary(self) -> str:
        """One line: name, peak, SRAM, DRAM, Winograd, source."""
        peaks = ", ".join(f"{self.peak_tops(p):.3g} TOPS {p}" for p in sorted(self.macs_per_cycle))
        dram = format_si(self.dram_bandwidth, "B/s") if self.dram_bandwidth else "no DRAM"
        guess = " [guess]" if self.guess else (" [some guesses]" if self.guessed else "")
        return (f"{self.name}: {peaks}; SRAM {format_bytes(self.sram_bytes)}; {dram}; winograd {self.winograd}"
                f"{guess} — {self.source}")


# ------------------------------------------------------------------ normalisation of raw YAML

_ALIASES = {"sram": "sram_bytes", "clock": "clock_hz", "frequency": "clock_hz",
            "sustained_clock": "sustained_clock_hz", "tdp": "tdp_w", "price": "price_usd"}
_ALLOWED = sorted(set(HardwareSpec.model_fields) | set(_ALIASES) | {"peak_tops"})


def _normalise(d: dict[str, Any]) -> dict[str, Any]:
    name = d.get("name")
    where = f"hardware spec {name!r}: " if name else "hardware spec: "
    try:
        return _normalise_fields(d)
    except SpecError as exc:
        raise SpecError(where + str(exc)) from None


def _normalise_fields(d: dict[str, Any]) -> dict[str, Any]:
    for key in ("clock", "sustained_clock"):
        # a clock written by hand needs its unit; only the base-unit field (clock_hz, as hw show writes it)
        # takes a bare number of Hz
        v = d.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise SpecError(f"field {key!r}: write the unit, e.g. {key}: {v:g} MHz (a bare number would be read "
                            f"as {v:g} Hz; {key}_hz takes Hz)")
    for key in list(d):
        if key in _ALIASES:
            target = _ALIASES[key]
            if target in d:
                raise SpecError(f"give either {key!r} or {target!r}, not both")
            d[target] = d.pop(key)
    unknown = [k for k in d if k not in _ALLOWED]
    if unknown:
        raise SpecError(f"unknown field {unknown[0]!r}; allowed fields: {', '.join(_ALLOWED)}")
    for req in ("name", "source"):
        if not isinstance(d.get(req), str) or not d[req].strip():
            raise SpecError(f"field {req!r} is required (a non-empty string)")
    if "clock_hz" not in d:
        raise SpecError("field 'clock' is required, e.g. clock: 1 GHz")
    d["clock_hz"] = parse_quantity(d["clock_hz"], "frequency", "clock")
    if d["clock_hz"] <= 0:
        raise SpecError("field 'clock' must be positive")
    _kind_and_provenance(d)
    d["macs_per_cycle"] = _macs(d)
    if d.get("array") is not None:
        d["array"] = _array(d["array"], d["macs_per_cycle"])
    if "sram_bytes" not in d:
        raise SpecError("field 'sram' is required, e.g. sram: 8 MiB (0 for none)")
    d["sram_bytes"] = int(parse_quantity(d["sram_bytes"], "size", "sram"))
    for key in ("dram_bandwidth", "weight_bandwidth"):
        v = d.get(key)
        if v is None or (isinstance(v, str) and v.strip().lower() in ("none", "no", "")):
            d[key] = None
        else:
            bw = parse_quantity(v, "bandwidth", key)
            d[key] = bw if bw > 0 else None
    if d.get("dram_capacity") is not None:
        d["dram_capacity"] = int(parse_quantity(d["dram_capacity"], "size", "dram_capacity"))
        if d["dram_capacity"] <= 0:
            raise SpecError("field 'dram_capacity' must be a positive size, e.g. dram_capacity: 16 GB")
    if d.get("weight_bandwidth") and not d.get("dram_bandwidth"):
        raise SpecError("field 'weight_bandwidth' needs a 'dram_bandwidth' (weights come from DRAM)")
    for key in ("dram_efficiency", "compute_efficiency", "split_efficiency"):
        if d.get(key) is not None:
            d[key] = _fraction(d[key], key)
    if "winograd" in d:
        w = d["winograd"]
        if w is False or w is None:
            w = "none"
        if w not in WINOGRAD_MODES:
            raise SpecError(f"field 'winograd' must be one of {', '.join(WINOGRAD_MODES)}; got {w!r}")
        d["winograd"] = w
    if "winograd_tile" in d and d["winograd_tile"] not in (2, 4):
        raise SpecError(f"field 'winograd_tile' must be 2 (F(2x2,3x3)) or 4 (F(4x4,3x3)); got {d['winograd_tile']!r}")
    if "array_mapping" in d and d["array_mapping"] not in ("direct", "im2col"):
        raise SpecError(f"field 'array_mapping' must be direct (array columns hold input channels, kernel taps "
                        f"take cycles) or im2col (columns hold Cin x kh x kw); got {d['array_mapping']!r}")
    if "overlap" in d and not isinstance(d["overlap"], bool):
        raise SpecError(f"field 'overlap' must be true or false; got {d['overlap']!r}")
    mb = d.get("max_batch")
    if mb is not None and (isinstance(mb, bool) or not isinstance(mb, int) or mb <= 0):
        raise SpecError(f"field 'max_batch' must be a positive integer; got {mb!r}")
    if d.get("layer_overhead") is not None:
        d["layer_overhead"] = parse_quantity(d["layer_overhead"], "time", "layer_overhead")
    v = d.get("vector_ops_per_cycle")
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0):
        raise SpecError(f"field 'vector_ops_per_cycle' must be a positive finite number; got {v!r}")
    if d.get("energy") is not None:
        d["energy"] = _energy(d["energy"])
    _v2_fields(d)
    if "guessed" in d:
        g = d["guessed"]
        if not isinstance(g, (list, tuple)) or not all(isinstance(x, str) for x in g):
            raise SpecError("field 'guessed' must be a list of field names")
        d["guessed"] = tuple(g)
    return d


def _fraction(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        raise SpecError(f"field {field!r} must be a number in (0, 1], got {v!r}")
    return float(v)


def _positive_int(v: Any, field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise SpecError(f"field {field!r} must be a positive integer; got {v!r}")
    return v


def _kind_and_provenance(d: dict[str, Any]) -> None:
    """``kind`` is the architecture class; the old provenance values in ``kind`` move to ``provenance``."""
    kind = d.get("kind")
    if kind in PROVENANCES and kind != "calibrated":
        if "provenance" in d:
            raise SpecError(f"field 'kind' must be one of {', '.join(KINDS)} (provenance goes in 'provenance'); "
                            f"got {kind!r}")
        d["provenance"] = d.pop("kind")
    elif kind is not None and kind not in KINDS:
        raise SpecError(f"field 'kind' must be one of {', '.join(KINDS)}; got {kind!r}")
    if "provenance" in d and d["provenance"] not in PROVENANCES:
        raise SpecError(f"field 'provenance' must be one of {', '.join(PROVENANCES)}; got {d['provenance']!r}")


def _v2_fields(d: dict[str, Any]) -> None:
    """Validate and convert the estimator v2 fields (see the module doc)."""
    if d.get("sustained_clock_hz") is not None:
        d["sustained_clock_hz"] = parse_quantity(d["sustained_clock_hz"], "frequency", "sustained_clock")
        if not 0 < d["sustained_clock_hz"] <= d["clock_hz"]:
            raise SpecError("field 'sustained_clock' must be positive and at most 'clock'")
    for key in ("inference_overhead", "context_reload"):
        if d.get(key) is not None:
            d[key] = parse_quantity(d[key], "time", key)
    if d.get("tdp_w") is not None:
        d["tdp_w"] = parse_quantity(d["tdp_w"], "power", "tdp")
        if d["tdp_w"] <= 0:
            raise SpecError("field 'tdp' must be positive, e.g. tdp: 70 W")
    if d.get("price_usd") is not None:
        d["price_usd"] = _price(d["price_usd"])
    if d.get("host_link") is not None:
        d["host_link"] = _host_link(d["host_link"])
    for key in ("cores", "sm_count"):
        if d.get(key) is not None:
            d[key] = _positive_int(d[key], key)
    if "split" in d and d["split"] not in SPLITS:
        raise SpecError(f"field 'split' must be one of {', '.join(SPLITS)}; got {d['split']!r}")
    if d.get("tile") is not None:
        d["tile"] = _parse_rc(d["tile"], "tile")
    if d.get("layout_ops") is not None and d["layout_ops"] not in ("copy", "view"):
        raise SpecError(f"field 'layout_ops' must be copy or view; got {d['layout_ops']!r}")
    if "residency" in d and d["residency"] not in ("planned", "streamed"):
        raise SpecError(f"field 'residency' must be planned (the estimator keeps the weights that save the most "
                        f"DRAM time on chip) or streamed (weights always stream, e.g. a cache that does not pin "
                        f"them); got {d['residency']!r}")
    if d.get("runs") is not None:
        d["runs"] = _op_classes(d["runs"], "runs")
    if d.get("engines"):
        if not isinstance(d["engines"], (list, tuple)):
            raise SpecError("field 'engines' must be a list of engines (name, runs, macs_per_cycle | ops_per_cycle)")
        d["engines"] = tuple(_engine(e, i, d["clock_hz"]) for i, e in enumerate(d["engines"]))
    if d.get("fallback") is not None:
        d["fallback"] = _fallback(d["fallback"])


def _price(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        out = float(v)
    else:
        text = str(v).replace(",", "").replace("$", "").strip()
        if text.upper().endswith("USD"):
            text = text[:-3].strip()
        try:
            out = float(text)
        except ValueError:
            raise SpecError(f"field 'price' must be a list price in US dollars, e.g. price: 2299 USD; got {v!r}") \
                from None
    if not math.isfinite(out) or out <= 0:
        raise SpecError(f"field 'price' must be a positive number of US dollars; got {v!r}")
    return out


def _host_link(v: Any) -> dict[str, Any]:
    if isinstance(v, str):
        preset = LINK_PRESETS.get(v.strip().lower())
        if preset is None:
            raise SpecError(f"field 'host_link' must be one of {', '.join(LINK_PRESETS)} or "
                            f"{{bandwidth: 16 GB/s, latency: 5 us}}; got {v!r}")
        return {"name": v.strip().lower(), "bandwidth": preset.bandwidth, "latency": preset.latency}
    if not isinstance(v, dict):
        raise SpecError("field 'host_link' must be a preset name or {bandwidth: 16 GB/s, latency: 5 us}")
    unknown = [k for k in v if k not in ("name", "bandwidth", "latency")]
    if unknown:
        raise SpecError(f"field 'host_link': unknown key {unknown[0]!r}; allowed: name, bandwidth, latency")
    bw = v.get("bandwidth")
    if bw is not None and not (isinstance(bw, str) and bw.strip().lower() in ("none", "shared")):
        bw = parse_quantity(bw, "bandwidth", "host_link.bandwidth")
        if bw <= 0:
            raise SpecError("field 'host_link.bandwidth' must be positive (or none for shared memory)")
    else:
        bw = None
    lat = parse_quantity(v.get("latency", 0.0), "time", "host_link.latency")
    return {"name": str(v.get("name", "custom")), "bandwidth": bw, "latency": lat}


def _op_classes(v: Any, field: str) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [x.strip() for x in v.split(",")]
    if not isinstance(v, (list, tuple)) or not v or not all(isinstance(x, str) for x in v):
        raise SpecError(f"field {field!r} must be a list of op classes ({', '.join(OP_CLASSES)})")
    bad = [x for x in v if x not in OP_CLASSES]
    if bad:
        raise SpecError(f"field {field!r}: unknown op class {bad[0]!r}; allowed: {', '.join(OP_CLASSES)}")
    return tuple(v)


def _engine(e: Any, i: int, clock_hz: float) -> dict[str, Any]:
    where = f"engines[{i}]"
    if not isinstance(e, dict):
        raise SpecError(f"field {where!r} must be a mapping: name, runs, macs_per_cycle | peak_tops | ops_per_cycle")
    e = dict(e)
    allowed = ("name", "runs", "macs_per_cycle", "peak_tops", "ops_per_cycle", "array", "array_mapping",
               "efficiency", "clock", "clock_hz")
    unknown = [k for k in e if k not in allowed]
    if unknown:
        raise SpecError(f"field {where!r}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    if not isinstance(e.get("name"), str) or not e["name"].strip():
        raise SpecError(f"field '{where}.name' is required (a non-empty string)")
    if "runs" not in e:
        raise SpecError(f"field '{where}.runs' is required: the op classes the engine runs")
    e["runs"] = _op_classes(e["runs"], f"{where}.runs")
    if "clock" in e:
        e["clock_hz"] = e.pop("clock")
    if e.get("clock_hz") is not None:
        e["clock_hz"] = parse_quantity(e["clock_hz"], "frequency", f"{where}.clock")
    clock = e.get("clock_hz") or clock_hz
    if "macs_per_cycle" in e or "peak_tops" in e:
        rates = {"macs_per_cycle": e.get("macs_per_cycle"), "peak_tops": e.pop("peak_tops", None), "clock_hz": clock}
        try:
            e["macs_per_cycle"] = _macs(rates)
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None
    v = e.get("ops_per_cycle")
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0):
        raise SpecError(f"field '{where}.ops_per_cycle' must be a positive number; got {v!r}")
    mac_classes = [c for c in e["runs"] if c in MAC_CLASSES]
    if mac_classes and not e.get("macs_per_cycle"):
        raise SpecError(f"field {where!r} runs {mac_classes[0]} but gives no macs_per_cycle or peak_tops")
    if len(mac_classes) < len(e["runs"]) and not v and not e.get("macs_per_cycle"):
        raise SpecError(f"field {where!r} runs non-MAC op classes but gives no ops_per_cycle")
    if e.get("array") is not None:
        e["array"] = _array(e["array"], e.get("macs_per_cycle") or {})
    if e.get("array_mapping", "direct") not in ("direct", "im2col"):
        raise SpecError(f"field '{where}.array_mapping' must be direct or im2col; got {e['array_mapping']!r}")
    if e.get("efficiency") is not None:
        e["efficiency"] = _fraction(e["efficiency"], f"{where}.efficiency")
    return e


def _fallback(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict) or "ops_per_second" not in v:
        raise SpecError("field 'fallback' must be a mapping {name: host-cpu, ops_per_second: 100 GOPS}")
    unknown = [k for k in v if k not in ("name", "ops_per_second")]
    if unknown:
        raise SpecError(f"field 'fallback': unknown key {unknown[0]!r}; allowed: name, ops_per_second")
    ops = parse_quantity(v["ops_per_second"], "tops", "fallback.ops_per_second") * 1e12
    if ops <= 0:
        raise SpecError("field 'fallback.ops_per_second' must be positive, e.g. 100 GOPS")
    return {"name": str(v.get("name", "host-cpu")), "ops_per_second": ops}


def _macs(d: dict[str, Any]) -> dict[str, int]:
    macs, tops = d.get("macs_per_cycle"), d.pop("peak_tops", None)
    if macs is not None and tops is not None:
        raise SpecError("give either 'macs_per_cycle' or 'peak_tops', not both")
    raw = macs if macs is not None else tops
    field = "macs_per_cycle" if macs is not None else "peak_tops"
    if raw is None:
        raise SpecError("field 'macs_per_cycle' (or 'peak_tops') is required, e.g. macs_per_cycle: {int8: 2048}")
    if not isinstance(raw, dict) or not raw:
        raise SpecError(f"field {field!r} must map precisions ({', '.join(PRECISIONS)}) to numbers")
    out: dict[str, int] = {}
    for key, value in raw.items():
        p = str(key).lower()
        if p not in PRECISIONS:
            raise SpecError(f"field {field!r}: unknown precision {key!r}; allowed: {', '.join(PRECISIONS)}")
        if macs is not None:
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or value <= 0 or value != int(value)):
                raise SpecError(f"field 'macs_per_cycle.{p}' must be a positive integer; got {value!r}")
            out[p] = int(value)
        else:
            t = parse_quantity(value, "tops", f"peak_tops.{p}")
            if t <= 0:
                raise SpecError(f"field 'peak_tops.{p}' must be positive")
            out[p] = max(1, round(t * 1e12 / (2.0 * d["clock_hz"])))
    return out


def _parse_rc(value: Any, field: str) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        r, c = value
    else:
        parts = str(value).lower().replace(" ", "").split("x")
        if len(parts) != 2:
            raise SpecError(f"field {field!r} must be ROWSxCOLS like 32x64; got {value!r}")
        r, c = parts
    try:
        r, c = int(r), int(c)
    except (TypeError, ValueError):
        raise SpecError(f"field {field!r} must be ROWSxCOLS like 32x64; got {value!r}") from None
    if r <= 0 or c <= 0:
        raise SpecError(f"field {field!r}: rows and cols must be positive; got {value!r}")
    return r, c


def _array(value: Any, macs: dict[str, int]) -> dict[str, tuple[int, int]]:
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            p = str(key).lower()
            if p not in PRECISIONS and p != "*":
                raise SpecError(f"field 'array': unknown precision {key!r}; allowed: {', '.join(PRECISIONS)}")
            out[p] = _parse_rc(v, f"array.{p}")
    else:
        out = {"*": _parse_rc(value, "array")}
    for p, m in macs.items():
        rc = out.get(p) or out.get("*")
        if rc is None:
            raise SpecError(f"field 'array' gives no shape for {p}; give one per precision or a single RxC")
        if m % (rc[0] * rc[1]):
            raise SpecError(f"field 'array': macs_per_cycle.{p} = {m} is not a whole number of {rc[0]}x{rc[1]} "
                            f"arrays")
    return out


def _energy(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise SpecError("field 'energy' must be a mapping: per_mac, per_sram_byte, per_dram_byte, static")
    keys = {"per_mac": ("pj_per_mac", "energy"), "per_sram_byte": ("pj_per_sram_byte", "energy"),
            "per_dram_byte": ("pj_per_dram_byte", "energy"), "static": ("static_w", "power")}
    out: dict[str, float] = {}
    for k, v in value.items():
        if k in keys:
            target, kind = keys[k]
            out[target] = parse_quantity(v, kind, f"energy.{k}")
        elif k in Energy.model_fields:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise SpecError(f"field 'energy.{k}' must be a finite non-negative number; got {v!r}")
            out[k] = float(v)
        else:
            raise SpecError(f"field 'energy': unknown key {k!r}; allowed: {', '.join(keys)}")
    return out


# ------------------------------------------------------------------ loading

def _validate(data: dict[str, Any], where: str) -> HardwareSpec:
    try:
        return HardwareSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ())) or "spec"
        raise SpecError(f"{where}field {loc!r}: {err.get('msg', 'invalid')}; got {err.get('input')!r}") from None


def spec_from_yaml(path: str | Path, label: str | None = None) -> HardwareSpec:
    """Read and validate one YAML spec; ``label`` replaces the path recorded in the spec."""
    from ..yaml_file import read_yaml

    p = Path(path)
    data = read_yaml(p, "hardware spec")
    if not isinstance(data, dict):
        raise SpecError(f"hardware spec {p}: expected a mapping of fields at the top level")
    data.setdefault("path", label or str(p))
    try:
        return _validate(data, f"hardware spec {p}: ")
    except SpecError as exc:
        msg = str(exc)
        raise SpecError(msg if str(p) in msg else f"{p}: {msg}") from None


@lru_cache(maxsize=1)
def _catalog() -> tuple[HardwareSpec, ...]:
    specs = [spec_from_yaml(f, label=f"catalog:{f.stem}") for f in sorted(CATALOG_DIR.glob("*.yaml"))]
    for s in specs:
        if s.path != f"catalog:{s.name}":
            raise SpecError(f"catalog file {s.path[8:]}.yaml holds spec {s.name!r}; the file must be named after it")
    return tuple(sorted(specs, key=lambda s: s.name))


def catalog() -> list[HardwareSpec]:
    """The built-in catalog, sorted by name."""
    return list(_catalog())


def catalog_names() -> list[str]:
    return [s.name for s in _catalog()]


def load_hardware(name_or_path: str | Path | dict | HardwareSpec) -> HardwareSpec:
    """A spec from a catalog name (``"nvdla-nv-large"`` or ``"catalog:nvdla-nv-large"``), a YAML path,
    a dict of fields, or a :class:`HardwareSpec` (returned as is)."""
    if isinstance(name_or_path, HardwareSpec):
        return name_or_path
    if isinstance(name_or_path, dict):
        return _validate(dict(name_or_path), "")
    if isinstance(name_or_path, Path):
        return spec_from_yaml(name_or_path)
    text = str(name_or_path).strip()
    if text.startswith("catalog:"):
        return _by_name(text[len("catalog:"):])
    if looks_like_file(text, (".yaml", ".yml")):
        return spec_from_yaml(text)
    return _by_name(text)


def _by_name(name: str) -> HardwareSpec:
    for s in _catalog():
        if s.name == name:
            return s
    raise UnknownNameError(f"unknown hardware {name!r}; catalog: {', '.join(catalog_names())} "
                           f"(or give a YAML file path)")

