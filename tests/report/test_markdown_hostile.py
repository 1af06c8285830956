"""Stored names that carry Markdown or terminal escapes: shown as text, never live.

The Markdown is rendered with markdown-it (CommonMark + tables, as GitHub would render a table) and the
HTML it gives is checked for links and images; terminal output is checked for raw control characters.
"""

from __future__ import annotations

import re

import markdown_it
import onnx
import yaml
from onnx import TensorProto, helper
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.sweep import run_sweep

EVIL_MD = "[click](javascript:alert(1)) ![pixel](http://evil.example/x.png) <http://evil.example> *x*|y"
EVIL_TERM = "name\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil.example\x1b\\link\x9b31m [link=javascript:x]y[/link]"

_register()


def _sweep(tmp_path, label: str, name: str) -> str:
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "m.onnx")
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "kinds": "profile", "models": [{"path": "m.onnx", "label": label}]}))
    db = str(tmp_path / "r.db")
    assert run_sweep(path, db).ok == 1
    return db


def test_markdown_report_has_no_live_link_or_remote_image(tmp_path):
    db = _sweep(tmp_path, EVIL_MD, "md")
    out = tmp_path / "r.md"
    res = CliRunner().invoke(app, ["report", "--db", db, "--sweep", "md", "-o", str(out)])
    assert res.exit_code == 0, res.output
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(out.read_text())
    assert "<a " not in html and "<img" not in html
    assert "[click](javascript:alert(1))" in html  # shown as text
    assert "<table>" in html and html.count("<td>") == 10  # one row: the name's '|' did not split the table


def test_terminal_output_escapes_control_sequences_and_markup(tmp_path):
    from fitbench.store import ResultRecord, open_store

    db = _sweep(tmp_path, EVIL_TERM, "term")
    with open_store(db) as store:  # a sweep name with escapes, written by another tool
        store.put(ResultRecord(kind="profile", model=EVIL_TERM, sweep_id="s\x1b[2J", point_key="k"))
    runner = CliRunner()
    for argv in (["results", "list", "--db", db], ["results", "list", "--sweeps", "--db", db],
                 ["report", "--db", db, "--list"]):
        res = runner.invoke(app, argv)
        assert res.exit_code == 0, res.output
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", res.stdout), (argv, res.stdout)
        assert "\\x1b" in res.stdout  # shown, escaped
    listed = runner.invoke(app, ["results", "list", "--db", db]).stdout
    assert "[link=javascript:x]" in listed  # rich markup in a name stays text


def test_per_layer_text_escapes_stored_names():
    """``run --layers`` / ``compare --measure`` text: a layer name from a model file with escape sequences
    (clear screen, window title, OSC 8 hyperlink) and rich markup prints as visible text, in the table and in
    the largest-misses line."""
    import io as _io

    from rich.console import Console

    from fitbench.compare.layers import LayerComparison, LayerRow
    from fitbench.report.layers import render_comparison

    evil = "conv\x1b[2J\x1b]0;owned\x07\x1b]8;;http://x\x07[bold red]link[/]"
    rows = [LayerRow(evil, "Conv", "layer", 4.0, 1.0), LayerRow("ok", "Relu", "layer", 1.0, 1.0)]
    cmp = LayerComparison("m", 1, "onnxruntime", "cpu\x1b[31m", "", rows, 5.0, 2.0, notes=["note\x1b[2J"])
    buf = _io.StringIO()
    render_comparison(cmp, Console(file=buf, width=400, force_terminal=False, color_system=None))
    out = buf.getvalue()
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out and "[bold red]link[/]" in out  # visible, markup kept as text
    assert "largest misses: conv" in out
