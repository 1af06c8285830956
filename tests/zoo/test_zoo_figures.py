"""The zoo reproduces the seed's and the published figures.

Conventions (those of fitbench's cost rules): MAC = one multiply-accumulate of a Conv / Gemm /
MatMul / recurrent gate (BN, activations, pooling, softmax, adds are *other ops*, not MACs);
darknet's and torchvision's "FLOPs"/"GFLOPS" for these models are: darknet BFLOPs = 2 x conv MACs,
torchvision GFLOPS = MACs. Parameters follow PyTorch (trainable tensors; BN running mean/var are
buffers). The graph's constant weights = parameters + BN running statistics (``model.buffers``).
Activation bytes at INT8 = elements x 1 byte, batch 1.

Figures come from the profile engine (``zoo_counting.count`` = ``fitbench.profile.profile`` totals),
cross-checked against an independent counter (``zoo_counting.count_onnx``: ONNX's shape inference and the
MAC formulas written in the test, none of fitbench's IR or cost rules) in the last tests.
"""

from __future__ import annotations

import onnx
import pytest
from zoo_counting import count, count_onnx

from fitbench import zoo
from fitbench.zoo.resnet import main_path_totals
from fitbench.zoo.transformer import bert_encoder_layer_params

G = 1e9
M = 1e6


def totals(name: str, **kw):
    m = zoo.build(name, **kw)
    return m, count(m.proto)


# ---------------------------------------------------------------- YOLOv3 (darknet yolov3.cfg)

def test_yolov3_416_matches_darknet_65_86_bflops():
    # darknet prints 65.86 BFLOPs for yolov3.cfg at 416x416; its BFLOPs are 2 x conv MACs
    m, c = totals("yolov3", resolution=(416, 416))
    assert c.macs == pytest.approx(65.86 * G / 2, rel=5e-4)
    assert all(la.op_type == "Conv" for la in c.layers if la.macs)  # every MAC is a conv MAC
    assert m.notes == []


@pytest.mark.parametrize("h, w", [(224, 224), (608, 608), (1088, 1920)])
def test_yolov3_macs_scale_exactly_with_pixels(h, w):
    # every layer's output is (H/stride) x (W/stride) when H, W are multiples of 32
    _, c416 = totals("yolov3", resolution=(416, 416))
    _, c = totals("yolov3", resolution=(h, w))
    assert c.macs * (416 * 416) == c416.macs * (h * w)


def test_yolov3_seed_figures_at_224_and_2mp():
    _, c224 = totals("yolov3", resolution=(224, 224))
    # darknet's 65.86 BFLOPs at 416x416, scaled by pixels: 32.93 G x 224^2 / 416^2 = 9.548 G
    assert c224.macs == pytest.approx(65.86 * G / 2 * 224**2 / 416**2, rel=5e-4)
    assert c224.macs / G == pytest.approx(9.5, abs=0.06)  # seed: "224x224 needs 9.5 Billion MACs"
    m, c = totals("yolov3", resolution=(1080, 1920))
    assert m.notes == ["letterboxed 1920x1080 to 1920x1088 (darknet pads to a multiple of 32)"]
    assert m.input_shapes == {"input": (1, 3, 1088, 1920)}
    # 32.93 G x (1088 x 1920) / 416^2 = 397.5 G; the seed: "400 Billion MACs" for 2 MP
    assert c.macs == pytest.approx(65.86 * G / 2 * 1088 * 1920 / 416**2, rel=5e-4)
    assert c.macs / G == pytest.approx(400, rel=0.01)
    # largest activation: the first conv's output, 32 x 1088 x 1920 at 1 byte (INT8) = 66.8 MB
    assert c.largest_activation_elements == 32 * 1088 * 1920 == 66_846_720
    assert c.largest_activation_name == "layer0.conv"


def test_yolov3_winograd_f2_speedup_is_1_76():
    # seed: "for YOLOv3 the acceleration is 1.7x"; 3x3 stride-1 convs run 2.25x fewer MACs
    _, c = totals("yolov3", resolution=(1080, 1920))
    frac = c.winograd_eligible_macs / c.macs
    assert c.winograd_speedup_f2 == pytest.approx(1 / (1 - frac + frac / 2.25))
    assert c.winograd_speedup_f2 == pytest.approx(1.76, abs=0.005)


def test_yolov3_tiny_matches_darknet_5_56_bflops():
    _, c = totals("yolov3-tiny")
    assert c.macs == pytest.approx(5.56 * G / 2, rel=2e-3)


# ---------------------------------------------------------------- ResNets (torchvision)

BN_CHANNELS_R50 = 64 + sum(n * (w + w + 4 * w) for n, w in ((3, 64), (4, 128), (6, 256), (3, 512))) + \
    sum(4 * w for w in (64, 128, 256, 512))  # stem + 3 BNs per block + one per projection shortcut
SHORTCUT_WEIGHTS_R50 = 64 * 256 + 256 * 512 + 512 * 1024 + 1024 * 2048


