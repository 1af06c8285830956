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


# ------------------------------------------------------------------ strict options

def _tiny_onnx(tmp_path) -> str:
    p = tmp_path / "tiny.onnx"
    onnx.save(testmodels.tiny_convnet(), p)
    return str(p)


def test_estimate_takes_every_hw_in_both_forms(tmp_path):
    """``--hw a --hw b`` and ``--hw a,b`` give the same two estimates (before: only the last, or refused)."""
    model = _tiny_onnx(tmp_path)
    hws = ["edge-npu-slow-dram", "nvidia-t4"]
    outs = []
    for form in (["--hw", hws[0], "--hw", hws[1]], ["--hw", ",".join(hws)]):
        res = runner.invoke(app, ["estimate", model, *form, "--dim", "N=1", "-f", "json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert [d["hardware"]["name"] for d in data] == hws
        outs.append(data)
    assert outs[0] == outs[1]


def test_one_shared_hw_list_parser():
    from fitbench.cli.common import parse_hw

    assert parse_hw(["a,b", " c "]) == parse_hw(["a", "b", "c"]) == ["a", "b", "c"]


@pytest.mark.parametrize("model", ["resnet18", "tiny"])
def test_api_refuses_batch_zero(model):
    """``fitbench.profile(zoo name, batch=0)`` profiled batch 1 (``batch or 1``)."""
    import fitbench
    from fitbench.errors import FitbenchError

    with pytest.raises(FitbenchError, match="batch"):
        fitbench.profile(model, batch=0)


def test_device_cuda_without_a_gpu_is_one_line_exit_2(conv_path):
    from fitbench.measure.runtimes import runtime_status

    if any("cuda" in r["devices"] for r in runtime_status() if r["runtime"] == "onnxruntime"):
        pytest.skip("onnxruntime has a GPU here")
    res = runner.invoke(app, ["run", str(conv_path), "--device", "cuda", "--quick"])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cuda" in lines[0].lower(), res.stderr


def test_the_demo_output_folder_is_ignored_by_git():
    import subprocess

    from fitbench.cli.demo import demo_cmd

    default = next(p.default for p in __import__("inspect").signature(demo_cmd).parameters.values()
                   if p.name == "output").default
    probe = ROOT / str(default) / "report.html"
    res = subprocess.run(["git", "check-ignore", "-q", "--no-index", str(probe)], cwd=ROOT)
    assert res.returncode == 0, f"{default}/ is not in .gitignore"
