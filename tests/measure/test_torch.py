"""PyTorch runtime (eager on CPU; compile kept minimal) and the torch builders' published figures."""

from __future__ import annotations

import pytest
from measure_fast import FAST

torch = pytest.importorskip("torch")

from fitbench.measure import measure  # noqa: E402
from fitbench.measure.runtimes import torch_models  # noqa: E402


@pytest.mark.parametrize(
    "name, resolution, published_macs, source",
    [
        # torchvision's ResNet-50 model card: 4.09 GFLOPS (multiply-adds) at 224x224
        ("resnet50", (224, 224), 4.09e9, "torchvision ResNet50_Weights.IMAGENET1K_V1"),
        # darknet yolov3.cfg at 416x416 prints 65.879 BFLOPs (= 2 x MACs, incl. a few non-conv ops)
        ("yolov3", (416, 416), 65.879e9 / 2, "pjreddie darknet yolov3.cfg"),
    ],
)
def test_torch_builders_match_published_macs(name, resolution, published_macs, source):
    module, shapes = torch_models.build(name, resolution=resolution)
    macs = torch_models.conv_linear_macs(module, shapes["input"])
    assert macs == pytest.approx(published_macs, rel=0.01), source
    # two more methods, exactly: PyTorch's FlopCounterMode (2 FLOPs per MAC) on the same module (meta device,
    # nothing computed), and fitbench's profile of the zoo's ONNX builder of the same architecture
    from torch.utils.flop_counter import FlopCounterMode

    from fitbench.profile import profile

    meta, _ = torch_models.build(name, resolution=resolution)
    meta = meta.to("meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta(torch.empty(shapes["input"], device="meta"))
    assert counter.get_total_flops() == 2 * macs
    assert profile(name, resolution=resolution).totals.macs == macs


def test_torch_resnet50_has_torchvisions_parameter_count():
    # torchvision resnet50 (ResNet50_Weights.IMAGENET1K_V1 model card): 25,557,032 parameters
    module, _ = torch_models.build("resnet50")
    assert sum(p.numel() for p in module.parameters()) == 25_557_032


def test_yolov3_macs_scale_with_pixels():
    # conv MACs are proportional to output pixels: 1088x1920 / 416x416 = 2088960 / 173056 = 12.07x
    small = torch_models.conv_linear_macs(*_mod("yolov3", (416, 416)))
    big = torch_models.conv_linear_macs(*_mod("yolov3", (1088, 1920)))
    assert big / small == pytest.approx((1088 * 1920) / (416 * 416), rel=1e-9)


def _mod(name, res):
    m, s = torch_models.build(name, resolution=res)
    return m, s["input"]


def test_torch_eager_zoo_builder_single_stream():
    r = measure("tiny-convnet", runtime="torch", batch=2, **FAST)
    assert r.ok, r.cause
    assert r.conditions["fed_shapes"] == {"input": [2, 3, 32, 32]}
    info = r.conditions["runtime_info"]
    assert info["mode"] == "eager" and info["device"] == "cpu" and info["threads"] == 1
    assert r.conditions["runtime_version"] == torch.__version__
    assert r.throughput == pytest.approx(r.samples * 2 / r.wall_s)


def test_torch_user_module():
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    r = measure(net, runtime="torch", inputs={"x": (1, 64)}, batch=4, scenario="single-stream", **FAST)
    assert r.ok, r.cause
    assert r.batch == 4 and r.conditions["fed_shapes"] == {"x": [4, 64]}
    assert r.model == "Sequential"


def test_torch_unknown_zoo_name_and_bad_precision():
    from fitbench.errors import FitbenchError

    with pytest.raises(FitbenchError, match="torch runtime has no builder|torch runtime needs a zoo model"):
        measure("bert-base", runtime="torch", **FAST)
    with pytest.raises(FitbenchError, match="the torch runtime does not run int8"):
        measure("tiny-convnet", runtime="torch", precision="int8", **FAST)


@pytest.mark.parametrize("precision, dtype", [("fp16", "float16"), ("bf16", "bfloat16")])
def test_torch_half_precisions_run_on_cpu(precision, dtype):
    r = measure("tiny-convnet", runtime="torch", precision=precision, **FAST)
    assert r.ok, r.cause
    assert r.precision == precision and r.conditions["precision_requested"] == precision
    assert r.conditions["conversion"]["tool"] == f"torch.nn.Module.to(torch.{dtype})"


@pytest.mark.slow
def test_torch_compile_minimal():
    r = measure("tiny-convnet", runtime="torch", compile=True, **{**FAST, "timeout_s": 300})
    assert r.ok, r.cause
    assert r.conditions["runtime_info"]["mode"] == "torch.compile"


def test_user_module_on_onnxruntime_is_exported():
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU())
    r = measure(net, inputs={"x": (1, 64)}, batch=3, **FAST)
    assert r.ok, r.cause
    assert r.runtime == "onnxruntime" and r.conditions["fed_shapes"] == {"x": [3, 64]}
    assert any("torch.onnx.export" in n for n in r.conditions["notes"])


def test_factory_spec_on_torch():
    spec = "fitbench.measure.runtimes.torch_models:tiny_convnet"
    r = measure(spec, runtime="torch", inputs={"x": (1, 3, 32, 32)}, batch=2, **FAST)
    assert r.ok, r.cause
    assert r.model == spec and r.conditions["fed_shapes"] == {"x": [2, 3, 32, 32]}
