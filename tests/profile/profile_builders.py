"""Builders for the profile tests: tiny ONNX graphs made in code (no weights are downloaded), CLI runners."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SRC = str(Path(__file__).resolve().parents[2] / "src")

_ELEM = {
    "float32": TensorProto.FLOAT,
    "float16": TensorProto.FLOAT16,
    "int8": TensorProto.INT8,
    "uint8": TensorProto.UINT8,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "bool": TensorProto.BOOL,
}


def vi(name: str, shape: Sequence | None = None, dtype: str = "float32") -> onnx.ValueInfoProto:
    """A value info; ``shape`` may mix ints and symbolic names; ``None`` = unknown shape."""
    return helper.make_tensor_value_info(name, _ELEM[dtype], shape)


def init(name: str, shape: Sequence[int], dtype: str = "float32", value=None) -> onnx.TensorProto:
    """An initializer of the given shape (zeros unless ``value`` is given)."""
    arr = np.zeros(shape, dtype=dtype) if value is None else np.asarray(value, dtype=dtype).reshape(shape)
    return numpy_helper.from_array(arr, name)


def make_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto | str],
    initializers: Sequence[onnx.TensorProto] = (),
    opset: int = 17,
    extra_opsets: dict[str, int] | None = None,
    ir_version: int | None = None,
) -> onnx.ModelProto:
    """A ModelProto from nodes; outputs given by name get an unknown shape (inference fills it)."""
    outs = [vi(o) if isinstance(o, str) else o for o in outputs]
    graph = helper.make_graph(list(nodes), "g", list(inputs), outs, list(initializers))
    opsets = [helper.make_opsetid("", opset)]
    for domain, version in (extra_opsets or {}).items():
        opsets.append(helper.make_opsetid(domain, version))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = ir_version or min(model.ir_version, 10)
    return model


def single_op(op_type: str, x_shape: Sequence, w_shapes: dict[str, Sequence[int]] | None = None,
              opset: int = 17, domain: str = "", extra_inputs: Sequence[str] = (), **attrs) -> onnx.ModelProto:
    """One node ``op_type(x, *weights, *extra_inputs) -> y`` with zero-valued float weights."""
    w_shapes = w_shapes or {}
    inits = [init(n, s) for n, s in w_shapes.items()]
    node = helper.make_node(op_type, ["x", *w_shapes, *extra_inputs], ["y"], name="op", domain=domain, **attrs)
    extra = {domain: 1} if domain else None
    return make_model([node], [vi("x", x_shape)], ["y"], inits, opset=opset, extra_opsets=extra)


def conv_net(channels: Sequence[int] = (3, 8, 16), strides: Sequence[int] = (2, 2), kernel: int = 3,
             h: str | int = "H", w: str | int = "W", batch: str | int = "N") -> onnx.ModelProto:
    """Conv -> Relu chain with 'same' padding; total stride = prod(strides)."""
    nodes, inits = [], []
    prev = "x"
    for i, (cin, cout, s) in enumerate(zip(channels[:-1], channels[1:], strides)):
        inits += [init(f"w{i}", (cout, cin, kernel, kernel)), init(f"b{i}", (cout,))]
        pad = kernel // 2
        nodes.append(helper.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"], name=f"conv{i}",
                                      kernel_shape=[kernel, kernel], strides=[s, s], pads=[pad] * 4))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        prev = f"r{i}"
    return make_model(nodes, [vi("x", [batch, channels[0], h, w])], [prev], inits)


def layer(prof, name: str):
    """The profile layer called ``name``."""
    matches = [x for x in prof.layers if x.name == name]
    assert len(matches) == 1, f"no single layer {name!r} in {[x.name for x in prof.layers]}"
    return matches[0]


def run_cli(*args: str, env_extra: dict[str, str] | None = None, cwd: str | None = None):
    """Run ``python -m fitbench.cli.app ARGS`` in a real subprocess; return the CompletedProcess.

    ``env_extra["PYTHONPATH"]`` is prepended to the path that finds this checkout's ``src``.
    """
    env = dict(os.environ)
    extra = dict(env_extra or {})
    paths = [p for p in (extra.pop("PYTHONPATH", ""), SRC, env.get("PYTHONPATH", "")) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra)
    return subprocess.run([sys.executable, "-m", "fitbench.cli.app", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


@functools.cache
def _cli_app():
    from fitbench.cli.app import _register, app

    _register()
    return app


def invoke_cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process with typer's CliRunner: (exit code, stdout, stderr).

    An exception that escapes the command (a bug: the user would see a traceback) is re-raised.
    """
    from typer.testing import CliRunner

    result = CliRunner().invoke(_cli_app(), list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
