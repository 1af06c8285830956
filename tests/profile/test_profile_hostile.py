"""Hostile models: tiny files that used to make profiling take hours (work doubling per nested If).

Each case runs the real CLI in a subprocess with a timeout, so a regression fails fast instead of hanging.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from profile_builders import SRC

import fitbench.profile as fp
from fitbench.errors import ModelLoadError


def nested_if(depth: int) -> onnx.ModelProto:
    """``If`` nested ``depth`` deep (then-branch = the next level, else-branch = a leaf), one MatMul at the
    bottom: [2, 4] x [4, 4] = 2 * 4 * 4 MACs whichever branch is taken. A few KB at depth 24."""
    out = helper.make_tensor_value_info
    leaf = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["o0"], name="mm")], "leaf", [],
                             [out("o0", TensorProto.FLOAT, [2, 4])])
    body = leaf
    for d in range(1, depth + 1):
        node = helper.make_node("If", ["c"], [f"o{d}"], name=f"if{d}", then_branch=body, else_branch=leaf)
        body = helper.make_graph([node], f"g{d}", [], [out(f"o{d}", TensorProto.FLOAT, [2, 4])])
    graph = helper.make_graph(list(body.node), "main", [out("x", TensorProto.FLOAT, [2, 4])],
                              [out(f"o{depth}", TensorProto.FLOAT, [2, 4])],
                              [numpy_helper.from_array(np.array(True), "c"),
                               numpy_helper.from_array(np.ones((4, 4), np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _cli(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fitbench.cli.app", *args], capture_output=True, text=True,
                          timeout=timeout, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})


def test_if_nested_24_deep_profiles_in_seconds(tmp_path: Path):
    """Each body was costed twice (its If rule, then the weight count): 2^24 passes. Now once each."""
    path = tmp_path / "nested.onnx"
    path.write_bytes(nested_if(24).SerializeToString())
    assert path.stat().st_size < 8_000
    proc = _cli("profile", str(path), "-f", "json", timeout=30)
    assert proc.returncode == 0, proc.stderr
    import json

    totals = json.loads(proc.stdout)["totals"]
    assert totals["macs"] == 2 * 4 * 4  # one MatMul, whichever of the 24 nested branches is taken
    assert totals["weights"] == 4 * 4  # the weight read in the innermost body counts once


def test_nesting_deeper_than_the_bound_is_one_line(monkeypatch):
    monkeypatch.setattr(fp, "MAX_DEPTH", 5)
    with pytest.raises(ModelLoadError, match="nested more than 5 deep"):
        fp.profile(nested_if(8))
    assert fp.profile(nested_if(5)).totals.macs == 32


def test_node_count_bound_is_one_line(monkeypatch):
    monkeypatch.setattr(fp, "MAX_NODES", 6)
    with pytest.raises(ModelLoadError, match="more than 6 nodes"):
        fp.profile(nested_if(8))  # 8 Ifs + 1 MatMul reached


def _one_line(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert fragment in lines[0], lines[0]


def test_30_gb_sparse_file_is_refused_before_reading(tmp_path: Path):
    """It used to be read whole (traceback in the reader thread, then "no graph found"); protobuf cannot
    parse over 2 GiB, so it is refused on its size. Sparse: costs no disk."""
    path = tmp_path / "huge.onnx"
    with open(path, "wb") as f:
        f.truncate(30 * 2**30)
    _one_line(_cli("profile", str(path), timeout=30), "30.0 GiB")


def test_file_larger_than_memory_is_refused(tmp_path: Path, monkeypatch):
    import fitbench.graph.onnx_io as io

    path = tmp_path / "m.onnx"
    path.write_bytes(nested_if(2).SerializeToString())
    monkeypatch.setattr(io, "_available_memory", lambda: 100)
    with pytest.raises(ModelLoadError, match="more than the 0.0 GiB available"):
        io.read_model_file(path)  # a whole parse (weights kept, to run it) needs twice the file in memory


def test_hash_is_streamed_and_the_file_is_not_copied_into_memory(tmp_path: Path):
    """A model with a 96 MiB initializer: profiling maps the file instead of reading it, so the peak RSS
    grows by far less than the file; the sha256 is that of the file's bytes."""
    import hashlib

    big = tmp_path / "big.onnx"
    w = numpy_helper.from_array(np.ones((4096, 6144), np.float32), "w")  # 96 MiB
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4096])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6144])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    big.write_bytes(m.SerializeToString())
    small = tmp_path / "small.onnx"
    small.write_bytes(nested_if(1).SerializeToString())
    code = ("import resource, sys; from fitbench.profile import profile; p = profile(sys.argv[1]); "
            "print(p.model.sha256, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    rss = {}
    for name, path in (("big", big), ("small", small)):
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr
        sha, kib = proc.stdout.split()
        assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
        rss[name] = int(kib) * 1024
    assert rss["big"] - rss["small"] < 48 * 2**20  # the file is 96 MiB: it was read whole before


def _external(t: onnx.TensorProto, location: str) -> onnx.TensorProto:
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.ClearField("int64_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "64")):
        t.external_data.add(key=k, value=v)
    return t


def _relu_model(**extra) -> onnx.ModelProto:
    out = helper.make_tensor_value_info
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g", [out("x", TensorProto.FLOAT, [4])],
                          [out("y", TensorProto.FLOAT, [4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    m.ir_version = 8
    return m


def escaping_models() -> dict[str, onnx.ModelProto]:
    """External data pointing out of the model's folder, hidden where the check used not to look."""
    out = {}
    m = _relu_model()
    m.graph.initializer.append(_external(numpy_helper.from_array(np.ones(16, np.float32), "w"), "w\x00.bin"))
    out["nul-location"] = m
    m = _relu_model()  # a Constant node in a model-local function's body
    const = helper.make_node("Constant", [], ["c"], value=_external(
        numpy_helper.from_array(np.ones(16, np.float32), "c"), "../../etc/passwd"))
    m.functions.append(helper.make_function("local", "F", ["a"], ["c"], [const], [helper.make_opsetid("", 17)]))
    out["function-body"] = m
    m = _relu_model()  # a sparse initializer's values
    values = _external(numpy_helper.from_array(np.ones(2, np.float32), "sv"), "/etc/shadow")
    m.graph.sparse_initializer.append(helper.make_sparse_tensor(values, numpy_helper.from_array(
        np.array([0, 3], np.int64), "si"), [4]))
    out["sparse-initializer"] = m
    m = _relu_model()  # a tensor-list attribute (of an op fitbench does not know)
    attr = helper.make_attribute("tables", [_external(numpy_helper.from_array(np.ones(4, np.float32), "t"),
                                                      "../secret.bin")])
    node = helper.make_node("Lookup", ["x"], ["z"], name="lk", domain="my.ops")
    node.attribute.append(attr)
    m.graph.node.append(node)
    out["tensor-list-attribute"] = m
    return out


@pytest.mark.parametrize("case", list(escaping_models()))
def test_external_data_is_checked_everywhere(tmp_path: Path, case: str):
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / f"{case}.onnx"
    path.write_bytes(escaping_models()[case].SerializeToString())
    for cmd in ("profile", "run"):
        _one_line(_cli(cmd, str(path), timeout=60), "NUL byte" if case == "nul-location" else "escapes")
