"""ResNets, layer by layer as torchvision builds them (He et al. 2015, "Deep Residual Learning").

* ``resnet50``: v1.5 - the stride of a downsampling bottleneck sits on its 3x3 conv (torchvision,
  MLPerf). torchvision: 4.09 GMAC ("GFLOPS" in its table), 25,557,032 parameters at 224x224.
* ``resnet50-v1``: the original paper's v1 - stride on the first 1x1 conv of the block.
* ``resnet18``: basic blocks; torchvision 1.81 GMAC, 11,689,512 parameters.

Layer names follow torchvision's modules: ``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.bn3``,
``layer1.0.downsample.0`` (the projection shortcut's 1x1 conv), ``layer1.0.downsample.1`` (its BN),
``fc``. The last BN of each residual branch gets a small gamma (0.25 x U(0.5, 1)) so the residual
stream's variance stays bounded with random weights.

ResNet-50's figures quoted in the seed (3.5 GMAC, 22.7 M weights, "50 stages") are the 50 main-path
layers of v1 - 49 convs and the fc - without the 4 projection shortcuts: see :func:`main_path_totals`.
"""

from __future__ import annotations

from typing import Any

from .builder import GraphBuilder
from .registry import register_model

SHORTCUT_MARK = ".downsample."
MAC_OPS = ("Conv", "Gemm", "MatMul", "ConvTranspose")
RESIDUAL_GAMMA = 0.25


def _stem(g: GraphBuilder, x: str, prefix: str = "", frozen: bool = False) -> str:
    x = g.conv(x, 3, 64, 7, f"{prefix}conv1", stride=2, pad=3)
    x = g.relu(g.bn(x, 64, f"{prefix}bn1", frozen=frozen), f"{prefix}relu")
    return g.maxpool(x, 3, 2, f"{prefix}maxpool", pads=[1, 1, 1, 1])


def _bottleneck(g: GraphBuilder, x: str, cin: int, width: int, stride: int, name: str, v15: bool,
                cout: int | None = None, groups: int = 1, frozen: bool = False) -> str:
    """torchvision's Bottleneck: 1x1 to ``width``, 3x3 (``groups`` groups: ResNeXt), 1x1 to ``cout``
    (default ``4 * width``); ``frozen`` BN as in torchvision's detection backbones."""
    cout = cout or width * 4
    s1, s2 = (1, stride) if v15 else (stride, 1)
    y = g.relu(g.bn(g.conv(x, cin, width, 1, f"{name}.conv1", stride=s1, pad=0), width, f"{name}.bn1", frozen=frozen),
               f"{name}.relu1")
    y = g.relu(g.bn(g.conv(y, width, width, 3, f"{name}.conv2", stride=s2, groups=groups), width, f"{name}.bn2",
                    frozen=frozen), f"{name}.relu2")
    y = g.bn(g.conv(y, width, cout, 1, f"{name}.conv3", pad=0), cout, f"{name}.bn3", gamma=RESIDUAL_GAMMA,
             frozen=frozen)
    if stride != 1 or cin != cout:
        x = g.conv(x, cin, cout, 1, f"{name}.downsample.0", stride=stride, pad=0)
        x = g.bn(x, cout, f"{name}.downsample.1", frozen=frozen)
    return g.relu(g.add(y, x, f"{name}.add"), f"{name}.relu")


def _basic(g: GraphBuilder, x: str, cin: int, cout: int, stride: int, name: str) -> str:
    y = g.relu(g.bn(g.conv(x, cin, cout, 3, f"{name}.conv1", stride=stride), cout, f"{name}.bn1"), f"{name}.relu1")
    y = g.bn(g.conv(y, cout, cout, 3, f"{name}.conv2"), cout, f"{name}.bn2", gamma=RESIDUAL_GAMMA)
    if stride != 1 or cin != cout:
        x = g.bn(g.conv(x, cin, cout, 1, f"{name}.downsample.0", stride=stride, pad=0), cout, f"{name}.downsample.1")
    return g.relu(g.add(y, x, f"{name}.add"), f"{name}.relu")


