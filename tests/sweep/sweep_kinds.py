"""Test helpers for sweeps: tiny ONNX models built in code, and point kinds with controlled behaviour.

``synthetic`` computes a deterministic value from the point (no engine), and can sleep, record its pid,
fail, crash its process or raise Ctrl-C in its own process - what the executor tests need.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fitbench.sweep import Outcome, register_kind


def conv_chain(path: Path, layers: int, channels: int) -> Path:
    """``layers`` x (Conv 3x3 pad 1, ``channels`` -> ``channels``, no bias; Relu) on a 3-channel input whose
    first conv maps 3 -> channels. Input ``x`` is [N, 3, H, W] with N, H, W symbolic."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes, inits, prev, cin = [], [], "x", 3
    for i in range(layers):
        inits.append(numpy_helper.from_array(np.zeros((channels, cin, 3, 3), np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
        out = "y" if i == layers - 1 else f"r{i}"
        nodes.append(helper.make_node("Relu", [f"c{i}"], [out]))
        prev, cin = out, channels
    graph = helper.make_graph(nodes, path.stem, [x], [y], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def conv_chain_macs(layers: int, channels: int, batch: int, h: int, w: int) -> int:
    """MACs of :func:`conv_chain`: each conv does B*H*W*Cout*Cin*9 MACs."""
    first = batch * h * w * channels * 3 * 9
    return first + (layers - 1) * batch * h * w * channels * channels * 9


def synthetic_value(batch: int, precision: str, scale: int) -> int:
    return batch * scale * {"int8": 1, "fp16": 2, "bf16": 2, "fp32": 4}[precision]


def run_synthetic(point, ctx) -> Outcome:
    opts = point.options
    if opts.get("pid_dir"):  # one marker per attempt: key-pid
        Path(opts["pid_dir"], f"{point.key[:12]}-{os.getpid()}").write_text(str(time.time()))
    start = time.time()
    if opts.get("flag_file") and Path(opts["flag_file"]).exists():
        raise RuntimeError("flag file present")
    if point.model_name.startswith("fail"):
        raise ValueError(f"synthetic failure of {point.model_name}")
    if point.model_name.startswith("crash"):
        os._exit(3)
    if opts.get("sigint_at_batch") == point.batch:
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered while the point runs
        time.sleep(5)
    if opts.get("sleep_s"):
        time.sleep(float(opts["sleep_s"]))
    scale = int(point.model.get("params", {}).get("scale", 1))
    metrics = {"value": synthetic_value(point.batch, point.precision, scale)}
    conditions = {"pid": os.getpid(), "start": start, "end": time.time()}
    return Outcome(point.model_name, None, conditions, metrics)


def run_cached_profile(point, ctx) -> Outcome:
    """Like the estimate kind: profile once per (model, shapes, precision) at batch 1, then scale by B."""
    prof = ctx.profile(point, batch=1)
    return Outcome(point.model_name, prof.model.sha256, {}, {"macs": prof.totals.macs * point.batch})


register_kind("synthetic", run_synthetic)
register_kind("synthetic-isolated", run_synthetic, isolated=True, exclusive=True)
register_kind("cached-profile", run_cached_profile)
