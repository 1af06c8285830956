"""fitbench: which inference offering is best for MY application?

The public API (each call returns typed result objects with ``to_dict()`` / ``to_dataframe()``):
``profile``, ``estimate``, ``measure``, ``compare``, ``zoo``, ``load_hardware``.
Imports are lazy so that ``import fitbench`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "profile": ("fitbench.profile", "profile"),
    "Profile": ("fitbench.profile", "Profile"),
    "estimate": ("fitbench.hardware.estimator", "estimate"),
    "load_hardware": ("fitbench.hardware.spec", "load_hardware"),
    "measure": ("fitbench.measure", "measure"),
    "compare": ("fitbench.compare", "compare"),
    "zoo": ("fitbench.zoo", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'fitbench' has no attribute {name!r}")
    module, attr = _LAZY[name]
    mod = importlib.import_module(module)
    return mod if attr is None else getattr(mod, attr)


__all__ = ["__version__", *_LAZY]
