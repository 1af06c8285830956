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


# ------------------------------------------------------------------ errors that help

def _save(tmp_path, name, nodes, x_shape, inits, y_shape=None) -> str:
    from onnx import TensorProto, helper

    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)])
    m.ir_version = 8
    onnx.save(m, tmp_path / name)
    return str(tmp_path / name)


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


def test_a_model_contradicting_its_own_shapes_is_an_error(tmp_path):
    """A Conv whose weight expects 5 input channels on a 3-channel input profiled with exit 0 and MACs 0."""
    import numpy as np
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 5, 3, 3), np.float32), "w")
    path = _save(tmp_path, "bad.onnx", [helper.make_node("Conv", ["x", "w"], ["y"], name="conv",
                                                         kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [1, 3, 8, 8], [w])
    line = _one_error_line(runner.invoke(app, ["profile", path]))
    assert "invalid model" in line and "conv" in line and "3 channels" in line and "5" in line


def test_totals_of_an_all_uncosted_model_print_no_bare_zero(tmp_path):
    from onnx import helper

    path = _save(tmp_path, "frob.onnx", [helper.make_node("Frobnicate", ["x"], ["y"], name="frob",
                                                          domain="my.ops")], [1, 4], [], [1, 4])
    res = runner.invoke(app, ["profile", path])
    assert res.exit_code == 0, res.output
    macs_row = next(ln for ln in res.stdout.splitlines() if "MACs" in ln and "Winograd" not in ln)
    assert " 0 " not in macs_row and "(0)" not in macs_row and "uncosted" in macs_row, macs_row


def test_a_route_mismatch_is_one_short_line_with_the_multiple_of_32_hint(tmp_path):
    """A YOLO-style route (Concat of an upsampled stride-2 branch with the input) at a height that is not a
    multiple of the stride: one line naming the node and the mismatch, not ONNX's wall of errors."""
    import numpy as np
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 4, 3, 3), np.float32), "w")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    nodes = [helper.make_node("Conv", ["x", "w"], ["d"], name="down", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              strides=[2, 2]),
             helper.make_node("Resize", ["d", "", "scales"], ["u"], name="up", mode="nearest"),
             helper.make_node("Concat", ["u", "x"], ["y"], name="route_98", axis=1)]
    path = _save(tmp_path, "route.onnx", nodes, ["N", 4, "height", "width"], [w, scales])
    line = _one_error_line(runner.invoke(app, ["profile", path, "--input", "x=1x4x135x240"]))
    assert "route_98" in line and "135" in line and "136" in line and "height" in line, line
    assert "multiple of 32" in line and "160" in line, line
    assert len(line) < 300, line
    # the unbound-dims hint names --dim for the height and width, --batch only for the leading dim
    line = _one_error_line(runner.invoke(app, ["profile", path]))
    assert "--dim height=" in line and "--dim width=" in line and "--batch" in line, line


def test_a_wall_of_inference_errors_becomes_one_line():
    from fitbench.graph.onnx_io import summarise_inference_error

    entry = ("(op_type:Concat, node name: route_{i}): [ShapeInferenceError] Can't merge shape info. Both inferred "
             "and declared dimension have values but they differ. Inferred=135 Declared=136 Dimension=2\n")
    wall = "[ShapeInferenceError] Inference error(s): " + "".join(entry.format(i=i) for i in range(98, 128))
    assert len(wall) > 3000
    line = summarise_inference_error(wall, {"images": (1, 3, 1080, 1920)})
    assert "\n" not in line and len(line) < 300
    assert line == ("shape inference failed at node 'route_98' (Concat): its inputs disagree on dim 2 (height): "
                    "135 vs 136; the input height (1080) must be a multiple of 32 (the network's stride), e.g. 1088 "
                    "(and 29 more node(s) fail from there)")


