"""The progress channel from a measurement child to its parent: one pipe, one JSON object per line.

The child (:class:`ChildChannel`) reports its phases -- ``loaded``, ``warmup`` (each warm-up run),
``plan`` (the warm-up's figures and the forecast of the timed run), ``track`` (a timed run starts:
server-search trials are runs 1, 2, ...) -- and, from a daemon thread every :data:`INTERVAL_S`, the
latencies completed since its last report (``lat``). The thread only reads the length of the list the
scenario appends to, so the timed loop pays nothing per query. The parent (:class:`ChannelReader`)
keeps the latest state: after a timeout, a crash or Ctrl-C, the latencies already reported are the
partial result (at most :data:`INTERVAL_S` of samples are lost). Times are seconds, latencies ns.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

#: the environment variable holding the pipe's write end in the child
FD_ENV = "FITBENCH_PROGRESS_FD"
#: how often the child's reporter thread sends the latencies completed since its last report
INTERVAL_S = 0.25


class ChildChannel:
    """The child's end; a no-op when the parent gave no pipe (a job run in-process)."""

    def __init__(self, fd: int | None = None) -> None:
        """``fd``: the pipe's write end; None: the one named by ``$FITBENCH_PROGRESS_FD``; negative: none."""
        if fd is None:
            raw = os.environ.get(FD_ENV, "")
            fd = int(raw) if raw.isdigit() else -1
        self._f = None
        if fd >= 0:
            try:
                self._f = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
            except (OSError, ValueError):
                self._f = None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._lat: list[int] | None = None
        self._sent = 0
        self._run = 0
        self._t0 = time.monotonic()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def active(self) -> bool:
        return self._f is not None

    def send(self, ev: str, **fields: Any) -> None:
        if self._f is None:
            return
        line = json.dumps({"ev": ev, **fields}, default=str)
        with self._lock:
            try:
                self._f.write(line + "\n")
            except (OSError, ValueError):  # the parent is gone or closed its end: nothing to report to
                self._f = None

    def track(self, lat: list[int]) -> None:
        """A timed run starts: report ``lat``'s new entries from now on (the scenarios' ``track`` hook)."""
        if self._f is None:
            return
        self._flush()
        with self._flush_lock:
            self._lat, self._sent, self._run, self._t0 = lat, 0, self._run + 1, time.monotonic()
        self.send("track", run=self._run)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="fitbench-progress", daemon=True)
            self._thread.start()

    def _flush(self) -> None:
        with self._flush_lock:
            lat = self._lat
            if lat is None:
                return
            n = len(lat)
            if n > self._sent:
                chunk = lat[self._sent:n]
                self._sent = n
                self.send("lat", run=self._run, ns=chunk, t=round(time.monotonic() - self._t0, 4))

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            self._flush()

    def close(self) -> None:
        self._stop.set()
        self._flush()
        if self._f is not None:
            try:
                self._f.close()
            except OSError:
                pass
            self._f = None


class ChannelReader:
    """The parent's end: parses the child's lines and keeps the latest state; ``on_event(ev)`` sees each."""

    def __init__(self, on_event=None) -> None:
        self.on_event = on_event
        self._buf = b""
        self.loaded = False
        self.warmup_runs = 0
        self.plan: dict[str, Any] | None = None
        self.run = 0
        self.latencies_ns: list[int] = []
        self.timed_s = 0.0

    def feed(self, data: bytes) -> None:
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if isinstance(ev, dict):
                self._apply(ev)

    def _apply(self, ev: dict[str, Any]) -> None:
        kind = ev.get("ev")
        if kind == "loaded":
            self.loaded = True
        elif kind == "warmup" and not ev.get("first"):
            self.warmup_runs = int(ev.get("n", self.warmup_runs + 1))
        elif kind == "plan":
            self.plan = ev
        elif kind == "track":
            self.run, self.latencies_ns, self.timed_s = int(ev.get("run", 0)), [], 0.0
        elif kind == "lat" and int(ev.get("run", 0)) == self.run:
            self.latencies_ns.extend(int(x) for x in ev.get("ns", []))
            self.timed_s = float(ev.get("t", self.timed_s))
        if self.on_event is not None:
            self.on_event(ev, self)
