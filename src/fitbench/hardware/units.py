"""Parse quantities written with their units: ``8 MiB``, ``17 GB/s``, ``80 Gb/s``, ``933 MHz``, ``4 TOPS``,
``0.5 pJ``.

Decimal prefixes (k, M, G, T) are powers of 1000; binary prefixes (Ki, Mi, Gi, Ti) powers of 1024. A capital
``B`` (or ``byte``/``bytes``) is a byte, a small ``b`` (or ``bit``/``bits``) a bit: ``80 Gb/s`` = ``80 Gbit/s``
= 10 GB/s, ``64 Mb`` = 8 MB. Sizes come back in **bytes**, bandwidths in **bytes per second**, clocks in
**Hz**, throughput in **TOPS** (1e12 operations per second, an operation being one FLOP-equivalent, i.e. a
MAC is 2 ops), energies in **picojoules**, power in **watts** and times in **seconds** (``5 us``, ``1.5 ms``).

A bare number is taken in the base unit (what ``fitbench hw show`` writes: ``clock_hz: 1000000000.0``), and
every value must be finite and plausible: a clock from 1 kHz to 100 GHz, a bandwidth of 0 (none) or at least
1 kB/s, a time of at most 1 s. So ``clock: 800`` (800 Hz, meant as MHz) is refused with one line naming the
field and the units to write, instead of giving 600 s latencies. Printing them is :mod:`fitbench.format`'s job.
"""

from __future__ import annotations

import math
import re

from ..errors import SpecError
from ..format import format_bytes, format_si  # noqa: F401 - re-exported: the formatters live in one module

_PREFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}
_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_RX = re.compile(r"^\s*" + _NUM + r"\s*([A-Za-z/]*)\s*$")

# kind -> (base unit names accepted after a prefix, unit label for messages)
_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "size": (("B", "byte", "bytes"), "bytes, e.g. 8 MiB, 512 KiB, 2 GB (64 Mb is megabits)"),
    "bandwidth": (("B/s", "Bps"), "bytes per second, e.g. 17 GB/s, 900 GiB/s (80 Gb/s is gigabits)"),
    "frequency": (("Hz",), "a clock, e.g. 933 MHz, 1.5 GHz"),
    "tops": (("OPS", "FLOPS", "ops/s"), "operations per second, e.g. 4 TOPS, 65 TFLOPS, 500 GOPS"),
    "energy": (("J",), "an energy, e.g. 0.2 pJ, 1.5 nJ"),
    "power": (("W",), "a power, e.g. 2 W, 300 mW"),
    "time": (("s",), "a time, e.g. 5 us, 1.5 ms, 200 ns"),
}
_BITS = {"size": ("b", "bit", "bits"), "bandwidth": ("b/s", "bps", "bit/s", "bits/s")}
_SMALL = {"m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
# kind -> (lowest, highest) plausible value in the base unit; 0 passes where it means "none" (bandwidth, size)
_RANGE: dict[str, tuple[float, float, str, str]] = {
    "frequency": (1e3, 100e9, "1 kHz", "100 GHz"),
    "bandwidth": (1e3, math.inf, "1 kB/s", ""),
    "time": (0.0, 1.0, "0 s", "1 s"),  # a per-layer overhead: a bare 5 is 5 s, not 5 us
}
_BASE = {"frequency": "Hz", "bandwidth": "B/s", "time": "s"}


def parse_quantity(value: object, kind: str, field: str) -> float:
    """Return ``value`` in the base unit of ``kind`` (see module doc); raise :class:`SpecError` (one line naming
    ``field`` and the expected units) for a bad unit, a non-finite, negative or implausible value."""
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
    if not math.isfinite(number):
        raise SpecError(f"field {field!r}: must be a finite quantity, got {value!r}; expected {example}")
    scale = _unit_scale(unit, units, kind)
    if scale is None:
        raise SpecError(f"field {field!r}: unknown unit {unit!r}; expected {example}")
    out = number * scale
    if not math.isfinite(out) or out < 0:
        raise SpecError(f"field {field!r}: must be a finite non-negative quantity, got {value!r}")
    if (kind in _RANGE and out != 0) or kind == "frequency":
        lo, hi, lo_text, hi_text = _RANGE[kind]
        if not lo <= out <= hi:
            what = f"{number:g} {_BASE[kind]}" if unit == "" else f"{value!r}"
            where = f"below {lo_text}" if out < lo else f"above {hi_text}"
            bare = (f"; a bare number is read as {_BASE[kind]}: write the unit" if unit == "" else "")
            raise SpecError(f"field {field!r}: {what} is {where}, not a plausible value{bare}; expected {example}")
    if kind == "energy":
        out *= 1e12  # joules -> picojoules
    elif kind == "tops":
        out /= 1e12  # ops/s -> TOPS
    return out


def _unit_scale(unit: str, units: tuple[str, ...], kind: str) -> float | None:
    if unit == "":
        # a bare number: base unit (TOPS for throughput, pJ for energy)
        return {"tops": 1e12, "energy": 1e-12}.get(kind, 1.0)
    # bits first: a small "b" is a bit ("Gb/s", "Mb"), never a byte
    for base in _BITS.get(kind, ()):
        if unit.endswith(base) and unit[: -len(base)] in _PREFIX:
            return _PREFIX[unit[: -len(base)]] / 8
    for base in units:
        cands = (base,) if "B" in base else (base, base.lower())  # "B" is case-sensitive: "b" is a bit
        for cand in cands:
            if unit.endswith(cand):
                prefix = unit[: -len(cand)]
                if prefix in _PREFIX:
                    return _PREFIX[prefix]
                if kind in ("energy", "power", "time") and prefix in _SMALL:
                    return _SMALL[prefix]
                if prefix.lower() in ("k",):
                    return 1e3
    return None
