"""The sweep YAML: validation, grid expansion and point keys."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import sweep_kinds
import yaml

from fitbench.errors import SpecError
from fitbench.sweep import load_sweep, parse_sweep


@pytest.fixture
def model_file(tmp_path):
    return sweep_kinds.conv_chain(tmp_path / "chain.onnx", layers=2, channels=4)


def write(tmp_path, data, name="grid.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "spec, expected",
    [
        # kinds x models x batches x precisions x (hardware | runtimes x scenarios)
        ({"kinds": "estimate", "models": ["a", "b"], "batch": [1, 2, 4], "precision": ["int8", "fp16"],
          "hardware": ["h1", "h2"]}, 2 * 3 * 2 * 2),
        ({"kinds": ["profile", "estimate"], "models": ["a"], "batch": [1, 8], "hardware": ["h1", "h2", "h3"]},
         1 * 2 * 1 + 1 * 2 * 1 * 3),
        ({"kinds": "measure", "models": ["a"], "batch": [1, 2], "runtime": ["onnxruntime", "torch"],
          "scenario": ["single-stream", "offline"]}, 1 * 2 * 1 * 2 * 2),
        # a model's grid and its input-size alternatives multiply its variants
        ({"kinds": "profile", "models": [{"zoo": "yolov3", "grid": {"resolution": [[416, 416], [1080, 1920]],
          "num_classes": [20, 80]}}], "batch": 1}, 2 * 2),
        ({"kind": "profile", "models": [{"zoo": "m", "inputs": [{"x": "1x3x8x8"}, {"x": "1x3x16x16"}]}, "n"],
          "precision": ["int8", "fp32"]}, (2 + 1) * 2),
        # duplicates (same definition) count once
        ({"kinds": "profile", "models": ["a", "a"], "batch": [1, 1, 2]}, 1 * 2),
    ],
)  # fmt: skip
def test_grid_size(spec, expected):
    assert len(parse_sweep(spec).expand()) == expected


def test_point_key_is_sha256_of_canonical_definition(model_file, tmp_path):
    model = {"path": "chain.onnx", "inputs": [{"x": "1x3x8x8"}]}
    data = {"kinds": "estimate", "models": [model], "batch": 2, "precision": "int8", "hardware": "edge-npu"}
    spec = load_sweep(write(tmp_path, data))
    (point,) = spec.expand()
    sha = hashlib.sha256(model_file.read_bytes()).hexdigest()
    definition = {
        "kind": "estimate",
        "model": {"name": "chain", "file": "chain.onnx", "sha256": sha, "params": {}, "inputs": {"x": "1x3x8x8"}},
        "batch": 2,
        "precision": "int8",
        "hardware": {"name": "edge-npu"},
    }
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    assert point.key == hashlib.sha256(text.encode()).hexdigest()
    assert point.definition() == definition


def test_key_follows_file_content_not_location(model_file, tmp_path):
    data = {"name": "s", "kinds": "profile", "models": ["chain.onnx"], "batch": [1, 2]}
    keys = [p.key for p in load_sweep(write(tmp_path, data)).expand()]
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(model_file, other / "chain.onnx")
    assert [p.key for p in load_sweep(write(other, data)).expand()] == keys  # same content, other folder
    sweep_kinds.conv_chain(other / "chain.onnx", layers=3, channels=4)  # content changes
    assert not set(p.key for p in load_sweep(write(other, data)).expand()) & set(keys)


def test_comma_separated_names_are_split_as_on_the_command_line():
    """``hardware: "a,b"`` was one unknown chip named "a,b"; ``--hw a,b`` is two. Now the YAML is two too."""
    spec = parse_sweep({"kinds": "estimate, profile", "models": ["a"], "hardware": "h1, h2", "precision": "int8,fp16",
                        "batch": 1})
    assert spec.kinds == ["estimate", "profile"] and spec.hardware == ["h1", "h2"]
    assert spec.precision == ["int8", "fp16"]
    assert len(spec.expand()) == 1 * 1 * 2 * 2 + 1 * 1 * 2  # estimate: 2 precisions x 2 chips; profile: 2


def test_name_defaults_to_file_stem_and_scalars_become_lists(model_file, tmp_path):
    spec = load_sweep(write(tmp_path, {"kind": "profile", "models": "chain.onnx", "batch": 4}, "night-run.yaml"))
    assert spec.sweep_id == "night-run"
    assert spec.batch == [4] and spec.precision == ["fp32"]
    (point,) = spec.expand()
    assert point.model["path"] == str(model_file.resolve())


@pytest.mark.parametrize(
    "data, message",
    [
        ({"models": ["a"]}, "kinds: Field required"),
        ({"kinds": "estimate", "models": ["a"]}, "estimate points need 'hardware'"),
        ({"kinds": "measure", "models": ["a"]}, "measure points need 'runtime'"),
        ({"kinds": "guess", "models": ["a"]}, "unknown point kind(s) ['guess']"),
        ({"kinds": "profile", "models": ["a"], "batch": [0]}, "batch sizes must be positive"),
        ({"kinds": "profile", "models": ["a"], "precision": "int3"}, "unknown precision 'int3'"),
        ({"kinds": "profile", "models": ["a"], "colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"kinds": "profile", "models": [{"zoo": "a", "path": "b.onnx"}]}, "exactly one of 'zoo' or 'path'"),
        ({"kinds": "profile", "models": [{"zoo": "a", "params": {"r": 1}, "grid": {"r": [2]}}]},
         "both fixed (params) and varied (grid)"),
        ({"kinds": "profile", "models": []}, "models: List should have at least 1 item"),
        ({"kinds": "profile", "models": ["a"], "options": {"measure": {"quick": True}}},
         "options for kind(s) ['measure'] that the sweep does not run"),
        ([1, 2], "must be a mapping"),
    ],
)  # fmt: skip
def test_bad_specs_give_one_line_errors(data, message):
    with pytest.raises(SpecError) as info:
        parse_sweep(data)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(SpecError, match="sweep file not found"):
        load_sweep(tmp_path / "none.yaml")
    spec = load_sweep(write(tmp_path, {"kinds": "profile", "models": ["gone.onnx"]}))
    with pytest.raises(SpecError, match="model file not found: gone.onnx"):
        spec.expand()
    (tmp_path / "bad.yaml").write_text("kinds: [profile\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_sweep(tmp_path / "bad.yaml")


def test_resolution_widthxheight_and_list_are_one_point():
    """``"1920x1080"`` (WxH, as the CLI) and ``[1080, 1920]`` ([H, W]) are the same resolution: one point."""
    spec = parse_sweep({"kinds": "profile", "models": [
        {"zoo": "yolov3", "grid": {"resolution": ["1920x1080", [1080, 1920]]}},
        {"zoo": "yolov3", "params": {"resolution": "1920x1080"}},
        {"zoo": "yolov3", "params": {"resolution": [1080, 1920]}}]})
    (point,) = spec.expand()
    assert point.model["params"] == {"resolution": [1080, 1920]}


def test_bad_resolution_is_one_line():
    with pytest.raises(SpecError, match="resolution"):
        parse_sweep({"kinds": "profile", "models": [{"zoo": "yolov3", "grid": {"resolution": ["big"]}}]})


def test_a_spec_file_is_named_by_its_name_and_stored_whole(tmp_path):
    """A sweep listing ./chips/my.yaml whose ``name`` is acme-npu-x1 stores acme-npu-x1, not "my", and the
    whole spec (every field) goes with the point."""
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "my.yaml").write_text(
        "name: acme-npu-x1\nsource: test\nclock: 1 GHz\nmacs_per_cycle: {int8: 1024}\nsram: 1 MiB\n"
        "dram_bandwidth: 10 GB/s\n")
    spec = load_sweep(write(tmp_path, {"kinds": "estimate", "models": ["tiny"], "precision": "int8",
                                       "hardware": ["./chips/my.yaml"]}))
    (point,) = spec.expand()
    assert point.hardware_name == "acme-npu-x1"
    assert point.hardware["spec"]["clock_hz"] == 1e9 and point.hardware["spec"]["sram_bytes"] == 2**20
    assert "spec" not in point.definition()["hardware"]  # the sha256 of the file already keys the content


def test_a_spec_file_result_is_found_by_the_spec_name_and_carries_every_field(tmp_path):
    from fitbench.store import open_store
    from fitbench.sweep import run_sweep

    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "my.yaml").write_text(
        "name: acme-npu-x1\nsource: test\nclock: 1 GHz\nmacs_per_cycle: {int8: 1024}\nsram: 1 MiB\n"
        "dram_bandwidth: 10 GB/s\n")
    spec = load_sweep(write(tmp_path, {"name": "s", "kinds": "estimate", "models": ["tiny"], "precision": "int8",
                                       "hardware": ["./chips/my.yaml"]}))
    summary = run_sweep(spec, tmp_path / "r.db")
    assert (summary.ok, summary.failed) == (1, 0)
    (row,) = open_store(tmp_path / "r.db").query(hardware="acme-npu-x1")
    hw = row.conditions["hardware_spec"]
    assert (hw["name"], hw["clock_hz"], hw["sram_bytes"], hw["dram_bandwidth"]) == ("acme-npu-x1", 1e9, 2**20, 10e9)
    assert hw["macs_per_cycle"] == {"int8": 1024}
