"""Speed goal: profiling a deep model at 1080p is at least 5x faster than onnx-tool.

Builds a ResNet-style network (>= 300 nodes) with a 1x3x1080x1920 input, profiles it with
fitbench and, when onnx-tool is installed, with onnx-tool in the same run on the same file (runs
interleaved); prints the median and best seconds of both, the ratios, and whether the Conv MACs
agree (per node and in total; the convs have no bias, since onnx-tool counts a bias add as a MAC
and fitbench does not). fitbench's time includes the sha256 of the file it records.

    PYTHONPATH=src python benchmarks/profile_speed.py [--runs 5] [--blocks 64]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_resnet(blocks: int, height: int = 1080, width: int = 1920, widths=(16, 32, 64, 128)) -> onnx.ModelProto:
    """Stem conv, then stages of residual blocks (Conv-Relu-Conv-Add-Relu); 5 nodes per block."""
    nodes, inits = [], []
    counter = iter(range(10**6))

    def conv(x: str, cin: int, cout: int, k: int = 3, stride: int = 1) -> str:
        i = next(counter)
        w = f"w{i}"
        inits.append(numpy_helper.from_array(np.zeros((cout, cin, k, k), np.float32), w))
        nodes.append(helper.make_node("Conv", [x, w], [f"conv{i}"], name=f"conv{i}", kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        return f"conv{i}"

    def relu(x: str) -> str:
        out = f"{x}_relu"
        nodes.append(helper.make_node("Relu", [x], [out], name=out))
        return out

    x = relu(conv("images", 3, widths[0], stride=2))
    per_stage = [blocks // len(widths)] * len(widths)
    per_stage[-1] += blocks - sum(per_stage)
    cin = widths[0]
    for stage, (cout, n) in enumerate(zip(widths, per_stage)):
        if stage:
            x = relu(conv(x, cin, cout, stride=2))
        for _ in range(n):
            y = conv(relu(conv(x, cout, cout)), cout, cout)
            out = f"{y}_add"
            nodes.append(helper.make_node("Add", [x, y], [out], name=out))
            x = relu(out)
        cin = cout
    graph = helper.make_graph(nodes, "resnet_1080p",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, height, width])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def time_runs(fn, runs: int) -> tuple[list[float], object, list[float]]:
    """Wall seconds of each of ``runs`` calls, the last result, and CPU seconds (all threads) of each."""
    times, cpu, result = [], [], None
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, result, cpu


def fitbench_conv_macs(path: Path) -> tuple[dict[str, int], object]:
    from fitbench.profile import profile

    prof = profile(path)
    return {x.name: x.macs for x in prof.layers if x.op_type == "Conv"}, prof


def onnx_tool_conv_macs(path: Path) -> dict[str, int]:
    import onnx_tool

    with contextlib.redirect_stdout(io.StringIO()):
        model = onnx_tool.loadmodel(str(path), {"verbose": False})
        g = model.graph
        g.graph_reorder_nodes()
        g.shape_infer(None)
        g.profile()
    macs = {}
    for name, node in g.nodemap.items():
        if node.op_type == "Conv":
            m = node.macs
            macs[name] = int(m[0] if isinstance(m, list | tuple) else m)
    return macs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--baseline-runs", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=64, help="residual blocks (5 nodes each)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet_1080p.onnx"
        model = build_resnet(args.blocks)
        onnx.save_model(model, path)
        n_nodes = len(model.graph.node)
        print(f"model: {n_nodes} nodes, input 1x3x1080x1920, {path.stat().st_size / 2**20:.1f} MiB")
        assert n_nodes >= 300, "the benchmark needs a deep model"

        try:
            import onnx_tool  # noqa: F401
        except ImportError:
            ours, (ours_macs, prof), _ = time_runs(lambda: fitbench_conv_macs(path), args.runs)
            print(f"fitbench : {statistics.median(ours):.3f} s per profile (median of {args.runs}); "
                  f"{prof.totals.macs / 1e9:.1f} GMAC, {prof.totals.layer_count} layers")
            print("onnx-tool not installed (pip install 'fitbench[bench]'): no baseline ratio")
            return 0
        fitbench_conv_macs(path), onnx_tool_conv_macs(path)  # warm-up: imports, caches
        # interleaved, so that a busy machine slows both alike
        ours, base, ours_cpu, base_cpu = [], [], [], []
        for i in range(max(args.runs, args.baseline_runs)):
            if i < args.runs:
                t, (ours_macs, prof), c = time_runs(lambda: fitbench_conv_macs(path), 1)
                ours += t
                ours_cpu += c
            if i < args.baseline_runs:
                t, base_macs, c = time_runs(lambda: onnx_tool_conv_macs(path), 1)
                base += t
                base_cpu += c
        med = statistics.median
        print(f"fitbench : {med(ours):.3f} s per profile (median of {len(ours)}, best {min(ours):.3f}; CPU "
              f"{med(ours_cpu):.3f} s); {prof.totals.macs / 1e9:.1f} GMAC, {prof.totals.layer_count} layers")
        print(f"onnx-tool: {med(base):.3f} s per profile (median of {len(base)}, best {min(base):.3f}; CPU "
              f"{med(base_cpu):.3f} s)")
        ratio = med(base) / med(ours)
        agree = ours_macs == base_macs
        print(f"speed-up : {ratio:.1f}x faster than onnx-tool (wall-clock medians; best runs "
              f"{min(base) / min(ours):.1f}x, CPU time {med(base_cpu) / med(ours_cpu):.1f}x) "
              f"(goal >= 5x: {'met' if ratio >= 5 else 'NOT met'})")
        print(f"Conv MACs agree: {agree} (fitbench {sum(ours_macs.values()):,} vs onnx-tool "
              f"{sum(base_macs.values()):,} over {len(ours_macs)} convs)")
        if not agree:
            diff = [n for n in ours_macs if ours_macs[n] != base_macs.get(n)]
            print(f"  differing convs: {diff[:5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
