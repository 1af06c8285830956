"""Sweeps: a YAML grid of models x input sizes x batches x precisions x hardware / runtimes, every point
stored with its conditions, resumable after a crash, on this machine or on Ray.

>>> from fitbench.sweep import load_sweep, run_sweep       # doctest: +SKIP
>>> run_sweep("sweep.yaml", "results.db", executor="local", resume=True)  # doctest: +SKIP
"""

from .points import Outcome, Point, PointContext, PointKind, canonical_json, get_kind, known_kinds, register_kind
from .runner import SweepError, SweepInterrupted, SweepSummary, plan, run_sweep
from .spec import SweepSpec, load_sweep, parse_sweep

__all__ = [
    "Outcome", "Point", "PointContext", "PointKind", "SweepError", "SweepInterrupted", "SweepSpec",
    "SweepSummary", "canonical_json", "get_kind", "known_kinds", "load_sweep", "parse_sweep", "plan",
    "register_kind", "run_sweep",
]  # fmt: skip
