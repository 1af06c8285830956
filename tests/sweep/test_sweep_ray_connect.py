"""An unreachable Ray cluster is refused within a bounded time, before anything is stored.

``ray.init(address=...)`` retries an unreachable GCS for minutes; the Ray executor probes the address with
a TCP connection first and bounds ``ray.init`` by the same deadline. No cluster is started here: a closed
port is refused, and a listening socket that never answers stands in for a GCS that does not reply.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sweep_kinds
import typer
import yaml
from typer.testing import CliRunner

from fitbench.cli import sweep as sweep_cli
from fitbench.sweep import parse_sweep, run_sweep
from fitbench.sweep.executors import ray as ray_ex
from fitbench.sweep.executors.ray import RayConnectError, RayExecutor

ray = pytest.importorskip("ray")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port():
    """A port that accepts TCP connections and never says a word (like a GCS that does not answer)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.fixture
def no_ray_init(monkeypatch):
    """ray.init must not be reached: the probe refuses first."""
    calls = []
    monkeypatch.setattr(ray, "init", lambda *a, **k: calls.append(a) or pytest.fail("ray.init was called"))
    return calls


@pytest.fixture
def stored(tmp_path):
    """A database already holding a finished sweep (4 profile points); returns (path, spec dict)."""
    sweep_kinds.conv_chain(tmp_path / "chain.onnx", layers=2, channels=4)
    data = {"name": "kept", "kinds": "profile", "batch": [1, 2], "precision": ["int8", "fp32"],
            "models": [{"path": "chain.onnx", "inputs": [{"x": "1x3x8x8"}]}]}  # fmt: skip
    db = tmp_path / "r.db"
    summary = run_sweep(parse_sweep(data, base_dir=tmp_path), db)
    assert summary.ok == 2 * 2  # batches x precisions
    return db, data


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        results = con.execute("select sweep_id, point_key, status, metrics from fitbench_results order by id")
        sweeps = con.execute("select sweep_id, n_points from fitbench_sweeps order by sweep_id")
        return [*results.fetchall(), *sweeps.fetchall()]


def test_a_closed_port_is_refused_at_once_and_nothing_is_stored(tmp_path, stored, no_ray_init):
    db, data = stored
    before = _rows(db)
    address = f"127.0.0.1:{_closed_port()}"
    spec = parse_sweep({**data, "name": "other"}, base_dir=tmp_path)
    t0 = time.monotonic()
    with pytest.raises(RayConnectError, match=f"^cannot connect to the Ray cluster at {address}: "):
        run_sweep(spec, db, executor=RayExecutor(address=address, connect_timeout_s=15))
    assert time.monotonic() - t0 < 5  # refused at once, not after the 15 s timeout
    assert _rows(db) == before  # no sweep "other" registered, nothing lost
    assert not ray.is_initialized()


def test_a_missing_database_is_not_created_when_ray_is_unreachable(tmp_path, no_ray_init):
    spec = parse_sweep({"name": "m", "kinds": "profile", "models": ["x.onnx"]}, base_dir=tmp_path)
    with pytest.raises(RayConnectError):
        run_sweep(spec, tmp_path / "new.db", check=False,
                  executor=RayExecutor(address=f"127.0.0.1:{_closed_port()}"))  # fmt: skip
    assert not (tmp_path / "new.db").exists()


def test_a_silent_cluster_is_given_up_after_the_timeout(tmp_path, silent_port, monkeypatch):
    """The TCP probe passes; ray.init would wait for minutes (here: until released) -> bounded by 1 s."""
    release = threading.Event()
    seen = []

    def hanging_init(address=None, **kwargs):
        seen.append(address)
        release.wait(60)

    monkeypatch.setattr(ray, "init", hanging_init)
    address = f"127.0.0.1:{silent_port}"
    spec = parse_sweep({"name": "m", "kinds": "profile", "models": ["x.onnx"]}, base_dir=tmp_path)
    t0 = time.monotonic()
    try:
        with pytest.raises(RayConnectError, match=r"at 127\.0\.0\.1:\d+: Ray did not connect within 1 s"):
            run_sweep(spec, tmp_path / "r.db", check=False,
                      executor=RayExecutor(address=address, connect_timeout_s=1))  # fmt: skip
        elapsed = time.monotonic() - t0
    finally:
        release.set()
    assert seen == [address]
    assert 1 <= elapsed < 4
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize("error", [ConnectionError("no GCS here"), RuntimeError("no GCS here"),
                                   TimeoutError("no GCS here")])  # fmt: skip
def test_an_error_from_ray_init_is_one_connect_error(tmp_path, silent_port, monkeypatch, error):
    def failing_init(address=None, **kwargs):
        raise error

    monkeypatch.setattr(ray, "init", failing_init)
    ex = RayExecutor(address=f"127.0.0.1:{silent_port}", connect_timeout_s=5)
    with pytest.raises(RayConnectError, match=rf"^cannot connect to the Ray cluster at 127\.0\.0\.1:{silent_port}: "
                                              r"no GCS here$"):  # fmt: skip
        ex.check()