def _resnet(g: GraphBuilder, p: dict, blocks: list[int], bottleneck: bool, v15: bool = True) -> None:
    h, w = p["resolution"]
    if h < 32 or w < 32:
        from ..errors import FitbenchError

        raise FitbenchError(f"resolution {w}x{h} is too small for a ResNet: each side must be at least 32")
    x = g.input("input", (p["batch"], 3, h, w))
    x = _stem(g, x)
    cin = 64
    for stage, n in enumerate(blocks):
        width = 64 * 2**stage
        for i in range(n):
            stride = 2 if (i == 0 and stage > 0) else 1
            name = f"layer{stage + 1}.{i}"
            if bottleneck:
                x = _bottleneck(g, x, cin, width, stride, name, v15)
                cin = width * 4
            else:
                x = _basic(g, x, cin, width, stride, name)
                cin = width
    x = g.flatten(g.gap(x, "avgpool"), "flatten")
    g.output(g.gemm(x, cin, p["classes"], "fc"))


_SRC50 = "He et al. 2015 (arXiv:1512.03385); torchvision resnet50 "


@register_model("resnet50", family="cnn", source=_SRC50 + "(v1.5: stride on the 3x3, as MLPerf)",
                description="ResNet-50 v1.5", default_input="1x3x224x224",
                defaults={"resolution": (224, 224), "classes": 1000}, param_help={"classes": "output classes"})
def resnet50(g: GraphBuilder, p: dict, notes: list) -> None:
    _resnet(g, p, [3, 4, 6, 3], bottleneck=True, v15=True)


@register_model("resnet50-v1", family="cnn",
                source="He et al. 2015 (arXiv:1512.03385), original v1: stride on the first 1x1",
                description="ResNet-50 v1 (original paper)",
                default_input="1x3x224x224", defaults={"resolution": (224, 224), "classes": 1000},
                param_help={"classes": "output classes"})
def resnet50_v1(g: GraphBuilder, p: dict, notes: list) -> None:
    _resnet(g, p, [3, 4, 6, 3], bottleneck=True, v15=False)


@register_model("resnet18", family="cnn", source="He et al. 2015 (arXiv:1512.03385); torchvision resnet18",
                description="ResNet-18", default_input="1x3x224x224",
                defaults={"resolution": (224, 224), "classes": 1000}, param_help={"classes": "output classes"})
def resnet18(g: GraphBuilder, p: dict, notes: list) -> None:
    _resnet(g, p, [2, 2, 2, 2], bottleneck=False)


def _get(layer: Any, key: str, default: Any = None) -> Any:
    return layer.get(key, default) if isinstance(layer, dict) else getattr(layer, key, default)


def main_path_totals(profile: Any) -> dict[str, Any]:
    """Totals over the MAC layers of the main path, i.e. without the projection shortcuts.

    ``profile`` is a :class:`fitbench.profile.Profile` (or anything with ``layers`` carrying
    ``name``, ``op_type``, ``macs``, ``weights`` and ``winograd_eligible``). Layers whose name
    contains ``.downsample.`` (the 1x1 projection shortcuts and their BN) are left out, as are
    non-MAC layers (BN, ReLU, pooling, Add). For ResNet-50 v1 at 224x224 this gives the seed's
    figures: 50 layers (49 convs + fc), 3.5 GMAC, 22.7 M weights (conv weights + fc weight and bias).

    Returns ``layers`` (count), ``macs``, ``weights`` (elements), ``winograd_eligible_macs`` and
    ``winograd_speedup_f2`` = macs / (macs - eligible + eligible / 2.25), the speed-up if every
    eligible 3x3 stride-1 conv runs Winograd F(2x2, 3x3) and nothing else changes.
    """
    layers = [la for la in _get(profile, "layers", [])
              if _get(la, "op_type") in MAC_OPS and SHORTCUT_MARK not in _get(la, "name", "")]
    macs = sum(_get(la, "macs") or 0 for la in layers)
    weights = sum(_get(la, "weights") or 0 for la in layers)
    eligible = sum(_get(la, "macs") or 0 for la in layers if _get(la, "winograd_eligible"))
    speedup = macs / (macs - eligible + eligible / 2.25) if macs else 1.0
    return {"layers": len(layers), "macs": macs, "weights": weights, "winograd_eligible_macs": eligible,
            "winograd_speedup_f2": speedup}
