"""A one-MatMul model and two hand-made chips with hand-computed estimates (shared by compare and report tests)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

K = N = 1024  # MatMul [B, K] x [K, N]: K*N MACs per sample, K*N int8 weight bytes


def matmul_model(path, node_name: str = "fc", relu_name: str | None = None) -> str:
    """X[B, K] @ W[K, N] (+ an optional Relu), batch dim symbolic."""
    w = numpy_helper.from_array(np.zeros((K, N), dtype=np.float32), "W")
    nodes = [helper.make_node("MatMul", ["X", "W"], ["Y" if relu_name is None else "H"], name=node_name)]
    if relu_name is not None:
        nodes.append(helper.make_node("Relu", ["H"], ["Y"], name=relu_name))
    graph = helper.make_graph(nodes, "mm", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["B", K])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["B", N])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return str(path)


# "streamer": 65536 int8 MACs/cycle at 1 GHz, 256 KiB SRAM (the 1 MiB of weights do not fit), 100 GB/s DRAM.
# "holder":   256 int8 MACs/cycle at 1 GHz, 64 MiB SRAM (weights stay resident), 1 GB/s DRAM.
STREAMER = {"name": "streamer", "source": "test: hand-made", "clock": "1 GHz", "macs_per_cycle": {"int8": 65536},
            "sram": "256 KiB", "dram_bandwidth": "100 GB/s", "winograd": "none", "overlap": True}
HOLDER = {"name": "holder", "source": "test: hand-made", "clock": "1 GHz", "macs_per_cycle": {"int8": 256},
          "sram": "64 MiB", "dram_bandwidth": "1 GB/s", "winograd": "none", "overlap": True}
