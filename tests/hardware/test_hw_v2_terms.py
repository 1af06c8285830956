"""Estimator v2's terms, one at a time, against hand-computed values on specs built in the test.

Models are profiled at INT8 (1 byte per element) and the base spec runs 1024 MACs/cycle at 1 GHz with
64 MiB of SRAM and 10 GB/s of DRAM (``hw_builders.spec``), so bytes are element counts and seconds are
cycles / 1e9. Each test is written so that deleting the term it names changes the asserted figure.
"""

from __future__ import annotations

import pytest
from hw_builders import conv_model, prof, spec
from v2_builders import embedding_model, fc_model, kv_read_model, lstm_model, transpose_model, two_conv_model

from fitbench.errors import SpecError
from fitbench.hardware.estimator import estimate
from fitbench.hardware.spec import load_hardware

GHZ = 1e9
GBS = 1e9
C64_MACS = 56 * 56 * 64 * 64 * 9        # conv 64 -> 64, 3x3, 56x56
C64_ACT = 64 * 56 * 56                  # its input (and output) bytes
C64_W = 64 * 64 * 9


@pytest.fixture(scope="module")
def c64():
    return prof(conv_model(64, 64, 56, 3))


@pytest.fixture(scope="module")
def dw64():
    return prof(conv_model(64, 64, 56, 3, group=64))


# ------------------------------------------------------------------ fixed per-call cost and the host link

def test_inference_overhead_and_host_link(c64):
    hw = spec(inference_overhead="50 us", host_link={"bandwidth": "1 GB/s", "latency": "5 us"})
    e = estimate(c64, hw, batch=[1, 4])
    for b in (1, 4):
        p = e.point(b)
        link = 2 * 5e-6 + b * (C64_ACT + C64_ACT) / (1 * GBS)       # input in, output back
        compute = b * C64_MACS / (1024 * GHZ)
        assert p.call_overhead_s == pytest.approx(50e-6)
        assert p.link_s == pytest.approx(link)
        assert p.latency_s == pytest.approx(50e-6 + link + compute)
        assert p.bound_share["call"] == pytest.approx(50e-6 / p.latency_s)
        assert p.bound_share["link"] == pytest.approx(link / p.latency_s)


def test_host_link_presets_are_the_pci_sig_rates(c64):
    # PCIe gen4: 16 GT/s per lane with 128b/130b coding = 1.969 GB/s per lane and direction
    s = load_hardware(spec(host_link="pcie4x16"))
    assert s.host_link.bandwidth == pytest.approx(16 * 1.969e9)
    p = estimate(c64, s).point(1)
    assert p.link_s == pytest.approx(2 * 5e-6 + 2 * C64_ACT / (16 * 1.969e9))


# ------------------------------------------------------------------ defaults by kind

def test_npu_kind_defaults_apply_and_are_noted(c64):
    e = estimate(c64, spec(kind="npu"))
    p = e.point(1)
    # docs/estimator.md, defaults by kind, npu: 300 us per call, 5 us per layer, compute efficiency 0.6, a
    # 32x32 direct array (64 input channels fill 2 column tiles exactly, 64 output channels 2 row tiles)
    assert p.layers[0].utilization == pytest.approx(1.0)
    assert p.latency_s == pytest.approx(300e-6 + 5e-6 + C64_MACS / (0.6 * 1024 * GHZ))
    assert any("npu defaults" in n and "layer_overhead 5 us" in n for n in e.notes)


def test_kind_default_array_makes_depthwise_costly(dw64):
    # depthwise 3x3 on the npu's default 32x32 direct array: 64 channels on the rows (2 full tiles), a
    # reduction depth of 1 input channel on 32 columns: 1/32
    macs = 56 * 56 * 64 * 9
    p = estimate(dw64, spec(kind="npu", inference_overhead=0, layer_overhead=0)).point(1)
    assert p.layers[0].utilization == pytest.approx(1 / 32)
    assert p.latency_s == pytest.approx(macs / (0.6 * 1024 * GHZ / 32))
    generic = estimate(dw64, spec()).point(1)   # the ideal chip: utilisation 1
    assert generic.latency_s == pytest.approx(macs / (1024 * GHZ))


def test_unknown_kind_is_one_line():
    with pytest.raises(SpecError, match="field 'kind' must be one of generic, gpu, npu, dataflow, cpu"):
        load_hardware(spec(kind="tpu"))


def test_old_provenance_in_kind_still_loads():
    s = load_hardware(spec(kind="public"))
    assert (s.kind, s.provenance) == ("generic", "public")


