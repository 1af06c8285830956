"""Hardware specs (YAML catalog, units, validation), array mapping and the analytical estimator."""

from __future__ import annotations

from .spec import HardwareSpec, catalog, load_hardware

__all__ = ["HardwareSpec", "catalog", "load_hardware"]
