"""Host pre/post stages timed on this machine: ``callable: package.module:function`` (or ``file.py:function``,
relative to the application file) is called with no arguments — it does one frame's work, e.g. a resize or an
NMS on representative data — and its time per call is the ``percentile`` (nearest rank) of the timed calls.

Three warm-up calls, then calls until 0.5 s have passed (at least 20, at most 1000), timed with
``time.perf_counter``. The stage's time then counts in the pipeline latency like a stated one.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import FitbenchError

WARMUP, MIN_CALLS, MAX_CALLS, MIN_S = 3, 20, 1000, 0.5


def load_callable(ref: str, base: Path | None = None) -> Callable[[], Any]:
    """``"pkg.mod:fn"`` or ``"stages.py:fn"`` -> the function; a one-line error when it cannot be found."""
    mod_name, sep, fn_name = str(ref).rpartition(":")
    if not sep or not mod_name or not fn_name:
        raise FitbenchError(f"a host stage callable is 'package.module:function' or 'file.py:function', got {ref!r}")
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if base is not None and not path.is_absolute():
                path = base / path
            if not path.is_file():
                raise FitbenchError(f"host stage callable {ref!r}: file not found: {path}")
            spec = importlib.util.spec_from_file_location(f"fitbench_host_stage_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except FitbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's file: one line
        raise FitbenchError(f"host stage callable {ref!r} cannot be imported: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise FitbenchError(f"host stage callable {ref!r}: {mod_name} has no function {fn_name!r}")
    return fn


def time_stage(fn: Callable[[], Any], percentile: float, name: str = "stage") -> tuple[float, int]:
    """``(seconds at the percentile, calls timed)`` for one call of ``fn``."""
    try:
        for _ in range(WARMUP):
            fn()
        times: list[float] = []
        t_end = time.perf_counter() + MIN_S
        while len(times) < MAX_CALLS and (len(times) < MIN_CALLS or time.perf_counter() < t_end):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - the user's function failed: one line
        raise FitbenchError(f"host stage {name!r} failed when called: {type(exc).__name__}: {exc}") from None
    times.sort()
    rank = max(1, math.ceil(percentile / 100 * len(times)))  # nearest rank
    return times[rank - 1], len(times)
