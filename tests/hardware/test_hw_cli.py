"""``fitbench hw list|show`` and ``fitbench estimate``: output formats and one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest
import typer
from hw_builders import conv_model
from typer.testing import CliRunner

from fitbench.cli import estimate as estimate_cli
from fitbench.cli import hw as hw_cli


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    hw_cli.register(a)
    estimate_cli.register(a)
    return a


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    import onnx

    path = tmp_path_factory.mktemp("m") / "conv.onnx"
    onnx.save(conv_model(64, 64, 56, 3, bn=True, relu=True), path)
    return path


runner = CliRunner()


def test_hw_list_shows_every_catalog_entry_with_its_source(app):
    from fitbench.hardware.spec import catalog

    r = runner.invoke(app, ["hw", "list", "--format", "json"])
    assert r.exit_code == 0, r.output
    listed = json.loads(r.output)
    assert [d["name"] for d in listed] == [s.name for s in catalog()]
    assert all(d["source"] for d in listed)
    r = runner.invoke(app, ["hw", "list"])
    assert r.exit_code == 0 and "edge-npu-slow-dram" in r.output


def test_hw_show(app):
    r = runner.invoke(app, ["hw", "show", "nvdla-nv-large", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["sram_bytes"] == 16 * 64 * 512 and d["peak_tops"]["int8"] == pytest.approx(2 * 2048 * 1e9 / 1e12)
    r = runner.invoke(app, ["hw", "show", "edge-npu-slow-dram"])
    assert r.exit_code == 0 and "dram_bandwidth: 4300000000.0" in r.output


@pytest.mark.parametrize("name", ["edge-npu-slow-dram", "nvidia-a100-40gb", "all-on-chip"])
def test_hw_show_yaml_is_a_spec_file_that_loads_back(app, tmp_path, name):
    # the way to write one's own chip: fitbench hw show NAME > my_chip.yaml, edit, --hw my_chip.yaml
    # (was refused: "unknown field 'spec_hash'", then "give either 'macs_per_cycle' or 'peak_tops'")
    from fitbench.hardware.spec import load_hardware

    r = runner.invoke(app, ["hw", "show", name])
    assert r.exit_code == 0, r.output
    path = tmp_path / "my_chip.yaml"
    path.write_text(r.output)
    original, copy = load_hardware(name), load_hardware(str(path))
    assert copy.spec_hash() == original.spec_hash()
    assert f"spec_hash: {original.spec_hash()}" in r.output.splitlines()[0]


@pytest.mark.parametrize("args, fragment", [
    (["hw", "show", "nope"], "unknown hardware 'nope'"),
    (["hw", "list", "--format", "xml"], "--format must be"),
])
def test_hw_errors(app, args, fragment):
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert fragment in r.output and "Traceback" not in r.output


def test_estimate_json(app, onnx_file):
    r = runner.invoke(app, ["estimate", str(onnx_file), "--hw", "edge-npu-slow-dram", "--batch", "1,2",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert [p["batch"] for p in d["points"]] == [1, 2]
    assert d["conditions"]["hardware"] == "edge-npu-slow-dram" and d["conditions"]["precision"] == "int8"
    assert "layers" not in d["points"][0]


def test_estimate_csv_and_table_to_file(app, onnx_file, tmp_path):
    out = tmp_path / "e.csv"
    r = runner.invoke(app, ["estimate", str(onnx_file), "--hw", "all-on-chip", "-b", "1,4", "-f", "csv",
                            "-o", str(out)])
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and "throughput_ips" in lines[0]
    r = runner.invoke(app, ["estimate", str(onnx_file), "--hw", "all-on-chip", "--winograd", "off"])
    assert r.exit_code == 0 and "Estimate per batch size" in r.output and "winograd none" in r.output


def test_estimate_with_a_yaml_spec(app, onnx_file, tmp_path):
    hw = tmp_path / "chip.yaml"
    hw.write_text("name: mine\nsource: test\nclock: 1 GHz\nmacs_per_cycle: {int8: 1024}\nsram: 256 KiB\n"
                  "dram_bandwidth: 1 GB/s\n")
    r = runner.invoke(app, ["estimate", str(onnx_file), "--hw", str(hw), "-f", "json"])
    assert r.exit_code == 0, r.output
    p = json.loads(r.output)["points"][0]
    assert p["activations_spill"] and p["dram_activation_bytes_per_inference"] == 2 * 64 * 56 * 56


@pytest.mark.parametrize("extra, fragment", [
    (["--hw", "nope"], "unknown hardware"),
    (["--hw", "all-on-chip", "--batch", "1,x"], "--batch expects"),
    (["--hw", "all-on-chip", "--winograd", "maybe"], "--winograd must be"),
    (["--hw", "all-on-chip", "--format", "xml"], "--format must be"),
    (["--hw", "nvdla-nv-large", "--precision", "fp16"], "no MAC rate for fp16"),
    (["--hw", "missing.yaml"], "not found"),
])
def test_estimate_errors_are_one_line(app, onnx_file, extra, fragment):
    r = runner.invoke(app, ["estimate", str(onnx_file), *extra])
    assert r.exit_code == 2, r.output
    assert fragment in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