# ------------------------------------------------------------------ sustained clock, GPU waves

def test_sustained_clock_sets_compute_peak_stays(c64):
    p = estimate(c64, spec(sustained_clock="800 MHz")).point(1)
    assert p.latency_s == pytest.approx(C64_MACS / (1024 * 0.8 * GHZ))
    assert p.peak_tops == pytest.approx(2 * 1024 * GHZ / 1e12)
    with pytest.raises(SpecError, match="sustained_clock"):
        load_hardware(spec(sustained_clock="2 GHz"))


def test_gpu_tiles_in_waves_over_sms(c64):
    # GEMM M = 3136 pixels, N = 64 channels; 64x64 tiles: 49 x 1 tiles on 4 SMs = 13 waves
    p = estimate(c64, spec(sm_count=4, tile="64x64")).point(1)
    util = (3136 * 64) / (13 * 4 * 64 * 64)
    assert p.layers[0].utilization == pytest.approx(util)
    assert p.latency_s == pytest.approx(C64_MACS / (1024 * GHZ * util))


def test_gpu_split_k_fills_idle_sms():
    # FC 1024 -> 1024 at batch 1: M = 1, N = 1024 -> 16 tiles of 64x64 on 128 SMs; the 1024-deep reduction splits
    # into min(128 / 16, 1024 / 128) = 8 slices: 128 tile-slices, one wave
    fc = prof(fc_model([1024, 1024]))
    p = estimate(fc, spec(sm_count=128, tile="64x64")).point(1)
    util = (1 * 1024 * 8) / (1 * 128 * 64 * 64)
    assert p.layers[0].utilization == pytest.approx(util)
    assert p.latency_s == pytest.approx(1024 * 1024 / (1024 * GHZ * util))


# ------------------------------------------------------------------ engines and the fallback

def test_extra_engine_runs_its_op_class(dw64, c64):
    hw = spec(engines=[{"name": "dsp", "runs": ["depthwise"], "macs_per_cycle": {"int8": 64}}])
    dw = estimate(dw64, hw).point(1)
    assert dw.layers[0].engine == "dsp" and dw.layers[0].op_class == "depthwise"
    assert dw.latency_s == pytest.approx(56 * 56 * 64 * 9 / (64 * GHZ))
    dense = estimate(c64, hw).point(1)      # a dense conv stays on the main array
    assert dense.layers[0].engine == "main"
    assert dense.latency_s == pytest.approx(C64_MACS / (1024 * GHZ))


def test_unsupported_op_class_runs_on_the_fallback_over_the_link():
    lstm = prof(lstm_model(seq=10, hidden=16, inp=8))
    hw = spec(runs=["conv"], fallback={"ops_per_second": "10 GOPS"},
              host_link={"bandwidth": "1 GB/s", "latency": "5 us"})
    e = estimate(lstm, hw)
    p = e.point(1)
    macs = 10 * 1 * 4 * 16 * (8 + 16)           # seq x batch x gates*H x (input + H)
    other = 10 * 1 * 9 * 16                      # LSTM: 9H element ops per step, no bias
    x_b, y_b = 10 * 1 * 8, 10 * 1 * 1 * 16
    host = (2 * macs + other) / 10e9
    layer_link = (x_b + y_b) / GBS + 2 * 5e-6     # the layer's tensors to the host and back
    graph_link = (x_b + y_b) / GBS + 2 * 5e-6     # the graph's input in, output out
    (layer,) = p.layers
    assert (layer.engine, layer.bound) == ("host-cpu", "fallback")
    assert layer.time_s == pytest.approx(host + layer_link)
    assert p.latency_s == pytest.approx(host + layer_link + graph_link)
    assert any("fallback" in n and "recurrent" in n for n in e.notes)


def test_engine_that_runs_a_mac_class_needs_a_mac_rate():
    with pytest.raises(SpecError, match="runs depthwise but gives no macs_per_cycle"):
        load_hardware(spec(engines=[{"name": "dsp", "runs": ["depthwise"], "ops_per_cycle": 64}]))
    with pytest.raises(SpecError, match="unknown op class 'lstm'"):
        load_hardware(spec(runs=["lstm"]))


# ------------------------------------------------------------------ cores

def test_batch_split_one_image_per_core(c64):
    e = estimate(c64, spec(cores=16, split="batch"), batch=[1, 16, 32])
    per_core = C64_MACS / (1024 / 16 * GHZ)
    one, sixteen, thirty_two = e.point(1), e.point(16), e.point(32)
    assert one.latency_s == pytest.approx(per_core) and one.cores_used == 1
    assert sixteen.latency_s == pytest.approx(per_core) and sixteen.cores_used == 16
    assert one.throughput_ips == pytest.approx(sixteen.throughput_ips / 16)
    assert thirty_two.latency_s == pytest.approx(2 * per_core)


