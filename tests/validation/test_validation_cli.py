"""``fitbench validate`` / ``validate()``: one-point datasets, skipped points listed with the reason, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.validation import validate

ROOT = Path(__file__).resolve().parents[2]
_register()
runner = CliRunner()

SOURCE = {"document": "a hand-made test table", "table": "row 1"}


def _dataset(tmp_path, *points) -> Path:
    f = tmp_path / "one.yaml"
    f.write_text(yaml.safe_dump({"points": list(points)}))
    return f


def _point(**kw):
    return {"chip": "nvdla-nv-small", "model": "tiny", "params": {"resolution": "32x32"}, "batch": 1,
            "precision": "int8", "scenario": "offline", "metric": "throughput_ips", "value": 1000.0,
            "source": SOURCE, **kw}


def test_cli_on_a_one_point_dataset(tmp_path):
    f = _dataset(tmp_path, _point())
    res = runner.invoke(app, ["validate", "--dataset", str(f), "--format", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["counts"] == {"points": 1, "compared": 1, "skipped": 0}
    (p,) = d["points"]
    assert p["status"] == "compared" and p["published"] == 1000.0 and p["predicted"] > 0
    assert p["ratio"] == pytest.approx(p["predicted"] / 1000.0)
    assert p["error_factor"] == pytest.approx(max(p["ratio"], 1 / p["ratio"]))
    assert d["overall"]["n"] == 1 and d["overall"]["median_error_factor"] == pytest.approx(p["error_factor"])
    table = runner.invoke(app, ["validate", "--dataset", str(f)])
    assert table.exit_code == 0 and "nvdla-nv-small" in table.stdout and "a hand-made test table" in table.stdout
    csv = runner.invoke(app, ["validate", "--dataset", str(f), "-f", "csv", "-o", str(tmp_path / "v.csv")])
    assert csv.exit_code == 0
    lines = (tmp_path / "v.csv").read_text().splitlines()
    assert lines[0].startswith("chip,family,model") and lines[1].startswith("nvdla-nv-small,")


def test_missing_chip_and_model_are_listed_not_dropped(tmp_path):
    f = _dataset(tmp_path, _point(), _point(chip="no-such-chip"), _point(model="no-such-model"))
    r = validate(dataset=f)
    assert [x.status for x in r.points] == ["compared", "skipped", "skipped"]
    assert "'no-such-chip' is not in the catalog" in r.points[1].reason
    assert "'no-such-model' is not in the zoo" in r.points[2].reason
    assert r.overall.n == 1 and r.to_dict()["counts"] == {"points": 3, "compared": 1, "skipped": 2}
    out = runner.invoke(app, ["validate", "--dataset", str(f)]).stdout
    assert "no-such-chip" in out and "no-such-model" in out


def test_latency_points_compare_latency(tmp_path):
    # the same chip and model at batch 1: the predicted latency is 1 / the predicted throughput
    f = _dataset(tmp_path, _point(), _point(scenario="single-stream", metric="latency_s", value=1e-3))
    thr, lat = validate(dataset=f).points
    assert lat.predicted == pytest.approx(1 / thr.predicted)


def test_filters(tmp_path):
    f = _dataset(tmp_path, _point(), _point(chip="nvdla-nv-large"))
    assert [p.point.chip for p in validate(dataset=f, hw=["nvdla-nv-large"]).points] == ["nvdla-nv-large"]


@pytest.mark.parametrize("args,words", [
    (["--hw", "no-such-chip"], "unknown hardware"),
    (["--model", "no-such-model"], "unknown model"),
    (["--format", "xml"], "--format"),
    (["--hw", "edge-large-sram", "--model", "tiny"], "no published point"),
    (["--dataset", "/nonexistent/points.yaml"], "not found"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, words):
    if "--dataset" not in args:
        args = [*args, "--dataset", str(_dataset(tmp_path, _point()))]
    res = runner.invoke(app, ["validate", *args])
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], res.stderr


def test_a_point_without_a_source_is_one_line_exit_2(tmp_path):
    bad = _point()
    del bad["source"]
    res = runner.invoke(app, ["validate", "--dataset", str(_dataset(tmp_path, bad))])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "source: missing" in res.stderr


def test_docs_validation_is_current():
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "validation_table.py"), "--check"],
                         capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    assert res.returncode == 0, res.stderr


def test_the_whole_shipped_dataset_validates():
    """Every shipped point is estimated (its speed goal, under 10 s, is benchmarks/validate_speed.py's)."""
    r = validate()  # the calibration set and the hold-out points
    assert len(r.points) == len(validate(points=[x.point for x in r.points]).points) > 100 and r.holdout
    assert r.elapsed_s > 0


def test_families_come_from_the_specs_kind():
    from types import SimpleNamespace

    from fitbench.validation.validate import spec_family

    assert spec_family(SimpleNamespace(kind="gpu")) == "gpu"
    assert spec_family(SimpleNamespace(kind="public")) is None  # where the spec came from, not what it is
    assert spec_family(SimpleNamespace(family="dataflow", kind="archetype")) == "dataflow"
