"""Inputs: seeded synthetic or user .npy (the batch comes from the tensor fed); bad input is one line."""

from __future__ import annotations

import numpy as np
import pytest
from measure_fast import FAST

from fitbench.errors import FitbenchError, MeasurementError, ShapeError, UnknownNameError
from fitbench.measure import measure
from fitbench.measure.inputs import fed_batch, synthetic


def test_synthetic_inputs_are_seeded_and_typed():
    a = synthetic({"x": (2, 3), "ids": (2, 5)}, {"x": "float32", "ids": "int64"}, seed=4)
    b = synthetic({"x": (2, 3), "ids": (2, 5)}, {"x": "float32", "ids": "int64"}, seed=4)
    assert a["x"].dtype == np.float32 and a["ids"].dtype == np.int64
    assert np.array_equal(a["x"], b["x"]) and set(np.unique(a["ids"])) <= {0, 1}
    assert fed_batch(a) == 2


def test_npy_inputs_set_the_batch(conv_path, tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    r = measure(conv_path, input_files={"x": str(tmp_path / "x.npy")}, **FAST)
    assert r.ok and r.batch == 3
    assert r.conditions["fed_shapes"] == {"x": [3, 3, 32, 32]}
    assert r.conditions["settings"]["input_source"] == "npy files"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"runtime": "tensorflow"}, UnknownNameError, "unknown runtime 'tensorflow'; known runtimes: onnxruntime"),
        ({"scenario": "burst"}, UnknownNameError, "unknown scenario 'burst'"),
        ({"device": "tpu"}, UnknownNameError, "unknown device 'tpu'"),
        ({"precision": "int3"}, MeasurementError, "unknown precision 'int3'"),
        ({"precision": "bf16"}, MeasurementError, "onnxruntime cannot run bf16 here"),
        ({"batch": 0}, MeasurementError, "batch sizes must be positive"),
        ({"input_files": {"x": "/nonexistent/x.npy"}}, MeasurementError, "input file for 'x' not found"),
        ({"driver": "locust"}, MeasurementError, "unknown driver 'locust'; use loadgen or direct"),
        ({"driver": "direct", "scenario": "offline"}, MeasurementError, "driver 'direct' runs single-stream only"),
        ({"device": "cuda"}, None, None),
    ],
)
def test_bad_arguments_are_one_line_errors(conv_path, kwargs, error, match):
    if error is None:  # cuda where onnxruntime has no CUDA provider: one clean error before any child starts
        from fitbench.measure.runtimes import runtime_status

        if any("cuda" in r["devices"] for r in runtime_status() if r["runtime"] == "onnxruntime"):
            pytest.skip("onnxruntime has a GPU here")
        error, match = MeasurementError, "--device cuda: onnxruntime has no cuda device here"
    with pytest.raises(error, match=match) as info:
        measure(conv_path, **{**FAST, **kwargs})
    assert "\n" not in str(info.value)


def test_bad_npy_shape_and_content(conv_path, tmp_path):
    np.save(tmp_path / "wrong.npy", np.zeros((1, 3, 16, 16), dtype=np.float32))
    with pytest.raises(ShapeError, match=r"input 'x': dim 2 must be 32 .* got shape \[1, 3, 16, 16\]"):
        measure(conv_path, input_files={"x": str(tmp_path / "wrong.npy")}, **FAST)
    np.save(tmp_path / "rank.npy", np.zeros((3, 32, 32), dtype=np.float32))
    with pytest.raises(ShapeError, match="expects rank 4"):
        measure(conv_path, input_files={"x": str(tmp_path / "rank.npy")}, **FAST)
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    with pytest.raises(MeasurementError, match="not a valid .npy array"):
        measure(conv_path, input_files={"x": str(tmp_path / "junk.npy")}, **FAST)
    np.save(tmp_path / "b2.npy", np.zeros((2, 3, 32, 32), dtype=np.float32))
    with pytest.raises(ShapeError, match="--batch 4 does not match the batch 2"):
        measure(conv_path, batch=4, input_files={"x": str(tmp_path / "b2.npy")}, **FAST)


def test_missing_model_file_and_unknown_zoo_name(tmp_path):
    with pytest.raises(FitbenchError, match="model file not found"):
        measure(tmp_path / "missing.onnx", **FAST)
    with pytest.raises(FitbenchError, match="no-such-model"):
        measure("no-such-model", **FAST)


def test_torch_runtime_refuses_onnx_files(conv_path):
    pytest.importorskip("torch")
    with pytest.raises(MeasurementError, match="torch runtime needs a zoo model with a torch builder or an nn.Module"):
        measure(conv_path, runtime="torch", **FAST)


def test_unavailable_runtime_names_its_pip_extra(monkeypatch):
    import builtins
    import importlib

    from fitbench.measure import runtimes

    real_import = builtins.__import__

    def fake_import(name, *a, **k):
        if name == "torch":
            raise ImportError("no torch")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(importlib, "import_module",
                        lambda n: fake_import(n) if n == "torch" else real_import(n))
    with pytest.raises(MeasurementError, match=r"runtime 'torch' is not installed here; .*fitbench\[torch\]"):
        runtimes.require("torch")
    row = next(r for r in runtimes.runtime_status() if r["runtime"] == "torch")
    assert row["available"] is False and "fitbench[torch]" in row["install"]
