"""The seed article's phenomena, reproduced with the catalog's archetypes and the zoo's models.

(a) chips that load weights slowly need large batches; (b) big images spill activations;
(c) Winograd's speed-up follows the eligible-MAC fraction (Amdahl); (d) Winograd weights stored
expanded in DRAM multiply the DRAM bandwidth demand by their growth times the speed-up.
"""

from __future__ import annotations

import pytest

from fitbench.hardware.estimator import estimate
from fitbench.hardware.spec import load_hardware
from fitbench.profile import WINOGRAD_F2, WINOGRAD_GROWTH_F2, amdahl_speedup


def derived(base: str, **changes) -> dict:
    """A catalog spec with some fields changed (a what-if spec)."""
    d = load_hardware(base).model_dump(exclude={"path"})
    d.update(name=f"{base}-what-if", **changes)
    return d


# (a) ------------------------------------------------------------------ batch size

def test_a_slow_weight_loading_chip_needs_a_large_batch(resnet50):
    e = estimate(resnet50, "edge-npu-slow-dram", batch=[1, 32])
    b1, b32 = e.point(1), e.point(32)
    assert resnet50.totals.weight_bytes > load_hardware("edge-npu-slow-dram").sram_bytes   # weights cannot stay
    assert not b1.weights_resident
    assert b1.bound_share["weights"] > 0.5                  # batch 1 waits for weights most of the time
    assert b1.throughput_ips <= 0.5 * b32.throughput_ips    # the seed: "half or well less than half"
    assert b32.dram_weight_bytes_per_inference < b1.dram_weight_bytes_per_inference / 2


def test_a_all_on_chip_chip_does_not_need_a_batch(resnet50):
    e = estimate(resnet50, "all-on-chip", batch=[1, 32])
    b1, b32 = e.point(1), e.point(32)
    assert b1.weights_resident and b1.dram_bytes_per_inference == 0
    assert b1.throughput_ips > 0.5 * b32.throughput_ips
    assert b1.throughput_ips == pytest.approx(b32.throughput_ips, rel=0.01)


# (b) ------------------------------------------------------------------ image size

@pytest.mark.parametrize("hw", ["edge-npu-slow-dram", "edge-large-sram", "datacenter-bigbatch"])
def test_b_yolov3_1080p_spills_where_resnet50_does_not(resnet50, yolov3_1080p, hw):
    sram = load_hardware(hw).sram_bytes
    assert resnet50.totals.largest_activation_bytes < 2**20                    # "less than 1 MB"
    (_, _, h, w), = yolov3_1080p.conditions.input_shapes.values()
    assert yolov3_1080p.totals.largest_activation_bytes == 32 * h * w           # ~67 MB at INT8 (32 ch, full res)
    assert yolov3_1080p.totals.largest_activation_bytes > sram
    r = estimate(resnet50, hw, batch=1).point(1)
    y = estimate(yolov3_1080p, hw, batch=1).point(1)
    assert not r.activations_spill and r.dram_activation_bytes_per_inference == 0
    assert y.activations_spill
    assert y.dram_activation_bytes_per_inference >= 2 * yolov3_1080p.totals.largest_activation_bytes


# (c) ------------------------------------------------------------------ Winograd speed-up

@pytest.mark.parametrize("model, seed_figure", [
    ("yolov3_1080p", 1.76),   # seed: "for YOLOv3 the acceleration is 1.7x"
    ("resnet50_v1", 1.36),    # seed: "about 1.4x" (1.42 over the 50 main-path layers)
    ("resnet50", 1.26),       # v1.5 moves the stride onto the 3x3: fewer eligible MACs
])
def test_c_winograd_speedup_matches_amdahl_when_compute_bound(request, model, seed_figure):
    prof = request.getfixturevalue(model)
    hw = derived("all-on-chip", array=None, vector_ops_per_cycle=None, sram_bytes=2**40)  # nothing else binds
    on = estimate(prof, hw, winograd="expanded-on-chip").point(1)
    off = estimate(prof, hw, winograd="off").point(1)
    assert on.bound_share["compute"] == pytest.approx(1.0) and off.bound_share["compute"] == pytest.approx(1.0)
    speedup = on.throughput_ips / off.throughput_ips
    t = prof.totals
    assert speedup == pytest.approx(amdahl_speedup(t.winograd_eligible_macs / t.macs, WINOGRAD_F2), rel=1e-9)
    assert speedup == pytest.approx(t.winograd_speedup_f2, rel=1e-9)
    assert speedup == pytest.approx(seed_figure, abs=0.01)


def test_c_winograd_gains_less_on_a_wide_array(yolov3_1080p):
    # all-on-chip's 128-column array holds 9 x Cin of a direct 3x3 conv but only Cin of its Winograd form,
    # so the layers with few channels lose utilisation and the speed-up falls short of Amdahl's
    on = estimate(yolov3_1080p, "all-on-chip").point(1)
    off = estimate(yolov3_1080p, "all-on-chip", winograd="off").point(1)
    speedup = on.throughput_ips / off.throughput_ips
    assert 1.0 < speedup < yolov3_1080p.totals.winograd_speedup_f2
    first_eligible = next(i for i, x in enumerate(on.layers) if x.winograd)
    a, b = off.layers[first_eligible], on.layers[first_eligible]   # the first conv: 3x3, 3 -> 32 channels
    assert b.utilization == pytest.approx((32 / 128) * (3 / 128))      # Winograd: Cin = 3 of 128 columns
    assert a.utilization == pytest.approx((32 / 128) * (9 * 3 / 128))  # im2col: 27 of 128 columns


# (d) ------------------------------------------------------------------ Winograd weights in DRAM

