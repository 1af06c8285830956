"""Per-layer overhead (spec field ``layer_overhead``): a fixed time per executed layer and sub-batch.

Models are profiled at INT8 on the plain 1 GHz, 1024-MAC spec of ``hw_builders`` (64 MiB SRAM: all
weights resident, nothing spills), so a layer's time is its MAC cycles / 1e9 plus the overhead.
"""

from __future__ import annotations

import numpy as np
import pytest
from hw_builders import conv_model, prof, spec

import fitbench
from fitbench.errors import SpecError
from fitbench.hardware.estimator import estimate, estimate_many
from fitbench.hardware.spec import load_hardware
from fitbench.hardware.units import parse_quantity

GHZ = 1e9
C64_MACS = 56 * 56 * 64 * 64 * 9          # conv 64 -> 64, 3x3, 56x56
C64_S = C64_MACS / (1024 * GHZ)           # 112.9 us of compute


@pytest.fixture(scope="module")
def c64():
    return prof(conv_model(64, 64, 56, 3))


@pytest.mark.parametrize("text, expected", [
    ("5 us", 5e-6), ("5 µs", 5e-6), ("1.5 ms", 1.5e-3), ("200 ns", 200e-9), ("0.002 s", 2e-3), (0, 0.0),
])
def test_time_units(text, expected):
    assert parse_quantity(text, "time", "f") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("bad", ["fast", "5 GHz", "-1 us", True])
def test_bad_layer_overhead_is_one_clear_line(bad):
    with pytest.raises(SpecError, match="'layer_overhead'") as info:
        load_hardware(spec(layer_overhead=bad))
    assert "\n" not in str(info.value) and "'unit'" in str(info.value)


@pytest.mark.parametrize("overhead, bound", [
    ("5 us", "compute"),       # 112.9 us of compute > 5 us: compute-bound
    ("200 us", "overhead"),    # 200 us > 112.9 us: the layer says it waits for its overhead
])
def test_one_layer_overhead_vs_compute(c64, overhead, bound):
    ov = parse_quantity(overhead, "time", "x")
    p = estimate(c64, spec(layer_overhead=overhead), batch=1).point(1)
    assert p.latency_s == pytest.approx(C64_S + ov)
    (layer,) = p.layers
    assert layer.overhead_s == pytest.approx(ov)
    assert layer.compute_s == pytest.approx(C64_S)
    assert layer.time_s == pytest.approx(C64_S + ov)
    assert layer.bound == bound
    assert p.bound_share[bound] == pytest.approx(1.0) and p.bound == bound


def test_overhead_is_paid_once_per_sub_batch(c64):
    # batch 4: one sub-batch of 4 costs 4 x compute + 1 overhead, four of 1 cost 4 x (compute + overhead);
    # nothing else differs (no DRAM traffic), so the whole batch runs at once
    ov = 50e-6
    p = estimate(c64, spec(layer_overhead="50 us"), batch=4).point(4)
    assert p.sub_batch == 4
    assert p.latency_s == pytest.approx(4 * C64_S + ov)
    assert p.layers[0].overhead_s == pytest.approx(ov)


def test_fused_nodes_share_their_layer_overhead():
    # Conv -> BN -> Relu is one executed layer: one overhead, not three
    pr = prof(conv_model(64, 64, 56, 3, bn=True, relu=True))
    p = estimate(pr, spec(layer_overhead="10 us"), batch=1).point(1)
    (layer,) = p.layers
    assert layer.fused == ["bn", "relu"]
    assert p.latency_s == pytest.approx(C64_S + 10e-6)


def test_absent_overhead_is_noted_and_zero(c64):
    e = estimate(c64, spec(), batch=1)
    assert any("no layer_overhead" in n for n in e.notes)
    assert e.point(1).latency_s == pytest.approx(C64_S)
    assert e.point(1).layers[0].overhead_s == 0.0
    given = estimate(c64, spec(layer_overhead="0 us"), batch=1)
    assert not any("layer_overhead" in n for n in given.notes)


def test_spec_hash_counts_overhead_only_when_given():
    plain = load_hardware(spec())
    assert load_hardware(spec(layer_overhead="5 us")).spec_hash() != plain.spec_hash()
    assert "layer_overhead" not in plain.model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize("hw", ["nvidia-t4", "nvidia-a100-40gb"])
def test_tiny_model_pays_at_least_layers_times_overhead(hw):
    # zoo `tiny`: conv(+relu), conv(+relu), GAP, fc -> 4 executed layers (Flatten is a view)
    p = estimate(fitbench.profile("tiny"), hw, batch=1).point(1)
    assert [x.op_type for x in p.layers] == ["Conv", "Conv", "GlobalAveragePool", "Gemm"]
    spec_ov = load_hardware(hw).layer_overhead
    assert spec_ov == pytest.approx(5e-6)
    assert p.latency_s >= 4 * spec_ov
    assert p.throughput_ips <= 1 / (4 * spec_ov)      # <= 50,000 inferences/s, not ~100 M
    if load_hardware(hw).kind == "gpu":
        # a kind: gpu spec (nvidia-t4) also pays its kind's per-call overhead and host link beside the layers'
        assert p.bound_share["overhead"] > 0 and p.bound_share["call"] > 0
    else:
        assert p.bound == "overhead"


def test_estimate_many_agrees_with_overhead(c64):
    ovs = np.array([0.0, 5e-6, 200e-6])
    df = estimate_many(c64, {"layer_overhead": ovs}, batch=[1, 4], base=spec())
    for _, row in df.iterrows():
        one = estimate(c64, spec(layer_overhead=float(row.layer_overhead)), batch=int(row.batch))
        pt = one.point(int(row.batch))
        assert row.latency_s == pytest.approx(pt.latency_s, rel=1e-12)
        assert row.bound == pt.bound
    assert list(df[df.batch == 1].bound) == ["compute", "compute", "overhead"]
