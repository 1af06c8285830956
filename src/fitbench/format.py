"""How fitbench prints numbers and units: the one place, used by the CLI, compare, the report and Markdown.

Convention (the field's usual one, stated once): **memory sizes are binary** (KiB, MiB, GiB: an on-chip SRAM of
``8 MiB`` = 8 x 2**20 bytes, a model's weights, activations and peak live memory), **bandwidth and traffic are
decimal** (kB, MB, GB and kB/s, MB/s, GB/s: ``4.3 GB/s`` = 4.3e9 bytes per second, DRAM traffic per inference
``419 MB`` = 419e6 bytes), as memory vendors and datasheets state them. Counts (MACs, FLOPs, weights as
elements) use decimal prefixes (k, M, G, T); throughput in inferences per second and TOPS are plain numbers.

Each function turns ``None`` (unknown, e.g. the MACs of a graph whose every layer is uncosted) into an em dash,
never into 0. Machine-readable outputs (JSON, CSV) carry raw base units, and their field names say which
(``*_bytes``, ``*_s``, ``*_ips``).
"""

from __future__ import annotations

import math

UNKNOWN = "—"

#: the unit family of each kind of quantity (what a test checks every output against)
MEMORY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
TRAFFIC_UNITS = ("B", "kB", "MB", "GB", "TB")


def _sig(v: float, digits: int = 3) -> str:
    """``v`` with ``digits`` significant digits, no exponent, trailing zeros kept off: 419.2 -> '419',
    4.3 -> '4.3', 0.151 -> '0.151'."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    text = f"{v:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def mem(n: float | int | None) -> str:
    """A memory size, binary prefixes: 8 * 2**20 -> '8 MiB', 802816 -> '784 KiB', 1500 -> '1.46 KiB'."""
    if n is None:
        return UNKNOWN
    for factor, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(n) >= factor:
            return f"{_sig(n / factor)} {unit}"
    return f"{n:.0f} B"


def traffic(n: float | int | None) -> str:
    """Bytes moved (DRAM traffic, bytes per inference), decimal prefixes: 62_000_000 -> '62 MB'."""
    if n is None:
        return UNKNOWN
    for factor, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if abs(n) >= factor:
            return f"{_sig(n / factor)} {unit}"
    return f"{n:.0f} B"


def rate(bps: float | int | None) -> str:
    """A bandwidth in bytes per second, decimal prefixes: 17e9 -> '17 GB/s', 4.3e9 -> '4.3 GB/s'."""
    if bps is None:
        return UNKNOWN
    for factor, unit in ((1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s")):
        if abs(bps) >= factor:
            return f"{_sig(bps / factor)} {unit}"
    return f"{bps:.0f} B/s"


def count(n: float | int | None, unit: str = "") -> str:
    """A count with decimal prefixes: 1234567 -> '1.23 M', with ``unit`` 'MACs' -> '1.23 MMACs'."""
    if n is None:
        return UNKNOWN
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".rstrip()


def duration(seconds: float | None) -> str:
    """Seconds in the unit that keeps 4 significant digits readable: 0.0233 -> '23.30 ms', 2.107 -> '2.107 s',
    4.7e-6 -> '4.700 µs'."""
    if seconds is None:
        return UNKNOWN
    factor, unit = next(((f, u) for f, u in ((1.0, "s"), (1e-3, "ms")) if abs(seconds) >= f), (1e-6, "µs"))
    v = seconds / factor
    digits = 1 if abs(v) >= 100 else 2 if abs(v) >= 10 else 3
    return f"{v:.{digits}f} {unit}"


def short_duration(seconds: float | None) -> str:
    """A latency in 3 significant digits: 1.79e-3 -> '1.79 ms', 0.226 -> '226 ms', 6.62 -> '6.62 s'."""
    if seconds is None:
        return UNKNOWN
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{_sig(seconds * 1e3)} ms"
    return f"{_sig(seconds * 1e6)} µs"


def number(x: float | int | None, digits: int = 4) -> str:
    """A plain figure (inf/s, TOPS) with ``digits`` significant digits and a thousands separator from 1000 up:
    38752.4 -> '38,752', 559.43 -> '559.4', 4.417 -> '4.417'."""
    if x is None:
        return UNKNOWN
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return _sig(x, digits)


def percent(x: float | None) -> str:
    """A fraction as a whole percentage: 0.714 -> '71%'."""
    return UNKNOWN if x is None else f"{100 * x:.0f}%"


def format_bytes(n: float) -> str:
    """Alias of :func:`mem` (memory sizes are binary)."""
    return mem(n)


def format_si(n: float, unit: str) -> str:
    """A quantity with decimal prefixes and ``unit``: (17e9, 'B/s') -> '17 GB/s'."""
    if unit == "B/s":
        return rate(n)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= factor:
            return f"{_sig(n / factor, 4)} {prefix}{unit}"
    return f"{_sig(n, 4)} {unit}"