def test_resnet50_v15_torchvision_figures():
    # torchvision resnet50 (IMAGENET1K_V1/V2): 25,557,032 params, 4.09 GFLOPS (= GMAC)
    m, c = totals("resnet50")
    assert m.parameters == 25_557_032
    assert m.buffers == 2 * BN_CHANNELS_R50 == 53_120
    assert c.weights == m.parameters + m.buffers
    assert c.macs / G == pytest.approx(4.09, abs=0.005)
    # largest activation: the stem conv's 64 x 112 x 112 at INT8 = 802,816 bytes (< 1 MB, as the seed says)
    assert c.largest_activation_elements == 64 * 112 * 112 == 802_816


def test_resnet50_v1_main_path_is_the_seeds_3_5_gmac_22_7_m():
    # seed: "ResNet-50 has 50 stages, ... 22.7 Million weights and needs 3.5 Billion MACs": the 49
    # main-path convs + fc of v1, without the 4 projection shortcuts (layer*.0.downsample.0)
    m, c = totals("resnet50-v1")
    mp = main_path_totals(c)
    assert mp["layers"] == 50
    assert mp["weights"] == 25_557_032 - 2 * BN_CHANNELS_R50 - SHORTCUT_WEIGHTS_R50 == 22_735_016  # minus BN gamma/beta
    shortcut_macs = 56 * 56 * 64 * 256 + 28 * 28 * 256 * 512 + 14 * 14 * 512 * 1024 + 7 * 7 * 1024 * 2048
    assert mp["macs"] == c.macs - shortcut_macs
    assert mp["macs"] / G == pytest.approx(3.5, abs=0.005)
    # v1's 16 3x3 convs all have stride 1: 16 x (HW x C x C x 9) at (56,64) (28,128) (14,256) (7,512)
    assert mp["winograd_eligible_macs"] == 16 * 56 * 56 * 64 * 64 * 9
    assert mp["winograd_speedup_f2"] == pytest.approx(1.4, abs=0.02)  # seed: "about 1.4x"


def test_resnet18_torchvision_figures():
    m, c = totals("resnet18")
    assert m.parameters == 11_689_512
    assert c.macs / G == pytest.approx(1.81, abs=0.005)


# ---------------------------------------------------------------- MobileNets (torchvision)

def test_mobilenet_v2_torchvision_figures():
    m, c = totals("mobilenet-v2")
    assert m.parameters == 3_504_872  # torchvision mobilenet_v2: 3.5 M params, 0.30 GFLOPS
    assert c.macs / G == pytest.approx(0.30, abs=0.005)


def test_mobilenet_v2_width_multiplier_shrinks_it():
    m, c = totals("mobilenet-v2", width=0.5)
    _, full = totals("mobilenet-v2")
    assert m.params["width"] == 0.5
    assert c.macs < 0.4 * full.macs


def test_mobilenet_v3_large_torchvision_figures():
    m, c = totals("mobilenet-v3-large")
    assert m.parameters == 5_483_032  # torchvision: 5.5 M params, 0.22 GFLOPS
    assert c.macs / G == pytest.approx(0.22, abs=0.005)


# ---------------------------------------------------------------- transformers

def test_vit_b16_torchvision_figures():
    m, c = totals("vit-b16")
    assert m.parameters == 86_567_656  # torchvision vit_b_16: 86.6 M params, 17.56 GFLOPS
    n, d = 197, 768
    per_layer = 4 * n * d * d + 2 * n * d * 3072 + 2 * n * n * d  # projections, MLP, QK^T and AV
    expected = 196 * d * 3 * 16 * 16 + 12 * per_layer + d * 1000
    assert c.macs == expected
    assert c.macs / G == pytest.approx(17.56, abs=0.005)


def test_bert_base_at_128_tokens():
    # the exact figure: 12 layers x (4 d^2 projections + 2 d*3072 FFN + 2 s^2 d attention) x s tokens,
    # plus the pooler's d^2 = 11,174,215,680 MACs (11,173,625,856 for the encoder alone)
    s, d = 128, 768
    encoder = 12 * (4 * s * d * d + 2 * s * d * 3072 + 2 * s * s * d)
    m, c = totals("bert-base", seq_len=s)
    assert encoder == 11_173_625_856
    assert c.macs == encoder + d * d
    assert c.macs / G == pytest.approx(11.17, abs=0.005)
    # parameters: 12 encoder layers = 85,054,464 (~85.1 M); + embeddings (30522+512+2)*768 + LN, + pooler
    assert 12 * bert_encoder_layer_params() == 85_054_464
    embeddings = (30522 + 512 + 2) * d + 2 * d
    assert m.parameters == 85_054_464 + embeddings + d * d + d == 109_482_240


def test_bert_seq_len_is_a_parameter():
    s = 384
    m, c = totals("bert-base", seq_len=s, batch=4)
    assert m.input_shapes == {"input_ids": (4, s), "token_type_ids": (4, s)}
    d = 768
    assert c.macs == 4 * (12 * (4 * s * d * d + 2 * s * d * 3072 + 2 * s * s * d) + d * d)


