"""Every zoo model builds at its defaults and at a second size, passes onnx.checker's full check, and
runs in ONNX Runtime at a small size with the expected output shapes and finite outputs."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from fitbench import zoo
from fitbench.graph.onnx_io import load_model

# a second size per model (a different resolution / length than the default)
SECOND = {
    "resnet50": {"resolution": (512, 512)},
    "resnet50-v1": {"resolution": (320, 480)},
    "resnet18": {"resolution": (1080, 1920)},
    "yolov3": {"resolution": (1080, 1920)},
    "yolov3-tiny": {"resolution": (608, 608)},
    "mobilenet-v2": {"resolution": (320, 320), "width": 1.4},
    "mobilenet-v3-large": {"resolution": (256, 320)},
    "vit-b16": {"resolution": (384, 384)},
    "bert-base": {"seq_len": 384},
    "gpt2-small-decode": {"kv_len": 100},
    "deepspeech2": {"audio_seconds": 3.0, "rnn": "gru"},
    "unet": {"resolution": (1080, 1920)},
    "tiny": {"resolution": (64, 48)},
    "ssd-mobilenet-v1": {"resolution": (320, 480)},
    "ssd-resnet34": {"resolution": (700, 700)},
    "retinanet-resnext50": {"resolution": (1080, 1920)},
    "bert-large": {"seq_len": 128},
    **{name: {"phase": "prefill", "prompt": 128} for name in
       ("llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "mistral-7b", "qwen2.5-0.5b", "llm-100m", "mixtral-8x7b")},
}
# the LLM presets run at a small configuration of the family (every configuration field is a parameter)
SMALL_LLM = {"layers": 1, "hidden": 64, "heads": 4, "kv_heads": 2, "head_dim": 16, "ffn": 96, "vocab": 1024}

# small sizes for running, batch 2, and the output shapes expected there
RUN = {
    "tiny": ({}, {"fc": (2, 10)}),
    "resnet18": ({"resolution": (64, 64)}, {"fc": (2, 1000)}),
    "resnet50": ({"resolution": (64, 64)}, {"fc": (2, 1000)}),
    "resnet50-v1": ({"resolution": (64, 96), "classes": 10}, {"fc": (2, 10)}),
    "mobilenet-v2": ({"resolution": (64, 64), "width": 0.5}, {"classifier": (2, 1000)}),
    "mobilenet-v3-large": ({"resolution": (64, 64)}, {"classifier.3": (2, 1000)}),
    "yolov3-tiny": ({"resolution": (64, 96)}, {"layer15.conv": (2, 255, 2, 3), "layer22.conv": (2, 255, 4, 6)}),
    "yolov3": ({"resolution": (60, 96), "classes": 20},  # letterboxed to 64x96; 3*(20+5) = 75 channels
               {"layer81.conv": (2, 75, 2, 3), "layer93.conv": (2, 75, 4, 6), "layer105.conv": (2, 75, 8, 12)}),
    "unet": ({"resolution": (32, 48), "classes": 3}, {"outc": (2, 3, 32, 48)}),
    "deepspeech2": ({"audio_seconds": 0.5, "hidden": 64, "layers": 2},
                    {"probs": (26, 2, 29)}),  # 51 frames -> 26 after the time stride 2
    "vit-b16": ({"resolution": (32, 48), "classes": 10}, {"heads.head": (2, 10)}),
    "bert-base": ({"seq_len": 8}, {"last_hidden_state": (2, 8, 768), "pooler_output": (2, 768)}),
    "gpt2-small-decode": ({"kv_len": 5}, {"logits": (2, 50257), "present.11.key": (2, 12, 6, 64)}),
    # maps 4x4, 2x2 and four 1x1 with 3, 6, 6, 6, 6, 6 anchors: 48 + 24 + 4 x 6 = 96 boxes
    "ssd-mobilenet-v1": ({"resolution": (64, 64)}, {"class_logits": (2, 96, 91), "box_regression": (2, 96, 4)}),
    # its smallest input (385: the last extra block needs a 3x3 map); head maps 17, 9, 5, 3, 1, 1 with
    # 4, 6, 6, 6, 4, 4 anchors: 1156 + 486 + 150 + 54 + 4 + 4 = 1854 boxes
    "ssd-resnet34": ({"resolution": (385, 385), "classes": 5}, {"locs": (2, 4, 1854), "confs": (2, 5, 1854)}),
    # levels 16, 8, 4, 2, 1 a side: 9 x 341 = 3069 anchors
    "retinanet-resnext50": ({"resolution": (128, 128), "classes": 10},
                            {"cls_logits": (2, 3069, 10), "bbox_regression": (2, 3069, 4)}),
    "bert-large": ({"seq_len": 8}, {"start_logits": (2, 8), "end_logits": (2, 8)}),
    **{name: ({**SMALL_LLM, "context": 5}, {"logits": (2, 1024), "present.0.key": (2, 2, 6, 16)})
       for name in ("llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "mistral-7b", "qwen2.5-0.5b")},
    "llm-100m": ({**SMALL_LLM, "layers": 2, "phase": "prefill", "prompt": 7},
                 {"logits": (2, 1024), "present.1.value": (2, 2, 7, 16)}),
    "mixtral-8x7b": ({**SMALL_LLM, "context": 5}, {"logits": (2, 1024), "present.0.key": (2, 2, 6, 16)}),
}
# models whose weights take more than a few seconds to materialise (>= 60 M parameters)
BIG = {"yolov3", "vit-b16", "bert-base", "gpt2-small-decode", "deepspeech2"}
# bert-large's 334 M weights take ~12 s to materialise and ~13 s to check: one build, checked and run, in
# test_bert_large_materialised_checks_and_runs below
HEAVY = {"bert-large"}
# the LLM presets hold 0.1-8 G weights: checked with onnx.checker at their small RUN configuration only
LLM = {"llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "mistral-7b", "qwen2.5-0.5b", "llm-100m", "mixtral-8x7b"}

NAMES = [e.name for e in zoo.list_models()]


def test_every_model_has_a_second_size_and_a_run_case():
    assert sorted(SECOND) == sorted(NAMES)
    assert sorted(RUN) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", ["default", "second"])
def test_builds_weightless_and_loads_with_strict_shape_inference(name, size):
    kw = SECOND[name] if size == "second" else {}
    m = zoo.build(name, **kw)
    # profiling build: initializers carry dims only, no bytes
    assert all(not t.raw_data and not t.float_data for t in m.proto.graph.initializer if len(t.dims) > 1)
    model = load_model(m.proto)
    assert model.input_shapes == m.input_shapes
    for out in m.proto.graph.output:
        t = model.graph.tensor(out.name)
        assert t is not None and t.shape is not None and math.prod(t.shape) > 0
    # node names are meaningful (no anonymous nodes) and unique
    names = [n.name for n in m.proto.graph.node]
    assert all(names) and len(set(names)) == len(names)
    for key, value in kw.items():
        assert m.params[key] == value


def _check(name: str, kw: dict) -> None:
    m = zoo.build(name, materialize_weights=True, **kw)
    onnx.checker.check_model(m.proto, full_check=True)
    assert m.proto.opset_import[0].version >= 17


@pytest.mark.parametrize("name", [n for n in NAMES if n not in BIG | HEAVY | LLM])
@pytest.mark.parametrize("size", ["default", "second"])
def test_checker_full_check(name, size):
    _check(name, SECOND[name] if size == "second" else {})


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BIG))
@pytest.mark.parametrize("size", ["default", "second"])
def test_checker_full_check_big(name, size):
    _check(name, SECOND[name] if size == "second" else {})


def _feeds(model: zoo.ZooModel, sess: ort.InferenceSession) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    feeds = {}
    for i in sess.get_inputs():
        shape = model.input_shapes[i.name]
        if i.type == "tensor(int64)":
            high = 2 if "type" in i.name else 1000
            feeds[i.name] = rng.integers(0, high, shape, dtype=np.int64)
        else:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _run(name: str, check: bool = False) -> None:
    kw, expected = RUN[name]
    m = zoo.build(name, batch=2, materialize_weights=True, **kw)
    if check:
        onnx.checker.check_model(m.proto, full_check=True)
    sess = ort.InferenceSession(m.proto.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, _feeds(m, sess)), strict=True))
    for out_name, shape in expected.items():
        assert outs[out_name].shape == shape, out_name
    for out_name, value in outs.items():
        assert np.isfinite(value).all(), out_name
        tiny = (value != 0) & (np.abs(value) < np.finfo(np.float32).tiny)
        assert not tiny.any(), f"{out_name} has denormals"
        assert np.abs(value).max() < 1e4, out_name


@pytest.mark.parametrize("name", [n for n in NAMES if n not in BIG | HEAVY | LLM])
def test_runs_in_onnxruntime(name):
    _run(name)


@pytest.mark.parametrize("name", sorted(LLM))
def test_llm_presets_check_and_run_at_a_small_configuration(name):
    _run(name, check=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BIG))
def test_runs_in_onnxruntime_big(name):
    _run(name)


@pytest.mark.slow
def test_bert_large_materialised_checks_and_runs():
    _run("bert-large", check=True)


def test_gpt2_logits_shape():
    # the logits' shape without materialising 124 M weights: batch x vocabulary
    m = zoo.build("gpt2-small-decode", batch=3, kv_len=7)
    model = load_model(m.proto)
    assert model.graph.tensor("logits").shape == (3, 50257)


def test_weights_are_deterministic_and_seeded():
    a = zoo.build("tiny", materialize_weights=True)
    b = zoo.build("tiny", materialize_weights=True)
    c = zoo.build("tiny", materialize_weights=True, seed=1)
    assert a.proto.SerializeToString() == b.proto.SerializeToString()
    assert a.proto.SerializeToString() != c.proto.SerializeToString()


def test_a_built_model_binds_another_batch():
    # shapes in the graph are batch-agnostic (Reshape uses 0/-1), so the loader can rebind the batch
    for name in ("vit-b16", "bert-base", "deepspeech2", "gpt2-small-decode", "ssd-mobilenet-v1", "ssd-resnet34",
                 "retinanet-resnext50", "bert-large"):
        m = zoo.build(name)
        model = load_model(m.proto, batch=3)
        assert all(s[0] == 3 for s in model.input_shapes.values())
