"""RetinaNet with a ResNeXt50-32x4d FPN backbone: MLPerf Inference's object detector from v2.1 on.

Lin et al. 2017, "Focal Loss for Dense Object Detection" (arXiv:1708.02002); layer by layer from MLPerf's
reference model (mlcommons/training ``single_stage_detector/ssd/model/``, kept under
``retired_benchmarks/retinanet/ssd/model/``: ``retinanet.py``, ``backbone_utils.py``,
``feature_pyramid_network.py``; mlcommons/inference exports it with ``retinanet_pytorch_to_onnx.py`` at
800x800 with 264 classes, the MLPerf subset of OpenImages):

* backbone: torchvision's ``resnext50_32x4d`` (bottleneck width 2 x planes, 3x3 convs in 32 groups, stride
  on the 3x3) with ``FrozenBatchNorm2d`` - all four BN tensors are buffers, so PyTorch counts no BN
  parameter; ``backbone=resnet50`` gives the ResNet-50 variant the same reference code builds;
* FPN on C3, C4, C5 (``returned_layers=[2, 3, 4]``): 1x1 lateral convs to 256, nearest x2 top-down
  upsampling and adds, 3x3 output convs; P6 = 3x3 stride-2 conv of P5, P7 = 3x3 stride-2 conv of
  ReLU(P6) (``LastLevelP6P7(256, 256)``);
* heads shared by the five levels: 4 x (3x3 conv 256 + ReLU) then a 3x3 conv to 9 anchors x classes
  (``cls_logits``) or 9 x 4 (``bbox_reg``); one set of weights, applied to each level.

At 800x800 the levels are 100, 50, 25, 13 and 7 cells a side: 9 x 13,343 = 120,087 anchors. Outputs are
the raw head outputs in the reference's layout: ``cls_logits`` [N, anchors, classes] (before the
sigmoid) and ``bbox_regression`` [N, anchors, 4]; anchor decoding and NMS are post-processing. The
reference resizes every image to 800x800, a multiple of 32; other sizes are letterboxed up to a multiple
of 32 here (noted), so each FPN level is exactly half the one below and the reference's nearest
interpolation to the lateral's size is a x2 upsample. Normalisation is left out.
"""

from __future__ import annotations

from ..errors import FitbenchError
from .builder import GraphBuilder
from .registry import pad_to_multiple, register_model
from .resnet import _bottleneck, _stem

ANCHORS = 9  # 3 sizes x 3 aspect ratios per location
FPN = 256
BACKBONES = {"resnext50_32x4d": (32, 2), "resnet50": (1, 1)}  # groups, width per plane


def _head_conv(g: GraphBuilder, x: str, cin: int, cout: int, name: str, level: str, weights: dict) -> str:
    """A 3x3 conv whose weights (declared once, on first use) are shared by every FPN level."""
    if name not in weights:
        weights[name] = (g.weight(f"{name}.weight", (cout, cin, 3, 3), "he", 2.0 if cout == cin else 1.0),
                         g.weight(f"{name}.bias", (cout,), "zeros"))
    w, b = weights[name]
    return g.node("Conv", [x, w, b], f"{name}.{level}", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                  group=1, dilations=[1, 1])


@register_model("retinanet-resnext50", family="detection",
                source="Lin et al. 2017 (arXiv:1708.02002); MLPerf reference (mlcommons/training "
                "single_stage_detector)",
                description="RetinaNet ResNeXt50-32x4d FPN (MLPerf Inference, OpenImages 800x800)",
                default_input="1x3x800x800",
                defaults={"resolution": (800, 800), "classes": 264, "backbone": "resnext50_32x4d"},
                param_help={"classes": "object classes (MLPerf's OpenImages subset: 264)",
                            "backbone": "resnext50_32x4d (MLPerf) or resnet50"})
def retinanet_resnext50(g: GraphBuilder, p: dict, notes: list) -> None:
    if p["backbone"] not in BACKBONES:
        raise FitbenchError(f"retinanet-resnext50: backbone must be one of {', '.join(BACKBONES)}, "
                            f"got {p['backbone']!r}")
    groups, per_plane = BACKBONES[p["backbone"]]
    k = p["classes"]
    h, w = pad_to_multiple(p, 32, notes, "the FPN's x2 top-down upsampling needs each level half the one below",
                           minimum=128)
    x = _stem(g, g.input("input", (p["batch"], 3, h, w)), prefix="backbone.body.", frozen=True)
    cin, c = 64, []
    for stage, n in enumerate([3, 4, 6, 3]):
        planes = 64 * 2**stage
        for i in range(n):
            x = _bottleneck(g, x, cin, planes * per_plane, 2 if (i == 0 and stage > 0) else 1,
                            f"backbone.body.layer{stage + 1}.{i}", v15=True, cout=planes * 4, groups=groups,
                            frozen=True)
            cin = planes * 4
        if stage > 0:
            c.append((x, cin))
    # FPN: top-down from C5
    fpn = "backbone.fpn"
    inner = [g.conv(t, ch, FPN, 1, f"{fpn}.inner_blocks.{i}", pad=0, bias=True, gain=1.0)
             for i, (t, ch) in enumerate(c)]
    last = inner[2]
    outs = [g.conv(last, FPN, FPN, 3, f"{fpn}.layer_blocks.2", bias=True, gain=1.0)]
    for i in (1, 0):
        last = g.add(inner[i], g.upsample(last, 2, f"{fpn}.top_down.{i}"), f"{fpn}.merge.{i}")
        outs.insert(0, g.conv(last, FPN, FPN, 3, f"{fpn}.layer_blocks.{i}", bias=True, gain=1.0))
    p6 = g.conv(outs[-1], FPN, FPN, 3, f"{fpn}.extra_blocks.p6", stride=2, bias=True, gain=1.0)
    p7 = g.conv(g.relu(p6, f"{fpn}.extra_blocks.p6.relu"), FPN, FPN, 3, f"{fpn}.extra_blocks.p7", stride=2,
                bias=True, gain=1.0)
    outs += [p6, p7]
    sizes = [(h // 8, w // 8), (h // 16, w // 16), (h // 32, w // 32)]
    for _ in range(2):  # P6, P7: 3x3 stride-2 pad-1 convs, ceil(x / 2)
        sizes.append((-(-sizes[-1][0] // 2), -(-sizes[-1][1] // 2)))
    shared: dict = {}
    for head, per_anchor, last_name, out_name in (("classification_head", k, "cls_logits", "cls_logits"),
                                                 ("regression_head", 4, "bbox_reg", "bbox_regression")):
        per_level = []
        for level, f, (lh, lw) in zip(("p3", "p4", "p5", "p6", "p7"), outs, sizes, strict=True):
            y = f
            for j in range(4):
                name = f"head.{head}.conv.{2 * j}"
                y = g.relu(_head_conv(g, y, FPN, FPN, name, level, shared), f"head.{head}.conv.{2 * j + 1}.{level}")
            y = _head_conv(g, y, FPN, ANCHORS * per_anchor, f"head.{head}.{last_name}", level, shared)
            # (N, A*K, H, W) -> (N, A, K, H, W) -> (N, H, W, A, K) -> (N, H*W*A, K), as the reference's view/permute
            y = g.reshape(y, [0, ANCHORS, per_anchor, lh, lw], f"head.{head}.{level}.view")
            y = g.transpose(y, [0, 3, 4, 1, 2], f"head.{head}.{level}.permute")
            per_level.append(g.reshape(y, [0, -1, per_anchor], f"head.{head}.{level}.reshape"))
        g.output(g.concat(per_level, 1, out_name))
