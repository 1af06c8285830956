"""Reaper of a local Ray cluster that fitbench started: nothing of it outlives its driver.

A sweep with ``--executor ray`` and no ``--address`` starts a local cluster (GCS, raylet, dashboard and
runtime-env agents, workers). When the driver is SIGKILLed or OOM-killed it cannot call ``ray.shutdown()``,
and Ray's own fate sharing does not reach every process (agents and idle workers were seen to stay). So,
before ``ray.init``, the driver puts a marker in its environment (``FITBENCH_RAY_OWNER=<pid>:<token>``) that
every Ray process it starts inherits, and starts this reaper: a small process that polls the driver (pid and
start time, so that a reused pid is not taken for it) and remembers every process descended from it. Once the
driver is gone it SIGKILLs every process that carries the marker, names the cluster's temp folder in its
command line, or descends from one it remembered (Ray renames and rewrites its processes: ``ray::DashboardAgent``),
again until none has been seen for three seconds (a raylet given SIGTERM restarts the agents it sees die), and
removes the cluster's temp folder when fitbench created it. A clean ``ray.shutdown()`` stops the reaper first
(SIGTERM: it exits at once).

    python .../fitbench/sweep/executors/ray_reaper.py DRIVER_PID DRIVER_START TOKEN [TEMP_DIR]
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time

MARKER = "FITBENCH_RAY_OWNER"
POLL_S = 0.5
GRACE_S = 3.0


def _alive(pid: int, start: float) -> bool:
    import psutil

    try:
        p = psutil.Process(pid)
        return abs(p.create_time() - start) < 0.01 and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def marked(value: str, temp_dir: str = "") -> list:
    """Every process (but this one) whose environment carries ``MARKER=value``, or, given the cluster's own
    ``temp_dir`` (a fresh folder fitbench made), whose command line names it (every Ray process is started
    with its session folder, so one that did not inherit the marker is still found)."""
    import psutil

    me, out = os.getpid(), []
    needle = f"{MARKER}={value}".encode()
    for p in psutil.process_iter():
        if p.pid == me:
            continue
        try:
            with open(f"/proc/{p.pid}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    out.append(p)
                    continue
            if temp_dir and any(temp_dir in a for a in p.cmdline()):
                out.append(p)
        except (OSError, psutil.Error):  # gone, or not ours to read
            continue
    return out


def descendants(pid: int, known: dict[int, float]) -> None:
    """Add every living descendant of ``pid`` to ``known`` (pid -> start time)."""
    import psutil

    try:
        for c in psutil.Process(pid).children(recursive=True):
            known[c.pid] = c.create_time()
    except psutil.Error:
        pass


def _known_alive(known: dict[int, float]) -> list:
    """The processes of ``known`` still running under the same start time, with their own descendants (Ray
    renames its processes, ``ray::DashboardAgent``, and rewrites their argv; the tree still says whose they are)."""
    import psutil

    out = {}
    for pid, start in list(known.items()):
        try:
            p = psutil.Process(pid)
            if abs(p.create_time() - start) < 0.01:
                out[pid] = p
                for c in p.children(recursive=True):
                    out[c.pid] = c
        except psutil.Error:
            continue
    return list(out.values())


def reap(value: str, grace_s: float = GRACE_S, hard: bool = False, temp_dir: str = "",
         known: dict[int, float] | None = None) -> int:
    """End every process marked ``value``: SIGTERM, then SIGKILL those left after ``grace_s`` (``hard``: SIGKILL
    at once). Returns how many were found."""
    import psutil

    procs = marked(value, temp_dir)
    seen = {p.pid for p in procs}
    procs += [p for p in _known_alive(known or {}) if p.pid not in seen and p.pid != os.getpid()]
    for p in procs:
        try:
            p.kill() if hard else p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=0.5 if hard else grace_s)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace_s)
    return len(procs)


def reap_all(value: str, settle_s: float = 3.0, limit_s: float = 60.0, temp_dir: str = "",
             known: dict[int, float] | None = None) -> None:
    """SIGKILL every marked process (:func:`reap` ``hard``), again until none has been seen for ``settle_s`` (or
    ``limit_s`` passed). The driver is gone, so nothing is left to shut down gracefully, and a raylet given
    SIGTERM restarts the agents it sees die (a DashboardAgent was seen to outlive a SIGTERM pass by 20 s)."""
    deadline = time.monotonic() + limit_s
    quiet_since = None
    while time.monotonic() < deadline:
        if reap(value, hard=True, temp_dir=temp_dir, known=known):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle_s:
            return
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    pid, start, token = int(argv[0]), float(argv[1]), argv[2]
    temp_dir = argv[3] if len(argv) > 3 else ""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle (it shuts Ray down)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # the driver shut Ray down itself
    known: dict[int, float] = {}  # every process the driver started, directly or not (pid -> start time)
    while _alive(pid, start):
        descendants(pid, known)
        time.sleep(POLL_S)
    reap_all(f"{pid}:{token}", temp_dir=temp_dir, known=known)
    if temp_dir:
        time.sleep(0.2)
        shutil.rmtree(temp_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
