"""Every bad input gets exit code 2 and one line on stderr, never a traceback (real subprocesses)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from profile_builders import conv_net, init, invoke_cli, make_model, run_cli, vi

from fitbench.errors import ModelLoadError, UnknownNameError
from fitbench.profile import profile


def write(path: Path, model: onnx.ModelProto) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def cycle_model():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="r0"), helper.make_node("Add", ["a", "c"], ["b"], name="add"),
             helper.make_node("Relu", ["b"], ["c"], name="r1")]
    return make_model(nodes, [vi("x", [1, 4])], ["c"])


def ghost_model():
    return make_model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add_ghost")], [vi("x", [1, 4])], ["y"])


def bad_matmul_model():
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm_bad")
    return make_model([node], [vi("x", [1, 4])], ["y"], [init("w", [5, 3])])


def unnamed_bad_matmul_model():
    m = bad_matmul_model()
    m.graph.node[0].name = ""
    return m


def twice_produced_model():
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="first"), helper.make_node("Neg", ["x"], ["y"], name="second")]
    return make_model(nodes, [vi("x", [1, 4])], ["y"])


def relu_model(shape):
    return make_model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", shape)], ["y"])


def unknown_op_model():
    node = helper.make_node("Frobnicate", ["x"], ["y"], name="frob", domain="my.ops")
    return make_model([node], [vi("x", [1, 4])], ["y"], extra_opsets={"my.ops": 1})


def external_model(location: str, length: int = 4 * 3 * 3 * 3 * 4) -> onnx.ModelProto:
    """A conv whose kernel lives in an external file (bytes not embedded)."""
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3, 3, 3])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(length))):
        entry = w.external_data.add()
        entry.key, entry.value = k, v
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1] * 4)
    return make_model([node], [vi("x", [1, 3, 8, 8])], ["y"], [w])


def _files(tmp: Path) -> dict[str, list[str]]:
    """Build every bad input under ``tmp``; return id -> CLI arguments."""
    (tmp / "empty.onnx").write_bytes(b"")
    (tmp / "random.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    data = conv_net(batch=1, h=16, w=16).SerializeToString()
    (tmp / "truncated.onnx").write_bytes(data[: len(data) // 2])
    (tmp / "folder.onnx").mkdir()
    write(tmp / "cycle.onnx", cycle_model())
    write(tmp / "ghost.onnx", ghost_model())
    write(tmp / "twice.onnx", twice_produced_model())
    write(tmp / "infer.onnx", bad_matmul_model())
    write(tmp / "infer_unnamed.onnx", unnamed_bad_matmul_model())
    write(tmp / "negative.onnx", relu_model([1, -3, 4]))
    write(tmp / "zero.onnx", relu_model([1, 0, 4]))
    write(tmp / "unbound.onnx", relu_model(["batch", "seq", 4]))
    write(tmp / "overflow.onnx", relu_model([2**31, 2**31, 2**31]))
    expand = helper.make_node("Expand", ["x", "s"], ["y"], name="blowup")
    write(tmp / "overflow_inside.onnx",
          make_model([expand], [vi("x", [1, 1])], ["y"], [init("s", [3], "int64", [2**31, 2**31, 2**31])]))
    write(tmp / "ok.onnx", relu_model([1, 4]))
    write(tmp / "unknown_op.onnx", unknown_op_model())
    write(tmp / "escape.onnx", external_model("../outside.bin"))
    write(tmp / "absolute.onnx", external_model("/etc/hostname"))
    (tmp / "link.bin").symlink_to("/etc/hostname")
    write(tmp / "symlink.onnx", external_model("link.bin"))
    write(tmp / "no_graph.onnx", helper.make_model(helper.make_graph([], "g", [], [])))
    return {
        "missing-file": ["profile", str(tmp / "missing.onnx")],
        "empty-file": ["profile", str(tmp / "empty.onnx")],
        "random-bytes": ["profile", str(tmp / "random.onnx")],
        "truncated-protobuf": ["profile", str(tmp / "truncated.onnx")],
        "folder": ["profile", str(tmp / "folder.onnx")],
        "no-graph": ["profile", str(tmp / "no_graph.onnx")],
        "cycle": ["profile", str(tmp / "cycle.onnx")],
        "input-never-produced": ["profile", str(tmp / "ghost.onnx")],
        "tensor-produced-twice": ["profile", str(tmp / "twice.onnx")],
        "shape-inference-failure": ["profile", str(tmp / "infer.onnx")],
        "shape-inference-failure-unnamed-node": ["profile", str(tmp / "infer_unnamed.onnx")],
        "negative-dim": ["profile", str(tmp / "negative.onnx")],
        "zero-dim-in-model": ["profile", str(tmp / "zero.onnx")],
        "zero-dim-bound": ["profile", str(tmp / "ok.onnx"), "--input", "x=1x0"],
        "negative-batch": ["profile", str(tmp / "ok.onnx"), "--batch", "-2"],
        "unbound-dims": ["profile", str(tmp / "unbound.onnx")],
        "overflow-in-model": ["profile", str(tmp / "overflow.onnx")],
        "overflow-inside-the-graph": ["profile", str(tmp / "overflow_inside.onnx")],
        "overflow-bound": ["profile", str(tmp / "unbound.onnx"), "--input", f"x={2**32}x{2**32}x4"],
        "external-data-escapes": ["profile", str(tmp / "escape.onnx")],
        "external-data-absolute": ["profile", str(tmp / "absolute.onnx")],
        "external-data-symlink-out": ["profile", str(tmp / "symlink.onnx")],
        "unknown-zoo-name": ["profile", "resnet5O"],
        "strict-uncosted": ["profile", str(tmp / "unknown_op.onnx"), "--strict"],
        "bad-precision": ["profile", str(tmp / "ok.onnx"), "--precision", "int3"],
        "bad-input-syntax": ["profile", str(tmp / "ok.onnx"), "--input", "x:1x4"],
        "unknown-input-name": ["profile", str(tmp / "ok.onnx"), "--input", "images=1x4"],
        "bad-format": ["profile", str(tmp / "ok.onnx"), "--format", "xml"],
        "bad-dim": ["profile", str(tmp / "unbound.onnx"), "--dim", "batch=two"],
        "factory-not-importable": ["profile", "no_such_pkg.models:build"],
        "unwritable-output": ["profile", str(tmp / "ok.onnx"), "-f", "json", "-o", str(tmp / "no" / "dir" / "p.json")],
        "unwritable-table": ["profile", str(tmp / "ok.onnx"), "-o", str(tmp / "no" / "dir" / "p.txt")],
    }


EXPECT = {
    "missing-file": "not found",
    "empty-file": "empty",
    "random-bytes": "not a valid ONNX file",
    "truncated-protobuf": "not a valid ONNX file",
    "folder": "folder",
    "no-graph": "no graph",
    "cycle": "cycle through node",
    "input-never-produced": "'add_ghost'",
    "tensor-produced-twice": "'y' is produced twice",
    "shape-inference-failure": "mm_bad",
    "shape-inference-failure-unnamed-node": "MatMul_0",
    "negative-dim": "x[1] is -3",
    "zero-dim-in-model": "x[1] is 0",
    "zero-dim-bound": "positive",
    "negative-batch": "positive",
    "unbound-dims": "x[0] (batch), x[1] (seq)",
    "overflow-in-model": "2^63-1",
    "overflow-bound": "2^63-1",
    "overflow-inside-the-graph": "2^63-1",
    "external-data-escapes": "escapes the model's folder",
    "external-data-absolute": "escapes the model's folder",
    "external-data-symlink-out": "escapes the model's folder",
    "unknown-zoo-name": "resnet5O",
    "strict-uncosted": "Frobnicate",
    "bad-precision": "unknown precision",
    "bad-input-syntax": "NAME=DIMS",
    "unknown-input-name": "no such input",
    "bad-format": "--format",
    "bad-dim": "--dim",
    "factory-not-importable": "no_such_pkg",
    "unwritable-output": "cannot write",
    "unwritable-table": "cannot write",
}


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("bad"))


def check_one_line(code: int, stdout: str, stderr: str, expected: str) -> None:
    assert code == 2, (stdout, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]


@pytest.mark.parametrize("case", list(EXPECT))
def test_bad_input_one_line_exit_2(bad_inputs, case):
    """In-process (typer's CliRunner): an escaping exception fails the test."""
    check_one_line(*invoke_cli(*bad_inputs[case]), EXPECT[case])


@pytest.mark.parametrize("case", ["missing-file", "random-bytes", "cycle", "unknown-zoo-name", "strict-uncosted"])
def test_bad_input_in_a_real_process(bad_inputs, case):
    """The same through ``python -m fitbench.cli.app``: nothing else reaches stderr."""
    result = run_cli(*bad_inputs[case])
    check_one_line(result.returncode, result.stdout, result.stderr, EXPECT[case])


def test_huge_shape_model_via_cli(tmp_path):
    path = write(tmp_path / "huge.onnx", conv_net(batch=1, h=100000, w=100000))
    result = run_cli("profile", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # conv_net: 3->8 3x3 stride 2 (50000 x 50000 out), then 8->16 3x3 stride 2 (25000 x 25000 out)
    import json

    assert json.loads(result.stdout)["totals"]["macs"] == 8 * 50000**2 * 3 * 9 + 16 * 25000**2 * 8 * 9


# ------------------------------------------------------------------ external data, in-process


def test_in_folder_external_data_is_accepted_without_its_bytes(tmp_path):
    # the data file does not even exist: profiling reads the graph only
    path = write(tmp_path / "ext.onnx", external_model("weights.bin"))
    prof = profile(path)
    assert prof.totals.weights == 4 * 3 * 3 * 3
    assert prof.totals.macs == 4 * 64 * 27


def test_ten_gigabyte_external_weights_are_not_read(tmp_path):
    (tmp_path / "sub").mkdir()
    big = tmp_path / "sub" / "weights.bin"
    with open(big, "wb") as f:  # a sparse 10 GB file: reading it would take minutes and 10 GB of memory
        f.truncate(10 * 2**30)
    path = write(tmp_path / "big.onnx", external_model("sub/weights.bin", length=10 * 2**30))
    prof = profile(path)
    assert prof.totals.weight_bytes == 4 * 3 * 3 * 3 * 4
    assert big.stat().st_size == 10 * 2**30


@pytest.mark.parametrize("location", ["../outside.bin", "sub/../../outside.bin", "/tmp/outside.bin"])
def test_external_data_escaping_the_folder_is_refused(tmp_path, location):
    (tmp_path / "sub").mkdir()
    path = write(tmp_path / "sub" / "m.onnx", external_model(location))
    with pytest.raises(ModelLoadError, match="escapes"):
        profile(path)


def test_unknown_name_without_a_zoo(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "fitbench.zoo" else real(n, *a))
    with pytest.raises(UnknownNameError, match="not a file"):
        profile("yolov3")


def test_factory_that_is_not_a_module(tmp_path, monkeypatch):
    (tmp_path / "notamodel.py").write_text("def build():\n    return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelLoadError, match="did not give a torch.nn.Module"):
        profile("notamodel:build")



def test_external_data_that_cannot_be_read_is_never_opened(tmp_path):
    (tmp_path / "weights.bin").mkdir()  # opening it as a file would fail: proof it is never read
    path = write(tmp_path / "m.onnx", external_model("weights.bin"))
    prof = profile(path)
    assert prof.totals.weights == 4 * 3 * 3 * 3
    assert prof.model.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
