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

from .channel import FD_ENV, ChannelReader

POLL_S = 0.02


@dataclass
class ChildOutcome:
    ok: bool
    data: dict[str, Any] | None
    cause: str | None
    wall_s: float
    peak_rss_bytes: int
    #: what the child reported over the progress channel before it ended (the partial result's samples)
    progress: ChannelReader | None = None
    #: the parent was interrupted (Ctrl-C) and killed the child
    interrupted: bool = False


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


def run_isolated(job: dict[str, Any], *, timeout_s: float, memory_limit_bytes: int | None,
                 on_event=None, module: str = WORKER) -> ChildOutcome:
    """Run ``job`` in a child (``python -m <module> JOB OUT``: the measurement worker, or
    :mod:`.convert_worker` for a precision conversion); never raises for a child failure, returns the cause.

    ``on_event(ev, reader)`` sees each progress report of the child (see :mod:`.channel`). On Ctrl-C the
    child is killed and the outcome comes back with ``interrupted=True`` (the caller decides to stop);
    every failed outcome carries what the child reported before it ended in ``progress``.
    """
    from ..tempdirs import make_tempdir

    tmp = make_tempdir(TEMP_PREFIX)
    try:
        return _run_in(tmp, job, timeout_s, memory_limit_bytes, ChannelReader(on_event), module)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_in(tmp: str, job: dict[str, Any], timeout_s: float, memory_limit_bytes: int | None,
            reader: ChannelReader, module: str = WORKER) -> ChildOutcome:
    job_path, out_path, err_path = (os.path.join(tmp, n) for n in ("job.pkl", "out.pkl", "stderr.txt"))
    with open(job_path, "wb") as f:
        pickle.dump(job, f)
    start = time.monotonic()
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    env = _env(tmp)
    env[FD_ENV] = str(wfd)
    interrupted = False
    try:
        with open(err_path, "wb") as err:
            try:
                popen = subprocess.Popen(
                    [sys.executable, "-m", module, job_path, out_path],
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env=env,
                    start_new_session=True,
                    pass_fds=(wfd,),
                )
            finally:
                os.close(wfd)
            try:
                code, cause, peak = _watch(popen, start, timeout_s, memory_limit_bytes, rfd, reader)
            except KeyboardInterrupt:  # Ctrl-C: kill the child, keep what it reported
                _kill(popen)
                code, cause, peak, interrupted = None, "interrupted (Ctrl-C)", 0, True
            except BaseException:  # an error here: never leave the child running
                _kill(popen)
                raise
        _drain(rfd, reader)
    finally:
        os.close(rfd)
    wall = time.monotonic() - start
    stderr_tail = _tail(err_path)
    if cause:
        return ChildOutcome(False, None, cause, wall, peak, reader, interrupted)
    data = None
    if os.path.exists(out_path):
        with open(out_path, "rb") as f:
            data = pickle.load(f)
    if code < 0:
        name = _signal_name(-code)
        hint = " (likely out of memory: the kernel's OOM killer)" if -code == signal.SIGKILL else ""
        return ChildOutcome(
            False, None, f"the runtime crashed: killed by {name}{hint}{stderr_tail}", wall, peak, reader
        )
    if data is None:
        return ChildOutcome(
            False, None, f"the child exited with code {code} and no result{stderr_tail}", wall, peak, reader
        )
    if not data.get("ok"):
        return ChildOutcome(False, data, data.get("error") or "measurement failed", wall, peak, reader)
    return ChildOutcome(True, data, None, wall, peak, reader)


def _drain(fd: int, reader: ChannelReader) -> None:
    """Read what the child wrote to the progress pipe so far (non-blocking) into ``reader``."""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            return
        if not chunk:
            return
        reader.feed(chunk)


def _watch(popen: subprocess.Popen, start: float, timeout_s: float, memory_limit_bytes: int | None,
           fd: int | None = None, reader: ChannelReader | None = None):
    """Poll the child until it exits, outgrows the memory guard or runs past the timeout."""
    proc = psutil.Process(popen.pid)
    peak = 0
    while True:
        if fd is not None and reader is not None:
            _drain(fd, reader)
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
