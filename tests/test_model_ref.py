"""One reading of a model argument (fitbench.model_ref): the kinds, and the file rule shared with the
hardware-spec and sweep arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitbench.model_ref import ModelRef, kind_of, looks_like_file, model_ref


@pytest.mark.parametrize("model, kind", [
    ("resnet50", "zoo"),
    ("model.onnx", "file"),
    ("MODEL.ONNX", "file"),
    ("models/resnet", "file"),
    (Path("anything"), "file"),
    ("my_pkg.models:build", "factory"),
    ("dir/my_pkg:build", "file"),  # a path separator wins over the colon
    (42, "other"),
])
def test_kinds(model, kind):
    assert kind_of(model) == kind


def test_an_existing_file_is_a_file_whatever_its_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resnet50").write_bytes(b"")
    assert kind_of("resnet50") == "file"
    assert not looks_like_file("resnet50", on_disk=False)


def test_proto_and_ir_kinds():
    import onnx

    from fitbench.graph.onnx_io import load_model
    from fitbench.measure.testmodels import identity_model

    proto = identity_model()
    assert isinstance(proto, onnx.ModelProto) and kind_of(proto) == "proto"
    assert kind_of(load_model(proto, batch=1)) == "ir"


def test_spec_suffixes():
    assert looks_like_file("my-chip.YAML", (".yaml", ".yml"))
    assert not looks_like_file("nvidia-h200", (".yaml", ".yml"), on_disk=False)


def test_model_ref_is_resolved_once_and_names_files_by_base_name():
    ref = model_ref("weights/yolo.onnx", inputs={"images": (1, 3, 640, 640)}, resolution=None, width=2)
    assert ref == ModelRef("file", "weights/yolo.onnx", {"images": (1, 3, 640, 640)}, None, {"width": 2})
    assert model_ref(ref) is ref and ref.is_file and ref.display_name == "yolo.onnx"
    assert model_ref("resnet50").display_name == "resnet50"
