"""YOLOv3 and YOLOv3-tiny, layer by layer from darknet's ``yolov3.cfg`` / ``yolov3-tiny.cfg``.

Redmon & Farhadi 2018, "YOLOv3: An Incremental Improvement" (arXiv:1804.02767). Names are the cfg's
layer indices: ``layer0.conv``, ``layer0.bn``, ``layer0.leaky``, ``layer4.shortcut``, ``layer85.upsample``,
``layer86.route``; the three detection outputs are the raw 1x1 convs before the ``[yolo]`` layers
(``layer81.conv``, ``layer93.conv``, ``layer105.conv``, 3*(classes+5) = 255 channels for 80 classes);
box decoding and NMS are post-processing and not part of the graph.

Darknet needs H and W divisible by 32; other sizes are letterboxed (padded) up to the next multiple
of 32, as darknet does, and the change is recorded in the model's notes (1920x1080 -> 1920x1088).
Darknet reports 65.86 BFLOPs for YOLOv3 at 416x416 and 5.56 for YOLOv3-tiny: its "BFLOPs" are
2 x conv MACs.
"""

from __future__ import annotations

from .builder import GraphBuilder
from .registry import pad_to_multiple, register_model

WHY = "darknet pads to a multiple of 32"
RESIDUAL_GAMMA = 0.25  # small BN gamma on each residual branch keeps random-weight activations bounded


class _Darknet:
    """Tracks darknet layer indices and each layer's (tensor, channels) for routes."""

    def __init__(self, g: GraphBuilder) -> None:
        self.g = g
        self.layers: list[tuple[str, int]] = []

    @property
    def idx(self) -> int:
        return len(self.layers)

    def last(self) -> tuple[str, int]:
        return self.layers[-1]

    def conv(self, x: tuple[str, int], cout: int, k: int, stride: int = 1, bn: bool = True,
             gamma: float = 1.0) -> tuple[str, int]:
        name = f"layer{self.idx}"
        t, cin = x
        if bn:
            y = self.g.conv(t, cin, cout, k, f"{name}.conv", stride=stride, pad=k // 2, gain=2.0 / (1 + 0.01))
            y = self.g.leaky(self.g.bn(y, cout, f"{name}.bn", gamma=gamma), f"{name}.leaky")
        else:  # the linear 1x1 convs before [yolo]: bias, no BN, no activation
            y = self.g.conv(t, cin, cout, k, f"{name}.conv", stride=stride, pad=k // 2, bias=True, gain=1.0)
        self.layers.append((y, cout))
        return self.layers[-1]

    def shortcut(self, back: int) -> tuple[str, int]:
        a, c = self.last()
        b, _ = self.layers[self.idx + back]
        self.layers.append((self.g.add(a, b, f"layer{self.idx}.shortcut"), c))
        return self.layers[-1]

    def route(self, *refs: int) -> tuple[str, int]:
        picked = [self.layers[r if r >= 0 else self.idx + r] for r in refs]
        if len(picked) == 1:  # a single-layer route is just a reference, no op
            self.layers.append(picked[0])
        else:
            t = self.g.concat([p[0] for p in picked], 1, f"layer{self.idx}.route")
            self.layers.append((t, sum(p[1] for p in picked)))
        return self.layers[-1]

    def upsample(self) -> tuple[str, int]:
        t, c = self.last()
        self.layers.append((self.g.upsample(t, 2, f"layer{self.idx}.upsample"), c))
        return self.layers[-1]

    def maxpool(self, k: int, stride: int) -> tuple[str, int]:
        t, c = self.last()
        # darknet pads a maxpool by size-1 in total, on the bottom/right
        pads = [0, 0, 0, 0] if stride == k else [0, 0, k - 1, k - 1]
        self.layers.append((self.g.maxpool(t, k, stride, f"layer{self.idx}.maxpool", pads=pads), c))
        return self.layers[-1]

    def yolo(self) -> None:
        self.g.output(self.last()[0])
        self.layers.append(self.last())  # [yolo] is a layer index in the cfg

    def head(self, width: int, out: int) -> None:
        """A YOLOv3 head: 3 x (1x1 conv to width/2, 3x3 conv to width), the 1x1 output conv, [yolo]."""
        for _ in range(3):
            self.conv(self.last(), width // 2, 1)
            self.conv(self.last(), width, 3)
        self.conv(self.last(), out, 1, bn=False)
        self.yolo()

    def up_route(self, cout: int, skip: int) -> None:
        """Back 4 layers, 1x1 conv to cout, upsample x2, concat with the backbone layer ``skip``."""
        self.route(-4)
        self.conv(self.last(), cout, 1)
        self.upsample()
        self.route(-1, skip)


def _input(g: GraphBuilder, p: dict, notes: list) -> tuple[str, int]:
    h, w = pad_to_multiple(p, 32, notes, WHY)
    return g.input("input", (p["batch"], 3, h, w)), 3


@register_model("yolov3", family="detection", source="Redmon & Farhadi 2018 (arXiv:1804.02767); darknet yolov3.cfg",
                description="YOLOv3 (Darknet-53 + 3 heads)", default_input="1x3x416x416",
                defaults={"resolution": (416, 416), "classes": 80}, param_help={"classes": "object classes"})
def yolov3(g: GraphBuilder, p: dict, notes: list) -> None:
    d = _Darknet(g)
    x = _input(g, p, notes)
    out = 3 * (p["classes"] + 5)
    x = d.conv(x, 32, 3)
    for cout, n in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        x = d.conv(x, cout, 3, stride=2)
        for _ in range(n):
            d.conv(x, cout // 2, 1)
            d.conv(d.last(), cout, 3, gamma=RESIDUAL_GAMMA)
            x = d.shortcut(-3)
    d.head(1024, out)  # head 1 (stride 32)
    d.up_route(256, 61)
    d.head(512, out)  # head 2 (stride 16)
    d.up_route(128, 36)
    d.head(256, out)  # head 3 (stride 8)
    assert d.idx == 107, d.idx  # yolov3.cfg has layers 0..106


@register_model("yolov3-tiny", family="detection", source="Redmon & Farhadi 2018; darknet yolov3-tiny.cfg",
                description="YOLOv3-tiny", default_input="1x3x416x416",
                defaults={"resolution": (416, 416), "classes": 80}, param_help={"classes": "object classes"})
def yolov3_tiny(g: GraphBuilder, p: dict, notes: list) -> None:
    d = _Darknet(g)
    x = _input(g, p, notes)
    out = 3 * (p["classes"] + 5)
    d.conv(x, 16, 3)
    for cout in (32, 64, 128, 256, 512):
        d.maxpool(2, 2)
        d.conv(d.last(), cout, 3)
    d.maxpool(2, 1)
    d.conv(d.last(), 1024, 3)
    d.conv(d.last(), 256, 1)
    d.conv(d.last(), 512, 3)
    d.conv(d.last(), out, 1, bn=False)
    d.yolo()
    d.up_route(128, 8)
    d.conv(d.last(), 256, 3)
    d.conv(d.last(), out, 1, bn=False)
    d.yolo()
    assert d.idx == 24, d.idx
