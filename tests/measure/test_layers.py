"""Per-layer measured times (``measure(..., layer_times=True)``, ``fitbench run --layers``) and their join with the
estimate (``compare.layers``): mapping rules on hand-written names and traces, a real ONNX Runtime profile of a
hand-built model with known node names, the CLI output, and the sum-vs-end-to-end check on a zoo model."""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

import fitbench
from fitbench.cli.app import _register, app
from fitbench.compare.layers import compare_times, join
from fitbench.measure import layers as ml

_register()
runner = CliRunner()
FAST = ["--min-count", "20", "--min-duration", "0.2", "--warmup-count", "2", "--warmup", "0.05", "--threads", "1"]
# tiny_convnet's node names (fitbench.measure.testmodels): the layers a mapped node may land on
TINY_LAYERS = {"conv1", "relu1", "conv2", "relu2", "gap", "flatten", "fc"}
CPU_SPEC = {"name": "test-cpu", "kind": "cpu", "provenance": "custom", "source": "hand-written for a test",
            "clock": "1 GHz", "macs_per_cycle": {"fp32": 16}, "compute_efficiency": 1.0, "vector_ops_per_cycle": 4,
            "sram": "1 MiB", "dram_bandwidth": "10 GB/s", "dram_efficiency": 1.0, "layer_overhead": "1 us",
            "inference_overhead": "5 us", "host_link": "on-soc"}


# ------------------------------------------------------------------ mapping rules (hand-written names)

@pytest.mark.parametrize("name, op, expected", [
    ("conv1", "Conv", ("conv1", "name")),
    ("relu_nchwc", "Conv", ("relu", "prefix")),                   # ORT's NCHWc rewrite of a fused Conv+BN+Relu
    ("layer1.0.bn2_nchwc", "Conv", ("layer1.0.bn2", "prefix")),
    ("conv_1_nchwc", "Conv", ("conv_1", "prefix")),               # the longest prefix wins over "conv"
    ("conv_1_token_7", "Conv", ("conv_1", "prefix")),             # a generated unique name
    ("ReorderOutput", "ReorderOutput", (None, "runtime-inserted")),
    ("ReorderInput_3", "ReorderInput", (None, "runtime-inserted")),
    ("MysteryNode", "Foo", (None, "unmapped")),
    ("Transpose_token_0", "Transpose", (None, "runtime-inserted")),   # ORT's NHWC transposes around QLinearConv
    ("Transpose", "Transpose", (None, "runtime-inserted")),
    ("Transpose_x", "Transpose", (None, "unmapped")),
    ("r1_nchwc", "Conv", ("relu1", "tensor-prefix")),             # named after the fused Relu's output tensor r1
    ("r1", "Conv", ("relu1", "tensor")),
])
def test_map_node_rules(name, op, expected):
    names = {"conv1", "relu", "layer1.0.bn2", "conv", "conv_1", "relu1"}
    assert ml.map_node(name, op, names, {"c1": "conv1", "r1": "relu1"}) == expected


def _trace():
    """Two warm-up runs then two kept runs; node a: 100 and 300 us in the kept runs, node b: 50 and 50 us."""
    ev = [{"cat": "Session", "name": "session_initialization", "ts": 0, "dur": 10}]
    t = 100
    for a_us, b_us in ((1000, 1000), (900, 900), (100, 50), (300, 50)):
        ev.append({"cat": "Session", "name": "model_run", "ts": t, "dur": a_us + b_us + 20})
        ev.append({"cat": "Node", "name": "a_nchwc_kernel_time", "ts": t + 5, "dur": a_us,
                   "args": {"op_name": "Conv", "provider": "CPUExecutionProvider"}})
        ev.append({"cat": "Node", "name": "ReorderOutput_kernel_time", "ts": t + 6 + a_us, "dur": b_us,
                   "args": {"op_name": "ReorderOutput", "provider": "CPUExecutionProvider"}})
        t += 10_000
    return ev


