"""Small PyTorch builders for zoo models the torch runtime can run without ONNX conversion.

fitbench does not convert ONNX to torch (onnx2torch is not a dependency). The torch runtime runs
a user ``nn.Module`` or one of these builders, written after the published architectures:

- ``resnet50``: He et al. 2015, bottleneck blocks [3, 4, 6, 3] (torchvision layout), 1000 classes;
  about 4.1 GMAC at 224x224.
- ``yolov3``: Darknet-53 backbone + the three YOLOv3 heads (Redmon & Farhadi 2018, yolov3.cfg),
  80 classes (255 output channels per scale); 65.9 "BFLOPs" = ~32.9 GMAC at 416x416 per darknet.
- ``tiny-convnet``: a 3-layer conv net for tests.

Weights are random (seeded): latency does not depend on weight values.
"""

from __future__ import annotations

from typing import Any

from ...errors import UnknownNameError


def _torch():
    import torch
    from torch import nn

    return torch, nn


def conv_bn(nn, cin: int, cout: int, k: int, s: int = 1, act: str = "relu"):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout)]
    layers.append(nn.ReLU(inplace=True) if act == "relu" else nn.LeakyReLU(0.1, inplace=True))
    return nn.Sequential(*layers)


def resnet50(num_classes: int = 1000):
    torch, nn = _torch()

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width * 4
            self.body = nn.Sequential(
                conv_bn(nn, cin, width, 1),
                conv_bn(nn, width, width, 3, stride),
                nn.Conv2d(width, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            idt = x if self.down is None else self.down(x)
            return self.relu(self.body(x) + idt)

    class ResNet50(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(conv_bn(nn, 3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
            blocks, cin = [], 64
            for width, n, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
                for i in range(n):
                    blocks.append(Bottleneck(cin, width, stride if i == 0 else 1))
                    cin = width * 4
            self.layers = nn.Sequential(*blocks)
            self.fc = nn.Linear(2048, num_classes)

        def forward(self, x):
            x = self.layers(self.stem(x))
            return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))

    return ResNet50()


def yolov3(num_classes: int = 80):
    torch, nn = _torch()
    out_ch = 3 * (num_classes + 5)

    def cbl(cin, cout, k, s=1):
        return conv_bn(nn, cin, cout, k, s, act="leaky")

    class Residual(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.body = nn.Sequential(cbl(c, c // 2, 1), cbl(c // 2, c, 3))

        def forward(self, x):
            return x + self.body(x)

    def stage(cin, cout, n):
        return nn.Sequential(cbl(cin, cout, 3, 2), *[Residual(cout) for _ in range(n)])

    def head_block(cin, c):
        # five alternating 1x1 / 3x3 convs; the branch leaves after the fifth
        return nn.Sequential(
            cbl(cin, c, 1), cbl(c, 2 * c, 3), cbl(2 * c, c, 1), cbl(c, 2 * c, 3), cbl(2 * c, c, 1)
        )

    class YOLOv3(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = cbl(3, 32, 3)
            self.s1, self.s2 = stage(32, 64, 1), stage(64, 128, 2)
            self.s3, self.s4, self.s5 = stage(128, 256, 8), stage(256, 512, 8), stage(512, 1024, 4)
            self.h1 = head_block(1024, 512)
            self.o1 = nn.Sequential(cbl(512, 1024, 3), nn.Conv2d(1024, out_ch, 1))
            self.r1 = cbl(512, 256, 1)
            self.h2 = head_block(768, 256)
            self.o2 = nn.Sequential(cbl(256, 512, 3), nn.Conv2d(512, out_ch, 1))
            self.r2 = cbl(256, 128, 1)
            self.h3 = head_block(384, 128)
            self.o3 = nn.Sequential(cbl(128, 256, 3), nn.Conv2d(256, out_ch, 1))
            self.up = nn.Upsample(scale_factor=2, mode="nearest")

        def forward(self, x):
            c3 = self.s3(self.s2(self.s1(self.stem(x))))
            c4 = self.s4(c3)
            c5 = self.s5(c4)
            b1 = self.h1(c5)
            b2 = self.h2(torch.cat([self.up(self.r1(b1)), c4], 1))
            b3 = self.h3(torch.cat([self.up(self.r2(b2)), c3], 1))
            return self.o1(b1), self.o2(b2), self.o3(b3)

    return YOLOv3()


def tiny_convnet(num_classes: int = 10):
    torch, nn = _torch()
    return nn.Sequential(
        conv_bn(nn, 3, 8, 3, 2),
        conv_bn(nn, 8, 16, 3, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, num_classes),
    )


#: name -> (builder, default (H, W), channels)
BUILDERS: dict[str, tuple[Any, tuple[int, int], int]] = {
    "resnet50": (resnet50, (224, 224), 3),
    "yolov3": (yolov3, (416, 416), 3),
    "tiny-convnet": (tiny_convnet, (32, 32), 3),
}


def has_builder(name: str) -> bool:
    return str(name).lower() in BUILDERS


def build(
    name: str, *, batch: int = 1, resolution: tuple[int, int] | None = None, seed: int = 0, **params: Any
):
    """Build ``(module, {"input": (B, C, H, W)})`` for a torch zoo model (random seeded weights)."""
    key = str(name).lower()
    if key not in BUILDERS:
        raise UnknownNameError(
            f"torch runtime has no builder for {name!r}; it runs {', '.join(BUILDERS)} or an nn.Module "
            "from Python (ONNX files run on --runtime onnxruntime)"
        )
    torch, _ = _torch()
    fn, default_res, channels = BUILDERS[key]
    h, w = resolution or default_res
    torch.manual_seed(seed)
    module = fn(**params)
    return module.eval(), {"input": (int(batch), channels, int(h), int(w))}


def conv_linear_macs(module, input_shape: tuple[int, ...]) -> int:
    """MACs of Conv2d and Linear layers for one forward pass, on the meta device (no compute)."""
    torch, nn = _torch()
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            total += out.numel() * (mod.in_channels // mod.groups) * kh * kw
        elif isinstance(mod, nn.Linear):
            total += out.numel() * mod.in_features

    handles = [
        m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    try:
        meta = module.to("meta")
        with torch.no_grad():
            meta(torch.empty(input_shape, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return int(total)


def input_shapes(name: str, *, batch: int = 1, resolution: tuple[int, int] | None = None) -> dict[str, tuple]:
    """The input shape a builder's model takes, without building it."""
    key = str(name).lower()
    if key not in BUILDERS:
        build(name)  # raises the one-line error
    _, default_res, channels = BUILDERS[key]
    h, w = resolution or default_res
    return {"input": (int(batch), channels, int(h), int(w))}