@pytest.mark.parametrize("kv_len", [1, 127, 1023])
def test_gpt2_decode_step_macs_and_params(kv_len):
    d, L = 768, 12
    m, c = totals("gpt2-small-decode", kv_len=kv_len)
    assert m.parameters == 124_439_808  # HF gpt2 (LM head tied to wte)
    per_layer = d * 3 * d + d * d + 2 * d * 4 * d + 2 * d * (kv_len + 1)  # qkv, proj, MLP, q.K^T + a.V
    assert c.macs == L * per_layer + d * 50257
    assert m.input_shapes["past.0.key"] == (1, 12, kv_len, 64)


def test_gpt2_seq_len_sets_the_kv_cache_length():
    m = zoo.build("gpt2-small-decode", seq_len=64)
    assert m.params["kv_len"] == 64
    assert m.input_shapes["past.11.value"] == (1, 12, 64, 64)


# ---------------------------------------------------------------- speech, U-Net, tiny

@pytest.mark.parametrize("rnn, gates", [("lstm", 4), ("gru", 3)])
def test_deepspeech2_macs_by_arithmetic(rnn, gates):
    secs, hidden, layers = 4.0, 1024, 5
    m, c = totals("deepspeech2", audio_seconds=secs, rnn=rnn)
    t = 100 * 4 + 1  # frames at a 10 ms hop, centred
    t1 = (t + 10 - 11) // 2 + 1  # after conv.0's time stride 2
    conv = 32 * 81 * t1 * (41 * 11) + 32 * 41 * t1 * (32 * 21 * 11)
    rnn_macs = sum(2 * t1 * gates * hidden * ((32 * 41 if i == 0 else hidden) + hidden) for i in range(layers))
    assert c.macs == conv + rnn_macs + t1 * hidden * 29
    assert m.input_shapes == {"spectrogram": (1, 1, 161, t)}
    # the seed's point: most of a speech model's MACs are not convolutions
    assert conv / c.macs < 0.25


def test_deepspeech2_audio_length_scales_the_work():
    _, c2 = totals("deepspeech2", audio_seconds=2.0)
    _, c8 = totals("deepspeech2", audio_seconds=8.0)
    assert c8.macs / c2.macs == pytest.approx(4.0, rel=0.01)


def test_unet_at_camera_resolution():
    m, c = totals("unet", resolution=(1080, 1920))
    assert m.notes == ["letterboxed 1920x1080 to 1920x1088 (U-Net's four 2x2 poolings need a multiple of 16)"]
    # largest activation: the last skip concatenation, (64 + 64) x 1088 x 1920
    assert c.largest_activation_elements == 128 * 1088 * 1920


def test_tiny_macs_by_arithmetic():
    _, c = totals("tiny")
    assert c.macs == 32 * 32 * 8 * 27 + 16 * 16 * 16 * 72 + 16 * 10


@pytest.mark.parametrize("name", ["resnet50", "yolov3", "mobilenet-v2", "bert-base", "tiny"])
def test_batch_multiplies_macs(name):
    _, c1 = totals(name)
    _, c4 = totals(name, batch=4)
    assert c4.macs == 4 * c1.macs
    assert c4.weights == c1.weights


@pytest.mark.parametrize("name", [e.name for e in zoo.list_models()])
def test_profile_engine_agrees_with_an_independent_count(name):
    m = zoo.build(name)
    a, b = count(m.proto), count_onnx(m.proto)
    assert a.uncosted == []
    assert a.macs == b.macs
    assert [(x.name, x.macs) for x in a.layers if x.macs] == [(x.name, x.macs) for x in b.layers if x.macs]
    assert a.largest_activation_elements == b.largest_activation_elements
    assert a.winograd_eligible_macs == b.winograd_eligible_macs
    # every parameter and BN statistic once (GPT-2's tied embedding too), as the builder declares them
    assert b.weights == m.parameters + m.buffers
    # the profile also counts the 0-d float constants the graph computes with (1/sqrt(dh), GELU's 1/sqrt(2),
    # 1 and 0.5), but not Clip's min/max, which are limits
    scalars = {t.name for t in m.proto.graph.initializer if not t.dims and t.data_type == onnx.TensorProto.FLOAT}
    consumed = {x for n in m.proto.graph.node for i, x in enumerate(n.input) if not (n.op_type == "Clip" and i)}
    assert a.weights - b.weights == len(scalars & consumed)


def test_profile_by_zoo_name_records_params_and_letterbox():
    # the path `fitbench profile yolov3 --resolution 1920x1080` takes
    from fitbench.profile import profile

    p = profile("yolov3", resolution=(1080, 1920), precision="int8")
    assert p.conditions.input_shapes == {"input": [1, 3, 1088, 1920]}
    assert "letterboxed 1920x1080 to 1920x1088 (darknet pads to a multiple of 32)" in p.conditions.notes
    assert p.totals.largest_activation_bytes == 32 * 1088 * 1920
    assert p.totals.macs == count(zoo.build("yolov3", resolution=(1080, 1920)).proto).macs


def test_main_path_totals_reads_a_profile_directly():
    from fitbench.profile import profile

    p = profile("resnet50-v1")
    assert main_path_totals(p) == main_path_totals(count_onnx(zoo.build("resnet50-v1").proto))
    assert main_path_totals(p)["layers"] == 50
