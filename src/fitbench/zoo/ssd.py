"""The two SSD detectors of MLPerf Inference (v0.5 to v2.0), layer by layer from MLPerf's reference code
(mlcommons/inference, ``vision/classification_and_detection/python/models/``).

* ``ssd-mobilenet-v1`` (``ssd_mobilenet_v1.py``, a port of TensorFlow's ``ssd_mobilenet_v1_coco_2018_01_28``):
  MobileNet-v1 (Howard et al. 2017, arXiv:1704.04861) to its 13th depthwise-separable block, four extra
  blocks (1x1 conv, then 3x3 stride-2 conv, ReLU6) and six 1x1 prediction heads on the 19x19 (block 11),
  10x10 (block 13), 5x5, 3x3, 2x2 and 1x1 maps with 3, 6, 6, 6, 6, 6 anchors: 1917 anchors at 300x300,
  91 classes (90 COCO ids + background). Convolutions pad as TensorFlow's ``SAME`` does (the extra pixel
  at the bottom/right), so any input size works. The reference graph is a TF frozen graph whose
  BatchNorms are folded into per-channel biases (``BiasAdd``; the depthwise BN is a scale folded into the
  weights here): every conv here carries a bias and no BN, so ``parameters`` = conv weights + one bias per
  output channel, the count of the deployed model (OpenVINO's model zoo: 6.807 M).
* ``ssd-resnet34`` (``ssd_r34.py`` + ``base_model_r34.py``, MLPerf's 1200x1200 model): torchvision's
  ResNet-34 up to ``layer3`` with MLPerf's modification - ``layer3`` keeps stride 1 (its first block's
  conv1 and 1x1 shortcut), so the backbone ends at 256 x H/8 x W/8 - then five extra blocks (1x1 conv +
  ReLU, 3x3 conv + ReLU; strides 2, 2, 2, 2, 1; the last two unpadded) and, on the six maps, 3x3 ``loc``
  (4 per anchor) and ``conf`` (81 per anchor) heads of stride 3 (MLPerf's ``strides=[3, 3, 2, 2, 2, 2]``):
  50x50, 25x25, 13x13, 7x7, 3x3, 3x3 with 4, 6, 6, 6, 4, 4 anchors = 15,130 boxes at 1200x1200. Convs
  of the backbone have BN (PyTorch's parameters: gamma and beta; running statistics are buffers); the
  extra blocks and heads have biases.

Outputs are the raw head outputs, in the reference's layouts: ``class_logits`` [N, anchors, classes] and
``box_regression`` [N, anchors, 4] for SSD-MobileNet (before the sigmoid), ``locs`` [N, 4, anchors] and
``confs`` [N, classes, anchors] for SSD-ResNet34; anchor decoding and NMS are post-processing, outside the
graph (as for YOLO). Input normalisation is left out too.
"""

from __future__ import annotations

import numpy as np

from ..errors import FitbenchError
from .builder import GraphBuilder
from .registry import register_model
from .resnet import _basic, _stem

# ---------------------------------------------------------------- SSD-MobileNet-v1 (TF padding)