def test_parse_ort_trace_drops_warmup_runs_and_averages_per_run():
    raw, run_ms = ml.parse_ort_trace(_trace(), skip_runs=2)
    by = {r["name"]: r for r in raw}
    assert by["a_nchwc"]["ms"] == pytest.approx((100 + 300) / 2 / 1000)
    assert by["a_nchwc"]["calls"] == 2 and by["a_nchwc"]["op_type"] == "Conv"
    assert by["ReorderOutput"]["ms"] == pytest.approx(0.05)
    assert run_ms == pytest.approx([(100 + 50 + 20) / 1000, (300 + 50 + 20) / 1000])
    lt = ml.LayerTimes(runtime="onnxruntime", source="test", runs=2, nodes=ml.map_nodes(raw, ["a"]),
                       end_to_end_ms=0.25)
    assert [(x.layer, x.ms) for x in lt.layers()] == [("a", pytest.approx(0.2))]
    assert lt.inserted_ms == pytest.approx(0.05) and lt.unmapped_ms == 0
    assert lt.total_ms == pytest.approx(0.25) and lt.coverage == pytest.approx(1.0)
    assert ml.LayerTimes.from_dict(lt.to_dict()).total_ms == pytest.approx(0.25)


def test_a_model_too_slow_for_the_pass_budget_is_skipped_with_a_reason():
    job = {"runtime": "onnxruntime", "layers_budget_s": 10.0}
    # 40 % of 10 s holds 4 runs of 1 s: 2 warm-up + 2 profiled < MIN_RUNS (3)
    out = ml.collect(job, runner=None, arrays={}, per_call_s=1.0)
    assert out == {"error": "skipped: 5 runs at 1 s each do not fit in the pass's 10 s budget"}


def test_runs_for_bounds():
    assert ml.runs_for(None) == ml.MIN_RUNS
    assert ml.runs_for(10.0) == ml.MIN_RUNS            # a 10 s model: the minimum
    assert ml.runs_for(0.1) == 20                       # 2 s / 0.1 s
    assert ml.runs_for(1e-6) == ml.MAX_RUNS


# ------------------------------------------------------------------ a real ORT profile of a hand-built model

def _job(path):
    return {"runtime": "onnxruntime", "model_path": str(path), "device": "cpu", "threads": 1, "include_h2d": True}


def _x(n=1):
    return {"x": np.random.default_rng(0).standard_normal((n, 3, 32, 32)).astype(np.float32)}


def test_ort_profile_maps_every_node_of_a_hand_built_model(conv_path):
    data = ml.collect_ort(_job(conv_path), _x(), runs=5)
    lt = ml.from_child({**data, "runs": 5}, end_to_end_ms=None)
    assert lt.nodes, "the profiler recorded no node"
    assert lt.unmapped_ms == 0, [n for n in lt.nodes if n.mapped_by == "unmapped"]
    for n in lt.nodes:
        assert n.layer in TINY_LAYERS or n.mapped_by == "runtime-inserted", n
        assert n.calls == 5 and n.ms > 0
    got = {x.layer for x in lt.layers()}
    # the Gemm runs as its own kernel; each conv (possibly fused with its Relu and renamed) lands on one of its pair
    assert "fc" in got
    assert got & {"conv1", "relu1"} and got & {"conv2", "relu2"}
    assert lt.total_ms == pytest.approx(sum(x.ms for x in lt.layers()) + lt.inserted_ms)