def test_batch_split_cores_share_the_dram():
    # a weight-streaming FC layer: 1 MiB per image on each busy core, the cores sharing 10 GB/s
    fc = prof(fc_model([1024, 1024]))
    hw = spec(cores=4, split="batch", sram="1 MiB", residency="streamed")
    e = estimate(fc, hw, batch=[1, 4])
    w = 1024 * 1024
    assert e.point(1).latency_s == pytest.approx(w / (10 * GBS))
    assert e.point(4).latency_s == pytest.approx(w / (10 * GBS / 4))
    assert e.point(4).dram_weight_bytes_per_inference == pytest.approx(w)


def test_spatial_split_efficiency(c64):
    p = estimate(c64, spec(cores=4, split="spatial", split_efficiency=0.9)).point(1)
    assert p.latency_s == pytest.approx(C64_MACS / (1024 * 0.9 * GHZ))


def test_pipeline_throughput_is_the_slowest_stage():
    m = prof(two_conv_model(64, 56))
    t3 = 56 * 56 * 64 * 64 * 9 / (512 * GHZ)     # each of 2 cores has half the rate
    t1 = 56 * 56 * 64 * 64 / (512 * GHZ)
    e = estimate(m, spec(cores=2, split="pipeline"), batch=[1, 8, 64])
    assert e.point(1).latency_s == pytest.approx(t3 + t1)
    for b in (8, 64):
        assert e.point(b).latency_s == pytest.approx(t3 + t1 + (b - 1) * t3)
    assert [x.stage for x in e.point(1).layers] == [0, 1]
    assert e.point(64).throughput_ips == pytest.approx(64 / (t1 + 64 * t3))
    assert e.point(64).throughput_ips < 1 / t3 < 1.01 * e.point(64).throughput_ips


def test_pipeline_contexts_reload_when_the_model_does_not_fit():
    m = prof(two_conv_model(64, 56))
    w3, w1 = 64 * 64 * 9, 64 * 64
    hw = spec(cores=2, split="pipeline", sram=40000, context_reload="10 us")   # 40,000 < w3 + w1 = 40,960
    p = estimate(m, hw, batch=[1, 4]).point(4)
    assert p.pipeline_contexts == 2
    # per core: 256 MACs... no: half of 1024 = 512 MACs/cycle, 20,000 B of SRAM: both layers spill
    act = 2 * C64_ACT / (10 * GBS)
    t3 = max(56 * 56 * 64 * 64 * 9 / (512 * GHZ), act)
    t1 = max(56 * 56 * 64 * 64 / (512 * GHZ), act)
    reload = 2 * 10e-6 + (w3 + w1) / (10 * GBS)
    assert p.latency_s == pytest.approx(reload + 4 * (t3 + t1))


# ------------------------------------------------------------------ partial residency

def test_partial_residency_keeps_what_fits():
    fc = prof(fc_model([1024, 1024, 1024]))
    w = 1024 * 1024
    compute = w / (1024 * GHZ)
    planned = estimate(fc, spec(sram="1.5 MiB")).point(1)
    assert planned.plan == "partial"
    assert planned.resident_weight_bytes == w
    assert sorted(x.weights_resident for x in planned.layers) == [False, True]
    assert planned.dram_weight_bytes_per_inference == w
    assert planned.latency_s == pytest.approx(compute + w / (10 * GBS))
    streamed = estimate(fc, spec(sram="1.5 MiB", residency="streamed")).point(1)
    assert streamed.plan == "streamed"
    assert streamed.latency_s == pytest.approx(2 * w / (10 * GBS))
    resident = estimate(fc, spec(sram="3 MiB")).point(1)
    assert resident.plan == "resident" and resident.latency_s == pytest.approx(2 * compute)


# ------------------------------------------------------------------ sequences: recurrent steps, embeddings, state

