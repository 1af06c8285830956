"""``fitbench kit create --app``: the application file's load and latency budget become the kit's server scenario."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fitbench.cli.app import _register, app

_register()
runner = CliRunner()

APP = """name: two-camera box
model: tiny
streams: 2
fps: 10
latency: 50 ms
percentile: 90
precision: fp32
host:
  - {name: resize, stage: pre, time: 5 ms}
  - {name: nms, stage: post, time: 3 ms}
"""


def test_kit_from_an_application_file(tmp_path):
    (tmp_path / "box.yaml").write_text(APP)
    res = runner.invoke(app, ["kit", "create", "--app", str(tmp_path / "box.yaml"), "-o", str(tmp_path / "kit"),
                              "--no-archive", "--samples", "2"])
    assert res.exit_code == 0, res.output
    kit = json.loads((tmp_path / "kit" / "kit.json").read_text())
    server = next(s for s in kit["scenarios"] if s["scenario"] == "server")
    assert server["target_qps"] == 2 * 10                       # streams x fps
    assert server["target_latency_ms"] == 50 - 5 - 3            # the budget less the host stages
    assert server["latency_percentile"] == 90
    assert {s["scenario"] for s in kit["scenarios"]} == {"single-stream", "server"}


def test_kit_app_whose_host_stages_take_the_budget_is_one_line(tmp_path):
    (tmp_path / "box.yaml").write_text(APP.replace("latency: 50 ms", "latency: 8 ms"))
    res = runner.invoke(app, ["kit", "create", "--app", str(tmp_path / "box.yaml"), "-o", str(tmp_path / "kit")])
    assert res.exit_code == 2 and "the whole latency budget" in res.output and res.output.count("\n") == 1
    assert not (tmp_path / "kit").exists()


def test_kit_without_model_or_app_is_one_line(tmp_path):
    res = runner.invoke(app, ["kit", "create", "-o", str(tmp_path / "kit")])
    assert res.exit_code == 2 and "give a MODEL" in res.output
