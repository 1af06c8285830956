"""``fitbench run`` / ``fitbench runtimes``: output formats and one-line errors with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.cli.run import parse_latency_ms

_register()
runner = CliRunner()
FAST_ARGS = ["--min-count", "20", "--min-duration", "0.2", "--warmup-count", "2", "--warmup", "0.05",
             "--threads", "1"]


def test_run_json_to_file(conv_path, tmp_path):
    out = tmp_path / "run.json"
    res = runner.invoke(app, ["run", str(conv_path), "--batch", "1,2", "--format", "json", "-o", str(out),
                              *FAST_ARGS])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert [d["batch"] for d in data] == [1, 2]
    assert all(d["status"] == "ok" for d in data)
    assert data[0]["conditions"]["command"].startswith("fitbench ")
    assert data[1]["latency"]["percentile_method"] == "nearest-rank"


def test_run_table_and_csv(conv_path):
    res = runner.invoke(app, ["run", str(conv_path), "--scenario", "offline", *FAST_ARGS])
    assert res.exit_code == 0, res.output
    assert "nearest-rank" in res.output and "throughput" in res.output
    res = runner.invoke(app, ["run", str(conv_path), "--format", "csv", "--driver", "direct", *FAST_ARGS])
    assert res.exit_code == 0 and res.output.splitlines()[0].startswith("model,scenario,status")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--runtime", "tf"], "error: unknown runtime 'tf'"),
        (["--scenario", "burst"], "error: unknown scenario 'burst'"),
        (["--batch", "1,x"], "error: --batch expects comma-separated integers"),
        (["--input-file", "x=/no/such.npy"], "error: input file for 'x' not found: /no/such.npy"),
        (["--input-file", "x"], "error: --input-file expects NAME=PATH.npy"),
        (["--target-latency", "fast", "--scenario", "server"], "error: --target-latency expects a time"),
        (["--format", "xml"], "error: --format must be table, json or csv"),
        (["--driver", "direct", "--scenario", "server"], "error: driver 'direct' runs single-stream only"),
        (["--precision", "bf16"], "error: onnxruntime cannot run bf16 here"),
        (["--precision", "int8", "--runtime", "torch"], "error: the torch runtime does not run int8"),
    ],
)
def test_bad_input_is_one_line_exit_2(conv_path, args, message):
    res = runner.invoke(app, ["run", str(conv_path), *args, *FAST_ARGS])
    assert res.exit_code == 2, res.output
    err = res.stderr if hasattr(res, "stderr") and res.stderr else res.output
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(message), err


def test_bad_npy_shape_cli(conv_path, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 8, 8), dtype=np.float32))
    res = runner.invoke(app, ["run", str(conv_path), "--input-file", f"x={tmp_path / 'x.npy'}", *FAST_ARGS])
    assert res.exit_code == 2
    assert "dim 2 must be 32" in (res.stderr or res.output)


def test_missing_model_file_cli(tmp_path):
    res = runner.invoke(app, ["run", str(tmp_path / "nope.onnx"), *FAST_ARGS])
    assert res.exit_code == 2 and "model file not found" in (res.stderr or res.output)


@pytest.mark.parametrize("text, ms", [("30ms", 30.0), ("0.03s", 30.0), ("500us", 0.5), ("12", 12.0)])
def test_parse_latency(text, ms):
    assert parse_latency_ms(text) == pytest.approx(ms)


def test_runtimes_json():
    res = runner.invoke(app, ["runtimes", "--format", "json"])
    assert res.exit_code == 0
    rows = {r["runtime"]: r for r in json.loads(res.output)}
    import onnxruntime

    assert rows["onnxruntime"]["available"] and rows["onnxruntime"]["version"] == onnxruntime.__version__
    assert "CPUExecutionProvider" in rows["onnxruntime"]["providers"]
    assert "torch" in rows


@pytest.mark.parametrize("arg", ["1x3x64x64", "input=1x3x64x64"])
def test_run_zoo_input_sets_resolution(arg):
    # as `fitbench profile tiny --input ...`: the zoo model is built at 64x64, not its default 32x32
    res = runner.invoke(app, ["run", "tiny", "--input", arg, "--format", "json", *FAST_ARGS])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout if hasattr(res, "stdout") else res.output)
    cond = data[0]["conditions"]
    assert cond["fed_shapes"] == {"input": [1, 3, 64, 64]}
    assert cond["output_shapes"] == [[1, 10]]
    assert "--input set the zoo model's --resolution 64x64" in cond["notes"]


def test_run_zoo_param_and_its_clash():
    # --param as in profile: tiny with 5 classes ends in fc(16 -> 5), so its output is [1, 5]
    res = runner.invoke(app, ["run", "tiny", "--param", "classes=5", "--input", "1x3x40x40", "--format", "json",
                              *FAST_ARGS])
    assert res.exit_code == 0, res.output
    cond = json.loads(res.stdout if hasattr(res, "stdout") else res.output)[0]["conditions"]
    assert cond["fed_shapes"] == {"input": [1, 3, 40, 40]} and cond["output_shapes"] == [[1, 5]]
    res = runner.invoke(app, ["run", "tiny", "--param", "seed=3", *FAST_ARGS])
    assert res.exit_code == 2 and "error: --param seed is a setting of fitbench run" in res.output
