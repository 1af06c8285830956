"""``fitbench sweep`` and ``fitbench results`` from the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sweep_kinds
import typer
import yaml
from typer.testing import CliRunner

from fitbench.cli import results as results_cli
from fitbench.cli import sweep as sweep_cli
from fitbench.store import open_store

runner = CliRunner()


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()
    sweep_cli.register(app)
    results_cli.register(app)
    return app


@pytest.fixture
def grid(tmp_path):
    for c in (4, 8):
        sweep_kinds.conv_chain(tmp_path / f"chain{c}.onnx", layers=2, channels=c)
    (tmp_path / "broken.onnx").write_bytes(b"not an onnx model")
    data = {"name": "cli", "kinds": "profile", "batch": [1, 2], "precision": ["int8", "fp32"],
            "models": [{"path": f"chain{c}.onnx", "label": f"c{c}", "inputs": [{"x": "1x3x8x8"}]} for c in (4, 8)]
            + ["broken.onnx"]}  # fmt: skip
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_dry_run_prints_grid_and_size(app, grid):
    res = runner.invoke(app, ["sweep", str(grid), "--dry-run"])
    assert res.exit_code == 0
    lines = res.stdout.strip().splitlines()
    assert lines[-1] == "sweep 'cli': 12 points (profile 12); 12 to run"  # 3 models x 2 batches x 2 precisions
    assert len(lines) == 3 * 2 * 2 + 1
    assert lines[0].endswith("profile c4 x=1x3x8x8 b1 int8")


def test_sweep_then_results(app, grid, tmp_path):
    db = str(tmp_path / "r.db")
    res = runner.invoke(app, ["sweep", str(grid), "--db", db, "-q"])
    assert res.exit_code == 1  # the broken model's points failed; they are stored with their cause
    assert "12 points, 0 already stored, ran 12 (8 ok, 4 failed)" in res.stdout
    again = runner.invoke(app, ["sweep", str(grid), "--db", db, "-q"])
    assert again.exit_code == 2 and "use --resume" in again.stderr and again.stderr.count("\n") == 1
    dry = runner.invoke(app, ["sweep", str(grid), "--db", db, "--dry-run", "--resume", "--retry-failed"])
    assert dry.stdout.strip().splitlines()[-1] == "sweep 'cli': 12 points (profile 12); 4 to run"

    listed = runner.invoke(app, ["results", "list", "--db", db, "--where", "model=c8", "batch=2"])
    assert listed.exit_code == 0 and "2 of 2 results" in listed.stdout
    sweeps = runner.invoke(app, ["results", "list", "--db", db, "--sweeps"])
    assert "cli" in sweeps.stdout and "12" in sweeps.stdout

    exported = runner.invoke(app, ["results", "export", "--db", db, "--format", "json", "status=ok"])
    rows = json.loads(exported.stdout)
    assert len(rows) == 8
    want = {(r["model"], r["batch"], r["precision"]): r["metrics"]["macs"] for r in rows}
    for (model, b, _), macs in want.items():
        c = int(model[1:])
        assert macs == b * 8 * 8 * c * 3 * 9 + b * 8 * 8 * c * c * 9

    csv_path, pq_path = tmp_path / "r.csv", tmp_path / "r.parquet"
    assert runner.invoke(app, ["results", "export", "--db", db, "-f", "csv", "-o", str(csv_path)]).exit_code == 0
    assert runner.invoke(app, ["results", "export", "--db", db, "-f", "parquet", "-o", str(pq_path)]).exit_code == 0
    csv, pq = pd.read_csv(csv_path), pd.read_parquet(pq_path)
    assert len(csv) == len(pq) == 12
    assert sorted(csv.loc[csv.status == "ok", "metrics.macs"]) == sorted(want.values())
    assert sorted(pq.loc[pq.status == "ok", "metrics.macs"]) == sorted(want.values())

    first = rows[0]["id"]
    shown = json.loads(runner.invoke(app, ["results", "show", str(first), "--db", db]).stdout)
    assert shown == rows[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["sweep", "nope.yaml"], "sweep file not found: nope.yaml"),
        (["sweep", "GRID", "--executor", "dask"], "--executor must be local or ray"),
        (["sweep", "HWTYPO", "--dry-run"], "hardware 'edge-npu-slow-drma': unknown hardware"),
        (["sweep", "ZOOTYPO", "--dry-run"], "unknown zoo model 'yolov33'; did you mean 'yolov3'"),
        (["results", "show", "999", "--db", "DB"], "no result with id 999"),
        (["results", "list", "--db", "DB", "colour=red"], "cannot filter on 'colour'"),
        (["results", "list", "--db", "DB", "--where", "batch"], "filters are KEY=VALUE"),
        (["results", "export", "--db", "DB", "-f", "xml"], "--format must be csv, parquet or json"),
        (["results", "export", "--db", "DB", "-f", "parquet"], "give --output FILE.parquet"),
        (["results", "list", "--db", "mysql://x/y"], "unsupported database 'mysql'"),
    ],
)
def test_bad_input_is_one_line_exit_2(app, grid, tmp_path, args, message):
    typos = {
        "HWTYPO": {"kinds": "estimate", "models": ["yolov3"], "hardware": ["edge-npu-slow-drma"]},
        "ZOOTYPO": {"kinds": "profile", "models": ["yolov33"]},
    }
    for name, data in typos.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data))
    open_store(tmp_path / "r.db").close()  # an existing (empty) database: these are other mistakes
    subst = {"GRID": str(grid), "DB": str(tmp_path / "r.db"), **{k: str(tmp_path / f"{k}.yaml") for k in typos}}
    args = [subst.get(a, a) for a in args]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert message in res.stderr and res.stderr.startswith("error: ") and res.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [
    ["results", "list", "--db", "TYPO"],
    ["results", "list", "--sweeps", "--db", "TYPO"],
    ["results", "show", "1", "--db", "TYPO"],
    ["results", "export", "--db", "TYPO", "-f", "json"],
    ["results", "export", "--db", "TYPO", "-f", "csv", "-o", "OUT"],
])  # fmt: skip
def test_reading_a_missing_database_is_refused_and_it_is_not_created(app, tmp_path, args):
    typo = tmp_path / "no" / "such" / "resuls.db"  # a mistyped --db, in a folder that does not exist either
    args = [{"TYPO": str(typo), "OUT": str(tmp_path / "x.csv")}.get(a, a) for a in args]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert res.stderr == f"error: no results database at {typo}\n"
    assert not (tmp_path / "no").exists() and not (tmp_path / "x.csv").exists()


def test_reading_the_default_database_when_there_is_none(app, tmp_path, monkeypatch):
    monkeypatch.setenv("FITBENCH_DB", str(tmp_path / "default.db"))
    res = runner.invoke(app, ["results", "list"])
    assert (res.exit_code, res.stderr) == (2, f"error: no results database at {tmp_path / 'default.db'}\n")
    assert not (tmp_path / "default.db").exists()


def test_a_dry_run_with_resume_does_not_create_the_database(app, grid, tmp_path):
    res = runner.invoke(app, ["sweep", str(grid), "--db", str(tmp_path / "new.db"), "--dry-run", "--resume"])
    assert res.exit_code == 0, res.output
    n = 3 * 2 * 2  # models x batches x precisions
    assert res.stdout.splitlines()[-1].endswith(f"{n} points (profile {n}); {n} to run")
    assert not (tmp_path / "new.db").exists()


def test_writing_commands_still_create_the_database(app, grid, tmp_path):
    db = tmp_path / "new" / "r.db"
    res = runner.invoke(app, ["sweep", str(grid), "--db", str(db), "-q"])
    assert res.exit_code == 1  # broken.onnx fails (stored with its cause); the rest are ok
    assert db.is_file()
    res = runner.invoke(app, ["results", "list", "--db", str(db), "--sweeps"])
    assert res.exit_code == 0 and "cli" in res.stdout
