"""The measurement child dies with its parent, and no ``fitbench-*`` temp folder outlives them.

A parent process measures a model whose child hangs (test hook); the test SIGKILLs the parent (as the OOM
killer or a dead Ray worker would) and checks that the child is gone within a few seconds, by the kernel's
parent-death signal or, with it disabled, by the child's own watch on its parent's pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from measure_fast import FAST

from fitbench.measure.worker import FAULT_ENV

SRC = str(Path(__file__).resolve().parents[2] / "src")
PARENT = """
import sys
from fitbench.measure import measure
measure(sys.argv[1], batch=1, **{fast!r})
"""


def _wait_for_child(parent: subprocess.Popen, timeout: float = 60) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert parent.poll() is None, parent.stderr.read() if parent.stderr else ""
        kids = [p for p in psutil.Process(parent.pid).children() if "fitbench.measure.worker" in " ".join(p.cmdline())]
        if kids:
            return kids[0]
        time.sleep(0.1)
    raise AssertionError("the measurement child never started")


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["pdeathsig", "parent-watch"])
def test_child_dies_with_a_killed_parent(conv_path, tmp_path, pdeathsig):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": SRC, FAULT_ENV: "hang", "TMPDIR": str(tmp)}
    if not pdeathsig:
        env["FITBENCH_NO_PDEATHSIG"] = "1"
    code = PARENT.format(fast={**FAST, "timeout_s": 600})
    parent = subprocess.Popen([sys.executable, "-c", code, str(conv_path)], env=env, stderr=subprocess.PIPE)
    try:
        child = _wait_for_child(parent)
        time.sleep(0.5)  # past the child's start: prctl done, watch thread running
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        try:
            child.wait(timeout=5)
        except psutil.TimeoutExpired:
            child.kill()
            raise AssertionError("the measurement child outlived its SIGKILLed parent") from None
    finally:
        if parent.poll() is None:
            parent.kill()
    # the killed parent could not remove its folder; the next measurement removes it, then its own
    assert [p.name for p in tmp.iterdir() if p.name.startswith("fitbench-measure-")]
    env.pop(FAULT_ENV)
    done = subprocess.run([sys.executable, "-c", PARENT.format(fast=FAST), str(conv_path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp.iterdir() if p.name.startswith("fitbench-")] == []


def test_stale_folders_of_live_processes_are_kept(tmp_path):
    from fitbench.tempdirs import remove_stale

    live = tmp_path / f"fitbench-measure-{os.getpid()}-abc"
    dead_pid = 2**22 + 12345  # above the default pid_max range of 4194304: no such process
    dead = tmp_path / f"fitbench-measure-{dead_pid}-abc"
    live.mkdir()
    dead.mkdir()
    (dead / "job.pkl").write_bytes(b"x")
    assert remove_stale("fitbench-measure-", str(tmp_path)) == [str(dead)]
    assert live.exists() and not dead.exists()