def _weight_streaming_spec() -> dict:
    # 32 MiB: YOLOv3's 62 MB of INT8 weights cannot stay, but every layer's (expanded) weights fit a slice;
    # 100 TB/s keeps it compute-bound, so the speed-up is the pure Winograd one
    # residency: streamed — no weights are kept (a planned chip would keep 32 MiB of them: partial residency)
    return derived("all-on-chip", array=None, vector_ops_per_cycle=None, sram_bytes=32 * 2**20,
                   dram_bandwidth=100e12, winograd="expanded-in-dram", residency="streamed")


def test_d_expanded_in_dram_grows_weight_traffic_and_bandwidth_demand(yolov3_1080p):
    hw = _weight_streaming_spec()
    off = estimate(yolov3_1080p, hw, winograd="off").point(1)
    dram = estimate(yolov3_1080p, hw, winograd="expanded-in-dram").point(1)
    chip = estimate(yolov3_1080p, hw, winograd="expanded-on-chip").point(1)
    assert not off.weights_resident and not dram.weights_resident
    # per layer: eligible layers' weight traffic grows by exactly 16/9 of their conv kernels
    eligible_kernels = {x.name: x.weight_bytes for x in yolov3_1080p.layers if x.winograd_eligible}
    grew = 0.0
    for a, b in zip(off.layers, dram.layers, strict=True):
        if a.name in eligible_kernels:
            assert b.dram_weight_bytes - a.dram_weight_bytes == pytest.approx(
                (WINOGRAD_GROWTH_F2 - 1) * eligible_kernels[a.name])
            grew += 1
        else:
            assert b.dram_weight_bytes == a.dram_weight_bytes
    assert grew == len(eligible_kernels) >= 30
    # whole model: the profile's weight growth (eligible weights x 16/9, the rest x 1)
    growth = dram.dram_weight_bytes_per_inference / off.dram_weight_bytes_per_inference
    assert growth == pytest.approx(yolov3_1080p.totals.winograd_weight_growth_f2, rel=1e-3)
    speedup = dram.throughput_ips / off.throughput_ips
    assert speedup == pytest.approx(yolov3_1080p.totals.winograd_speedup_f2, rel=1e-9)
    # weight bandwidth demand at the new speed: growth x speed-up
    demand = lambda p: p.dram_weight_bytes_per_inference * p.throughput_ips  # noqa: E731
    assert demand(dram) / demand(off) == pytest.approx(growth * speedup, rel=1e-9)
    # on the eligible layers alone it is 16/9 x 1.76 = 3.1, the seed's 1.8 x 1.7
    elig_off = sum(a.dram_weight_bytes for a in off.layers if a.name in eligible_kernels)
    elig_dram = sum(a.dram_weight_bytes for a in dram.layers if a.name in eligible_kernels)
    assert elig_dram / elig_off * speedup == pytest.approx(3.1, abs=0.05)
    # expanded on chip: traffic does not grow, demand grows only with the speed
    assert chip.dram_weight_bytes_per_inference == pytest.approx(off.dram_weight_bytes_per_inference)
    assert demand(chip) / demand(off) == pytest.approx(speedup, rel=1e-9)


def test_d_expanded_weights_can_stop_fitting_on_chip(resnet50_v1):
    # a chip whose SRAM holds ResNet-50 v1's INT8 weights only while they are stored 3x3
    w = resnet50_v1.totals.weight_bytes
    hw = derived("edge-large-sram", sram_bytes=int(w * 1.2), dram_bandwidth=17e9)
    chip = estimate(resnet50_v1, hw, winograd="expanded-on-chip").point(1)
    dram = estimate(resnet50_v1, hw, winograd="expanded-in-dram").point(1)
    assert chip.weights_resident and chip.dram_weight_bytes_per_inference == 0
    # expanded, they no longer all fit: the planner keeps as many as fit (partial) and streams the rest
    assert not dram.weights_resident and dram.plan == "partial"
    grown = w + (WINOGRAD_GROWTH_F2 - 1) * sum(x.weight_bytes for x in resnet50_v1.layers if x.winograd_eligible)
    assert dram.resident_weight_bytes <= hw["sram_bytes"]
    assert dram.dram_weight_bytes_per_inference == pytest.approx(grown - dram.resident_weight_bytes)
    # a chip that never keeps weights streams all of them, expanded: more than the 3x3 weights
    streamed = estimate(resnet50_v1, {**hw, "residency": "streamed"}, winograd="expanded-in-dram").point(1)
    assert streamed.plan == "streamed" and streamed.dram_weight_bytes_per_inference == pytest.approx(grown)


# the worked example of docs/estimator.md ----------------------------------------------------------

def test_rank_flip_between_benchmark_and_application(resnet50, yolov3_1080p):
    """The vendor benchmark (ResNet-50, batch 32) and the application (YOLOv3 1920x1080, batch 1) rank two
    catalog chips in opposite orders: the slow-DRAM NPU wins the benchmark by batching away its weight
    loading, but the application's 67 MB activations spill through its 4.3 GB/s DRAM."""
    bench = {hw: estimate(resnet50, hw, batch=32).point(32).throughput_ips
             for hw in ("edge-npu-slow-dram", "nvdla-nv-large")}
    app = {hw: estimate(yolov3_1080p, hw, batch=1).point(1) for hw in ("edge-npu-slow-dram", "nvdla-nv-large")}
    assert bench["edge-npu-slow-dram"] > 1.2 * bench["nvdla-nv-large"]
    assert app["nvdla-nv-large"].throughput_ips > 1.1 * app["edge-npu-slow-dram"].throughput_ips
    assert app["edge-npu-slow-dram"].bound_share["activations"] > 0.5
