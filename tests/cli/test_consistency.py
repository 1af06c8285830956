"""Issue 12: one consistent, strict tool. Each test here failed before its fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnx
import pytest
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.measure import testmodels

ROOT = Path(__file__).resolve().parents[2]
_register()
runner = CliRunner()


@pytest.fixture(scope="module")
def conv_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("models") / "tiny_convnet.onnx"
    onnx.save(testmodels.tiny_convnet(), p)
    return p


def test_ci_runs_the_readme_test_command_exactly():
    """The README's test command, as written there, is what .ci/run runs (no extra pytest arguments)."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"&& (python -m pytest)\s", readme).group(1)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    runs = [ln.strip() for ln in ci if "pytest" in ln and not ln.strip().startswith("#")
            and "echo" not in ln]
    assert runs == [command], runs


def test_the_cli_records_its_own_invocation_not_pytests(conv_path, tmp_path):
    out = tmp_path / "run.json"
    argv = ["run", str(conv_path), "--min-count", "5", "--min-duration", "0.05", "--warmup-count", "1",
            "--warmup", "0.01", "--threads", "1", "-f", "json", "-o", str(out)]
    res = runner.invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())[0]["conditions"]["command"] == "fitbench " + " ".join(argv)


def test_an_api_call_records_no_command(conv_path):
    from fitbench.measure import measure

    r = measure(str(conv_path), min_count=5, min_duration_s=0.05, warmup_count=1, warmup_s=0.01, threads=1)
    assert r.conditions["command"] is None
