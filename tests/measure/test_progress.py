"""Time-bounded runs, the forecast line, the progress bar and partial results (issue 14, part A)."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from measure_fast import FAST
from typer.testing import CliRunner

from fitbench.cli import progress as cli_progress
from fitbench.cli.app import _register, app
from fitbench.measure import measure
from fitbench.measure import progress as mp
from fitbench.measure.scenarios import forecast, offline_sample_count
from fitbench.measure.worker import FAULT_ENV

_register()
runner = CliRunner()
FAST_ARGS = ["--min-count", "20", "--min-duration", "0.3", "--warmup-count", "2", "--warmup", "0.05",
             "--threads", "1"]
#: the ``stall`` test hook hangs the inference call after this many timed runs (measure/worker.py)
STALL_AFTER = 20


def test_offline_is_sized_by_the_measured_rate_like_loadgen():
    # LoadGen: max(min_query_count, 1.1 x min duration x expected QPS)
    assert offline_sample_count(1, 10.0, 100.0) == 1100
    assert offline_sample_count(1, 10.0, 1 / 25.0) == 1  # a 25 s sample: one sample, not 1,024
    assert offline_sample_count(64, 1.0, 10.0) == 64
    # 1,024 queries at 0.2 s would take 204.8 s; the 70 s maximum stops it after 350
    assert forecast(0.2, 1024, 10.0, 70.0) == (350, pytest.approx(70.0))
    # a fast model: the minimum duration decides (10 s / 1 ms = 10,000 queries)
    assert forecast(1e-3, 1024, 10.0, 70.0) == (10000, pytest.approx(10.0))


def test_forecast_line_wording():
    fc = mp.Forecast(unit="samples", count=1024, per_unit_s=0.2, expected_s=204.8, quick_s=8.0)
    assert cli_progress.forecast_line(fc) == "≈ 3 min: 1,024 samples at ~0.2 s each; --quick for ~8 s"
    assert "--quick" not in cli_progress.forecast_line(mp.Forecast("queries", 10, 1.0, 10.0, quick_s=None))


def test_cli_shows_the_forecast_and_the_bar_final_state(conv_path, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_progress, "FORECAST_MIN_S", 0.0)  # this short run is "long" for the test
    out = tmp_path / "run.json"
    res = runner.invoke(app, ["run", str(conv_path), "--format", "json", "-o", str(out), *FAST_ARGS])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())[0]
    line = r"≈ ([\d.]+) s: ([\d,]+) queries at ~([\d.]+) (µs|ms) each(; --quick for ~[\d.]+ s)?$"
    m = re.search(line, res.stderr, re.M)
    assert m, res.stderr
    count, per = int(m.group(2).replace(",", "")), float(m.group(3)) * (1e-6 if m.group(4) == "µs" else 1e-3)
    # LoadGen's stopping rule: at least the 20 queries and 0.3 s asked for
    assert count >= 20 and count >= math.floor(0.3 / per * 0.9)
    # the bar ends "done" with the samples the result reports
    assert f"done, {data['samples']:,} samples" in res.stderr
    assert data["partial"] is None and data["conditions"]["plan"]["unit"] == "queries"


def test_json_to_stdout_and_quiet_show_no_progress(conv_path):
    res = runner.invoke(app, ["run", str(conv_path), "--format", "json", *FAST_ARGS])
    assert res.exit_code == 0 and res.stderr == ""
    json.loads(res.stdout)
    res = runner.invoke(app, ["run", str(conv_path), "-q", *FAST_ARGS])
    assert res.exit_code == 0 and res.stderr == ""


def test_timeout_keeps_the_samples_measured_so_far_as_partial_invalid(conv_path, tmp_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "stall")
    out = tmp_path / "run.json"
    t0 = time.monotonic()
    res = runner.invoke(app, ["run", str(conv_path), "--format", "json", "-o", str(out), "--timeout", "8",
                              *FAST_ARGS[:2], "--min-duration", "30", *FAST_ARGS[4:]])
    assert time.monotonic() - t0 < 8 + 15
    assert res.exit_code == 1, res.output  # no complete result
    d = json.loads(out.read_text())[0]
    assert d["status"] == "ok" and d["samples"] == STALL_AFTER
    assert d["partial"].startswith("timed out after 8 s")
    assert d["loadgen"]["result_validity"] == "INVALID"
    assert d["latency"]["count"] == STALL_AFTER and d["latency"]["p50_ms"] > 0
    assert any(w.startswith("partial result, INVALID") for w in d["warnings"])
    assert f"partial, {STALL_AFTER} samples" in res.stderr


def test_offline_stops_at_its_maximum_duration(conv_path):
    # timeout 20 s: the run's maximum is 0.8 x 20 - 0.05 = 15.95 s (4 s left for the child to start on a
    # loaded machine); 200,000 samples of 64 take far longer
    r = measure(conv_path, batch=64, scenario="offline", **{**FAST, "min_count": 200_000, "timeout_s": 20})
    assert r.status == "ok" and r.partial and r.partial.startswith("stopped at the maximum duration (15.9 s)")
    assert 0 < r.samples < 200_000 and r.loadgen["result_validity"] == "INVALID"
    assert r.wall_s == pytest.approx(15.95, abs=0.5)


def test_ctrl_c_returns_the_partial_result(conv_path, tmp_path):
    out = tmp_path / "run.json"
    env = {**os.environ, FAULT_ENV: "stall", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-m", "fitbench.cli.app", "run", str(conv_path), "--format", "json",
                             "-o", str(out), *FAST_ARGS[:2], "--min-duration", "30", *FAST_ARGS[4:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    kids: list = []
    while not kids and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        kids = _children(proc.pid)
    assert kids, "the measurement child never started"
    time.sleep(6)  # load, warm up, 20 timed runs, then the stall
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    d = json.loads(out.read_text())[0]
    assert d["partial"].startswith("interrupted (Ctrl-C)") and d["samples"] == STALL_AFTER
    time.sleep(0.5)
    assert not any(k.is_running() and k.status() != "zombie" for k in kids)  # the child died with the run


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