def test_unnamed_nodes_get_the_profiles_names(tmp_path):
    """A model without node names: events map to the names fitbench.profile gives (``<op_type>_<index>``)."""
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    fw = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "fw")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("MatMul", ["f", "fw"], ["y"])]
    graph = helper.make_graph(nodes, "unnamed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w, fw])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "unnamed.onnx"
    onnx.save(model, path)
    data = ml.collect_ort(_job(path), _x(), runs=3)
    lt = ml.from_child({**data, "runs": 3}, end_to_end_ms=None)
    profile_names = {x.name for x in fitbench.profile(str(path)).layers}
    assert profile_names == {"Conv_0", "Relu_1", "GlobalAveragePool_2", "Flatten_3", "MatMul_4"}
    assert lt.unmapped_ms == 0
    assert {x.layer for x in lt.layers()} <= profile_names
    assert "MatMul_4" in {x.layer for x in lt.layers()}


# ------------------------------------------------------------------ the join with the estimate

def _times(nodes, e2e=None):
    return ml.LayerTimes(runtime="onnxruntime", source="test", runs=1, end_to_end_ms=e2e,
                         nodes=ml.map_nodes(nodes, TINY_LAYERS))


def test_join_counts_every_measured_node_and_merges_kernel_less_layers(conv_path):
    prof = fitbench.profile(str(conv_path), batch=1)
    est = fitbench.estimate(prof, CPU_SPEC, batch=1)
    point = est.point(1)
    nodes = [  # ms chosen here: the join must add these, not re-measure anything
        {"name": "relu1_nchwc", "op_type": "Conv", "ms": 0.5, "calls": 1},
        {"name": "conv2_nchwc", "op_type": "Conv", "ms": 0.25, "calls": 1},
        {"name": "relu2", "op_type": "Relu", "ms": 0.125, "calls": 1},
        {"name": "flatten", "op_type": "Flatten", "ms": 0.0625, "calls": 1},
        {"name": "fc", "op_type": "Gemm", "ms": 1.0, "calls": 1},
        {"name": "ReorderOutput", "op_type": "ReorderOutput", "ms": 0.03125, "calls": 1},
        {"name": "odd", "op_type": "Weird", "ms": 0.015625, "calls": 1},
    ]
    cmp = join(_times(nodes, e2e=2.0), prof, point, model="tiny", spec="test-cpu")
    rows = {r.name: r for r in cmp.rows}
    group_of = {m: le.name for le in point.layers for m in (le.name, *le.fused)}
    # relu1's node lands on relu1's estimated layer (the one conv1 heads, relu1 fused into it)
    assert rows[group_of["relu1"]].measured_ms == pytest.approx(0.5)
    g2 = group_of["conv2"]
    assert group_of["relu2"] == g2 and rows[g2].measured_ms == pytest.approx(0.25 + 0.125)
    assert rows["fc"].measured_ms == pytest.approx(1.0)
    assert rows["fc"].ratio == pytest.approx(1.0 / rows["fc"].estimated_ms)
    # gap ran no kernel of its own in this trace: counted with the layer that feeds it (conv2's), whether the
    # estimator fused it there itself or the join merged it
    assert "gap" in rows[g2].members and "gap" not in rows
    assert rows["flatten"].kind == "not-estimated" and rows["flatten"].measured_ms == pytest.approx(0.0625)
    assert rows["(runtime-inserted nodes)"].measured_ms == pytest.approx(0.03125)
    assert rows["(unmapped nodes)"].measured_ms == pytest.approx(0.015625)
    # nothing measured and nothing estimated is dropped
    assert cmp.measured_total_ms == pytest.approx(0.5 + 0.25 + 0.125 + 0.0625 + 1.0 + 0.03125 + 0.015625)
    assert cmp.estimated_total_ms == pytest.approx(sum(le.time_s for le in point.layers) * 1e3)
    assert cmp.misses(1)[0].name in rows


def test_compare_times_estimates_at_the_measured_batch(conv_path):
    prof = fitbench.profile(str(conv_path), batch=2)
    lt = _times([{"name": "fc", "op_type": "Gemm", "ms": 1.0, "calls": 1}])
    cmp = compare_times(lt, prof, CPU_SPEC, batch=2, precision="fp32", model="tiny")
    assert cmp.batch == 2 and cmp.spec == "test-cpu"
    est = fitbench.estimate(prof, CPU_SPEC, batch=2).point(2)
    assert cmp.estimated_latency_ms == pytest.approx(est.latency_s * 1e3)


# ------------------------------------------------------------------ measure() and the CLI

def test_measure_layers_attaches_times_and_json(conv_path):
    r = fitbench.measure(str(conv_path), threads=1, min_count=20, min_duration_s=0.2, warmup_count=2,
                         warmup_s=0.05, layer_times=True)
    assert r.ok and r.layers is not None and r.layers.runtime == "onnxruntime"
    assert r.layers.end_to_end_ms == r.latency.p50_ms
    d = r.to_dict()
    assert d["layers"]["total_ms"] == pytest.approx(sum(n["ms"] for n in d["layers"]["nodes"]))
    plain = fitbench.measure(str(conv_path), threads=1, min_count=20, min_duration_s=0.2, warmup_count=2,
                             warmup_s=0.05)
    assert plain.layers is None and plain.to_dict()["layers"] is None


def test_cli_run_layers_table_and_json(conv_path, tmp_path):
    spec = tmp_path / "cpu.yaml"
    spec.write_text(yaml.safe_dump(CPU_SPEC))
    res = runner.invoke(app, ["run", str(conv_path), "--layers", "--hw", str(spec), *FAST])
    assert res.exit_code == 0, res.output
    assert "Per layer: measured (onnxruntime) vs estimated on test-cpu, batch 1" in res.output
    assert "fc" in res.output and "Gemm" in res.output and "largest misses:" in res.output
    assert "estimated on spec test-cpu (--hw" in res.output
    out = tmp_path / "run.json"
    res = runner.invoke(app, ["run", str(conv_path), "--layers", "--hw", str(spec), "--format", "json", "-o",
                              str(out), *FAST])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())[0]
    lve = doc["layers"]["vs_estimate"]
    assert lve["spec"] == "test-cpu" and lve["batch"] == 1
    assert lve["measured_total_ms"] == pytest.approx(doc["layers"]["total_ms"])
    assert lve["end_to_end_ms"] == pytest.approx(doc["latency"]["p50_ms"])
    fc = next(r for r in lve["rows"] if r["name"] == "fc")
    assert fc["ratio"] == pytest.approx(fc["measured_ms"] / fc["estimated_ms"])


