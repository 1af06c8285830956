"""The estimator's rules, one layer and one spec at a time, against hand-computed values.

Models are profiled at INT8 (1 byte per element), the spec runs 1 GHz, so bytes are element counts and
seconds are cycles / 1e9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hw_builders import conv_model, pool_model, prof, residual_model, spec

from fitbench.errors import FitbenchError, SpecError
from fitbench.hardware.estimator import estimate, estimate_many, sub_batches
from fitbench.hardware.mapping import utilization
from fitbench.hardware.spec import catalog

GHZ = 1e9

# conv 64 -> 64, 3x3, 56x56: the workhorse layer
C64_MACS = 56 * 56 * 64 * 64 * 9        # 115,605,504
C64_W = 64 * 64 * 9                     # 36,864 bytes
C64_ACT = 64 * 56 * 56                  # 200,704 bytes in, the same out


@pytest.fixture(scope="module")
def c64():
    return prof(conv_model(64, 64, 56, 3))


def test_compute_bound_layer(c64):
    e = estimate(c64, spec(), batch=1)
    p = e.point(1)
    lat = C64_MACS / (1024 * GHZ)
    assert p.latency_s == pytest.approx(lat)
    assert p.throughput_ips == pytest.approx(1 / lat)
    assert p.bound_share["compute"] == pytest.approx(1.0)
    assert p.weights_resident and not p.activations_spill
    assert p.dram_bytes_per_inference == 0
    assert p.mac_utilization == pytest.approx(1.0)
    assert p.effective_tops == pytest.approx(2 * C64_MACS / lat / 1e12)
    assert p.peak_tops == pytest.approx(2 * 1024 * GHZ / 1e12)
    (layer,) = p.layers
    assert (layer.bound, layer.utilization, layer.passes, layer.macs) == ("compute", 1.0, 1, C64_MACS)


# ------------------------------------------------------------------ array mapping

@pytest.mark.parametrize("m, n, k, rows, cols, units, expected", [
    (3136, 64, 64, 32, 64, 1, 1.0),
    (3136, 64, 3, 32, 64, 1, 3 / 64),                    # 3-channel first conv, direct mapping
    (3136, 64, 147, 32, 64, 1, 147 / (3 * 64)),          # the same conv, im2col: 3x7x7 = 147 on 3 column tiles
    (3136, 1, 1, 64, 64, 1, (1 / 64) * (1 / 64)),        # depthwise: one output channel, no reduction depth
    (3136, 100, 64, 64, 64, 1, 100 / 128),
    (25, 64, 64, 32, 64, 2, 25 / 26),                    # two arrays split 25 pixels: 13 rounds, one idle slot
])
def test_utilization_table(m, n, k, rows, cols, units, expected):
    assert utilization(m, n, k, rows, cols, units) == pytest.approx(expected)


@pytest.mark.parametrize("mapping, cin, k, group, expected_util", [
    ("direct", 3, 7, 1, 3 / 64),                 # first conv: 3 of 64 columns
    ("im2col", 3, 7, 1, 147 / 192),
    ("direct", 64, 3, 64, (1 / 32) * (1 / 64)),  # depthwise 3x3: 1 of 32 rows, 1 of 64 columns
    ("im2col", 64, 3, 64, (1 / 32) * (9 / 64)),
])
def test_layer_utilization_on_array(mapping, cin, k, group, expected_util):
    cout = 64
    p = prof(conv_model(cin, cout, 32, k, group=group))
    macs = 32 * 32 * cout * (cin // group) * k * k
    e = estimate(p, spec(macs_per_cycle={"int8": 2048}, array="32x64", array_mapping=mapping))
    (layer,) = e.point(1).layers
    assert layer.utilization == pytest.approx(expected_util)
    assert layer.compute_s == pytest.approx(macs / (2048 * GHZ * expected_util))


# ------------------------------------------------------------------ weights: resident or streamed

BIG_W = 512 * 512 * 9      # 2,359,296 bytes of a 512 -> 512 3x3 conv on 4x4
BIG_ACT = 512 * 4 * 4      # 8,192 bytes in, the same out
BIG_MACS = 4 * 4 * 512 * 512 * 9


@pytest.fixture(scope="module")
def big_w():
    return prof(conv_model(512, 512, 4, 3))


def test_weights_streamed_when_they_do_not_fit(big_w):
    e = estimate(big_w, spec(sram="1 MiB", dram_bandwidth="1 GB/s"), batch=1)
    p = e.point(1)
    assert not p.weights_resident
    assert p.dram_weight_bytes_per_inference == BIG_W          # activations fit beside a weight slice
    assert p.dram_activation_bytes_per_inference == 0
    assert p.latency_s == pytest.approx(BIG_W / 1e9)           # weight-bound: 2.36 ms vs 36.9 us of compute
    assert p.layers[0].bound == "weights" and p.layers[0].passes == 1
    assert p.dram_bandwidth_demand == pytest.approx(1e9)


def test_batch_amortises_streamed_weights(big_w):
    e = estimate(big_w, spec(sram="1 MiB", dram_bandwidth="1 GB/s"), batch=[1, 4])
    p1, p4 = e.point(1), e.point(4)
    assert p4.sub_batch == 4
    assert p4.dram_weight_bytes_per_inference == BIG_W / 4     # streamed once per batch
    assert p4.latency_s == pytest.approx(max(4 * BIG_MACS / (1024 * GHZ), BIG_W / 1e9))
    assert p4.throughput_ips == pytest.approx(4 * p1.throughput_ips)


def test_weight_bandwidth_is_a_separate_path(big_w):
    e = estimate(big_w, spec(sram="1 MiB", dram_bandwidth="10 GB/s", weight_bandwidth="0.5 GB/s"))
    assert e.point(1).latency_s == pytest.approx(BIG_W / 0.5e9)


# ------------------------------------------------------------------ activations spill

def test_activation_spill_reads_input_writes_output(c64):
    # 256 KiB: weights (36,864) stay, but in + out (401,408) do not fit beside them
    e = estimate(c64, spec(sram="256 KiB", dram_bandwidth="1 GB/s"))
    p = e.point(1)
    assert p.weights_resident and p.activations_spill
    assert p.dram_activation_bytes_per_inference == 2 * C64_ACT
    assert p.dram_weight_bytes_per_inference == 0
    assert p.latency_s == pytest.approx(2 * C64_ACT / 1e9)     # 401 us of DRAM vs 113 us of compute
    assert p.layers[0].bound == "activations" and p.layers[0].spilled
    assert p.bound_share["activations"] == pytest.approx(1.0)


def test_no_overlap_adds_compute_and_transfer(c64):
    e = estimate(c64, spec(sram="256 KiB", dram_bandwidth="1 GB/s", overlap=False))
    assert e.point(1).latency_s == pytest.approx(C64_MACS / (1024 * GHZ) + 2 * C64_ACT / 1e9)


def test_dram_efficiency_scales_bandwidth(c64):
    e = estimate(c64, spec(sram="256 KiB", dram_bandwidth="1 GB/s", dram_efficiency=0.5))
    assert e.point(1).latency_s == pytest.approx(2 * C64_ACT / 0.5e9)


def test_sub_batch_avoids_spilling_a_large_batch(c64):
    # 512 KiB holds one image's in + out + weights (438,272) but not four images' activations
    e = estimate(c64, spec(sram="512 KiB", dram_bandwidth="1 GB/s"), batch=4)
    p = e.point(4)
    assert p.sub_batch == 1 and not p.activations_spill
    assert p.latency_s == pytest.approx(4 * C64_MACS / (1024 * GHZ))
    assert sub_batches(24) == [1, 2, 4, 8, 24]


# ------------------------------------------------------------------ passes

def test_passes_take_the_cheaper_of_weight_slices_and_activation_strips():
    p = prof(conv_model(256, 256, 32, 3))
    S = 256 * 1024
    W, act_in, act_out = 256 * 256 * 9, 256 * 32 * 32, 256 * 32 * 32
    strip = 3 * act_in // 32 + act_out // 32                      # kernel rows of the input + one output row
    slices = math.ceil(W / (S - strip))               # (a) weight slices, input re-read per slice
    traffic_a = W + slices * act_in + act_out
    strips = math.ceil((act_in + act_out) / (S - W // 256))      # (b) activation strips, weights re-read per strip
    traffic_b = strips * W + act_in + act_out
    assert (slices, strips) == (3, 3) and traffic_a < traffic_b
    e = estimate(p, spec(sram=S, dram_bandwidth="1 GB/s"))
    pt = e.point(1)
    (layer,) = pt.layers
    assert layer.passes == slices
    assert layer.dram_weight_bytes + layer.dram_activation_bytes == traffic_a
    assert pt.latency_s == pytest.approx(traffic_a / 1e9)


# ------------------------------------------------------------------ Winograd

@pytest.mark.parametrize("tile, reduction", [(2, 9 * 4 / 16), (4, 9 * 16 / 36)])
def test_winograd_reduces_macs_on_eligible_layers(c64, tile, reduction):
    on = estimate(c64, spec(winograd="expanded-on-chip", winograd_tile=tile)).point(1)
    off = estimate(c64, spec(winograd="expanded-on-chip", winograd_tile=tile), winograd="off").point(1)
    assert on.layers[0].winograd and not off.layers[0].winograd
    assert on.layers[0].effective_macs == pytest.approx(C64_MACS / reduction)
    assert off.latency_s / on.latency_s == pytest.approx(reduction)
    assert on.effective_tops == pytest.approx(reduction * off.effective_tops)   # dense MACs per second


def test_winograd_not_applied_to_ineligible_layers():
    p = prof(conv_model(64, 64, 56, 3, stride=2))     # stride 2: not eligible
    e = estimate(p, spec(winograd="expanded-on-chip"))
    assert not e.point(1).layers[0].winograd


@pytest.mark.parametrize("mode, growth", [("expanded-in-dram", 16 / 9), ("expanded-on-chip", 1.0), ("none", 1.0)])
def test_winograd_weight_storage(big_w, mode, growth):
    e = estimate(big_w, spec(sram="1 MiB", dram_bandwidth="1 GB/s", winograd=mode))
    p = e.point(1)
    assert p.dram_weight_bytes_per_inference == pytest.approx(BIG_W * growth)
    assert p.latency_s == pytest.approx(BIG_W * growth / 1e9)


def test_winograd_on_for_a_spec_without_it_is_a_noted_what_if(c64):
    e = estimate(c64, spec(), winograd="on")
    assert e.conditions["winograd"] == "expanded-on-chip"
    assert any("what-if" in n for n in e.notes)
    with pytest.raises(SpecError, match="winograd must be one of"):
        estimate(c64, spec(), winograd="maybe")


# ------------------------------------------------------------------ non-MAC ops, fusion

def test_vector_ops_take_time_at_the_vector_rate():
    p = prof(pool_model(8, 16))
    other = 8 * 8 * 8 * 4                              # output elements x window
    e = estimate(p, spec(vector_ops_per_cycle=2))
    assert e.point(1).latency_s == pytest.approx(other / (2 * GHZ))
    free = estimate(p, spec())
    assert free.point(1).latency_s == 0
    assert any("no vector_ops_per_cycle" in n for n in free.notes)


def test_bn_and_relu_fuse_into_the_conv():
    p = prof(conv_model(64, 64, 56, 3, bn=True, relu=True))
    e = estimate(p, spec(sram="256 KiB", dram_bandwidth="1 GB/s", vector_ops_per_cycle=64))
    pt = e.point(1)
    (layer,) = pt.layers
    assert layer.fused == ["bn", "relu"]
    assert layer.dram_activation_bytes == 2 * C64_ACT          # the conv's in + out, not three layers' worth
    vector = (2 + 1) * C64_ACT / (64 * GHZ)                    # BN 2 ops + Relu 1 op per element
    assert layer.compute_s == pytest.approx(max(C64_MACS / (1024 * GHZ), vector))


def test_residual_add_brings_its_skip_input():
    p = prof(residual_model(16, 8))
    act = 16 * 8 * 8
    e = estimate(p, spec(sram=2048, dram_bandwidth="1 GB/s"))
    (layer,) = e.point(1).layers
    assert layer.fused == ["add", "relu"]
    assert layer.dram_activation_bytes == (act + act) + act    # input + skip read, output written


# ------------------------------------------------------------------ energy, feasibility, results

def test_energy_per_inference(c64):
    s = spec(energy={"per_mac": "1 pJ", "per_sram_byte": "2 pJ", "per_dram_byte": "50 pJ", "static": "1 W"})
    p = estimate(c64, s).point(1)
    lat = C64_MACS / (1024 * GHZ)
    expected = C64_MACS * 1e-12 + (2 * C64_ACT + C64_W) * 2e-12 + 0 * 50e-12 + 1.0 * lat
    assert p.energy_j_per_inference == pytest.approx(expected)
    assert estimate(c64, spec()).point(1).energy_j_per_inference is None
    assert not any("energy" in n for n in estimate(c64, s).notes)  # every term given: nothing to say


def test_partial_energy_figures_are_named_not_silently_zero(c64):
    # only the MAC energy given: the estimate counts it and says which terms it could not count
    e = estimate(c64, spec(energy={"per_mac": "1 pJ"}))
    assert e.point(1).energy_j_per_inference == pytest.approx(C64_MACS * 1e-12)
    (note,) = [n for n in e.notes if "energy" in n]
    assert "no per_sram_byte, per_dram_byte, static" in note and "lower bound" in note


def test_infeasible_points(c64):
    p = estimate(c64, spec(max_batch=2), batch=[2, 4]).point(4)
    assert not p.feasible and "max_batch 2" in p.infeasible_reason and p.latency_s is None
    q = estimate(c64, spec(sram="256 KiB", dram_bandwidth="none")).point(1)
    assert not q.feasible and "no DRAM" in q.infeasible_reason


def test_bad_arguments(c64):
    with pytest.raises(FitbenchError, match="batch must be a positive integer"):
        estimate(c64, spec(), batch=0)
    with pytest.raises(SpecError, match="no MAC rate for fp16"):
        estimate(c64, spec(), precision="fp16")


def test_precision_rescales_bytes_with_a_note(c64):
    e = estimate(c64, spec(macs_per_cycle={"int8": 1024, "fp16": 512}, sram="256 KiB", dram_bandwidth="1 GB/s"),
                 precision="fp16")
    p = e.point(1)
    assert p.dram_activation_bytes_per_inference == 2 * 2 * C64_ACT     # 2 bytes per element
    assert p.latency_s == pytest.approx(max(C64_MACS / (512 * GHZ), 4 * C64_ACT / 1e9))
    assert any("rescaled to fp16" in n for n in e.notes)


def test_results_are_typed_and_serialisable(c64):
    import json

    e = estimate(c64, spec(), batch=[1, 2])
    d = e.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["conditions"]["hardware"] == "unit" and len(d["conditions"]["spec_hash"]) == 64
    assert d["conditions"]["precision"] == "int8" and d["conditions"]["fitbench_version"]
    assert d["conditions"]["input_shapes"] == {"x": [1, 64, 56, 56]}
    assert [p["batch"] for p in d["points"]] == [1, 2]
    df = e.to_dataframe()
    assert list(df.batch) == [1, 2] and "share_compute" in df.columns
    assert len(e.to_dataframe(layers=True)) == 2


# ------------------------------------------------------------------ the vectorised path agrees

def test_estimate_many_matches_estimate_on_the_catalog():
    from fitbench.hardware.estimator import spec_params

    p = prof(conv_model(64, 128, 28, 3, bn=True, relu=True))
    # estimate_many refuses pipelined multi-core chips (split: pipeline, e.g. hailo-8): estimated one by one
    specs = [s for s in catalog() if "int8" in s.macs_per_cycle and not (s.split == "pipeline" and s.cores > 1)]
    # every other catalog spec as one row of a single table: the vectorised rows must not mix with each other
    params = [spec_params(s, "int8") for s in specs]
    cols = {k: np.array([x[k] for x in params], dtype=object if isinstance(params[0][k], str) else float)
            for k in params[0]}
    df = estimate_many(p, cols, batch=[1, 8])
    assert len(df) == 2 * len(specs) and len({x["sram_bytes"] for x in params}) > 1
    for i, s in enumerate(specs):
        e = estimate(p, s, batch=[1, 8])
        for b in (1, 8):
            row = df[df.batch == b].iloc[i]
            pt = e.point(b)
            assert bool(row.feasible) == pt.feasible, s.name
            if pt.feasible:
                assert row.latency_s == pytest.approx(pt.latency_s, rel=1e-12), s.name
                assert row.dram_bytes_per_inference == pytest.approx(pt.dram_bytes_per_inference), s.name
                assert bool(row.weights_resident) == pt.weights_resident


def test_estimate_many_fills_columns_from_a_base_spec(c64):
    sram = np.array([256 * 1024, 64 * 2**20])
    df = estimate_many(c64, {"sram_bytes": sram}, batch=1, base=spec(dram_bandwidth="1 GB/s"))
    assert list(df.latency_s) == pytest.approx([2 * C64_ACT / 1e9, C64_MACS / (1024 * GHZ)])
    with pytest.raises(SpecError, match="unknown spec column 'sram'"):
        estimate_many(c64, {"sram": sram})
    with pytest.raises(SpecError, match="missing"):
        estimate_many(c64, {"sram_bytes": sram})


def test_per_sample_figures_do_not_depend_on_the_profiled_batch():
    one = estimate(prof(conv_model(64, 64, 28, 3, bn=True)), spec(sram="128 KiB", dram_bandwidth="1 GB/s"),
                   batch=[1, 4])
    four = estimate(prof(conv_model(64, 64, 28, 3, bn=True, batch=4)), spec(sram="128 KiB", dram_bandwidth="1 GB/s"),
                    batch=[1, 4])
    for b in (1, 4):
        assert four.point(b).latency_s == pytest.approx(one.point(b).latency_s)
        assert four.point(b).dram_bytes_per_inference == pytest.approx(one.point(b).dram_bytes_per_inference)


def test_uncosted_layers_are_reported_not_timed():
    from onnx import TensorProto, helper

    model = conv_model(8, 8, 8, 3)
    model.graph.node.append(helper.make_node("Mystery", ["y"], ["z"], name="mystery", domain="custom.ops"))
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 8, 8, 8]))
    model.opset_import.append(helper.make_opsetid("custom.ops", 1))
    e = estimate(prof(model), spec())
    assert e.uncosted == ["mystery (Mystery)"]
    assert any("1 uncosted layer" in n and "mystery" in n for n in e.notes)
    assert [x.name for x in e.point(1).layers] == ["conv"]


def test_spec_round_trips_through_its_dict():
    from fitbench.hardware.spec import load_hardware

    for s in catalog():
        again = load_hardware({k: v for k, v in s.to_dict().items()})
        assert again.spec_hash() == s.spec_hash()


@pytest.mark.parametrize("model", [conv_model(64, 64, 56, 3, bn=True, relu=True), residual_model(64, 28),
                                   conv_model(256, 256, 16, 3)])
def test_more_sram_or_bandwidth_never_slows_a_model_down(model):
    """Every traffic term is non-increasing in SRAM and every time in bandwidth: so is the latency."""
    p = prof(model)
    sram = np.geomspace(16 * 1024, 64 * 2**20, 40)
    bw = np.geomspace(1e8, 1e12, 15)
    grid = np.array([(s, b) for b in bw for s in sram])
    df = estimate_many(p, {"sram_bytes": grid[:, 0], "dram_bandwidth": grid[:, 1]}, batch=[1, 8],
                       base=spec(vector_ops_per_cycle=64, array="32x32"))
    for b in (1, 8):
        lat = df[df.batch == b].latency_s.to_numpy().reshape(len(bw), len(sram))
        assert np.all(np.diff(lat, axis=1) <= lat[:, 1:] * 1e-12)    # along SRAM
        assert np.all(np.diff(lat, axis=0) <= lat[1:, :] * 1e-12)    # along bandwidth
