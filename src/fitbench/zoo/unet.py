"""U-Net for segmentation at camera resolution.

Ronneberger et al. 2015 (arXiv:1505.04597), in the padded form of the widely used milesial
Pytorch-UNet (``bilinear=False``): same-padded 3x3 convs (no bias) + BN + ReLU in pairs
(``inc``, ``down1..4`` after a 2x2 max-pool), 2x2 stride-2 transposed convs (with bias) to
upsample, skip concatenations, and a 1x1 ``outc`` conv to ``classes`` channels. Channels
64-128-256-512-1024. H and W must be multiples of 16 (four poolings); other sizes are padded up
and the change is recorded in the notes.
"""

from __future__ import annotations

from .builder import GraphBuilder
from .registry import pad_to_multiple, register_model


def _double(g: GraphBuilder, x: str, cin: int, cout: int, name: str) -> str:
    x = g.relu(g.bn(g.conv(x, cin, cout, 3, f"{name}.conv1"), cout, f"{name}.bn1"), f"{name}.relu1")
    return g.relu(g.bn(g.conv(x, cout, cout, 3, f"{name}.conv2"), cout, f"{name}.bn2"), f"{name}.relu2")


@register_model("unet", family="segmentation",
                source="Ronneberger et al. 2015 (arXiv:1505.04597); milesial Pytorch-UNet",
                description="U-Net (padded, transposed-conv upsampling)", default_input="1x3x512x512",
                defaults={"resolution": (512, 512), "classes": 2}, param_help={"classes": "segmentation classes"})
def unet(g: GraphBuilder, p: dict, notes: list) -> None:
    h, w = pad_to_multiple(p, 16, notes, "U-Net's four 2x2 poolings need a multiple of 16")
    x = g.input("input", (p["batch"], 3, h, w))
    widths = [64, 128, 256, 512, 1024]
    skips = [_double(g, x, 3, 64, "inc")]
    for i in range(1, 5):
        y = g.maxpool(skips[-1], 2, 2, f"down{i}.maxpool", pads=[0, 0, 0, 0])
        skips.append(_double(g, y, widths[i - 1], widths[i], f"down{i}"))
    x = skips.pop()
    for i in range(1, 5):
        cin, cout = widths[5 - i], widths[4 - i]
        up = g.weight(f"up{i}.up.weight", (cin, cout, 2, 2), "he", 2.0, fan_in=cin)
        ub = g.weight(f"up{i}.up.bias", (cout,), "zeros")
        y = g.node("ConvTranspose", [x, up, ub], f"up{i}.up", kernel_shape=[2, 2], strides=[2, 2])
        y = g.concat([skips.pop(), y], 1, f"up{i}.concat")
        x = _double(g, y, 2 * cout, cout, f"up{i}")
    g.output(g.conv(x, 64, p["classes"], 1, "outc", pad=0, bias=True, gain=1.0))
