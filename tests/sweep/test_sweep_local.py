"""The local executor and the sweep runner: storing, failures, resume, Ctrl-C, isolation, caching."""

from __future__ import annotations

import os
import socket
import sys
import types

import pytest
import sweep_kinds

from fitbench.store import open_store
from fitbench.sweep import Point, PointContext, SweepError, SweepInterrupted, parse_sweep, run_sweep
from fitbench.sweep.executors.local import LocalExecutor

LAYERS, CHANNELS = 3, 4


@pytest.fixture
def chains(tmp_path):
    return [sweep_kinds.conv_chain(tmp_path / f"chain{c}.onnx", LAYERS, c) for c in (4, 8)]


def test_profile_sweep_stores_every_point_with_its_values(db_url, tmp_path):
    for c in (4, 8):
        sweep_kinds.conv_chain(tmp_path / f"chain{c}.onnx", LAYERS, c)
    spec = parse_sweep(
        {"name": "prof", "kinds": "profile", "precision": ["int8", "fp32"], "batch": [1, 3],
         "models": [{"path": f"chain{c}.onnx", "inputs": [{"x": "1x3x8x8"}, {"x": "1x3x16x12"}]} for c in (4, 8)]},
        base_dir=tmp_path,
    )  # fmt: skip
    summary = run_sweep(spec, db_url)
    assert (summary.total, summary.ran, summary.ok, summary.failed) == (2 * 2 * 2 * 2, 16, 16, 0)
    rows = open_store(db_url).query(sweep_id="prof")
    assert len(rows) == 16
    for r in rows:
        c = int(r.model.removeprefix("chain"))
        h, w = r.conditions["point"]["model"]["inputs"]["x"].split("x")[2:]
        assert r.metrics["macs"] == sweep_kinds.conv_chain_macs(LAYERS, c, r.batch, int(h), int(w))
        assert r.metrics["weight_bytes"] == (c * 3 * 9 + (LAYERS - 1) * c * c * 9) * {"int8": 1, "fp32": 4}[r.precision]
        assert r.conditions["input_shapes"]["x"] == [r.batch, 3, int(h), int(w)]
        assert len(r.model_sha256) == 64 and r.node == socket.gethostname() and r.status == "ok"


def test_resume_skips_ok_points_and_retry_failed_reruns_failed(tmp_path):
    db = tmp_path / "r.db"
    flag = tmp_path / "flag"
    flag.write_text("fail while this exists")
    data = {"name": "r", "kinds": "synthetic", "batch": [1, 2, 3], "precision": ["int8", "fp16"],
            "models": [{"zoo": "good", "params": {"scale": 5}},
                       {"zoo": "flaky", "params": {"scale": 7}}]}  # fmt: skip
    good = parse_sweep(data)
    flaky_opts = {**data, "options": {"synthetic": {"flag_file": str(flag)}}}
    spec = parse_sweep(flaky_opts)
    s1 = run_sweep(spec, db)
    assert (s1.ran, s1.ok, s1.failed) == (12, 0, 12)  # every point sees the flag
    assert "RuntimeError: flag file present" in s1.failures[0][1]
    with pytest.raises(SweepError, match="already has 12 results"):
        run_sweep(spec, db)
    assert run_sweep(spec, db, resume=True).ran == 0  # failed points stay failed without --retry-failed
    flag.unlink()
    s3 = run_sweep(spec, db, resume=True, retry_failed=True)
    assert (s3.ran, s3.ok, s3.failed) == (12, 12, 0)
    rows = open_store(db).query(sweep_id="r")
    assert len(rows) == 12 and {r.attempts for r in rows} == {2}
    assert sorted(r.metrics["value"] for r in rows) == sorted(
        b * s * nbytes for b in (1, 2, 3) for nbytes in (1, 2) for s in (5, 7)
    )
    # a grown grid: only the new points run
    bigger = parse_sweep({**flaky_opts, "batch": [1, 2, 3, 4]})
    s4 = run_sweep(bigger, db, resume=True)
    assert (s4.total, s4.skipped, s4.ran) == (16, 12, 4)
    assert len(good.expand()) == 12


def test_failed_engine_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = parse_sweep({"name": "f", "kinds": "synthetic", "models": ["ok1", "fail-me", "ok2"], "batch": [1, 2]})
    s = run_sweep(spec, tmp_path / "r.db")
    assert (s.ok, s.failed) == (4, 2)
    failed = open_store(tmp_path / "r.db").query(status="failed")
    assert {r.model for r in failed} == {"fail-me"}
    assert all(r.cause == "ValueError: synthetic failure of fail-me" for r in failed)