def test_a_factory_in_the_current_folder_imports_as_python_m_would(tmp_path, monkeypatch):
    """``fitbench profile mypkg.models:build_model`` run from the folder holding mypkg (issue 12)."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    pkg = tmp_path / "mypkg_issue12"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text("import torch\n\n\ndef build_model():\n    return torch.nn.Linear(4, 2)\n")
    # the installed `fitbench` script, not `python -m` (which puts the current folder on sys.path itself)
    (tmp_path / "bin").mkdir()
    entry = tmp_path / "bin" / "fitbench_entry.py"
    entry.write_text("from fitbench.cli.app import main\n\nmain()\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, str(entry), "profile", "mypkg_issue12.models:build_model",
                           "--input", "x=1x4", "-f", "json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["macs"] == 4 * 2  # one 4 -> 2 matrix product


# ------------------------------------------------------------------ one formatter, one unit family

@pytest.mark.parametrize("hw", ["edge-npu-slow-dram", "all-on-chip"])  # ~5 MB of DRAM per frame; none
def test_one_quantity_prints_one_way_in_cli_json_and_report(tmp_path, hw):
    """DRAM traffic per inference (decimal: traffic and bandwidth are decimal, memory sizes binary) and the
    throughput read the same in the estimate table, the compare table and the Markdown and HTML reports as the
    JSON fields (``dram_bytes_per_inference``, ``throughput_ips``) say."""
    args = ["resnet18", "--hw", hw, "--batch", "1", "--precision", "int8"]
    res = runner.invoke(app, ["compare", *args, "-f", "json"])
    assert res.exit_code == 0, res.output
    (off,) = json.loads(res.stdout)["offerings"]
    b = next(f for f in off["workload"] if f["batch"] == 1)["dram_bytes_per_inference"]
    assert 1e6 <= b < 1e9 or b == 0
    # decimal megabytes: whole from 10 MB up, one decimal below (a partly resident chip streams ~5 MB)
    expected = "0 B" if b == 0 else f"{b / 1e6:.0f} MB" if b >= 10e6 else f"{b / 1e6:.1f} MB"
    t = next(f for f in off["workload"] if f["batch"] == 1)["throughput_ips"]
    ips = f"{t:,.0f}" if t >= 1000 else f"{t:.4g}"  # 4 significant digits, whole with separators from 1,000
    outputs = {}
    res = runner.invoke(app, ["estimate", *args, "--top", "0"])
    outputs["estimate table"] = res.stdout
    res = runner.invoke(app, ["compare", *args, "-o", str(tmp_path / "r.md"), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    outputs["compare table"] = res.stdout
    outputs["markdown"] = (tmp_path / "r.md").read_text()
    outputs["html"] = (tmp_path / "r.html").read_text()
    for where, text in outputs.items():
        assert expected in text, (where, expected)
        assert f" {ips} " in text or f">{ips}<" in text, (where, ips)


def test_the_convention_is_stated_once_in_the_formatter_and_the_readme():
    from fitbench import format as fmt

    assert "memory sizes are binary" in " ".join(fmt.__doc__.split())
    readme = " ".join((ROOT / "README.md").read_text().split())
    conventions = readme.split("## Conventions", 1)[1].split("\n## ", 1)[0]
    assert "binary" in conventions and "decimal" in conventions and "MiB" in conventions and "GB/s" in conventions


def test_markdown_report_has_no_html_entities(tmp_path):
    res = runner.invoke(app, ["compare", "resnet18", "--hw", "edge-npu-slow-dram", "-o", str(tmp_path / "r.md")])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "r.md").read_text()
    assert not re.search(r"&(#x?[0-9a-fA-F]+|quot|amp|lt|gt|apos);", text), re.findall(r"&\S+?;", text)[:5]


def test_thousands_separators_are_one_rule():
    from fitbench import format as fmt

    assert (fmt.number(38752.4), fmt.number(8447.2), fmt.number(559.43)) == ("38,752", "8,447", "559.4")


# ------------------------------------------------------------------ --help

COMMANDS = [["profile"], ["estimate"], ["run"], ["compare"], ["sweep"], ["report"], ["demo"], ["zoo", "export"],
            ["hw", "show"], ["results", "export"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_help_is_readable_at_80_columns(cmd):
    res = runner.invoke(app, [*cmd, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"}, terminal_width=80)
    assert res.exit_code == 0, res.output
    text = res.stdout
    for bad in ("<bool>", "<list[", "<str>", "<int>", "<path>", "<float>"):
        assert bad not in text, (bad, cmd)
    assert max(len(line) for line in text.splitlines()) <= 80
    # the help column keeps at least 30 characters to read in (typer's type labels and --no-FLAG columns left
    # 21 in profile)
    rows = [ln.rstrip(" │") for ln in text.splitlines() if ln.startswith("│") and " --" in ln]
    starts = [len(ln) - len(ln.split("  ")[-1]) for ln in rows if "  " in ln.strip()]
    assert max(starts) <= 50, max(starts)


@pytest.mark.parametrize("argv, option", [
    (["profile", "tiny", "--batch", "1", "--batch", "4"], "--batch"),
    (["estimate", "tiny", "--hw", "nvidia-t4", "-b", "1", "--batch=4"], "--batch"),
    (["profile", "tiny", "-p", "int8", "--precision", "fp16"], "--precision"),
    (["compare", "tiny", "--batch", "1", "--batch", "2"], "--batch"),
])
def test_a_single_valued_option_given_twice_is_refused(argv, option):
    """The class of ``--hw a --hw b`` silently using the last: every option that takes one value."""
    res = runner.invoke(app, argv)
    line = _one_error_line(res)
    assert option in line and "once" in line, line


@pytest.mark.parametrize("cmd", [["estimate", "--hw", "edge-npu-slow-dram"], ["compare", "--hw", "edge-npu-slow-dram"]])
def test_estimate_and_compare_refuse_an_input_batch_that_contradicts_batch(cmd, tmp_path):
    model = _tiny_onnx(tmp_path)
    line = _one_error_line(runner.invoke(app, [cmd[0], model, *cmd[1:], "--input", "x=2x3x32x32", "--batch", "4"]))
    assert "--batch 4" in line and "x=2x3x32x32" in line, line


def test_estimate_takes_the_batch_of_its_input_when_batch_is_not_given(tmp_path):
    model = _tiny_onnx(tmp_path)
    res = runner.invoke(app, ["estimate", model, "--hw", "edge-npu-slow-dram", "--input", "x=2x3x32x32", "-f", "json"])
    assert res.exit_code == 0, res.output
    assert [p["batch"] for p in json.loads(res.stdout)["points"]] == [2]
