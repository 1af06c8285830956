"""Progress of measurements, for whoever displays it (the CLI's bar): a listener stack and one event type.

:func:`fitbench.measure.measure` reports each point's phases to every listener installed with
:func:`listening` -- ``prepare`` (the parent builds / converts the model), ``load`` (the child loads it),
``warmup`` (its warm-up runs), ``timed`` (the timed run, with a forecast once the warm-up is done) and
``end`` -- so commands that measure deep inside (``compare --measure``, a sweep) show progress without
passing a callback through every layer. No listener: nothing is computed. Durations are seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PHASES = ("prepare", "load", "warmup", "timed", "end")


@dataclass(frozen=True)
class Forecast:
    """The timed run's forecast from the warm-up: ``count`` units (queries; samples in offline) at
    ``per_unit_s`` each, ``expected_s`` in all (``runs`` runs for a server search); ``quick_s``: the same
    point with ``--quick`` (None when this run is already quick)."""

    unit: str
    count: int
    per_unit_s: float
    expected_s: float
    runs: int = 1
    quick_s: float | None = None
    #: the stopping rule of one run: both the count and the duration reached, or the maximum duration
    min_count: int = 1
    min_duration_s: float = 0.0
    max_duration_s: float = float("inf")

    def fraction(self, done: int, elapsed_s: float) -> float:
        """How far one run is through its stopping rule (0..1) after ``done`` units in ``elapsed_s``."""
        by_rule = min(done / max(self.min_count, 1), elapsed_s / self.min_duration_s if self.min_duration_s else 1.0)
        if self.unit == "samples":  # offline: one query of ``count`` samples
            by_rule = done / max(self.count, 1)
        return max(0.0, min(1.0, max(by_rule, elapsed_s / self.max_duration_s)))


@dataclass(frozen=True)
class ProgressEvent:
    """One report: point ``index`` of ``points`` (the batches of one ``measure()`` call), its ``label``,
    the ``phase``, the units ``done`` so far in the timed phase (for a server search, of the current
    ``run``), the forecast once known, and for ``end`` the point's ``outcome`` (ok | partial | failed)."""

    label: str
    phase: str
    index: int = 0
    points: int = 1
    done: int = 0
    run: int = 1
    forecast: Forecast | None = None
    outcome: str | None = None
    #: seconds into the current timed run (as the child reported it)
    elapsed_s: float = 0.0


Listener = Callable[[ProgressEvent], None]
_listeners: list[Listener] = []


@contextmanager
def listening(fn: Listener) -> Iterator[None]:
    """Send every measurement's progress to ``fn`` inside the ``with`` block."""
    _listeners.append(fn)
    try:
        yield
    finally:
        _listeners.remove(fn)


def active() -> bool:
    return bool(_listeners)


def emit(ev: ProgressEvent) -> None:
    for fn in list(_listeners):
        fn(ev)
