"""The registry: names, entries, parameters, errors."""

from __future__ import annotations

import pytest

from fitbench import zoo
from fitbench.errors import FitbenchError, UnknownNameError

EXPECTED_MODELS = {
    "resnet50": "cnn", "resnet50-v1": "cnn", "resnet18": "cnn", "yolov3": "detection", "yolov3-tiny": "detection",
    "mobilenet-v2": "cnn", "mobilenet-v3-large": "cnn", "vit-b16": "transformer", "bert-base": "transformer",
    "gpt2-small-decode": "transformer", "deepspeech2": "speech", "unet": "segmentation", "tiny": "test",
    "ssd-mobilenet-v1": "detection", "ssd-resnet34": "detection", "retinanet-resnext50": "detection",
    "bert-large": "transformer",
    "llama-3.2-1b": "llm", "llama-3.2-3b": "llm", "llama-3.1-8b": "llm", "mistral-7b": "llm", "qwen2.5-0.5b": "llm",
    "llm-100m": "llm", "mixtral-8x7b": "llm",
}


def test_list_models_names_and_families():
    entries = zoo.list_models()
    assert {e.name: e.family for e in entries} == EXPECTED_MODELS
    for e in entries:
        assert e.source and e.default_input and e.description
        assert e.to_dict()["name"] == e.name


def test_entry_parameter_count_at_defaults():
    assert zoo.get("resnet50").parameters == 25_557_032
    assert zoo.get("ResNet50").name == "resnet50"  # case and underscores are forgiven
    assert zoo.get("mobilenet_v2").name == "mobilenet-v2"


@pytest.mark.parametrize("wrong, suggestion", [("resnet-50", "resnet50"), ("yolo3", "yolov3"), ("bert", "bert-base"),
                                                ("mobilenetv2", "mobilenet-v2")])
def test_unknown_name_suggests_the_closest(wrong, suggestion):
    with pytest.raises(UnknownNameError, match=f"did you mean '{suggestion}'"):
        zoo.build(wrong)


def test_unknown_name_without_a_close_match():
    with pytest.raises(UnknownNameError, match="unknown zoo model 'qqqqqq'"):
        zoo.get("qqqqqq")


@pytest.mark.parametrize("name, kwargs, message", [
    ("resnet50", {"seq_len": 128}, "has no parameter seq_len; it accepts: classes, resolution"),
    ("bert-base", {"resolution": (224, 224)}, "has no parameter resolution"),
    ("resnet50", {"resolution": (0, 224)}, "must be positive"),
    ("resnet50", {"resolution": (16, 16)}, "at least 32"),
    ("resnet50", {"classes": "many"}, "classes must be an integer"),
    ("resnet50", {"batch": 0}, "batch must be a positive integer"),
    ("mobilenet-v2", {"width": -1}, "width must be a positive number"),
    ("bert-base", {"seq_len": 513}, "exceeds its 512 position embeddings"),
    ("gpt2-small-decode", {"kv_len": 1024}, "exceeds its 1024 positions"),
    ("deepspeech2", {"rnn": "transformer"}, "rnn must be lstm or gru"),
    ("deepspeech2", {"audio_seconds": 0.001}, "fewer than 2 frames"),
    ("ssd-resnet34", {"resolution": (384, 384)}, "too small for ssd-resnet34"),
    ("retinanet-resnext50", {"resolution": (96, 96)}, "at least 128"),
    ("retinanet-resnext50", {"backbone": "vgg16"}, "backbone must be one of resnext50_32x4d, resnet50"),
    ("bert-large", {"seq_len": 513}, "bert-large: seq_len 513 exceeds its 512 position embeddings"),
])
def test_bad_parameters_are_one_line_errors(name, kwargs, message):
    with pytest.raises(FitbenchError, match=message) as info:
        zoo.build(name, **kwargs)
    assert "\n" not in str(info.value)


def test_none_parameters_take_the_defaults():
    # the profile layer forwards every CLI option, unset ones as None
    m = zoo.build("yolov3", resolution=None, seq_len=None, batch=2, classes=None)
    assert m.params == {"resolution": (416, 416), "classes": 80, "batch": 2, "input_resolution": (416, 416)}
    assert m.input_shapes == {"input": (2, 3, 416, 416)}
    assert (m.family, m.name) == ("detection", "yolov3")
    assert "1804.02767" in m.source


def test_params_from_strings_are_converted():
    # the CLI passes --param values as strings
    m = zoo.build("deepspeech2", audio_seconds="2.5", layers="3", rnn="GRU")
    assert (m.params["audio_seconds"], m.params["layers"], m.params["rnn"]) == (2.5, 3, "gru")
    assert m.params["frames"] == 251


def test_resolution_string_is_width_x_height_as_on_the_cli():
    assert zoo.build("resnet18", resolution="640x480").input_shapes == {"input": (1, 3, 480, 640)}
    with pytest.raises(FitbenchError, match="WIDTHxHEIGHT"):
        zoo.build("resnet18", resolution="640by480")


def test_letterbox_note_only_when_padding():
    assert zoo.build("yolov3", resolution=(608, 608)).notes == []
    m = zoo.build("yolov3", resolution=(1080, 1920))
    assert m.params["resolution"] == (1080, 1920) and m.params["input_resolution"] == (1088, 1920)
    assert m.notes == ["letterboxed 1920x1080 to 1920x1088 (darknet pads to a multiple of 32)"]


def test_to_dict_is_json_safe():
    import json

    d = zoo.build("yolov3", resolution=(1080, 1920)).to_dict()
    assert json.loads(json.dumps(d))["params"]["resolution"] == [1080, 1920]


def test_docs_table_is_fresh():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, str(root / "scripts" / "zoo_table.py"), "--check"], capture_output=True,
                         text=True, env={"PYTHONPATH": str(root / "src"), "PATH": ""})
    assert res.returncode == 0, res.stderr