@pytest.mark.parametrize("args, message", [
    (["--hw", "test-cpu.yaml"], "error: --hw goes with --layers"),
    (["--layers", "--hw", "no-such-chip"], "error: "),
])
def test_cli_run_layers_bad_input(conv_path, args, message):
    res = runner.invoke(app, ["run", str(conv_path), *args, *FAST])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in (res.stderr or res.output).splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(message), res.output


@pytest.mark.parametrize("name, module", [
    ("/0/0.0/Conv", "0.0"),
    ("/layers/layers.0/body/body.0/body.0.0/Conv", "layers.0.body.0.0"),
    ("/layers/layers.0/down/down.0/Conv", "layers.0.down.0"),
    ("/layers/layers.0/relu/Relu", "layers.0.relu"),
    ("/4/Gemm", "4"),
    ("/Add", None),            # a functional op of the top-level forward(): no module
    ("Identity_0", None),      # no scope at all
])
def test_module_of_reads_the_torchscript_exporters_scopes(name, module):
    assert ml.module_of(name) == module


def test_remap_torch_modules_to_export_layers():
    lt = ml.LayerTimes(runtime="torch", source="test", runs=1, nodes=[
        ml.NodeTime("0.0", "Conv2d", 0.5, 1, "0.0", "name"),
        ml.NodeTime("0.1", "BatchNorm2d", 0.25, 1, "0.1", "name"),    # folded into the conv by the export
        ml.NodeTime("0.2", "ReLU", 0.125, 1, "0.2", "name"),
        ml.NodeTime("(outside leaf modules)", "", 0.0625, 1, None, "unmapped")])
    out = ml.remap_torch(lt, ["/0/0.0/Conv", "/0/0.2/Relu", "/Add"])
    assert [(n.layer, n.mapped_by) for n in out.nodes] == [
        ("/0/0.0/Conv", "module"), ("/0/0.0/Conv", "folded"), ("/0/0.2/Relu", "module"), (None, "unmapped")]
    assert {x.layer: x.ms for x in out.layers()} == {"/0/0.0/Conv": pytest.approx(0.75), "/0/0.2/Relu": 0.125}
    assert out.total_ms == pytest.approx(0.5 + 0.25 + 0.125 + 0.0625)


def test_cli_run_layers_torch_maps_modules_to_the_export(tmp_path):
    pytest.importorskip("torch")
    spec = tmp_path / "cpu.yaml"
    spec.write_text(yaml.safe_dump(CPU_SPEC))
    res = runner.invoke(app, ["run", "tiny-convnet", "--runtime", "torch", "--layers", "--hw", str(spec), *FAST])
    assert res.exit_code == 0, res.output
    assert "Per layer: measured (torch) vs estimated on test-cpu, batch 1" in res.output
    # tiny_convnet (torch_models): Sequential(conv_bn, conv_bn, pool, flatten, Linear): the export's names
    assert "/0/0.0/Conv" in res.output and "/4/Gemm" in res.output
    assert "folded into the one before): 0.1, 1.1" in res.output    # the two BatchNorms


# ------------------------------------------------------------------ done means: the layers add up

