"""JSON (stable schema), CSV (one row per layer) and the table, from the API and the CLI."""

from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import pytest
from onnx import helper
from profile_builders import conv_net, init, invoke_cli, make_model, vi

from fitbench.profile import profile

TOP = {"model", "conditions", "totals", "layers", "uncosted"}
MODEL = {"name", "path", "sha256", "opset"}
CONDITIONS = {"input_shapes", "batch", "weight_precision", "activation_precision", "fitbench_version", "notes",
              "params"}
# the list, plus the documented extras
TOTALS = {
    "macs", "flops", "other_ops", "weights", "weight_bytes", "largest_activation_bytes", "largest_activation_tensor",
    "peak_live_activation_bytes", "winograd_eligible_macs", "winograd_mac_fraction", "winograd_speedup_f2",
    "winograd_speedup_f4", "winograd_weight_growth_f2",
} | {"activation_bytes", "winograd_eligible_weights", "layer_count", "uncosted_count", "op_mix",
     "input_bytes", "output_bytes"}
LAYER = {
    "name", "op_type", "input_shapes", "output_shapes", "macs", "other_ops", "weights", "weight_bytes",
    "input_activation_bytes", "output_activation_bytes", "winograd_eligible", "rule",
} | {"flops", "gemms", "kernel", "domain", "inputs", "outputs"}
UNCOSTED = {"op_type", "domain", "count", "nodes", "reason"}


def model_with_uncosted():
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1] * 4),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Weird", ["r"], ["y"], name="weird", domain="my.ops"),
    ]
    return make_model(nodes, [vi("x", ["N", 3, 8, 8])], ["y"], [init("w", [4, 3, 3, 3]), init("b", [4])],
                      extra_opsets={"my.ops": 1})


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(model_with_uncosted().SerializeToString())
    return path


def test_json_schema_from_the_cli(model_file, tmp_path):
    out = tmp_path / "profile.json"
    code, stdout, stderr = invoke_cli("profile", str(model_file), "--batch", "8", "--format", "json", "-o", str(out))
    # the file is the output; the terminal gets only the profile's notes (here: one uncosted op)
    assert code == 0 and stdout == ""
    assert [line.split(" ", 2)[:2] for line in stderr.splitlines()] == [["note:", "1"]]
    data = json.loads(out.read_text())
    assert set(data) == TOP
    assert set(data["model"]) == MODEL
    assert set(data["conditions"]) == CONDITIONS
    assert set(data["totals"]) == TOTALS
    assert set(data["totals"]["largest_activation_tensor"]) == {"name", "shape", "bytes"}
    assert [set(x) for x in data["layers"]] == [LAYER] * 3
    assert [set(x) for x in data["uncosted"]] == [UNCOSTED]
    # values, not just keys
    assert data["model"]["sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert data["model"]["path"] == str(model_file) and data["model"]["opset"] == 17
    assert data["conditions"]["input_shapes"] == {"x": [8, 3, 8, 8]}
    assert data["conditions"]["batch"] == 8
    assert data["totals"]["macs"] == 8 * 4 * 64 * 27
    assert data["totals"]["flops"] == 2 * data["totals"]["macs"]
    assert [x["name"] for x in data["layers"]] == ["conv", "relu", "weird"]
    assert data["layers"][2]["macs"] is None and data["layers"][2]["flops"] is None
    assert data["uncosted"][0]["nodes"] == ["weird"]


def test_json_matches_the_api(model_file):
    code, stdout, _ = invoke_cli("profile", str(model_file), "--batch", "2", "--precision", "int8", "-f", "json")
    assert code == 0
    assert json.loads(stdout) == json.loads(profile(model_file, batch=2, precision="int8").to_json())


def test_csv_one_row_per_layer(model_file, tmp_path):
    out = tmp_path / "layers.csv"
    code, _, stderr = invoke_cli("profile", str(model_file), "--batch", "2", "--format", "csv", "-o", str(out))
    assert code == 0 and all(line.startswith("note: ") for line in stderr.splitlines())
    df = pd.read_csv(out)
    assert list(df["name"]) == ["conv", "relu", "weird"]
    assert list(df["op_type"]) == ["Conv", "Relu", "Weird"]
    assert df.loc[0, "macs"] == 2 * 4 * 64 * 27
    assert df.loc[0, "weights"] == 4 * 27 + 4
    assert pd.isna(df.loc[2, "macs"])  # uncosted: empty, never 0
    assert set(LAYER - {"gemms"}) <= set(df.columns)


def test_dataframe_and_csv_to_stdout(model_file):
    prof = profile(model_file, batch=1)
    df = prof.to_dataframe()
    assert len(df) == len(prof.layers) == prof.totals.layer_count == 3
    code, stdout, _ = invoke_cli("profile", str(model_file), "--batch", "1", "--format", "csv")
    assert code == 0
    assert len(pd.read_csv(io.StringIO(stdout))) == 3


def test_table_output(model_file):
    code, stdout, stderr = invoke_cli("profile", str(model_file), "--batch", "1")
    assert (code, stderr) == (0, "")
    assert "Totals" in stdout and "Uncosted ops" in stdout and "Weird x1" in stdout


def test_static_model_from_the_cli_path_has_name_and_json_is_plain(tmp_path):
    path = tmp_path / "net.onnx"
    path.write_bytes(conv_net(batch=1, h=16, w=16).SerializeToString())
    code, stdout, _ = invoke_cli("profile", str(path), "-f", "json")
    assert code == 0
    data = json.loads(stdout)
    assert data["model"]["name"] == str(path)
    assert data["uncosted"] == []


def test_cli_binds_input_batch_and_dims(tmp_path):
    path = tmp_path / "sym.onnx"
    path.write_bytes(conv_net().SerializeToString())  # x: [N, 3, H, W]
    code, stdout, stderr = invoke_cli("profile", str(path), "--batch", "2", "--dim", "H=8", "--dim", "W=12", "-f",
                                      "json")
    assert (code, stderr) == (0, "")
    assert json.loads(stdout)["conditions"]["input_shapes"] == {"x": [2, 3, 8, 12]}
    code, stdout, _ = invoke_cli("profile", str(path), "--input", "x=1x3x32x32", "-f", "json")
    assert json.loads(stdout)["conditions"]["input_shapes"] == {"x": [1, 3, 32, 32]}
    assert json.loads(stdout)["totals"]["macs"] == 8 * 16 * 16 * 3 * 9 + 16 * 8 * 8 * 8 * 9


def test_table_to_a_file(model_file, tmp_path):
    out = tmp_path / "table.txt"
    code, stdout, _ = invoke_cli("profile", str(model_file), "--batch", "1", "-o", str(out))
    assert code == 0 and stdout == ""
    assert "Top 3 layers by MACs" in out.read_text()
