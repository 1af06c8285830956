"""Parse quantities written with their units: ``8 MiB``, ``17 GB/s``, ``933 MHz``, ``4 TOPS``, ``0.5 pJ``.

Decimal prefixes (k, M, G, T) are powers of 1000; binary prefixes (Ki, Mi, Gi, Ti) powers of 1024.
Sizes come back in **bytes**, bandwidths in **bytes per second**, clocks in **Hz**, throughput in
**TOPS** (1e12 operations per second, an operation being one FLOP-equivalent, i.e. a MAC is 2 ops),
energies in **picojoules**, power in **watts** and times in **seconds** (``5 us``, ``1.5 ms``).
A bare number is taken in the base unit.
"""

from __future__ import annotations

import math
import re

from ..errors import SpecError

_PREFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}
_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_RX = re.compile(r"^\s*" + _NUM + r"\s*([A-Za-z/]*)\s*$")

# kind -> (base unit names accepted after a prefix, unit label for messages)
_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "size": (("B", "byte", "bytes"), "bytes, e.g. 8 MiB, 512 KiB, 2 GB"),
    "bandwidth": (("B/s", "Bps"), "bytes per second, e.g. 17 GB/s, 900 GiB/s"),
    "frequency": (("Hz",), "a clock, e.g. 933 MHz, 1.5 GHz"),
    "tops": (("OPS", "FLOPS", "ops/s"), "operations per second, e.g. 4 TOPS, 65 TFLOPS, 500 GOPS"),
    "energy": (("J",), "an energy, e.g. 0.2 pJ, 1.5 nJ"),
    "power": (("W",), "a power, e.g. 2 W, 300 mW"),
    "time": (("s",), "a time, e.g. 5 us, 1.5 ms, 200 ns"),
}
_SMALL = {"m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}


def parse_quantity(value: object, kind: str, field: str) -> float:
    """Return ``value`` in the base unit of ``kind`` (see module doc); raise :class:`SpecError`."""
    units, example = _KINDS[kind]
    if isinstance(value, bool):
        raise SpecError(f"field {field!r}: expected {example}, got {value!r}")
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    elif isinstance(value, str):
        m = _RX.match(value.replace(",", "").replace("µ", "u"))
        if not m:
            raise SpecError(f"field {field!r}: expected {example}, got {value!r}")
        number, unit = float(m.group(1)), m.group(2)
    else:
        raise SpecError(f"field {field!r}: expected {example}, got {value!r}")
    scale = _unit_scale(unit, units, kind)
    if scale is None:
        raise SpecError(f"field {field!r}: unknown unit {unit!r}; expected {example}")
    out = number * scale
    if not math.isfinite(out) or out < 0:
        raise SpecError(f"field {field!r}: must be a finite non-negative quantity, got {value!r}")
    if kind == "energy":
        out *= 1e12  # joules -> picojoules
    elif kind == "tops":
        out /= 1e12  # ops/s -> TOPS
    return out


def _unit_scale(unit: str, units: tuple[str, ...], kind: str) -> float | None:
    if unit == "":
        # a bare number: base unit (TOPS for throughput, pJ for energy)
        return {"tops": 1e12, "energy": 1e-12}.get(kind, 1.0)
    for base in units:
        for cand in (base, base.lower()):
            if unit.endswith(cand):
                prefix = unit[: -len(cand)]
                if prefix in _PREFIX:
                    return _PREFIX[prefix]
                if kind in ("energy", "power", "time") and prefix in _SMALL:
                    return _SMALL[prefix]
                if prefix.lower() in ("k",):
                    return 1e3
    if kind == "bandwidth" and unit.lower().endswith("bit/s"):
        prefix = unit[: -len("bit/s")]
        if prefix in _PREFIX:
            return _PREFIX[prefix] / 8
    return None


def format_bytes(n: float) -> str:
    for factor, prefix in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= factor:
            return f"{n / factor:.4g} {prefix}"
    return f"{n:.0f} B"


def format_si(n: float, unit: str) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= factor:
            return f"{n / factor:.4g} {prefix}{unit}"
    return f"{n:.4g} {unit}"
