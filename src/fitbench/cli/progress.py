"""Progress on stderr for commands that measure: a rich bar per measured point, with ETA, and a forecast
line before a long run ("≈ 3 min: 1,024 samples at ~0.2 s each; --quick for ~10 s").

:class:`MeasureProgress` listens to :mod:`fitbench.measure.progress` (so ``compare --measure`` and sweeps
get it without a callback threaded through them). It fits 80 columns; a command makes it quiet with
``-q`` or when its machine-readable output goes to stdout.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..measure import progress as mp

#: a forecast line is printed before a timed run expected to take at least this long (seconds)
FORECAST_MIN_S = 5.0


def _sig2(x: float) -> str:
    """Two significant figures, never in exponent form for the sizes shown here (0.25, 3.5, 35, 250)."""
    return f"{float(f'{x:.2g}'):g}"


def duration(seconds: float) -> str:
    """``4.5 s``, ``12 s``, ``3 min``, ``1.5 h``."""
    if seconds < 10:
        return f"{_sig2(seconds)} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def each(seconds: float) -> str:
    """One unit's time, two significant figures: ``0.2 s``, ``35 ms``, ``29 µs``."""
    if seconds >= 0.1:
        return f"{_sig2(seconds)} s"
    if seconds >= 1e-4:
        return f"{_sig2(seconds * 1e3)} ms"
    return f"{_sig2(seconds * 1e6)} µs"


def _units(n: int, unit: str) -> str:
    """``1 sample``, ``1,024 samples``."""
    return f"{n:,} {unit[:-1] if n == 1 and unit.endswith('s') else unit}"


def forecast_line(fc: mp.Forecast) -> str:
    """The forecast as one line, e.g. ``≈ 3 min: 1,024 samples at ~0.2 s each; --quick for ~10 s``."""
    runs = f" x up to {fc.runs} rates" if fc.runs > 1 else ""
    text = f"≈ {duration(fc.expected_s)}: {_units(fc.count, fc.unit)}{runs} at ~{each(fc.per_unit_s)} each"
    if fc.quick_s is not None and fc.quick_s < 0.8 * fc.expected_s:
        text += f"; --quick for ~{duration(fc.quick_s * fc.runs)}"
    return text


class MeasureProgress:
    """``with MeasureProgress(enabled):`` shows every measurement inside the block on stderr."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self.bar: Progress | None = None
        self._tasks: dict[tuple[int, str], TaskID] = {}
        self._listen: Any = None

    def __enter__(self) -> MeasureProgress:
        if self.enabled:  # the bar itself starts with the first measurement (none: nothing printed)
            self._listen = mp.listening(self)
            self._listen.__enter__()
        return self

    def _start(self) -> Progress:
        self.bar = Progress(
            TextColumn("{task.description}", style="bold"), BarColumn(bar_width=16),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False, redirect_stdout=False, redirect_stderr=False,
        )
        self.bar.start()
        return self.bar

    def __exit__(self, *exc: Any) -> None:
        if self._listen is not None:
            self._listen.__exit__(*exc)
            self._listen = None
        if self.bar is not None:
            if exc and exc[0] is not None and not issubclass(exc[0], KeyboardInterrupt):
                self.bar.live.transient = True  # an error: its one line alone, no half-drawn bar
            self.bar.stop()
            self.bar = None

    def __call__(self, ev: mp.ProgressEvent) -> None:
        bar = self.bar or self._start()
        key = (ev.index, ev.label)
        task = self._tasks.get(key)
        if task is None:
            desc = ev.label[:22] + (f" {ev.index + 1}/{ev.points}" if ev.points > 1 else "")
            task = self._tasks[key] = bar.add_task(desc, total=None, status="preparing")
        fc = ev.forecast
        if ev.phase == "load":
            bar.update(task, status="loading")
        elif ev.phase == "warmup":
            bar.update(task, status=f"warm-up {ev.done}" if ev.done else "warm-up")
        elif ev.phase == "timed" and fc is not None:
            total = fc.count * fc.runs
            if bar.tasks[self._index(task)].total is None:
                bar.reset(task, total=total, status="")  # the timed run's clock starts here
                if fc.expected_s >= FORECAST_MIN_S:
                    bar.console.print(f"{ev.label}: {forecast_line(fc)}", highlight=False)
            # how far through LoadGen's stopping rule (count and duration, or the maximum), in forecast units
            done = min(fc.count * (ev.run - 1 + fc.fraction(ev.done, ev.elapsed_s)), total)
            trial = f" rate {ev.run}" if fc.runs > 1 else ""
            bar.update(task, completed=done, status=f"{_units(ev.done, fc.unit)}{trial}")
        elif ev.phase == "end":
            t = bar.tasks[self._index(task)]
            if ev.outcome == "ok":
                bar.update(task, total=t.total or ev.done or 1, completed=t.total or ev.done or 1,
                           status=f"done, {_units(ev.done, 'samples')}")
            else:
                bar.update(task, status=f"{ev.outcome}, {_units(ev.done, 'samples')}")
            bar.stop_task(task)

    def _index(self, task: TaskID) -> int:
        assert self.bar is not None
        return next(i for i, t in enumerate(self.bar.tasks) if t.id == task)
