"""Hostile sweep files: tiny inputs that used to grow without bound (alias bombs, 10^9-point grids).

Each case runs the real CLI in a subprocess with a timeout, so a regression fails fast instead of hanging or
being OOM-killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

SRC = str(Path(__file__).resolve().parents[2] / "src")


def billion_laughs(levels: int = 9) -> str:
    """A sweep whose options hold 9 nested levels of 9 aliases each: 9^9 (387 million) strings once expanded."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "kinds: profile\nmodels: [resnet18]\noptions:\n  profile:\n    " + "\n    ".join(lines) + "\n"


def huge_grid() -> str:
    """1000 x 1000 x 1000 zoo parameter values: 10^9 points from a 12 KB file."""
    values = "[" + ", ".join(str(i) for i in range(1000)) + "]"
    return f"kinds: profile\nmodels:\n  - zoo: resnet18\n    grid: {{a: {values}, b: {values}, c: {values}}}\n"


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "fitbench.cli.app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _one_line(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert fragment in lines[0]


@pytest.mark.parametrize("dry", [["--dry-run"], ["-q"]])
def test_alias_bomb_is_refused_in_one_line(tmp_path, dry):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    assert path.stat().st_size < 1_000
    _one_line(_cli("sweep", str(path), "--db", str(tmp_path / "r.db"), *dry), "nested aliases")
    assert not (tmp_path / "r.db").exists()


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "rec.yaml"
    path.write_text("kinds: profile\nmodels: [resnet18]\noptions:\n  profile: &a {x: *a}\n")
    _one_line(_cli("sweep", str(path), "--dry-run"), "recursive")


def test_hardware_spec_alias_bomb_is_refused(tmp_path):
    path = tmp_path / "chip.yaml"
    path.write_text(billion_laughs().replace("kinds: profile\nmodels: [resnet18]\n", "name: x\n"))
    _one_line(_cli("hw", "show", str(path)), "nested aliases")


def test_oversized_yaml_is_refused_before_reading(tmp_path):
    from fitbench.yaml_file import MAX_BYTES

    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: refused on its size, never read
    _one_line(_cli("sweep", str(path), "--dry-run"), "MiB")


def test_a_few_aliases_still_work(tmp_path):
    from fitbench.yaml_file import load_bounded

    text = "base: &b {quick: true}\nmeasure: *b\nprofile: {<<: *b, keep_layers: false}\n"
    assert load_bounded(text) == {"base": {"quick": True}, "measure": {"quick": True},
                                  "profile": {"quick": True, "keep_layers": False}}


