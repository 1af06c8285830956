"""Argument checks shared by the public API (one-line errors are raised by the callers)."""

from __future__ import annotations

import numbers
from typing import Any


def is_positive_int(value: Any) -> bool:
    """True for an integer (Python or numpy) above 0; False for bools, floats, strings and None."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def as_list(value: Any) -> list[Any]:
    """One value or a list/tuple of them -> a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]
