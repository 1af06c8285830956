"""Soak, CI-sized: a local sweep SIGKILLed at random moments N times, then resumed to the end, on SQLite and
PostgreSQL. Nothing committed is lost, duplicated or changed; no process and no ``fitbench-*`` temp folder
is left behind. (The seeds make the kill moments reproducible.)"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import sweep_kinds
import yaml

from fitbench.store import StoreError, open_store

SRC = str(Path(__file__).resolve().parents[2] / "src")
KILLS = 5
BATCHES = [1, 2, 3, 4, 5, 6, 7, 8]
SIZES = ["1x3x8x8", "1x3x16x16"]


def _snapshot(db: str) -> dict[str, tuple]:
    try:
        store = open_store(db, create=False)
    except StoreError:  # killed before it created the database or its tables
        return {}
    with store:
        return {r.point_key: (r.id, r.status, r.attempts, r.finished_at, repr(sorted(r.metrics.items())))
                for r in store.query(sweep_id="soak")}


def _count(db: str) -> int:
    """Rows stored so far, read without fitbench (cheap enough to poll every 10 ms)."""
    try:
        if "://" in db:
            import psycopg

            with psycopg.connect(db, autocommit=True) as con:
                return con.execute("select count(*) from fitbench_results").fetchone()[0]
        import sqlite3

        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return con.execute("select count(*) from fitbench_results").fetchone()[0]
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - not created yet
        return 0


def test_sigkilled_sweep_resumes_losing_duplicating_and_changing_nothing(db_url, tmp_path):
    sweep_kinds.conv_chain(tmp_path / "c.onnx", layers=40, channels=8)
    data = {"name": "soak", "kinds": "profile", "batch": BATCHES, "precision": ["fp32", "int8"],
            "models": [{"path": "c.onnx", "inputs": [{"x": s} for s in SIZES]}]}
    n_points = len(BATCHES) * 2 * len(SIZES)
    path = tmp_path / "soak.yaml"
    path.write_text(yaml.safe_dump(data))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": SRC, "TMPDIR": str(tmp)}
    argv = [sys.executable, "-m", "fitbench.cli.app", "sweep", str(path), "--db", db_url, "-q"]
    rng = random.Random(13)
    seen: dict[str, tuple] = {}
    killed = mid_sweep = 0
    for attempt in range(KILLS + 20):
        argv_run = [*argv, "--resume"] if attempt else argv
        proc = subprocess.Popen(argv_run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if killed < KILLS:
            # kill once this run has stored a random 1-3 new points (then a random few ms more)
            target = len(seen) + rng.randint(1, 3)
            deadline = time.monotonic() + 60
            while proc.poll() is None and _count(db_url) < target and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))
            if proc.poll() is None:
                kids = psutil.Process(proc.pid).children(recursive=True)
                os.kill(proc.pid, signal.SIGKILL)
                killed += 1
                proc.wait(timeout=30)
                psutil.wait_procs(kids, timeout=5)
            else:
                proc.communicate(timeout=60)
        else:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        now = _snapshot(db_url)
        mid_sweep += killed and proc.returncode == -signal.SIGKILL and 0 < len(now) - len(seen) < n_points
        for key, row in seen.items():  # nothing committed is lost or changed
            assert now.get(key) == row, key
        seen = now
        if killed >= KILLS and proc.returncode == 0 and len(now) == n_points:
            break
    assert killed == KILLS and mid_sweep >= 2  # at least two kills landed between stored points
    final = _snapshot(db_url)
    assert len(final) == n_points  # nothing lost; one row per point: nothing duplicated
    assert {row[1] for row in final.values()} == {"ok"} and {row[2] for row in final.values()} == {1}
    with open_store(db_url, create=False) as store:
        assert store.count(sweep_id="soak") == n_points
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
    assert [p.name for p in tmp.iterdir() if p.name.startswith("fitbench-")] == []
