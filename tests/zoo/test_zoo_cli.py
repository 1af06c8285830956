"""`fitbench zoo list` and `fitbench zoo export`."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import typer
from typer.testing import CliRunner

from fitbench.cli import zoo as zoo_cmd


def _app() -> typer.Typer:
    app = typer.Typer()
    zoo_cmd.register(app)

    @app.command()
    def _other() -> None:  # a second command keeps `zoo` a sub-command group
        pass

    return app


runner = CliRunner()


def test_zoo_list_shows_every_model():
    res = runner.invoke(_app(), ["zoo", "list"])
    assert res.exit_code == 0, res.output
    for name in ("resnet50", "yolov3", "bert-base", "gpt2-small-decode", "deepspeech2", "25.56 M",
                 "ssd-mobilenet-v1", "ssd-resnet34", "retinanet-resnext50", "bert-large"):
        assert name in res.output
    # the tiny test net has 1,562 parameters (conv 3->8 3x3 + bias: 224, conv 8->16 3x3 + bias: 1168,
    # fc 16->10 + bias: 170); it read '0.00 M'
    assert "1,562" in res.output and "0.00 M" not in res.output


def test_zoo_list_json():
    res = runner.invoke(_app(), ["zoo", "list", "--json"])
    rows = json.loads(res.output)
    r50 = next(r for r in rows if r["name"] == "resnet50")
    assert r50["parameters"] == 25_557_032 and r50["defaults"]["resolution"] == [224, 224]


def test_export_writes_a_runnable_model(tmp_path):
    out = tmp_path / "m.onnx"
    res = runner.invoke(_app(), ["zoo", "export", "resnet18", "--resolution", "96x64", "--batch", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "inputs input=2x3x64x96" in res.output  # WIDTHxHEIGHT on the command line, NCHW in the file
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"input": np.ones((2, 3, 64, 96), np.float32)})
    assert y.shape == (2, 1000) and np.isfinite(y).all()


def test_export_params_seq_len_and_letterbox_note(tmp_path):
    out = tmp_path / "y.onnx"
    res = runner.invoke(_app(), ["zoo", "export", "yolov3-tiny", "--resolution", "1920x1080", "--param", "classes=3",
                                 "--no-weights", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "note: letterboxed 1920x1080 to 1920x1088" in res.output
    res = runner.invoke(_app(), ["zoo", "export", "gpt2-small-decode", "--seq-len", "9", "--no-weights",
                                 "-o", str(tmp_path / "g.onnx")])
    assert res.exit_code == 0, res.output
    g = onnx.load(str(tmp_path / "g.onnx"))
    past = next(i for i in g.graph.input if i.name == "past.0.key")
    assert [d.dim_value for d in past.type.tensor_type.shape.dim] == [1, 12, 9, 64]


def test_export_errors_exit_2_with_one_line(tmp_path):
    cases = [
        (["zoo", "export", "resnt50", "-o", str(tmp_path / "a.onnx")], "did you mean 'resnet50'"),
        (["zoo", "export", "resnet50", "--resolution", "big", "-o", str(tmp_path / "a.onnx")], "--resolution"),
        (["zoo", "export", "resnet50", "--param", "width", "-o", str(tmp_path / "a.onnx")], "KEY=VALUE"),
        (["zoo", "export", "resnet50", "--seq-len", "5", "-o", str(tmp_path / "a.onnx")], "no parameter seq_len"),
        (["zoo", "export", "tiny", "-o", str(tmp_path / "no" / "a.onnx")], "does not exist"),
        (["zoo", "export", "tiny", "--batch", "0", "-o", str(tmp_path / "a.onnx")], "--batch"),
    ]
    for args, message in cases:
        res = runner.invoke(_app(), args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output and "Traceback" not in res.output
