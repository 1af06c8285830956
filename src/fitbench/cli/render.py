"""Human-readable number formatting shared by the CLI renderers."""

from __future__ import annotations


def si(value: float | int | None, unit: str = "") -> str:
    """1234567 -> '1.23 M' (decimal prefixes)."""
    if value is None:
        return "—"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:g} {unit}".rstrip()


def size(value: float | int | None) -> str:
    """Bytes with binary prefixes: 802816 -> '784.0 KiB'."""
    if value is None:
        return "—"
    for factor, prefix in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(value) >= factor:
            return f"{value / factor:.1f} {prefix}"
    return f"{int(value)} B"


def duration(seconds: float | None) -> str:
    """Seconds in the unit that keeps 4 significant digits readable: 0.0233 -> '23.32 ms', 2.107 -> '2.107 s',
    4.7e-6 -> '4.700 µs'."""
    if seconds is None:
        return "—"
    factor, unit = next(((f, u) for f, u in ((1.0, "s"), (1e-3, "ms")) if abs(seconds) >= f), (1e-6, "µs"))
    v = seconds / factor
    digits = 1 if abs(v) >= 100 else 2 if abs(v) >= 10 else 3
    return f"{v:.{digits}f} {unit}"


def shape(dims) -> str:
    return "—" if dims is None else "x".join(str(d) for d in dims)


def num(value: float | int | None, spec: str) -> str:
    """``format(value, spec)``, or '—' when the value is unknown (None), e.g. the throughput of a graph
    whose every layer is uncosted."""
    return "—" if value is None else format(value, spec)
