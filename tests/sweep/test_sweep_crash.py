"""SIGKILL a sweep mid-way, resume it: every point stored exactly once, values equal an uninterrupted run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sweep_kinds
import yaml

from fitbench.store import open_store
from fitbench.sweep import load_sweep, parse_sweep, run_sweep

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM fitbench_results").fetchone()[0]
    except sqlite3.Error:
        return 0


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "fitbench.cli.app", "sweep", *args, "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.mark.slow
def test_sigkill_then_resume_stores_every_point_exactly_once(tmp_path):
    for c in (4, 6, 8, 10):  # 12 conv layers each: a few ms per profile, the real engine
        sweep_kinds.conv_chain(tmp_path / f"chain{c}.onnx", layers=12, channels=c)
    data = {"name": "crash", "kinds": "profile", "precision": ["int8", "fp16"], "batch": list(range(1, 27)),
            "models": [{"path": f"chain{c}.onnx", "inputs": [{"x": "1x3x32x32"}]} for c in (4, 6, 8, 10)]}  # fmt: skip
    (tmp_path / "crash.yaml").write_text(yaml.safe_dump(data))
    points = load_sweep(tmp_path / "crash.yaml").expand()
    assert len(points) == 4 * 26 * 2 >= 200
    db = tmp_path / "crash.db"

    proc = _cli(str(tmp_path / "crash.yaml"), "--db", str(db))
    deadline = time.monotonic() + 120
    while _count(db) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    stored_at_kill = _count(db)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert 20 <= stored_at_kill < len(points), "the kill must land mid-way"

    resumed = _cli(str(tmp_path / "crash.yaml"), "--db", str(db), "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"{len(points)} points, {stored_at_kill} already stored, ran {len(points) - stored_at_kill}" in out

    rows = open_store(db).query(sweep_id="crash")
    keys = [r.point_key for r in rows]
    assert len(keys) == len(set(keys)) == len(points)  # each point exactly once
    assert set(keys) == {p.key for p in points}
    assert {r.status for r in rows} == {"ok"} and {r.attempts for r in rows} == {1}

    # the same grid, uninterrupted, in-process
    ref_db = tmp_path / "ref.db"
    run_sweep(parse_sweep(data, base_dir=tmp_path), ref_db)
    reference = {r.point_key: r for r in open_store(ref_db).query(sweep_id="crash")}
    for r in rows:
        assert r.metrics == reference[r.point_key].metrics
        assert r.model_sha256 == reference[r.point_key].model_sha256
