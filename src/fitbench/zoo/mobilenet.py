"""MobileNetV2 and MobileNetV3-Large, layer by layer as torchvision builds them.

* ``mobilenet-v2``: Sandler et al. 2018 (arXiv:1801.04381); torchvision: 0.30 GMAC, 3,504,872
  parameters at 224x224, width 1.0. ``width`` scales every channel count (rounded to a multiple of
  8, as torchvision's ``_make_divisible``); the last conv keeps 1280 channels for width <= 1.
* ``mobilenet-v3-large``: Howard et al. 2019 (arXiv:1905.02244); torchvision: 0.22 GMAC, 5,483,032
  parameters. Squeeze-excite blocks, Hardswish, HardSigmoid.

Names follow torchvision's ``features.N`` indices: ``features.0.conv``, ``features.3.expand``,
``features.3.dw``, ``features.3.project``, ``features.3.se.fc1``, ``classifier``.
"""

from __future__ import annotations

import numpy as np

from .builder import GraphBuilder
from .registry import register_model


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's rounding: nearest multiple of ``divisor``, never below 90% of ``v``."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _relu6(g: GraphBuilder, x: str, name: str) -> str:
    lo = g.const("relu6.min", 0.0, np.float32)
    hi = g.const("relu6.max", 6.0, np.float32)
    return g.node("Clip", [x, lo, hi], name)


def _cba(g: GraphBuilder, x: str, cin: int, cout: int, k: int, name: str, stride: int = 1, groups: int = 1,
         act: str | None = "relu6", gamma: float = 1.0) -> str:
    """Conv + BN + activation (relu6, relu, hswish or None)."""
    y = g.bn(g.conv(x, cin, cout, k, f"{name}", stride=stride, groups=groups), cout, f"{name}.bn", gamma=gamma)
    if act == "relu6":
        return _relu6(g, y, f"{name}.relu6")
    if act == "relu":
        return g.relu(y, f"{name}.relu")
    if act == "hswish":
        return g.node("HardSwish", [y], f"{name}.hswish")
    return y


def _input(g: GraphBuilder, p: dict) -> str:
    h, w = p["resolution"]
    if h < 32 or w < 32:
        from ..errors import FitbenchError

        raise FitbenchError(f"resolution {w}x{h} is too small for a MobileNet: each side must be at least 32")
    return g.input("input", (p["batch"], 3, h, w))


V2_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1)]


@register_model("mobilenet-v2", family="cnn", source="Sandler et al. 2018 (arXiv:1801.04381); torchvision mobilenet_v2",
                description="MobileNetV2", default_input="1x3x224x224",
                defaults={"resolution": (224, 224), "width": 1.0, "classes": 1000},
                param_help={"width": "width multiplier (channels x width, rounded to 8)", "classes": "output classes"})
def mobilenet_v2(g: GraphBuilder, p: dict, notes: list) -> None:
    width = p["width"]
    x = _input(g, p)
    cin = make_divisible(32 * width)
    last = make_divisible(1280 * max(1.0, width))
    x = _cba(g, x, 3, cin, 3, "features.0.conv", stride=2)
    idx = 1
    for t, c, n, s in V2_SETTINGS:
        cout = make_divisible(c * width)
        for i in range(n):
            stride = s if i == 0 else 1
            name = f"features.{idx}"
            hidden = int(round(cin * t))
            y = x
            if t != 1:
                y = _cba(g, y, cin, hidden, 1, f"{name}.expand")
            y = _cba(g, y, hidden, hidden, 3, f"{name}.dw", stride=stride, groups=hidden)
            use_res = stride == 1 and cin == cout
            y = _cba(g, y, hidden, cout, 1, f"{name}.project", act=None, gamma=0.5 if use_res else 1.0)
            x = g.add(x, y, f"{name}.add") if use_res else y
            cin = cout
            idx += 1
    x = _cba(g, x, cin, last, 1, f"features.{idx}.conv")
    x = g.flatten(g.gap(x, "avgpool"), "flatten")
    g.output(g.gemm(x, last, p["classes"], "classifier", gain=1.0))


# kernel, expanded, out, squeeze-excite, activation, stride (torchvision mobilenet_v3_large)
V3_LARGE = [
    (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1), (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1), (5, 960, 160, True, "hswish", 1),
]


def _se(g: GraphBuilder, x: str, c: int, name: str) -> str:
    sq = make_divisible(c // 4)
    s = g.gap(x, f"{name}.avgpool")
    s = g.relu(g.conv(s, c, sq, 1, f"{name}.fc1", pad=0, bias=True), f"{name}.relu")
    s = g.conv(s, sq, c, 1, f"{name}.fc2", pad=0, bias=True, gain=1.0)
    s = g.node("HardSigmoid", [s], f"{name}.hsigmoid", alpha=1.0 / 6.0, beta=0.5)
    return g.mul(x, s, f"{name}.scale")


@register_model("mobilenet-v3-large", family="cnn",
                source="Howard et al. 2019 (arXiv:1905.02244); torchvision mobilenet_v3_large",
                description="MobileNetV3-Large", default_input="1x3x224x224",
                defaults={"resolution": (224, 224), "classes": 1000}, param_help={"classes": "output classes"})
def mobilenet_v3_large(g: GraphBuilder, p: dict, notes: list) -> None:
    x = _input(g, p)
    cin = 16
    x = _cba(g, x, 3, cin, 3, "features.0.conv", stride=2, act="hswish")
    for idx, (k, exp, cout, se, act, stride) in enumerate(V3_LARGE, start=1):
        name = f"features.{idx}"
        y = x
        if exp != cin:
            y = _cba(g, y, cin, exp, 1, f"{name}.expand", act=act)
        y = _cba(g, y, exp, exp, k, f"{name}.dw", stride=stride, groups=exp, act=act)
        if se:
            y = _se(g, y, exp, f"{name}.se")
        use_res = stride == 1 and cin == cout
        y = _cba(g, y, exp, cout, 1, f"{name}.project", act=None, gamma=0.5 if use_res else 1.0)
        x = g.add(x, y, f"{name}.add") if use_res else y
        cin = cout
    last = 6 * cin
    x = _cba(g, x, cin, last, 1, f"features.{len(V3_LARGE) + 1}.conv", act="hswish")
    x = g.flatten(g.gap(x, "avgpool"), "flatten")
    x = g.node("HardSwish", [g.gemm(x, last, 1280, "classifier.0")], "classifier.1")
    g.output(g.gemm(x, 1280, p["classes"], "classifier.3", gain=1.0))
