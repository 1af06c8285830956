"""Points per second of a 10,000-point estimate sweep: local executor vs Ray on local workers.

    PYTHONPATH=src python benchmarks/sweep_scale.py [--batches 100] [--db URL] [--cpus N]

Grid: 10 model variants (conv chains of 4..20 layers built here, 2 input sizes each) x 100 batches x
2 precisions (int8, fp16) x 5 catalog hardware specs = 10,000 estimate points, each written to the
database in its own transaction by the driver. Every point is a real ``fitbench.hardware.estimator``
estimate (no stand-in).
Both runs use the same grid and a fresh database; Ray's cluster start is timed separately and excluded
from its points/s. The script checks that both runs stored identical metrics.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fitbench.store import open_store  # noqa: E402
from fitbench.sweep import parse_sweep, run_sweep  # noqa: E402
from fitbench.sweep.executors.ray import RayExecutor, start_local_ray  # noqa: E402

CATALOG_HW = ["edge-npu-slow-dram", "edge-large-sram", "all-on-chip", "nvidia-t4", "nvidia-a100-40gb"]
def conv_chain(path: Path, layers: int, channels: int) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes, inits, prev, cin = [], [], "x", 3
    for i in range(layers):
        inits.append(numpy_helper.from_array(np.zeros((channels, cin, 3, 3), np.float32), f"w{i}"))
        out = "y" if i == layers - 1 else f"r{i}"
        nodes += [helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [out])]  # fmt: skip
        prev, cin = out, channels
    onnx.save(helper.make_model(helper.make_graph(nodes, path.stem, [x], [y], inits),
                                opset_imports=[helper.make_opsetid("", 17)]), path)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=100, help="batch sizes 1..N (100 -> 10,000 points)")
    ap.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp dir per run)")
    ap.add_argument("--cpus", type=int, default=os.cpu_count(), help="Ray CPUs")
    ap.add_argument("--hardware", default=",".join(CATALOG_HW), help="comma-separated catalog names")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="fbbench", dir="/tmp"))
    try:
        for layers in (4, 8, 12, 16, 20):
            conv_chain(tmp / f"chain{layers}.onnx", layers, 16)
        hardware = args.hardware.split(",")
        data = {"kinds": "estimate", "batch": list(range(1, args.batches + 1)),
                "precision": ["int8", "fp16"], "hardware": hardware,
                "models": [{"path": f"chain{n}.onnx", "inputs": [{"x": "1x3x64x64"}, {"x": "1x3x128x128"}]}
                           for n in (4, 8, 12, 16, 20)]}  # fmt: skip

        def db_for(name: str) -> str:
            return args.db or str(tmp / f"{name}.db")

        spec = parse_sweep({**data, "name": "scale-local"}, base_dir=tmp)
        n = len(spec.expand())
        local = run_sweep(spec, db_for("local"))

        t0 = time.perf_counter()
        start_local_ray(num_cpus=args.cpus, temp_dir=str(tmp / "ray"))
        ray_start = time.perf_counter() - t0
        spec_ray = parse_sweep({**data, "name": "scale-ray"}, base_dir=tmp)
        remote = run_sweep(spec_ray, db_for("ray"), executor=RayExecutor())

        a = {r.point_key: r.metrics for r in open_store(db_for("local")).query(sweep_id="scale-local")}
        b = {r.point_key: r.metrics for r in open_store(db_for("ray")).query(sweep_id="scale-ray")}
        same = a == b and len(a) == n

        print(f"grid: {n} estimate points, each stored in its own transaction ({'given db' if args.db else 'SQLite'})")
        print(f"{'executor':<22}{'points':>8}{'ok':>8}{'seconds':>10}{'points/s':>11}")
        for label, s in (("local (1 process)", local), (f"ray ({args.cpus} CPUs)", remote)):
            print(f"{label:<22}{s.ran:>8}{s.ok:>8}{s.elapsed_s:>10.2f}{s.points_per_s:>11.1f}")
        print(f"ray / local throughput: {remote.points_per_s / local.points_per_s:.2f}x "
              f"(Ray cluster start {ray_start:.1f} s, not included); identical metrics: {same}")  # fmt: skip
    finally:
        try:
            import ray

            ray.shutdown()
        except ImportError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