def test_recurrent_steps_reread_weights_and_pay_per_step():
    seq, h, inp = 100, 128, 64
    lstm = prof(lstm_model(seq=seq, hidden=h, inp=inp))
    w = 4 * h * inp + 4 * h * h                 # W + R, no bias
    macs = seq * 4 * h * (inp + h)
    streamed = estimate(lstm, spec(sram="64 KiB", layer_overhead="1 us")).point(1)
    (layer,) = streamed.layers
    assert layer.steps == seq
    assert layer.dram_weight_bytes == pytest.approx(seq * w)          # once per dependent step
    assert layer.time_s == pytest.approx(max(macs / (1024 * GHZ), seq * w / (10 * GBS)) + seq * 1e-6)
    assert layer.bound == "weights"
    resident = estimate(lstm, spec(layer_overhead="1 us")).point(1)
    assert resident.latency_s == pytest.approx(macs / (1024 * GHZ) + seq * 1e-6)
    assert resident.layers[0].bound == "overhead"


def test_recurrent_steps_map_one_step_at_a_time():
    # a 64x64 array: one step's GEMM has M = the batch (1 row), not seq x batch, so 4 units sit idle
    lstm = prof(lstm_model(seq=100, hidden=16, inp=48))
    p = estimate(lstm, spec(array="64x64", macs_per_cycle={"int8": 4 * 64 * 64})).point(1)
    assert p.layers[0].utilization == pytest.approx((64 / 64) * (64 / 64) * (1 / 4))


def test_embedding_reads_rows_not_the_table():
    m = prof(embedding_model(vocab=30000, dim=64, tokens=10))
    e = estimate(m, spec(sram="64 KiB"), batch=[1, 4])
    assert e.point(1).dram_weight_bytes_per_inference == pytest.approx(10 * 64)
    assert e.point(4).dram_weight_bytes_per_inference == pytest.approx(10 * 64)
    assert e.point(1).latency_s == pytest.approx(10 * 64 / (10 * GBS))


def test_kv_cache_is_state_on_chip_or_dram_traffic():
    heads, ctx, d = 4, 4096, 64
    m = prof(kv_read_model(heads, ctx, d))
    kv = heads * (ctx + 1) * d                  # the cache plus the new token, read by q @ k^T
    macs = heads * (ctx + 1) * d
    small = estimate(m, spec(sram="256 KiB")).point(1)
    assert small.state_bytes_per_sequence == heads * ctx * d
    assert small.dram_state_bytes_per_inference == pytest.approx(kv)
    assert small.bound == "state"
    assert small.latency_s == pytest.approx(max(macs / (1024 * GHZ), kv / (10 * GBS)))
    big = estimate(m, spec(sram="8 MiB")).point(1)
    assert big.dram_state_bytes_per_inference == 0 and big.latency_s == pytest.approx(macs / (1024 * GHZ))
    # the cache never crosses the host link: only q, k in and the scores out
    linked = estimate(m, spec(sram="8 MiB", host_link={"bandwidth": "1 GB/s", "latency": 0})).point(1)
    assert linked.link_s == pytest.approx((2 * heads * d + heads * (ctx + 1)) / GBS)


def test_layout_op_copy_or_view():
    m = prof(transpose_model(64, 56))
    copy = estimate(m, spec(layout_ops="copy", vector_ops_per_cycle=64)).point(1)
    assert copy.latency_s == pytest.approx(C64_ACT / (64 * GHZ))
    view = estimate(m, spec(layout_ops="view", vector_ops_per_cycle=64, layer_overhead="1 us")).point(1)
    assert view.latency_s == 0 and view.layers[0].time_s == 0


# ------------------------------------------------------------------ terms of v1 no test pinned before

def test_separate_weight_path_runs_beside_activation_traffic(c64):
    # 23,552 B of SRAM: weights cannot stay; weight slices of SRAM - minimal strip (3 input rows + 1 output
    # row = 3*64*56 + 64*56 = 14,336 B): ceil(36,864 / 9,216) = 4 passes, the input read 4 times
    hw = spec(sram=23552, macs_per_cycle={"int8": 4096}, weight_bandwidth="1 GB/s")
    (layer,) = estimate(c64, hw).point(1).layers
    assert layer.passes == 4
    assert layer.dram_weight_bytes == C64_W and layer.dram_activation_bytes == 4 * C64_ACT + C64_ACT
    tw, ta = C64_W / GBS, 5 * C64_ACT / (10 * GBS)
    assert layer.time_s == pytest.approx(max(C64_MACS / (4096 * GHZ), max(tw, ta)))
    shared = estimate(c64, spec(sram=23552, macs_per_cycle={"int8": 4096})).point(1).layers[0]
    assert shared.time_s == pytest.approx(max(C64_MACS / (4096 * GHZ), (C64_W + 5 * C64_ACT) / (10 * GBS)))


