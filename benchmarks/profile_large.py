"""Large-graph speed: profiling an n-node graph is linear work, measured against ONNX's own load + shape
inference of the same file in the same run.

Builds a chain of ``--nodes`` nodes on [1, 16] (Add with a shared bias and Relu, alternating), saves it, then
measures (CPU seconds of this process, so that a busy machine slows every phase alike; wall seconds too):
``onnx.load`` + ``onnx.shape_inference.infer_shapes`` (the floor any ONNX-based profiler pays), fitbench's
``profile()`` (read, hash, bind, infer, IR, costs, liveness) and ``Profile.to_json()``. Prints microseconds per
node and the ratio of fitbench to the ONNX floor. ``--name-mb`` gives the first node a name of that many MB.

    PYTHONPATH=src python benchmarks/profile_large.py [--nodes 1000000] [--name-mb 0]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def chain(n: int, name_chars: int = 0) -> onnx.ModelProto:
    nodes, x = [], "x"
    for i in range(n):
        out = f"t{i}"
        nodes.append(helper.make_node("Add", [x, "b"], [out], name=f"a{i}") if i % 2 == 0
                     else helper.make_node("Relu", [x], [out], name=f"r{i}"))
        x = out
    if name_chars and nodes:
        nodes[0].name = "n" * name_chars
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 16])],
                          [numpy_helper.from_array(np.ones((1, 16), np.float32), "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def timed(fn):
    c, t = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--name-mb", type=float, default=0.0)
    args = ap.parse_args()
    from fitbench.profile import profile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.onnx"
        onnx.save_model(chain(args.nodes, int(args.name_mb * 1e6)), path)
        print(f"model: {args.nodes:,} nodes, {path.stat().st_size / 1e6:.1f} MB")

        def onnx_floor():
            m = onnx.load(path)
            return onnx.shape_inference.infer_shapes(m, check_type=False, strict_mode=True, data_prop=True)

        _, floor_cpu, floor_wall = timed(onnx_floor)
        prof, prof_cpu, prof_wall = timed(lambda: profile(path))
        text, json_cpu, json_wall = timed(prof.to_json)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        per = 1e6 / max(args.nodes, 1)
        print(f"onnx.load + infer_shapes : {floor_cpu:7.2f} s CPU ({floor_wall:.2f} s wall), "
              f"{floor_cpu * per:6.1f} us/node")
        print(f"fitbench profile()       : {prof_cpu:7.2f} s CPU ({prof_wall:.2f} s wall), "
              f"{prof_cpu * per:6.1f} us/node, {prof_cpu / floor_cpu:.2f}x the ONNX floor")
        print(f"Profile.to_json()        : {json_cpu:7.2f} s CPU ({json_wall:.2f} s wall), "
              f"{json_cpu * per:6.1f} us/node, {len(text) / 1e6:.0f} MB of JSON")
        print(f"peak RSS {rss:.0f} MB; layers {prof.totals.layer_count:,}, other ops {prof.totals.other_ops:,} "
              f"(expected {16 * args.nodes:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
