"""Run one measurement in a child process with a time limit and a memory guard.

The child is ``python -m fitbench.measure.worker`` (a fresh interpreter: a crashing runtime, a
hang or an out-of-memory cannot take the caller down). The parent polls the child every 20 ms:
past ``timeout_s`` it is killed ("timed out"); when its resident memory (children included)
exceeds ``memory_limit_bytes`` it is killed ("out of memory"); a signal death is reported by name.

The child's life is tied to its parent's: on Linux it asks the kernel for SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), and on every platform a thread in it watches the parent's pid and kills the child's
process group when the parent is gone -- a SIGKILLed or OOM-killed sweep, or a dead Ray worker, leaves no
measurement running. The job's temp folder (``fitbench-measure-<pid>-*``, also the child's ``TMPDIR``) is
removed on the way out, and by the next measurement if the parent was killed (:mod:`fitbench.tempdirs`).
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

POLL_S = 0.02


@dataclass
class ChildOutcome:
    ok: bool
    data: dict[str, Any] | None
    cause: str | None
    wall_s: float
    peak_rss_bytes: int


def _rss(proc: psutil.Process) -> int:
    try:
        total = proc.memory_info().rss
        for ch in proc.children(recursive=True):
            try:
                total += ch.memory_info().rss
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return 0


PARENT_ENV = "FITBENCH_PARENT_PID"
TEMP_PREFIX = "fitbench-measure-"


def _env(tmp: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env[PARENT_ENV] = str(os.getpid())
    if tmp:
        env["TMPDIR"] = tmp  # the child's own temp folders (LoadGen's logs) live in the job's folder
    src = str(Path(__file__).resolve().parents[2])  # the folder holding the fitbench package
    # the caller's import path too, so that a pickled nn.Module's classes import in the child
    extra = env.get("PYTHONPATH", "").split(os.pathsep) + [p for p in sys.path if p and os.path.isdir(p)]
    parts = [src]
    for p in extra:
        if p and p not in parts:
            parts.append(p)
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


WORKER = "fitbench.measure.worker"


def run_isolated(
    job: dict[str, Any], *, timeout_s: float, memory_limit_bytes: int | None, module: str = WORKER
) -> ChildOutcome:
    """Run ``job`` in a child (``python -m <module> JOB OUT``: the measurement worker, or
    :mod:`.convert_worker` for a precision conversion); never raises for a child failure, returns the cause."""
    from ..tempdirs import make_tempdir

    tmp = make_tempdir(TEMP_PREFIX)
    try:
        return _run_in(tmp, job, timeout_s, memory_limit_bytes, module)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_in(
    tmp: str, job: dict[str, Any], timeout_s: float, memory_limit_bytes: int | None, module: str = WORKER
) -> ChildOutcome:
    job_path, out_path, err_path = (os.path.join(tmp, n) for n in ("job.pkl", "out.pkl", "stderr.txt"))
    with open(job_path, "wb") as f:
        pickle.dump(job, f)
    start = time.monotonic()
    with open(err_path, "wb") as err:
        popen = subprocess.Popen(
            [sys.executable, "-m", module, job_path, out_path],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=_env(tmp),
            start_new_session=True,
        )
        try:
            code, cause, peak = _watch(popen, start, timeout_s, memory_limit_bytes)
        except BaseException:  # Ctrl-C or an error here: never leave the child running
            _kill(popen)
            raise
    wall = time.monotonic() - start
    stderr_tail = _tail(err_path)
    if cause:
        return ChildOutcome(False, None, cause, wall, peak)
    data = None
    if os.path.exists(out_path):
        with open(out_path, "rb") as f:
            data = pickle.load(f)
    if code < 0:
        name = _signal_name(-code)
        hint = " (likely out of memory: the kernel's OOM killer)" if -code == signal.SIGKILL else ""
        return ChildOutcome(
            False, None, f"the runtime crashed: killed by {name}{hint}{stderr_tail}", wall, peak
        )
    if data is None:
        return ChildOutcome(
            False, None, f"the child exited with code {code} and no result{stderr_tail}", wall, peak
        )
    if not data.get("ok"):
        return ChildOutcome(False, data, data.get("error") or "measurement failed", wall, peak)
    return ChildOutcome(True, data, None, wall, peak)


def _watch(popen: subprocess.Popen, start: float, timeout_s: float, memory_limit_bytes: int | None):
    """Poll the child until it exits, outgrows the memory guard or runs past the timeout."""
    proc = psutil.Process(popen.pid)
    peak = 0
    while True:
        code = popen.poll()
        if code is not None:
            return code, None, peak
        rss = _rss(proc)
        peak = max(peak, rss)
        cause = None
        if memory_limit_bytes and rss > memory_limit_bytes:
            cause = (
                f"out of memory: the child used {rss / 2**30:.2f} GiB, over the memory guard of "
                f"{memory_limit_bytes / 2**30:.2f} GiB; killed"
            )
        elif time.monotonic() - start > timeout_s:
            cause = f"timed out after {timeout_s:g} s (the runtime hung or is too slow); killed"
        if cause:
            _kill(popen)
            return None, cause, peak
        time.sleep(POLL_S)


def _kill(popen: subprocess.Popen) -> None:
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        popen.kill()
    try:
        popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _tail(path: str, lines: int = 2) -> str:
    """A short excerpt of the child's stderr: for a fatal signal, faulthandler's headline and the
    innermost Python frame; otherwise the last lines."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    if not text:
        return ""
    rows = [ln.strip() for ln in text.splitlines() if ln.strip()]
    fatal = next((i for i, ln in enumerate(rows) if ln.startswith("Fatal Python error")), None)
    if fatal is not None:
        frame = next((ln for ln in rows[fatal:] if ln.startswith("File ")), None)
        picked = [rows[fatal]] + ([f"innermost frame: {frame}"] if frame else [])
    else:
        picked = rows[-lines:]
    return " | stderr: " + " / ".join(picked)