def test_billion_point_grid_is_refused_before_expansion(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(huge_grid())
    proc = _cli("sweep", str(path), "--dry-run", timeout=30)
    _one_line(proc, "1,000,000,000 points")
    assert "--yes" in proc.stderr


def test_yes_runs_past_the_limit(tmp_path, monkeypatch):
    """Below the limit nothing changes; above it --yes lets the grid through (limit lowered to 3 here)."""
    from fitbench.cli import sweep as sweep_cli
    from fitbench.sweep import spec as spec_mod

    monkeypatch.setattr(spec_mod, "MAX_POINTS", 3)
    path = tmp_path / "g.yaml"
    path.write_text("name: g\nkinds: profile\nmodels: [resnet18]\nbatch: [1, 2, 4, 8]\n")  # 4 points
    app = typer.Typer()
    sweep_cli.register(app)
    app.command("noop")(lambda: None)
    refused = CliRunner().invoke(app, ["sweep", str(path), "--dry-run"])
    assert refused.exit_code == 2 and "4 points, more than the 3 allowed" in refused.stderr
    allowed = CliRunner().invoke(app, ["sweep", str(path), "--dry-run", "--yes"])
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout.strip().splitlines()[-1] == "sweep 'g': 4 points (profile 4); 4 to run"


@pytest.mark.parametrize("label", ["n" * 300, "nul\x00label"], ids=["long-label", "nul-label"])
def test_one_unstorable_label_fails_its_point_not_the_sweep(db_url, tmp_path, label):
    """On PostgreSQL one bad string used to abort the sweep (every remaining point lost)."""
    import sweep_kinds
    import yaml

    from fitbench.store import open_store
    from fitbench.sweep import run_sweep

    sweep_kinds.conv_chain(tmp_path / "c.onnx", layers=1, channels=4)
    data = {"name": "bad-label", "kinds": "profile", "batch": [1, 2],
            "models": [{"path": "c.onnx", "label": "good", "inputs": [{"x": "1x3x8x8"}]},
                       {"path": "c.onnx", "label": label, "inputs": [{"x": "1x3x8x8"}]}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    summary = run_sweep(path, db_url)
    assert (summary.ran, summary.ok, summary.failed) == (4, 2, 2)
    with open_store(db_url, create=False) as store:
        rows = store.query(sweep_id="bad-label")
    bad = [r for r in rows if r.status == "failed"]
    assert len(rows) == 4 and len(bad) == 2
    assert all(r.cause.startswith("cannot store this result: model") for r in bad)


def _grid(tmp_path, name="g"):
    import sweep_kinds
    import yaml

    sweep_kinds.conv_chain(tmp_path / "c.onnx", layers=1, channels=4)
    data = {"name": name, "kinds": "profile", "batch": [1, 2, 4],
            "models": [{"path": "c.onnx", "inputs": [{"x": "1x3x8x8"}]}]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


class _DeadWorkers:
    """An executor whose every task is lost (as when Ray workers are killed): what the Ray executor stores."""

    name = "dead-workers"

    def run(self, points, kinds, sweep_id, reporter):
        from fitbench.sweep.executors.ray import _lost

        for p in points:
            reporter.start(p)
            reporter.done(p, _lost(p, sweep_id, "ray task failed after 3 retries: WorkerCrashedError: died"))


def test_infrastructure_failures_are_retriable_and_plain_resume_runs_them(db_url, tmp_path):
    """After every worker was killed, plain --resume used to run nothing and exit 0."""
    from fitbench.store import open_store
    from fitbench.sweep import run_sweep

    path = _grid(tmp_path)
    lost = run_sweep(path, db_url, executor=_DeadWorkers())
    assert (lost.ran, lost.ok, lost.failed, lost.retriable) == (3, 0, 3, 3)
    with open_store(db_url, create=False) as store:
        assert set(store.point_statuses("g").values()) == {"retriable"}
    again = run_sweep(path, db_url, resume=True)  # no --retry-failed
    assert (again.skipped, again.ran, again.ok) == (0, 3, 3)
    with open_store(db_url, create=False) as store:
        rows = store.query(sweep_id="g")
    assert [r.status for r in rows] == ["ok"] * 3 and all(r.attempts == 2 for r in rows)


def test_loadgen_invalid_is_stored_invalid_not_ok(tmp_path, monkeypatch):
    import fitbench.measure
    from fitbench.sweep.points import Point, PointContext, get_kind, run_point

    class Fake:
        def to_dict(self, include_logs=False):
            return {"status": "ok", "latency": {"p50_ms": 1.0}, "loadgen": {"result_validity": "INVALID"},
                    "conditions": {"model_sha256": "ab" * 32}}

    monkeypatch.setattr(fitbench.measure, "measure", lambda *a, **k: Fake())
    point = Point(kind="measure", model={"name": "m", "zoo": "resnet18", "params": {}}, batch=1, precision="fp32",
                  runtime="onnxruntime", scenario="single-stream")
    record = run_point(point, get_kind("measure"), PointContext(), "s")
    assert record.status == "invalid" and record.cause == "LoadGen result INVALID"
    assert record.metrics["latency"] == {"p50_ms": 1.0}  # the figures are kept, marked as not valid


def test_a_different_grid_under_a_stored_name_is_refused(db_url, tmp_path):
    import yaml

    from fitbench.store import open_store
    from fitbench.sweep import run_sweep
    from fitbench.sweep.runner import SweepError

    path = _grid(tmp_path)
    run_sweep(path, db_url)
    data = yaml.safe_load(path.read_text())
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**data, "batch": [8, 16]}))  # same name "g", other points
    with pytest.raises(SweepError, match="with a different grid"):
        run_sweep(other, db_url, resume=True)
    with open_store(db_url, create=False) as store:
        assert store.get_sweep("g")["spec"]["batch"] == [1, 2, 4]  # the first grid's spec is kept
    grown = tmp_path / "grown.yaml"
    grown.write_text(yaml.safe_dump({**data, "batch": [1, 2, 4, 8]}))  # the stored grid extended: accepted
    assert run_sweep(grown, db_url, resume=True).ran == 1


def test_lease_is_exclusive_and_a_dead_holders_lease_is_taken_over(db_url):
    import socket

    from fitbench.store import open_store

    host = socket.gethostname()
    with open_store(db_url) as store:
        assert store.acquire_lease("s", f"{host}:{os.getpid()}:a", 60) is None
        assert store.acquire_lease("s", f"{host}:{os.getpid()}:b", 60) == f"{host}:{os.getpid()}:a"
        assert store.acquire_lease("s", f"{host}:{os.getpid()}:a", 60) is None  # renewal
        store.release_lease("s", f"{host}:{os.getpid()}:a")
        dead = f"{host}:{2**22 + 12345}:x"  # above pid_max's default range: no such process
        assert store.acquire_lease("s", dead, 60) is None
        assert store.acquire_lease("s", f"{host}:{os.getpid()}:c", 60) is None  # its holder is gone
        assert store.acquire_lease("t", "elsewhere:1:z", -1) is None  # already expired
        assert store.acquire_lease("t", f"{host}:{os.getpid()}:d", 60) is None


def test_identical_sweeps_started_at_once_run_each_point_once(tmp_path):
    """Four identical sweeps started at once on SQLite used to run every point four times."""
    from fitbench.store import open_store

    path = _grid(tmp_path, name="four")
    db = tmp_path / "r.db"
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [subprocess.Popen([sys.executable, "-m", "fitbench.cli.app", "sweep", str(path), "--db", str(db), "-q"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes.count(0) == 1, (codes, outs)
    for (_out, err), code in zip(outs, codes):
        if code:
            assert code == 2 and len(err.strip().splitlines()) == 1
            assert "is being run by" in err or "already has 3 results" in err, err
    with open_store(db, create=False) as store:
        rows = store.query(sweep_id="four")
    assert len(rows) == 3 and all(r.attempts == 1 and r.status == "ok" for r in rows)


def test_model_outside_the_sweep_folder_needs_allow_outside(tmp_path):
    import sweep_kinds

    sweep_kinds.conv_chain(tmp_path / "c.onnx", layers=1, channels=4)
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "s.yaml"
    path.write_text("name: out\nkinds: profile\nmodels: [{path: ../c.onnx, inputs: [{x: 1x3x8x8}]}]\n")
    _one_line(_cli("sweep", str(path), "--dry-run"), "outside the sweep file's folder")
    (tmp_path / "sub" / "link.onnx").symlink_to(tmp_path / "c.onnx")  # a link out is outside too
    path.write_text("name: out\nkinds: profile\nmodels: [{path: link.onnx, inputs: [{x: 1x3x8x8}]}]\n")
    _one_line(_cli("sweep", str(path), "--dry-run"), "outside the sweep file's folder")
    ok = _cli("sweep", str(path), "--dry-run", "--allow-outside")
    assert ok.returncode == 0 and ok.stdout.strip().endswith("1 points (profile 1); 1 to run"), ok.stderr
