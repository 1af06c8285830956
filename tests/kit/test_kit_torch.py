"""The built-in torch SUT (``--runtime torch --torch-module``): a kit made from a PyTorch factory (exported to
ONNX for the kit and its reference outputs) run on the factory's own module verifies within fp32's tolerance;
run on another module its outputs are rejected."""

from __future__ import annotations

import pytest
from kit_short import short_settings
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.kit import create_kit, verify_kit

pytest.importorskip("torch")
_register()
runner = CliRunner()


def test_torch_port_verifies_and_another_module_does_not(tmp_path):
    kit = create_kit("kit_torch_model:build", tmp_path / "kit", inputs={"x": "1x3x8x8"}, samples=2,
                     scenarios=short_settings("single-stream"))
    res = runner.invoke(app, ["kit", "run", str(kit.path), "--runtime", "torch", "--torch-module",
                              "kit_torch_model:build", "--threads", "1", "-o", str(tmp_path / "res")])
    assert res.exit_code == 0, res.output
    ver = verify_kit(kit.path, tmp_path / "res")
    assert ver.verified, ver.lines()
    assert ver.figures["single-stream"]["throughput_ips"] > 0
    res = runner.invoke(app, ["kit", "run", str(kit.path), "--runtime", "torch", "--torch-module",
                              "torch.nn:Identity", "-o", str(tmp_path / "res2")])
    assert res.exit_code == 0, res.output  # the run itself is the supplier's: verify is where it fails
    bad = [c for c in verify_kit(kit.path, tmp_path / "res2").checks if not c.ok]
    out = kit.manifest["outputs"][0]["name"]
    assert [(c.name, c.detail) for c in bad] == [("outputs", f"{out}: shape [2, 1, 3, 8, 8], reference [2, 1, 5]")]


def test_torch_needs_its_module(tmp_path):
    res = runner.invoke(app, ["kit", "run", str(tmp_path), "--runtime", "torch", "-o", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert res.stderr.strip() == ("error: --runtime torch needs the PyTorch port of the model: --torch-module "
                                  "package.module:factory")
