"""Large models that are plain linear work: a 10 MB name, 10^5 nodes. Each must stay linear.

Timings are compared as ratios between two sizes measured in the same run (CPU time, so a busy shared
machine slows both alike), never against an absolute figure.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from profile_builders import SRC
from rich.console import Console

from fitbench.cli.profile import render_profile
from fitbench.profile import profile

BIG = 10_000_000  # a 10 MB name


def chain(n: int, big_name: str = "", where: str = "node") -> onnx.ModelProto:
    """``n`` nodes on [1, 16]: Add(x, b) and Relu alternating. ``big_name`` replaces the first node's name
    (``node``), the tensor between the first two nodes (``tensor``) or the graph input's name (``input``).
    Each Add is 16 other ops, each Relu 16: 16 * n other ops in all, 0 MACs."""
    nodes, x = [], "x" if where != "input" or not big_name else big_name
    first_input = x
    for i in range(n):
        out = big_name if (where == "tensor" and big_name and i == 0) else f"t{i}"
        op = helper.make_node("Add", [x, "b"], [out], name=f"a{i}") if i % 2 == 0 else \
            helper.make_node("Relu", [x], [out], name=f"r{i}")
        nodes.append(op)
        x = out
    if where == "node" and big_name:
        nodes[0].name = big_name
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info(first_input, TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 16])],
                          [numpy_helper.from_array(np.ones((1, 16), np.float32), "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("where", ["node", "tensor", "input"])
def test_a_10_mb_name_prints_a_bounded_table(tmp_path: Path, where: str):
    """A rich table folded a 10 MB node name into ~100,000 lines (> 120 s); a terminal shows its first 120
    characters and its length, the JSON keeps it whole."""
    name = "n" * BIG
    path = tmp_path / "big.onnx"
    path.write_bytes(chain(4, name, where).SerializeToString())
    proc = subprocess.run([sys.executable, "-m", "fitbench.cli.app", "profile", str(path)], capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout) < 20_000  # the table does not grow with the name
    if where != "tensor":  # the table names nodes and inputs (a tensor only when it is the largest)
        assert "(10,000,000 chars)" in proc.stdout
    prof = profile(path)
    assert prof.totals.other_ops == 16 * 4
    names = {"node": [x.name for x in prof.layers], "tensor": [x.outputs[0] for x in prof.layers],
             "input": list(prof.conditions.input_shapes)}[where]
    assert name in names  # kept whole in the result


def _cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def test_a_10_mb_name_costs_about_what_its_bytes_cost():
    """Profiling plus rendering a model with a 10 MB node name vs a 1 MB one: linear work grows ~10x at
    most (plus fixed costs); quadratic work would grow 100x."""
    def run(n_chars: int) -> None:
        prof = profile(chain(4, "n" * n_chars))
        prof.to_json()
        render_profile(prof, Console(file=io.StringIO(), width=160))

    run(1000)  # warm-up: imports
    small = min(_cpu(lambda: run(BIG // 10)) for _ in range(2))
    big = min(_cpu(lambda: run(BIG)) for _ in range(2))
    assert big < 30 * max(small, 0.01), (small, big)


def test_fast_serialisation_is_asdict_plus_flops():
    """to_dict/to_json convert layers field by field (asdict's deep copy cost ~300 us a layer); the result is
    what asdict gives, plus each layer's flops = 2 x MACs, for a layer with gemms and kernel and an uncosted one."""
    import dataclasses
    import json

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Mystery", ["c"], ["y"], name="odd", domain="local")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    m.ir_version = 8
    prof = profile(m)
    want = dataclasses.asdict(prof)
    for layer in want["layers"]:
        layer["flops"] = None if layer["macs"] is None else 2 * layer["macs"]
    assert want["layers"][0]["macs"] == 4 * 8 * 8 * 3 * 3 * 3 and want["layers"][0]["gemms"]
    assert want["uncosted"] and want["layers"][1]["flops"] is None
    assert prof.to_dict() == want
    assert json.loads(prof.to_json()) == want and json.loads(prof.to_json(None)) == want
    assert json.loads(profile(chain(0 + 2)).to_json(indent=4))["totals"]["other_ops"] == 2 * 16


def test_profile_time_grows_linearly_with_the_node_count():
    """20,000 vs 80,000 nodes (CPU seconds, JSON included): linear work takes ~4x as long, quadratic 16x.
    Also the result: 16 other ops per node, every node a layer."""
    small_model, big_model = chain(20_000), chain(80_000)

    def run(m) -> None:
        prof = profile(m)
        assert prof.totals.layer_count == len(m.graph.node) and prof.totals.other_ops == 16 * len(m.graph.node)
        prof.to_json()

    run(chain(10))  # warm-up: imports
    small, big = _cpu(lambda: run(small_model)), _cpu(lambda: run(big_model))
    assert big < 8 * small, (small, big)