def test_auto_follows_RAY_ADDRESS(monkeypatch, no_ray_init):
    port = _closed_port()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(RayConnectError, match=f"at auto \\(127.0.0.1:{port}\\): "):
        RayExecutor(address="auto").check()


def test_a_ray_client_address_is_probed_too(no_ray_init):
    port = _closed_port()
    with pytest.raises(RayConnectError, match=f"at ray://127.0.0.1:{port} \\(127.0.0.1:{port}\\): "):
        RayExecutor(address=f"ray://127.0.0.1:{port}").check()


@pytest.mark.parametrize("address,expected", [
    ("10.1.2.3:6379", ("10.1.2.3", 6379)),
    ("head.example:6380", ("head.example", 6380)),
    ("[::1]:6379", ("::1", 6379)),
    ("ray://10.1.2.3:10001", ("10.1.2.3", 10001)),
    ("ray://head:10001/extra", ("head", 10001)),
])  # fmt: skip
def test_host_and_port_of_an_address(address, expected):
    assert ray_ex._host_port(address) == expected


@pytest.mark.parametrize("address", ["bogus", "host:", ":6379", "host:0", "host:65536", "host:63x9", "ray://"])
def test_a_malformed_address_is_refused(address):
    with pytest.raises(RayConnectError, match="bad Ray address"):
        ray_ex._host_port(address)


@pytest.mark.parametrize("env,expected", [
    (None, ray_ex.DEFAULT_CONNECT_TIMEOUT_S),
    ("", ray_ex.DEFAULT_CONNECT_TIMEOUT_S),
    ("2.5", 2.5),
    (" 30 ", 30.0),
])  # fmt: skip
def test_the_timeout_comes_from_the_environment(monkeypatch, env, expected):
    if env is None:
        monkeypatch.delenv(ray_ex.CONNECT_TIMEOUT_ENV, raising=False)
    else:
        monkeypatch.setenv(ray_ex.CONNECT_TIMEOUT_ENV, env)
    assert ray_ex.connect_timeout_s() == expected
    assert ray_ex.connect_timeout_s(7) == 7.0  # an explicit value wins


@pytest.mark.parametrize("env", ["soon", "0", "-3", "inf", "nan"])
def test_a_bad_timeout_is_refused(monkeypatch, env):
    monkeypatch.setenv(ray_ex.CONNECT_TIMEOUT_ENV, env)
    with pytest.raises(ray_ex.FitbenchError, match="timeout|FITBENCH_RAY_CONNECT_TIMEOUT_S"):
        ray_ex.connect_timeout_s()


def _check_one_line(code: int, stderr: str, address: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: cannot connect to the Ray cluster at {address}"), stderr
    assert code == 2


def test_cli_one_line_exit_2(tmp_path, stored, no_ray_init):
    db, data = stored
    before = _rows(db)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({**data, "name": "other"}))
    app = typer.Typer()
    sweep_cli.register(app)
    address = f"127.0.0.1:{_closed_port()}"
    res = CliRunner().invoke(app, [str(tmp_path / "s.yaml"), "--db", str(db), "--executor", "ray",
                                   "--address", address, "-q"])  # fmt: skip
    _check_one_line(res.exit_code, res.stderr, address)
    assert _rows(db) == before


def test_real_entry_point_fails_fast(tmp_path, stored):
    """As a user runs it: ``fitbench sweep s.yaml --executor ray --address 127.0.0.1:PORT`` (a closed port)."""
    db, data = stored
    before = _rows(db)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({**data, "name": "other"}))
    address = f"127.0.0.1:{_closed_port()}"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("RAY_ADDRESS", None)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "fitbench.cli.app", "sweep", str(tmp_path / "s.yaml"), "--db",
                           str(db), "--executor", "ray", "--address", address], capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert time.monotonic() - t0 < 10
    _check_one_line(proc.returncode, proc.stderr, address)
    assert _rows(db) == before


def test_a_probe_that_times_out_names_the_wait(monkeypatch, no_ray_init):
    """A host that drops packets: the TCP connect gives up after the timeout (simulated: no such host here)."""
    waits = []

    def blackhole(where, timeout):
        waits.append((where, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(ray_ex.socket, "create_connection", blackhole)
    with pytest.raises(RayConnectError, match=r"at 10\.9\.9\.9:6379: no answer from 10\.9\.9\.9:6379 within 3 s"):
        RayExecutor(address="10.9.9.9:6379", connect_timeout_s=3).check()
    assert waits == [(("10.9.9.9", 6379), 3.0)]
