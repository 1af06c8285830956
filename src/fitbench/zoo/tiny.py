"""A tiny conv net for fast tests: conv3x3(3->8) ReLU, conv3x3 stride 2 (8->16) ReLU, GAP, fc(16->classes).

At 32x32 and batch 1: MACs = 32*32*8*27 + 16*16*16*72 + 16*classes (= 221,184 + 294,912 + 160).
"""

from __future__ import annotations

from .builder import GraphBuilder
from .registry import register_model


@register_model("tiny", family="test", source="fitbench (a small net for tests)", description="tiny conv net",
                default_input="1x3x32x32", defaults={"resolution": (32, 32), "classes": 10},
                param_help={"classes": "output classes"})
def tiny(g: GraphBuilder, p: dict, notes: list) -> None:
    h, w = p["resolution"]
    x = g.input("input", (p["batch"], 3, h, w))
    x = g.relu(g.conv(x, 3, 8, 3, "conv1", bias=True), "relu1")
    x = g.relu(g.conv(x, 8, 16, 3, "conv2", stride=2, bias=True), "relu2")
    x = g.flatten(g.gap(x, "avgpool"), "flatten")
    g.output(g.gemm(x, 16, p["classes"], "fc"))
