"""The Ray executor on a local cluster (one cluster for the module: each start costs seconds)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import sweep_kinds

from fitbench.store import open_store
from fitbench.sweep import parse_sweep, run_sweep
from fitbench.sweep.executors.ray import RayExecutor, start_local_ray, stop_local_ray

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    tmp = tempfile.mkdtemp(prefix="fbray", dir="/tmp")  # short: Ray's unix sockets live here
    ray.cloudpickle.register_pickle_by_value(sweep_kinds)  # workers cannot import the test helpers
    start_local_ray(num_cpus=2, temp_dir=tmp)
    yield ray
    stop_local_ray()
    shutil.rmtree(tmp, ignore_errors=True)


def _comparable(r):
    cond = {k: v for k, v in r.conditions.items() if k != "ray"}
    return (r.kind, r.model, r.model_sha256, r.batch, r.precision, r.status, r.cause, r.metrics, cond)


def test_ray_gives_the_same_results_as_local(ray_cluster, tmp_path):
    for c in (4, 8):
        sweep_kinds.conv_chain(tmp_path / f"chain{c}.onnx", layers=3, channels=c)
    data = {"name": "same", "kinds": ["profile", "estimate", "synthetic"], "batch": [1, 2, 4],
            "precision": ["int8", "fp16"], "hardware": ["edge-npu-slow-dram", "nvidia-t4"],
            "models": [{"path": f"chain{c}.onnx", "inputs": [{"x": "1x3x16x16"}]} for c in (4, 8)]}  # fmt: skip
    spec = parse_sweep(data, base_dir=tmp_path)
    local = run_sweep(spec, tmp_path / "local.db")
    remote = run_sweep(spec, tmp_path / "ray.db", executor=RayExecutor(chunk_size=2))
    n = 2 * 3 * 2 * (1 + 2 + 1)  # models x batches x precisions x (profile + 2 hardware + synthetic)
    assert (local.ok, remote.ok, remote.failed) == (n, n, 0)
    a = {r.point_key: r for r in open_store(tmp_path / "local.db").query()}
    b = {r.point_key: r for r in open_store(tmp_path / "ray.db").query()}
    assert a.keys() == b.keys()
    for key, r in a.items():
        if r.kind == "synthetic":  # its conditions hold the pid and times; compare the values
            assert r.metrics == b[key].metrics
        else:
            assert _comparable(r) == _comparable(b[key])
    assert {r.node for r in b.values()} == {socket.gethostname()}
    assert all(len(r.conditions["ray"]["node_id"]) > 0 for r in b.values())


def test_killed_worker_task_is_retried_and_the_sweep_completes(ray_cluster, tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    spec = parse_sweep({"name": "kill", "kinds": "synthetic", "models": ["m"], "batch": [1, 2, 3, 4],
                        "options": {"synthetic": {"sleep_s": 1.5, "pid_dir": str(pids)}}})  # fmt: skip
    killed: list[tuple[str, int]] = []

    def killer():
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            markers = list(pids.iterdir())
            if markers:
                key, pid = markers[0].name.rsplit("-", 1)
                os.kill(int(pid), signal.SIGKILL)  # the worker process dies mid-task
                killed.append((key, int(pid)))
            time.sleep(0.01)

    thread = threading.Thread(target=killer)
    thread.start()
    summary = run_sweep(spec, tmp_path / "r.db", executor=RayExecutor(chunk_size=1, max_retries=3))
    thread.join()
    assert killed, "no task was seen running"
    assert (summary.ok, summary.failed) == (4, 0)
    rows = open_store(tmp_path / "r.db").query(sweep_id="kill")
    assert sorted(r.metrics["value"] for r in rows) == [b * 1 * 4 for b in (1, 2, 3, 4)]  # fp32: 4 bytes
    key, pid = killed[0]
    attempts = [m.name for m in pids.iterdir() if m.name.startswith(key)]
    assert len(attempts) >= 2  # the killed task ran again
    assert pid not in {r.conditions["pid"] for r in rows}


def test_measurements_never_overlap_on_a_node(ray_cluster, tmp_path):
    spec = parse_sweep({"name": "meas", "kinds": "synthetic-isolated", "models": ["m"], "batch": [1, 2, 3],
                        "options": {"synthetic-isolated": {"sleep_s": 0.4}}})  # fmt: skip
    summary = run_sweep(spec, tmp_path / "r.db", executor=RayExecutor())
    assert summary.ok == 3
    rows = open_store(tmp_path / "r.db").query(sweep_id="meas")
    spans = sorted((r.conditions["start"], r.conditions["end"]) for r in rows)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans  # 2 CPUs, yet one at a time
    assert {r.node for r in rows} == {socket.gethostname()}


def test_cluster_without_measurement_slots_is_refused(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 8.0})
    spec = parse_sweep({"name": "m", "kinds": "synthetic-isolated", "models": ["m"]})
    from fitbench.errors import FitbenchError

    with pytest.raises(FitbenchError, match="no 'fitbench_measure_slot' resource"):
        run_sweep(spec, tmp_path / "r.db", executor=RayExecutor(address="auto"))
    assert Path(tmp_path / "r.db").exists()
