"""Argument checks and small text parsers shared by the public API and the CLI."""

from __future__ import annotations

import numbers
from typing import Any

from .errors import FitbenchError


def is_positive_int(value: Any) -> bool:
    """True for an integer (Python or numpy) above 0; False for bools, floats, strings and None."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def as_list(value: Any) -> list[Any]:
    """One value or a list/tuple of them -> a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def auto_value(text: str) -> int | float | str:
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, anything else stays text (zoo and workload ``KEY=VALUE`` options)."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_resolution(text: str, what: str = "--resolution", square: bool = False) -> tuple[int, int]:
    """``"1920x1080"`` (WIDTHxHEIGHT, as cameras state it) -> ``(height, width)``; with ``square``, ``"224"``
    -> ``(224, 224)`` too. Anything else is a one-line :class:`FitbenchError` naming ``what``."""
    expected = "N or WIDTHxHEIGHT" if square else "WIDTHxHEIGHT"
    parts = str(text).lower().split("x")
    if square and len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts) or min(int(p) for p in parts) <= 0:
        raise FitbenchError(f"{what} expects {expected} like 1920x1080 with positive dims, got {text!r}")
    return int(parts[1]), int(parts[0])