def _same(size: int, k: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow SAME padding along one axis: (out, pad_begin, pad_end); the odd pixel goes at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2, total - total // 2


class _TfConv:
    """Tracks (tensor, channels, H, W) and emits TF-``SAME`` convs with bias + ReLU6."""

    def __init__(self, g: GraphBuilder, x: str, c: int, h: int, w: int) -> None:
        self.g, self.x, self.c, self.h, self.w = g, x, c, h, w

    def conv(self, cout: int, k: int, name: str, stride: int = 1, groups: int = 1, act: bool = True,
             x: tuple[str, int, int, int] | None = None) -> tuple[str, int, int, int]:
        t, c, h, w = x or (self.x, self.c, self.h, self.w)
        oh, top, bottom = _same(h, k, stride)
        ow, left, right = _same(w, k, stride)
        y = self.g.conv(t, c, cout, k, name, stride=stride, pad=(top, left, bottom, right), groups=groups,
                        bias=True, gain=2.0 if act else 1.0)
        if act:
            y = self.g.node("Clip", [y, self.g.const("relu6.min", 0.0, np.float32),
                                     self.g.const("relu6.max", 6.0, np.float32)], f"{name}.relu6")
        if x is None:
            self.x, self.c, self.h, self.w = y, cout, oh, ow
        return y, cout, oh, ow

    @property
    def state(self) -> tuple[str, int, int, int]:
        return self.x, self.c, self.h, self.w


# MobileNet-v1 base: (output channels, stride) of conv 0 and the 13 depthwise-separable blocks
MOBILENET_V1 = [(32, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
                (512, 1), (512, 1), (1024, 2), (1024, 1)]
SSD_MNV1_EXTRAS = [(256, 512), (128, 256), (128, 256), (64, 128)]  # (1x1 mid channels, 3x3 s2 out channels)
SSD_MNV1_ANCHORS = [3, 6, 6, 6, 6, 6]


@register_model("ssd-mobilenet-v1", family="detection",
                source="Liu et al. 2016 (arXiv:1512.02325); MLPerf reference ssd_mobilenet_v1.py "
                "(TF ssd_mobilenet_v1_coco)",
                description="SSD-MobileNet-v1 (MLPerf Inference, COCO 300x300)", default_input="1x3x300x300",
                defaults={"resolution": (300, 300), "classes": 91},
                param_help={"classes": "classes per anchor, background included (COCO: 91)"})
def ssd_mobilenet_v1(g: GraphBuilder, p: dict, notes: list) -> None:
    h, w = p["resolution"]
    k = p["classes"]
    t = _TfConv(g, g.input("input", (p["batch"], 3, h, w)), 3, h, w)
    features = []
    for i, (cout, stride) in enumerate(MOBILENET_V1):
        if i == 0:
            t.conv(cout, 3, "backbone.0.0", stride=stride)
        else:
            t.conv(t.c, 3, f"backbone.{i}.depthwise", stride=stride, groups=t.c)
            t.conv(cout, 1, f"backbone.{i}.pointwise")
        if i in (11, 13):
            features.append(t.state)
    for i, (mid, cout) in enumerate(SSD_MNV1_EXTRAS):
        t.conv(mid, 1, f"extras.{i}.0")
        t.conv(cout, 3, f"extras.{i}.2", stride=2)
        features.append(t.state)
    logits, boxes = [], []
    for i, (feature, anchors) in enumerate(zip(features, SSD_MNV1_ANCHORS, strict=True)):
        name = f"predictors.{i}"
        cls, _, _, _ = t.conv(anchors * k, 1, f"{name}.classification", act=False, x=feature)
        reg, _, _, _ = t.conv(anchors * 4, 1, f"{name}.regression", act=False, x=feature)
        # (N, A*K, H, W) -> (N, H, W, A*K) -> (N, H*W*A, K), as the reference's permute + reshape
        logits.append(g.reshape(g.transpose(cls, [0, 2, 3, 1], f"{name}.classification.permute"), [0, -1, k],
                                f"{name}.classification.reshape"))
        boxes.append(g.reshape(g.transpose(reg, [0, 2, 3, 1], f"{name}.regression.permute"), [0, -1, 4],
                               f"{name}.regression.reshape"))
    g.output(g.concat(logits, 1, "class_logits"))
    g.output(g.concat(boxes, 1, "box_regression"))


# ---------------------------------------------------------------- SSD-ResNet34 (MLPerf 1200x1200)

R34_BLOCKS = [(64, 3, 1), (128, 4, 2), (256, 6, 1)]  # channels, blocks, stride of the first block (layer3: 1)
R34_EXTRAS = [(256, 512, 2, 1), (256, 512, 2, 1), (128, 256, 2, 1), (128, 256, 2, 0), (128, 256, 1, 0)]
R34_ANCHORS = [4, 6, 6, 6, 4, 4]
R34_CHANNELS = [256, 512, 512, 256, 256, 256]
HEAD_STRIDE = 3


def _out(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def ssd_resnet34_maps(h: int, w: int) -> list[tuple[int, int]]:
    """The six head output sizes (after the stride-3 heads) at H x W: [(50, 50), (25, 25), (13, 13), (7, 7),
    (3, 3), (3, 3)] at 1200x1200. Raises :class:`FitbenchError` when the input is too small for them."""
    sizes = []
    for d in (h, w):
        d = _out(_out(d, 7, 2, 3), 3, 2, 1)  # conv1, maxpool
        d = _out(d, 3, 2, 1)  # layer2 (layer3 keeps stride 1)
        maps = [d]
        for _, _, stride, pad in R34_EXTRAS:
            d = _out(d, 3, stride, pad)
            maps.append(d)
        sizes.append(maps)
    feats = list(zip(*sizes, strict=True))
    if any(a <= 0 or b <= 0 for a, b in feats):
        raise FitbenchError(f"resolution {w}x{h} is too small for ssd-resnet34: its last extra block needs a "
                            "3x3 map (each side at least 385)")
    return [(_out(a, 3, HEAD_STRIDE, 1), _out(b, 3, HEAD_STRIDE, 1)) for a, b in feats]


@register_model("ssd-resnet34", family="detection",
                source="Liu et al. 2016 (arXiv:1512.02325); MLPerf reference ssd_r34.py (1200x1200)",
                description="SSD-ResNet34 (MLPerf Inference, COCO 1200x1200)", default_input="1x3x1200x1200",
                defaults={"resolution": (1200, 1200), "classes": 81},
                param_help={"classes": "classes per anchor, background included (COCO: 81)"})
def ssd_resnet34(g: GraphBuilder, p: dict, notes: list) -> None:
    h, w = p["resolution"]
    k = p["classes"]
    ssd_resnet34_maps(h, w)  # size check
    x = _stem(g, g.input("input", (p["batch"], 3, h, w)), prefix="backbone.")
    cin = 64
    for stage, (c, n, first_stride) in enumerate(R34_BLOCKS):
        for i in range(n):
            x = _basic(g, x, cin, c, first_stride if i == 0 else 1, f"backbone.layer{stage + 1}.{i}")
            cin = c
    features = [x]
    for i, (mid, cout, stride, pad) in enumerate(R34_EXTRAS):
        name = f"additional_blocks.{i}"
        x = g.relu(g.conv(x, cin, mid, 1, f"{name}.0", pad=0, bias=True), f"{name}.1")
        x = g.relu(g.conv(x, mid, cout, 3, f"{name}.2", stride=stride, pad=pad, bias=True), f"{name}.3")
        features.append(x)
        cin = cout
    locs, confs = [], []
    for i, (f, c, anchors) in enumerate(zip(features, R34_CHANNELS, R34_ANCHORS, strict=True)):
        loc = g.conv(f, c, anchors * 4, 3, f"loc.{i}", stride=HEAD_STRIDE, pad=1, bias=True, gain=1.0)
        conf = g.conv(f, c, anchors * k, 3, f"conf.{i}", stride=HEAD_STRIDE, pad=1, bias=True, gain=1.0)
        locs.append(g.reshape(loc, [0, 4, -1], f"loc.{i}.view"))
        confs.append(g.reshape(conf, [0, k, -1], f"conf.{i}.view"))
    g.output(g.concat(locs, 2, "locs"))
    g.output(g.concat(confs, 2, "confs"))
