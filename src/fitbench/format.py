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
import re
from typing import Any

UNKNOWN = "—"

def _sig(v: float, digits: int = 3) -> str:
    """``v`` with ``digits`` significant digits, no exponent, trailing zeros dropped: 4.30 -> '4.3'."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def mem(n: float | int | None) -> str:
    """A memory size, binary prefixes: 8 * 2**20 -> '8 MiB', 802816 -> '784 KiB', 1.5 * 2**20 -> '1.5 MiB'."""
    if n is None:
        return UNKNOWN
    for factor, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(n) >= factor:
            v = n / factor
            return f"{v:.0f} {unit}" if v == int(v) or v >= 10 else f"{v:.1f} {unit}"
    return f"{n:.0f} B"


def traffic(n: float | int | None) -> str:
    """Bytes moved (DRAM traffic, bytes per inference), decimal prefixes as datasheets write them:
    62_000_000 -> '62 MB', 1_048_576 -> '1.0 MB', 1.7e9 -> '1.7 GB'."""
    if n is None:
        return UNKNOWN
    for factor, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if abs(n) >= factor:
            v = n / factor
            return f"{v:.0f} {unit}" if v >= 10 else f"{v:.1f} {unit}"
    return f"{n:.0f} B"


def rate(bps: float | int | None) -> str:
    """A bandwidth in bytes per second, decimal prefixes: 17e9 -> '17 GB/s', 4.3e9 -> '4.3 GB/s'."""
    return UNKNOWN if bps is None else traffic(bps) + "/s"


def count(n: float | int | None, unit: str = "") -> str:
    """A count with decimal prefixes, 3 significant digits: 1234567 -> '1.23 M', 9_625_927_680 MACs -> '9.63 G',
    180 -> '180'."""
    if n is None:
        return UNKNOWN
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{_sig(n / factor)} {prefix}{unit}"
    return f"{_sig(n)} {unit}".rstrip()


def duration(seconds: float | None) -> str:
    """Seconds in the unit that keeps 4 significant digits readable (the CLI's tables): 0.0233 -> '23.32 ms',
    2.107 -> '2.107 s', 4.7e-6 -> '4.700 µs'."""
    if seconds is None:
        return UNKNOWN
    factor, unit = next(((f, u) for f, u in ((1.0, "s"), (1e-3, "ms")) if abs(seconds) >= f), (1e-6, "µs"))
    v = seconds / factor
    digits = 1 if abs(v) >= 100 else 2 if abs(v) >= 10 else 3
    return f"{v:.{digits}f} {unit}"


def short_duration(seconds: float | None) -> str:
    """A latency in 3 significant digits (comparison tables, sentences): 1.79e-3 -> '1.79 ms', 0.226 ->
    '226 ms', 6.62 -> '6.62 s'."""
    if seconds is None:
        return UNKNOWN
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def number(x: float | int | None, digits: int = 4) -> str:
    """A plain figure (inf/s, TOPS) with ``digits`` significant digits, and from 1,000 up a whole number with a
    thousands separator (one rule everywhere): 38752.4 -> '38,752', 8447.2 -> '8,447', 559.43 -> '559.4'."""
    if x is None:
        return UNKNOWN
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def percent(x: float | None) -> str:
    """A fraction as a whole percentage: 0.714 -> '71%'."""
    return UNKNOWN if x is None else f"{100 * x:.0f}%"


def shape(dims) -> str:
    """A tensor shape: (1, 3, 224, 224) -> '1x3x224x224'."""
    return UNKNOWN if dims is None else "x".join(str(d) for d in dims)


def format_bytes(n: float) -> str:
    """Alias of :func:`mem` (memory sizes are binary)."""
    return mem(n)


def format_si(n: float, unit: str) -> str:
    """A quantity with decimal prefixes and ``unit``: (17e9, 'B/s') -> '17 GB/s', (933e6, 'Hz') -> '933 MHz'."""
    if unit == "B/s":
        return rate(n)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= factor:
            return f"{_sig(n / factor, 4)} {prefix}{unit}"
    return f"{_sig(n, 4)} {unit}"


# ---------------------------------------------------------------- names on a terminal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: Any) -> str:
    """``text`` with every control character (C0, DEL, C1: ESC included) written as a visible ``\\xNN``: a
    stored name cannot clear the screen, set the window title or plant a hyperlink in a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def cell(text: Any) -> str:
    """:func:`printable`, with rich markup escaped too (``[link=...]`` in a name stays text), for rich tables."""
    from rich.markup import escape

    return escape(printable(text))


LABEL_CHARS = 120  # a name longer than this is shortened on a terminal (files and JSON keep it whole)


def label(text: Any, limit: int = LABEL_CHARS) -> str:
    """:func:`cell` of a name cut to ``limit`` characters, its length said (``conv1…(10,000,000 chars)``): a
    10 MB node or tensor name printed whole makes a rich table fold it into ~100,000 lines, for minutes."""
    text = str(text)
    if len(text) > limit:
        text = f"{text[:limit]}…({len(text):,} chars)"
    return cell(text)
