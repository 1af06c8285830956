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