def test_activation_strips_leave_room_for_one_output_channel_of_weights():
    # 1x1 conv 1024 -> 16 on 8x8: W = 16,384 B, one output channel's weights 1,024 B, B x (in + out) = 66,560 B;
    # strips of 14,335 - 1,024 = 13,311 B: ceil(66,560 / 13,311) = 6 passes, the weights read 6 times
    m = prof(conv_model(1024, 16, 8, 1))
    (layer,) = estimate(m, spec(sram=14335)).point(1).layers
    assert layer.passes == 6
    assert layer.dram_weight_bytes == 6 * 16384 and layer.dram_activation_bytes == 66560


def test_cpu_kind_adds_vector_work_to_mac_work():
    # conv 64 -> 64 + BN + ReLU fused: MACs at 1024/cycle, the fused layer's other ops at 64/cycle; an NPU's vector
    # unit overlaps them (the longer), a CPU's cores do both (the sum)
    m = prof(conv_model(64, 64, 56, 3, relu=True, bn=True))
    other = m.totals.other_ops
    assert other == 2 * C64_ACT + C64_ACT          # BN: 2 ops per element, ReLU: 1
    # the kinds' default arrays (cpu 1x16 im2col, npu 32x32 direct) both map this conv fully
    fixed = {"layer_overhead": 0, "inference_overhead": 0, "compute_efficiency": 1.0,
             "vector_ops_per_cycle": 64}
    cpu = estimate(m, spec(kind="cpu", **fixed)).point(1)
    npu = estimate(m, spec(kind="npu", **fixed)).point(1)
    mac, vec = C64_MACS / (1024 * GHZ), other / (64 * GHZ)
    assert cpu.latency_s == pytest.approx(mac + vec)
    assert npu.latency_s == pytest.approx(max(mac, vec))


def test_attention_runs_fused_and_keeps_its_scores_on_chip():
    from v2_builders import attention_model

    m = prof(attention_model(heads=4, seq=128, d=64))
    q = kt = v = out = 4 * 128 * 64                 # INT8 bytes of each input and of the output
    # the 4 x 128 x 128 scores never leave the chip: unfused, QK's output and PV's input would move them twice
    (layer,) = estimate(m, spec(sram="16 KiB")).point(1).layers
    assert (layer.op_class, layer.fused) == ("attention", ["softmax", "pv"])
    assert layer.macs == 2 * 4 * 128 * 128 * 64      # q @ kt and probs @ v
    # spilled: its inputs read and its output written, not the scores (unfused, QK's output and PV's input would add
    # 2 x scores)
    assert layer.dram_activation_bytes == q + kt + v + out


def test_pipeline_contexts_reload_over_the_host_link_without_dram():
    # Hailo-8/8L: no DRAM; a model past the on-chip memory runs in contexts whose weights come from the host
    m = prof(fc_model([256, 256, 256, 256]))              # three 256x256 layers: 65,536 B of weights each
    w, io = 256 * 256, 256
    link = {"bandwidth": "1 GB/s", "latency": "5 us"}
    # 2 cores of 66,100 B: a layer and its 512 B of activations fit a core, two layers a context (131,072 <=
    # 132,200), the third is a second
    hw = spec(cores=2, split="pipeline", sram=132200, context_reload="10 us", dram_bandwidth=None, host_link=link)
    e = estimate(m, hw, batch=[1, 4])
    t = w / (512 * GHZ)                                   # a layer on one core: half of 1024 MACs/cycle
    for b in (1, 4):
        p = e.point(b)
        assert p.feasible and p.pipeline_contexts == 2
        reload = 2 * (10e-6 + 5e-6) + 3 * w / GBS             # per context: fixed cost + link latency + weights
        io_link = 2 * io * b / GBS + 2 * 5e-6                 # the input and the output, once each way
        # context 1: two stages (2t, then t per further image); context 2: one layer (t, then t per image)
        assert p.latency_s == pytest.approx(reload + io_link + 3 * t + (b - 1) * (t + t))
        assert p.link_s == pytest.approx(reload + io_link)
        assert p.dram_weight_bytes_per_inference == 0        # nothing crosses a DRAM: the weights cross the link
    faster = estimate(m, {**hw, "host_link": {**link, "bandwidth": "2 GB/s"}}, batch=[1]).point(1)
    assert e.point(1).latency_s - faster.latency_s == pytest.approx((3 * w + 2 * io) * (1 / GBS - 1 / (2 * GBS)))
    no_link = estimate(m, {k: v for k, v in hw.items() if k != "host_link"}, batch=[1]).point(1)
    assert not no_link.feasible and "no DRAM" in no_link.infeasible_reason
