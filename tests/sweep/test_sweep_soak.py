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


def _snapshot(db: str, sweep_id: str) -> dict[str, tuple]:
    try:
        store = open_store(db, create=False)
    except StoreError:  # killed before it created the database or its tables
        return {}
    with store:
        return {r.point_key: (r.id, r.status, r.attempts, r.finished_at, repr(sorted(r.metrics.items())))
                for r in store.query(sweep_id=sweep_id)}


def _count(db: str, sweep_id: str) -> int:
    """Rows of the sweep stored so far, read without fitbench (cheap enough to poll every 10 ms)."""
    try:
        if "://" in db:
            import psycopg

            with psycopg.connect(db, autocommit=True) as con:
                return con.execute("select count(*) from fitbench_results where sweep_id = %s",
                                   (sweep_id,)).fetchone()[0]
        import sqlite3

        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return con.execute("select count(*) from fitbench_results where sweep_id = ?", (sweep_id,)).fetchone()[0]
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - not created yet
        return 0


def assert_complete(db: str, sweep_id: str, n_points: int) -> None:
    """After the last resume: one row per point (nothing lost or duplicated), each ``ok`` at its first attempt."""
    final = _snapshot(db, sweep_id)
    assert len(final) == n_points  # nothing lost; one row per point: nothing duplicated
    assert {row[1] for row in final.values()} == {"ok"} and {row[2] for row in final.values()} == {1}
    with open_store(db, create=False) as store:
        assert store.count(sweep_id=sweep_id) == n_points


def _measurement_child(proc: subprocess.Popen) -> psutil.Process | None:
    """The sweep's measurement child (``python -m fitbench.measure.worker``), while one runs."""
    try:
        for kid in psutil.Process(proc.pid).children(recursive=True):
            if "fitbench.measure.worker" in " ".join(kid.cmdline()):
                return kid
    except psutil.Error:
        pass
    return None


def _kill_and_resume(argv: list[str], env: dict[str, str], db: str, sweep_id: str, n_points: int, kills: int,
                     rng: random.Random, during_measurement: bool) -> dict[str, int]:
    """Run the sweep, SIGKILL it ``kills`` times (``--resume`` after each), then let it finish; after every run
    check that nothing stored before was lost or changed. A kill lands once the run has stored a random 1-3
    new points, or (``during_measurement``) a random 0-0.5 s after its measurement child started (a quick
    measurement takes over 1.25 s: its warm-up and timed run). Returns how many kills landed where."""
    seen: dict[str, tuple] = {}
    killed = mid_sweep = in_measurement = 0
    for attempt in range(kills + 20):
        argv_run = [*argv, "--resume"] if attempt else argv
        proc = subprocess.Popen(argv_run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if killed < kills:
            deadline = time.monotonic() + 60
            if during_measurement:
                while proc.poll() is None and _measurement_child(proc) is None and time.monotonic() < deadline:
                    time.sleep(0.01)
            else:
                target = len(seen) + rng.randint(1, 3)
                while proc.poll() is None and _count(db, sweep_id) < target and time.monotonic() < deadline:
                    time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.5 if during_measurement else 0.05))
            if proc.poll() is None:
                kids = psutil.Process(proc.pid).children(recursive=True)
                measuring = _measurement_child(proc) is not None
                os.kill(proc.pid, signal.SIGKILL)
                killed += 1
                in_measurement += measuring
                proc.wait(timeout=30)
                gone, alive = psutil.wait_procs(kids, timeout=10)  # the child dies with its parent
                assert alive == [], [p.cmdline() for p in alive]
            else:
                proc.communicate(timeout=60)
        else:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        now = _snapshot(db, sweep_id)
        mid_sweep += killed and proc.returncode == -signal.SIGKILL and 0 < len(now) - len(seen) < n_points
        for key, row in seen.items():  # nothing committed is lost or changed
            assert now.get(key) == row, key
        seen = now
        if killed >= kills and proc.returncode == 0 and len(now) == n_points:
            break
    assert killed == kills
    assert_complete(db, sweep_id, n_points)
    return {"mid_sweep": mid_sweep, "in_measurement": in_measurement}


def test_sigkilled_sweep_resumes_losing_duplicating_and_changing_nothing(db_url, tmp_path):
    """Two sweeps into one database: 32 profile points killed between stored points, then 2 quick measurements
    (the smallest zoo model, ONNX Runtime, 1 thread) each killed while its measurement child runs."""
    sweep_kinds.conv_chain(tmp_path / "c.onnx", layers=40, channels=8)
    profile = {"name": "soak", "kinds": "profile", "batch": BATCHES, "precision": ["fp32", "int8"],
               "models": [{"path": "c.onnx", "inputs": [{"x": s} for s in SIZES]}]}
    measure = {"name": "soak-measure", "kinds": "measure", "batch": [1, 2], "models": ["tiny"],
               "runtime": "onnxruntime", "options": {"measure": {"quick": True, "threads": 1}}}
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": SRC, "TMPDIR": str(tmp)}
    rng = random.Random(13)
    for data, n_points, kills, during_measurement in ((profile, len(BATCHES) * 2 * len(SIZES), KILLS, False),
                                                      (measure, 2, 2, True)):
        path = tmp_path / f"{data['name']}.yaml"
        path.write_text(yaml.safe_dump(data))
        argv = [sys.executable, "-m", "fitbench.cli.app", "sweep", str(path), "--db", db_url, "-q"]
        landed = _kill_and_resume(argv, env, db_url, data["name"], n_points, kills, rng, during_measurement)
        if during_measurement:
            assert landed["in_measurement"] == kills  # each kill ended a running measurement child
        else:
            assert landed["mid_sweep"] >= 2  # at least two kills landed between stored points
    assert _snapshot(db_url, "soak") and len(_snapshot(db_url, "soak")) == len(BATCHES) * 2 * len(SIZES)
    # the sweeps, their measurement children (whose job files lie in TMPDIR) and whatever those started
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
    assert [p.name for p in tmp.iterdir() if p.name.startswith("fitbench-")] == []
