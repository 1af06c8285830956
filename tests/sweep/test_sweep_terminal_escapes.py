"""Issue 13: sweep output passes escape sequences from stored names to the terminal. The failure lines and
the progress line show a model label with its control characters written as ``\\xNN`` and
rich markup in it as text (the results list and report list are tested in tests/report/test_markdown_hostile.py).
"""

from __future__ import annotations

import re

import onnx
import yaml
from onnx import TensorProto, helper
from typer.testing import CliRunner

from fitbench.cli.app import _register, app

EVIL = "name\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil.example\x1b\\link\x9b31m [link=javascript:x]y[/link]"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_register()


def _sweep(tmp_path, name: str) -> str:
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "m.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"this is not an onnx model\n")  # its point fails
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": name, "kinds": "profile",
                                    "models": [{"path": "m.onnx", "label": EVIL + " ok"},
                                               {"path": "bad.onnx", "label": EVIL + " bad"}]}))
    return str(path)


def test_sweep_failure_lines_escape_control_sequences(tmp_path):
    res = CliRunner().invoke(app, ["sweep", _sweep(tmp_path, "esc"), "--db", str(tmp_path / "r.db"), "-q"])
    assert res.exit_code == 1, res.output  # one point failed
    assert "failed: profile name\\x1b]0;pwned\\x07" in res.stderr  # the failure line names it, escaped
    assert not CONTROL.search(res.stdout + res.stderr), res.stderr


def test_sweep_progress_escapes_the_label(tmp_path):
    """(A sweep name with a control character is refused: tests/cli's sweep table; rich markup is allowed.)"""
    res = CliRunner().invoke(app, ["sweep", _sweep(tmp_path, "[bold]esc"), "--db", str(tmp_path / "r.db")])
    assert res.exit_code == 1, res.output
    assert not CONTROL.search(res.stdout + res.stderr), res.stderr
    assert "[bold]esc" in res.stderr.splitlines()[0]  # the progress line shows the name as written