def test_ctrl_c_keeps_finished_points_and_discards_the_running_one(tmp_path):
    db = tmp_path / "r.db"
    data = {"name": "c", "kinds": "synthetic", "models": ["m"], "batch": [1, 2, 3, 4, 5]}
    spec = parse_sweep({**data, "options": {"synthetic": {"sigint_at_batch": 3}}})
    with pytest.raises(SweepInterrupted) as info:
        run_sweep(spec, db)
    assert info.value.summary.ran == 2
    store = open_store(db)
    assert sorted(r.batch for r in store.query(sweep_id="c")) == [1, 2]  # batch 3 was running: not stored
    resumed = parse_sweep({**data, "options": {"synthetic": {"sigint_at_batch": 99}}, "name": "c2"})
    assert run_sweep(resumed, db).ran == 5
    # resuming the interrupted sweep itself runs exactly the missing points (the interrupt is now past)
    spec_again = parse_sweep({**data, "options": {"synthetic": {"sigint_at_batch": 3}}})
    keys = {p.key: p.batch for p in spec_again.expand()}
    stored = store.point_statuses("c")
    assert sorted(keys[k] for k in keys if k not in stored) == [3, 4, 5]


@pytest.mark.slow
def test_isolated_points_run_in_children_one_at_a_time(tmp_path):
    spec = parse_sweep({"name": "iso", "kinds": "synthetic-isolated", "models": ["m", "crash-me"], "batch": [1, 2]})
    s = run_sweep(spec, tmp_path / "r.db")
    assert (s.ok, s.failed) == (2, 2)
    rows = open_store(tmp_path / "r.db").query(sweep_id="iso")
    ok = [r for r in rows if r.status == "ok"]
    assert all(r.conditions["pid"] != os.getpid() for r in ok)
    assert len({r.conditions["pid"] for r in ok}) == 2  # a fresh child per point
    spans = sorted((r.conditions["start"], r.conditions["end"]) for r in ok)
    assert spans[0][1] <= spans[1][0]  # never two at once
    crashed = [r for r in rows if r.status == "failed"]
    assert {r.cause for r in crashed} == {"child process died (exit code 3) without a result"}


def test_profile_cache_profiles_each_model_once_per_precision(tmp_path, chains):
    ctx = PointContext()
    model = {"name": "chain4", "path": str(chains[0]), "params": {}, "inputs": {"x": "1x3x8x8"}}
    points = [Point("estimate", model, b, p, hardware={"name": h}) for b in (1, 2, 4) for p in ("int8", "fp32")
              for h in ("h1", "h2")]  # fmt: skip
    profiles = {(pt.precision, id(ctx.profile(pt, batch=1))) for pt in points}
    assert ctx.profile_calls == 2 and len(profiles) == 2
    assert {ctx.profile(pt).conditions.batch for pt in points} == {1, 2, 4}  # at the point's batch
    assert ctx.profile_calls == 2 + 2 * 2  # batches 2 and 4 are new, batch 1 was cached


def test_estimate_kind_profiles_once_and_passes_the_batch(tmp_path, chains, monkeypatch):
    """The estimate kind with a stand-in estimator (the real one is tested with the estimator)."""
    calls = []

    class Est:
        def __init__(self, macs, batch, hw):
            self.d = {"latency_s": batch[0] * macs / hw["macs_per_s"], "batch": batch}

        def to_dict(self):
            return self.d

    def estimate(profile, hw, batch):
        calls.append((profile.conditions.batch, tuple(batch)))
        return Est(profile.totals.macs, batch, hw)

    monkeypatch.setitem(sys.modules, "fitbench.hardware.estimator", types.SimpleNamespace(estimate=estimate))
    speeds = {"fast": 1e12, "slow": 1e9}
    hw_module = types.SimpleNamespace(load_hardware=lambda name: {"macs_per_s": speeds[name]})
    monkeypatch.setitem(sys.modules, "fitbench.hardware.spec", hw_module)
    model = {"path": str(chains[0]), "inputs": [{"x": "1x3x8x8"}]}
    spec = parse_sweep(
        {"name": "e", "kinds": "estimate", "models": [model], "batch": [1, 2, 4], "precision": ["int8"],
         "hardware": ["fast", "slow"]}
    )  # fmt: skip
    ex = LocalExecutor()
    s = run_sweep(spec, tmp_path / "r.db", executor=ex)
    assert (s.ok, ex.ctx.profile_calls) == (3 * 2, 1)
    assert sorted(calls) == sorted((1, (b,)) for b in (1, 2, 4) for _ in range(2))
    macs = sweep_kinds.conv_chain_macs(LAYERS, 4, 1, 8, 8)
    for r in open_store(tmp_path / "r.db").query(sweep_id="e"):
        assert r.metrics["latency_s"] == pytest.approx(r.batch * macs / {"fast": 1e12, "slow": 1e9}[r.hardware])
