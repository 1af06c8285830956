"""Soak on Ray, CI-sized: a ``--executor ray`` sweep (its own local cluster) SIGKILLed at random moments N times,
then resumed to the end. Nothing committed is lost, duplicated or changed; after each kill no Ray process the
sweep started is left (GCS, raylet, agents, workers: they carry the driver's marker, and everything that
inherited the test's own TMPDIR is checked) and no ``fitbench-*`` temp folder. The seed makes the kill moments
reproducible."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import sweep_kinds
import yaml
from test_sweep_soak import _count, _snapshot, assert_complete

pytestmark = [pytest.mark.ray, pytest.mark.slow]
pytest.importorskip("ray")

SRC = str(Path(__file__).resolve().parents[2] / "src")
KILLS = 3
BATCHES = list(range(1, 41))  # 80 points: enough that a resumed sweep is still running at its next kill


def _ours(tmp: str) -> list[psutil.Process]:
    """Processes whose environment has TMPDIR=tmp: the sweep and everything it started (Ray processes keep
    the environment they were started with, whatever they rename themselves to)."""
    needle = f"TMPDIR={tmp}".encode()
    out = []
    for p in psutil.process_iter():
        try:
            with open(f"/proc/{p.pid}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    out.append(p)
        except OSError:
            continue
    return out


def _gone(tmp: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for p in _ours(tmp):
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
            except psutil.Error:
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def test_sigkilled_ray_sweep_resumes_losing_duplicating_and_changing_nothing(tmp_path):
    sweep_kinds.conv_chain(tmp_path / "c.onnx", layers=40, channels=8)
    data = {"name": "soak", "kinds": "profile", "batch": BATCHES, "precision": ["fp32", "int8"],
            "models": [{"path": "c.onnx", "inputs": [{"x": "1x3x8x8"}]}]}
    n_points = len(BATCHES) * 2
    path = tmp_path / "soak.yaml"
    path.write_text(yaml.safe_dump(data))
    db = str(tmp_path / "r.db")
    tmp = tempfile.mkdtemp(prefix="fbsoak", dir="/tmp")  # short: Ray's unix sockets live under it
    try:
        env = {**os.environ, "PYTHONPATH": SRC, "TMPDIR": tmp}
        argv = [sys.executable, "-m", "fitbench.cli.app", "sweep", str(path), "--db", db, "-q", "-x", "ray"]
        rng = random.Random(13)
        seen: dict[str, tuple] = {}
        killed = 0
        for attempt in range(KILLS + 6):
            argv_run = [*argv, "--resume"] if attempt else argv
            proc = subprocess.Popen(argv_run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if killed < KILLS:
                # kill while Ray is starting (first round) or once 1-2 new points are stored, then a few ms more
                target = len(seen) + (0 if killed == 0 else rng.randint(1, 2))
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline and (
                        _count(db, "soak") < target or (target == len(seen) and len(_ours(tmp)) < 4)):
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 0.2))
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed += 1
                proc.communicate(timeout=60)
                assert _gone(tmp, timeout=40) == []  # the driver's death took every Ray process with it
            else:
                out, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, err
            now = _snapshot(db, "soak")
            for key, row in seen.items():  # nothing committed is lost or changed
                assert now.get(key) == row, key
            seen = now
            if killed >= KILLS and proc.returncode == 0 and len(now) == n_points:
                break
        assert killed == KILLS
        assert_complete(db, "soak", n_points)
        assert _gone(tmp, timeout=20) == []
        assert os.listdir(tmp) == []  # no fitbench-* folder, no Ray session folder
    finally:
        for p in _ours(tmp):
            try:
                p.kill()
            except psutil.Error:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