def test_layer_times_sum_to_the_end_to_end_latency_on_a_zoo_model():
    """ResNet-18 at 64x64, 1 thread: the per-layer times (profiled pass) sum to within 10 % of the timed run's
    median latency. The machine is shared (load moves between the timed run and the profiled pass): up to four
    tries, each a fresh measurement; on a quiet machine the first is within 10 %."""
    ratios = []
    for _ in range(4):
        r = fitbench.measure("resnet18", inputs={"input": "1x3x64x64"}, threads=1, min_count=64, min_duration_s=1.0,
                             warmup_count=5, warmup_s=0.2, layer_times=True)
        assert r.ok, r.cause
        ratios.append(r.layers.total_ms / r.latency.p50_ms)
        if abs(ratios[-1] - 1) <= 0.10:
            break
    assert abs(ratios[-1] - 1) <= 0.10, ratios
    assert not math.isnan(ratios[-1]) and r.layers.unmapped_ms == 0


# ------------------------------------------------------------------ compare --measure and the report

def test_compare_measure_shows_layers_for_the_cpu_spec_only(conv_path, tmp_path):
    spec = tmp_path / "cpu.yaml"
    spec.write_text(yaml.safe_dump(CPU_SPEC))
    comp = fitbench.compare(str(conv_path), hw=[str(spec), "edge-npu-slow-dram"], measure_runtimes=["onnxruntime"],
                            batch=1, precision="fp32")
    assert [d["spec"] for d in comp.layer_comparisons] == ["test-cpu"]     # the NPU spec gets no per-layer join
    lc = comp.layer_comparisons[0]
    assert lc["offering"] == "onnxruntime (this machine)" and lc["batch"] == 1
    measured = next(m for m in comp.measurements if m["role"] == "workload")
    assert lc["measured_total_ms"] == pytest.approx(measured["result"]["layers"]["total_ms"])
    from fitbench.report.html import render_html
    from fitbench.report.static import markdown

    html = render_html(comp)
    assert "onnxruntime (this machine): per layer, measured vs estimated on test-cpu" in html
    md = markdown(comp)  # Markdown-escaped: "\\(this machine\\)"
    assert "## Per layer: onnxruntime \\(this machine\\) measured vs estimated on test-cpu" in md
    assert "| fc | Gemm |" in md
    only_npu = fitbench.compare(str(conv_path), hw=["edge-npu-slow-dram"], measure_runtimes=["onnxruntime"], batch=1,
                                precision="fp32")
    assert only_npu.layer_comparisons == []
    assert "layers" not in (next(m for m in only_npu.measurements)["result"] or {}) or \
        next(m for m in only_npu.measurements)["result"]["layers"] is None


def test_cli_compare_measure_prints_the_layer_table(conv_path, tmp_path):
    spec = tmp_path / "cpu.yaml"
    spec.write_text(yaml.safe_dump(CPU_SPEC))
    res = runner.invoke(app, ["compare", str(conv_path), "--hw", str(spec), "--measure", "onnxruntime",
                              "--precision", "fp32", "--batch", "1"])
    assert res.exit_code == 0, res.output
    assert "onnxruntime (this machine): per layer, measured vs estimated on test-cpu" in res.output
    assert "sum over layers: measured" in res.output


def test_join_gathers_the_conversions_nodes_per_op_type(conv_path):
    """int8: the converted model's Q/DQ nodes are no layer of the profile: one row per op type, time kept."""
    prof = fitbench.profile(str(conv_path), batch=1)
    point = fitbench.estimate(prof, CPU_SPEC, batch=1).point(1)
    names = TINY_LAYERS | {"x_QuantizeLinear", "conv1_DequantizeLinear", "conv2_DequantizeLinear"}
    lt = ml.LayerTimes(runtime="onnxruntime", source="test", runs=1, nodes=ml.map_nodes([
        {"name": "x_QuantizeLinear", "op_type": "QuantizeLinear", "ms": 0.5, "calls": 1},
        {"name": "conv1_DequantizeLinear", "op_type": "DequantizeLinear", "ms": 0.25, "calls": 1},
        {"name": "conv2_DequantizeLinear", "op_type": "DequantizeLinear", "ms": 0.125, "calls": 1},
        {"name": "fc", "op_type": "Gemm", "ms": 1.0, "calls": 1}], names))
    rows = {r.name: r for r in join(lt, prof, point, model="tiny", spec="test-cpu").rows}
    dq = rows["(DequantizeLinear: added by the conversion)"]
    assert dq.kind == "conversion-added" and dq.measured_ms == pytest.approx(0.375) and dq.estimated_ms is None
    assert sorted(dq.members) == ["conv1_DequantizeLinear", "conv2_DequantizeLinear"]
    assert rows["(QuantizeLinear: added by the conversion)"].measured_ms == pytest.approx(0.5)
