"""Every bad input to every command: exactly one ``error:`` line on stderr, exit 2, never a traceback,
and nothing already stored in the results database is lost.

The bulk runs in-process through typer's CliRunner on the real app; a representative subset runs the real
entry point in a subprocess (``python -m fitbench.cli.app``), as a user would.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from fitbench.cli.app import _register, app

SRC = str(Path(__file__).resolve().parents[2] / "src")
UNREACHABLE_PG = "postgresql://nobody@127.0.0.1:1/x"

_register()
runner = CliRunner()


def _model(nodes, inputs, outputs, inits=(), extra_opsets=None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    opsets = [helper.make_opsetid("", 17), *(helper.make_opsetid(d, v) for d, v in (extra_opsets or {}).items())]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def _conv(shape) -> onnx.ModelProto:
    """Conv 3->4, 3x3, 'same' padding, then Relu; runnable (weights embedded)."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32) / 27, "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("bad")
    f: dict[str, Path] = {}
    good = _conv([1, 3, 8, 8]).SerializeToString()
    (f_good := d / "good.onnx").write_bytes(good)
    f["good"] = f_good
    f["sym"] = d / "sym.onnx"
    f["sym"].write_bytes(_conv(["N", 3, "H", "W"]).SerializeToString())
    f["truncated"] = d / "truncated.onnx"
    f["truncated"].write_bytes(good[: len(good) // 2])
    f["garbage"] = d / "garbage.onnx"
    f["garbage"].write_bytes(b"this is not an onnx model\n")
    f["empty_onnx"] = d / "empty.onnx"
    f["empty_onnx"].write_bytes(b"")
    f["huge_onnx"] = d / "huge.onnx"
    with open(f["huge_onnx"], "wb") as fh:
        fh.truncate(5 * 2**30)  # sparse: no disk used; over protobuf's 2 GiB, refused before it is read
    frob = helper.make_node("Frobnicate", ["x"], ["y"], name="frob", domain="my.ops")
    f["unknown_op"] = d / "unknown_op.onnx"
    f["unknown_op"].write_bytes(_model([frob], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                                       extra_opsets={"my.ops": 1}).SerializeToString())
    ext = _conv([1, 3, 8, 8])
    w = ext.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../etc/passwd"), ("offset", "0"), ("length", str(4 * 3 * 3 * 3 * 4))):
        w.external_data.add(key=k, value=v)
    (d / "models").mkdir()
    f["escape"] = d / "models" / "escape.onnx"
    f["escape"].write_bytes(ext.SerializeToString())
    nul = _conv([1, 3, 8, 8])
    w2 = nul.graph.initializer[0]
    w2.ClearField("raw_data")
    w2.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "w\x00.bin"), ("offset", "0"), ("length", "432")):
        w2.external_data.add(key=k, value=v)
    f["nul_location"] = d / "models" / "nul.onnx"
    f["nul_location"].write_bytes(nul.SerializeToString())
    fn = _conv([1, 3, 8, 8])
    hidden = numpy_helper.from_array(np.ones(4, np.float32), "c")
    hidden.ClearField("raw_data")
    hidden.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../etc/passwd"), ("offset", "0"), ("length", "16")):
        hidden.external_data.add(key=k, value=v)
    fn.functions.append(helper.make_function("local", "F", [], ["c"], [helper.make_node("Constant", [], ["c"],
                                                                                     value=hidden)],
                                             [helper.make_opsetid("", 17)]))
    f["escape_in_function"] = d / "models" / "escape_fn.onnx"
    f["escape_in_function"].write_bytes(fn.SerializeToString())
    f["sweep_outside"] = d / "models" / "outside.yaml"
    f["sweep_outside"].write_text("kinds: profile\nmodels: [../good.onnx]\n")
    f["sweep_etc"] = d / "models" / "etc.yaml"
    f["sweep_etc"].write_text("kinds: profile\nmodels: [{path: /etc/passwd}]\n")

    spec = {"name": "t", "source": "test", "clock": "1 GHz", "macs_per_cycle": "{int8: 1024}", "sram": "1 MiB",
            "dram_bandwidth": "10 GB/s"}

    def yaml_spec(**change) -> str:
        s = {**spec, **change}
        return "\n".join(f"{k}: {v}" for k, v in s.items() if v is not None) + "\n"

    texts = {
        "spec_missing": yaml_spec(clock=None),
        "spec_unit": yaml_spec(clock="1 GB"),
        "spec_winograd": yaml_spec(winograd="sometimes"),
        # estimator v2 fields
        "spec_kind": yaml_spec(kind="tpu"),
        "spec_split": yaml_spec(split="tiles"),
        "spec_cores": yaml_spec(cores=0),
        "spec_link": yaml_spec(host_link="pcie9x1"),
        "spec_engine": yaml_spec(engines="[{name: dsp, runs: [depthwise]}]"),
        "spec_runs": yaml_spec(runs="[lstm]"),
        "spec_bare_clock": yaml_spec(clock=800),
        "spec_price": yaml_spec(price="free"),
        # issue 13: non-finite and absurd numbers, refused naming the field
        "spec_inf_macs": yaml_spec(macs_per_cycle="{int8: .inf}"),
        "spec_nan_vector": yaml_spec(vector_ops_per_cycle=".nan"),
        "spec_tiny_clock": yaml_spec(clock="1e-300 Hz"),
        "spec_inf_bandwidth": yaml_spec(dram_bandwidth=".inf"),
        "spec_notyaml": "name: [t\nclock: {\n",
        "spec_empty": "",
        "spec_list": "- name: t\n- clock: 1 GHz\n",
        "spec_scalar": "just a string\n",
        "sweep_notyaml": "kinds: [profile\n",
        "sweep_empty": "",
        "sweep_list": "- profile\n- estimate\n",
        "sweep_missing": "kinds: profile\nbatch: [1]\n",
        "sweep_kind": f"kinds: teleport\nmodels: [{f_good}]\n",
        "sweep_batch": f"kinds: profile\nmodels: [{f_good}]\nbatch: [0]\n",
        "sweep_bomb": "kinds: profile\nmodels: [resnet18]\noptions:\n  profile:\n" + _laughs(),
        "sweep_recursive": "kinds: profile\nmodels: [resnet18]\noptions:\n  profile: &a {x: *a}\n",
        "sweep_huge": "kinds: profile\nmodels:\n  - zoo: resnet18\n    grid: {a: %s, b: %s, c: %s}\n"
                      % ((list(range(1000)),) * 3),
        "sweep_long_name": f"name: {'n' * 300}\nkinds: profile\nmodels: [{f_good}]\n",
        # "a,b" is two chips (as --hw a,b), so the unknown one is named alone, not as "nvidia-t4,warp-drive"
        "sweep_hw_commas": f"kinds: estimate\nmodels: [{f_good}]\nhardware: 'nvidia-t4, warp-drive'\n",
        "sweep_precision_commas": f"kinds: profile\nmodels: [{f_good}]\nprecision: 'int8,fp7'\n",
        "spec_bomb": "name: x\nlaughs:\n" + _laughs(),
    }
    for name, text in texts.items():
        f[name] = d / f"{name}.yaml"
        f[name].write_text(text)
    f["sweep_control_name"] = d / "sweep_control_name.yaml"
    f["sweep_control_name"].write_text(f'name: "a\\e[2Jb"\nkinds: profile\nmodels: [{f_good}]\n')
    f["malformed_db"] = d / "malformed.db"
    _malformed_db(f["malformed_db"])
    f["binary_yaml"] = d / "binary.yaml"
    f["binary_yaml"].write_bytes(bytes(range(256)))
    f["json_list"] = d / "list.json"
    f["json_list"].write_text("[1, 2]")
    f["spec_good"] = d / "spec_good.yaml"
    f["spec_good"].write_text(yaml_spec())
    f["sweep_good"] = d / "sweep_good.yaml"
    f["sweep_good"].write_text(f"name: kept\nkinds: profile\nmodels: [{f_good}]\nbatch: [1, 2]\n")
    f["readonly_dir"] = f_good  # a file where a folder should be: cannot be written into, even by root
    f["missing_dir_out"] = d / "no" / "such" / "folder" / "out.json"
    f["dir"] = d
    f["db"] = d / "results.db"
    f["foreign_db"] = d / "other-app.sqlite"
    with sqlite3.connect(f["foreign_db"]) as con:
        con.execute("create table notes (id integer primary key, text text)")
    f["foreign_table_db"] = d / "foreign-table.sqlite"
    with sqlite3.connect(f["foreign_table_db"]) as con:
        con.execute("create table fitbench_results (id integer primary key, whatever text)")
    return {k: str(v) for k, v in f.items()}


def _malformed_db(path: Path) -> None:
    """A fitbench database whose pages after the header and the schema page are ruined (malformed on read)."""
    from fitbench.store import ResultRecord, open_store

    with open_store(path) as store:
        for i in range(200):
            store.put(ResultRecord(kind="estimate", model=f"m{i}", batch=1, conditions={"pad": "x" * 500}))
    data = bytearray(path.read_bytes())
    data[2 * 4096:] = b"\xff" * (len(data) - 2 * 4096)
    path.write_bytes(bytes(data))


def _laughs() -> str:
    """Nine levels of nine aliases: 9^9 values once expanded, from a few hundred bytes."""
    lines = ["    a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"    a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def _fill(args: list[str], files: dict[str, str]) -> list[str]:
    return [a.format(**files) for a in args]


# (id, argv with {file} placeholders, a fragment the one error line must contain)
CASES = [
    # the command line itself
    ("unknown-command", ["frobnicate"], "frobnicate"),
    ("unknown-option", ["profile", "{good}", "--frob"], "--frob"),
    ("missing-argument", ["profile"], "model"),
    # profile: model files
    ("profile-truncated", ["profile", "{truncated}"], "truncated"),
    ("profile-garbage", ["profile", "{garbage}"], ""),
    ("profile-empty", ["profile", "{empty_onnx}"], "empty"),
    ("profile-over-2gib", ["profile", "{huge_onnx}"], "2 GiB"),
    ("run-over-2gib", ["run", "{huge_onnx}"], "2 GiB"),
    ("profile-missing", ["profile", "{dir}/nope.onnx"], ""),
    ("profile-strict-unknown-op", ["profile", "{unknown_op}", "--strict"], "Frobnicate"),
    ("profile-unbound", ["profile", "{sym}"], "H"),
    ("profile-escape", ["profile", "{escape}"], "escape"),
    ("profile-nul-external-location", ["profile", "{nul_location}"], "NUL"),
    ("run-nul-external-location", ["run", "{nul_location}"], "NUL"),
    ("profile-escape-in-function", ["profile", "{escape_in_function}"], "escapes"),
    ("profile-unknown-zoo", ["profile", "resnet5000"], "resnet5000"),
    ("profile-bad-input", ["profile", "{sym}", "--input", "x=1x3xAx8"], ""),
    ("profile-zero-batch", ["profile", "{sym}", "--input", "x=Nx3x8x8", "--batch", "0"], ""),
    ("profile-neg-batch", ["profile", "{sym}", "--input", "x=Nx3x8x8", "--batch", "-1"], ""),
    ("profile-alpha-batch", ["profile", "{good}", "--batch", "a"], ""),
    # issue 12: a batch of 0 on a zoo model, and options that contradict each other, are refused
    ("profile-zoo-zero-batch", ["profile", "resnet18", "--batch", "0"], "--batch"),
    ("profile-input-batch-conflict", ["profile", "{sym}", "--input", "x=2x3x8x8", "--batch", "4"], "--batch 4"),
    ("profile-zoo-input-batch-conflict", ["profile", "resnet18", "--input", "2x3x224x224", "--batch", "4"],
     "--batch 4"),
    ("profile-resolution-input-conflict", ["profile", "yolov3", "--resolution", "1920x1080", "--input",
                                           "1x3x416x416"], "--resolution 1920x1080"),
    ("profile-seq-len-input-conflict", ["profile", "bert-base", "--seq-len", "128", "--input", "1x384"],
     "--seq-len 128"),
    ("profile-precision", ["profile", "{good}", "--precision", "int3"], "int3"),
    ("profile-readonly-out", ["profile", "{good}", "-f", "json", "-o", "{readonly_dir}/p.json"], ""),
    ("profile-missing-dir-out", ["profile", "{good}", "-f", "json", "-o", "{missing_dir_out}"], ""),
    ("profile-bad-dim", ["profile", "{sym}", "--dim", "H=big"], "--dim"),
    ("profile-zero-dim", ["profile", "{sym}", "--dim", "H=0"], "--dim"),
    ("estimate-nameless-dim", ["estimate", "{sym}", "--hw", "{spec_good}", "--dim", "=8"], "--dim"),
    ("compare-bad-param", ["compare", "resnet18", "--hw", "{spec_good}", "--param", "classes"], "--param"),
    ("profile-unknown-input", ["profile", "{good}", "--input", "images=1x3x8x8"], "images"),
    ("profile-top-negative", ["profile", "{good}", "--top", "-3"], "--top"),
    ("profile-format", ["profile", "{good}", "-f", "xml"], "xml"),
    # zoo
    ("zoo-export-unknown", ["zoo", "export", "resnet5000", "-o", "{dir}/z.onnx"], "resnet5000"),
    ("zoo-export-zero-batch", ["zoo", "export", "resnet18", "--batch", "0", "-o", "{dir}/z.onnx"], "batch"),
    ("zoo-export-alpha-batch", ["zoo", "export", "resnet18", "--batch", "a", "-o", "{dir}/z.onnx"], ""),
    ("zoo-export-readonly", ["zoo", "export", "resnet18", "--no-weights", "-o", "{readonly_dir}/z.onnx"], ""),
    ("zoo-export-resolution", ["zoo", "export", "resnet18", "--resolution", "axb", "-o", "{dir}/z.onnx"], ""),
    ("zoo-export-param", ["zoo", "export", "resnet18", "--param", "frobs=3", "-o", "{dir}/z.onnx"], "frobs"),
    # hw
    ("hw-show-unknown", ["hw", "show", "tpu-v99"], "tpu-v99"),
    ("hw-show-missing-field", ["hw", "show", "{spec_missing}"], "clock"),
    ("hw-show-wrong-unit", ["hw", "show", "{spec_unit}"], "clock"),
    ("hw-show-winograd", ["hw", "show", "{spec_winograd}"], "winograd"),
    ("hw-show-kind", ["hw", "show", "{spec_kind}"], "field 'kind'"),
    ("hw-show-split", ["hw", "show", "{spec_split}"], "field 'split'"),
    ("hw-show-cores", ["hw", "show", "{spec_cores}"], "field 'cores'"),
    ("hw-show-link", ["hw", "show", "{spec_link}"], "field 'host_link'"),
    ("hw-show-engine", ["hw", "show", "{spec_engine}"], "runs depthwise but gives no macs_per_cycle"),
    ("hw-show-runs", ["hw", "show", "{spec_runs}"], "unknown op class 'lstm'"),
    ("hw-show-bare-clock", ["hw", "show", "{spec_bare_clock}"], "write the unit"),
    ("hw-show-price", ["hw", "show", "{spec_price}"], "field 'price'"),
    # issue 13: non-finite and absurd spec numbers name the field
    ("hw-show-inf-macs", ["hw", "show", "{spec_inf_macs}"], "macs_per_cycle.int8"),
    ("hw-show-nan-vector", ["hw", "show", "{spec_nan_vector}"], "vector_ops_per_cycle"),
    ("hw-show-tiny-clock", ["hw", "show", "{spec_tiny_clock}"], "field 'clock'"),
    ("hw-show-inf-bandwidth", ["hw", "show", "{spec_inf_bandwidth}"], "field 'dram_bandwidth'"),
    ("estimate-inf-macs", ["estimate", "{good}", "--hw", "{spec_inf_macs}"], "macs_per_cycle.int8"),
    ("hw-show-not-yaml", ["hw", "show", "{spec_notyaml}"], ""),
    ("hw-show-empty", ["hw", "show", "{spec_empty}"], ""),
    ("hw-show-list", ["hw", "show", "{spec_list}"], ""),
    ("hw-show-scalar", ["hw", "show", "{spec_scalar}"], ""),
    ("hw-show-folder", ["hw", "show", "{dir}"], ""),
    ("hw-show-binary", ["hw", "show", "{binary_yaml}"], ""),
    ("hw-list-format", ["hw", "list", "-f", "xml"], "xml"),
    # estimate
    ("estimate-unknown-hw", ["estimate", "{good}", "--hw", "tpu-v99"], "tpu-v99"),
    ("estimate-bad-spec", ["estimate", "{good}", "--hw", "{spec_unit}"], "clock"),
    ("estimate-empty-spec", ["estimate", "{good}", "--hw", "{spec_empty}"], ""),
    ("estimate-batch-zero", ["estimate", "{good}", "--hw", "{spec_good}", "--batch", "0"], "batch"),
    ("estimate-batch-alpha", ["estimate", "{good}", "--hw", "{spec_good}", "--batch", "a"], "batch"),
    ("estimate-batch-neg", ["estimate", "{good}", "--hw", "{spec_good}", "--batch", "-1"], "batch"),
    ("estimate-truncated", ["estimate", "{truncated}", "--hw", "{spec_good}"], ""),
    ("estimate-unbound", ["estimate", "{sym}", "--hw", "{spec_good}"], ""),
    ("estimate-winograd", ["estimate", "{good}", "--hw", "{spec_good}", "--winograd", "sometimes"], "winograd"),
    ("estimate-readonly-out", ["estimate", "{good}", "--hw", "{spec_good}", "-o", "{readonly_dir}/e.txt"], ""),
    ("estimate-missing-dir-out", ["estimate", "{good}", "--hw", "{spec_good}", "-o", "{missing_dir_out}"], ""),
    # run
    ("run-huge", ["run", "{sym}", "--input", "x=1x3x100000x100000"], ""),
    ("run-truncated", ["run", "{truncated}"], ""),
    ("run-garbage", ["run", "{garbage}"], ""),
    ("run-unbound", ["run", "{sym}"], ""),
    ("run-escape", ["run", "{escape}"], ""),
    ("run-unknown-runtime", ["run", "{good}", "--runtime", "tensorflow"], "tensorflow"),
    ("run-unknown-zoo", ["run", "resnet5000"], "resnet5000"),
    ("run-batch-zero", ["run", "{good}", "--batch", "0"], "batch"),
    ("run-batch-alpha", ["run", "{good}", "--batch", "a"], "batch"),
    ("run-batch-neg", ["run", "{good}", "--batch", "-1"], "batch"),
    ("run-scenario", ["run", "{good}", "--scenario", "marathon"], "marathon"),
    ("run-latency", ["run", "{good}", "--scenario", "server", "--target-latency", "soon"], "latency"),
    ("run-threads-zero", ["run", "{good}", "--threads", "0"], "threads"),
    ("run-timeout-neg", ["run", "{good}", "--timeout", "-1"], "timeout"),
    ("run-min-count-zero", ["run", "{good}", "--min-count", "0"], "count"),
    ("run-input-no-equals", ["run", "{sym}", "--input", "x:1x3x8x8"], "NAME=DIMS"),  # bare DIMS binds the one input
    ("run-input-file-missing", ["run", "{good}", "--input-file", "x={dir}/nope.npy"], "nope.npy"),
    ("run-input-file-not-npy", ["run", "{good}", "--input-file", "x={good}"], ""),
    ("run-readonly-out", ["run", "{good}", "--quick", "-f", "json", "-o", "{readonly_dir}/r.json"], ""),
    ("run-missing-dir-out", ["run", "{good}", "--quick", "-o", "{missing_dir_out}"], ""),
    ("runtimes-format", ["runtimes", "-f", "xml"], "xml"),
    # sweep
    ("sweep-missing-file", ["sweep", "{dir}/nope.yaml", "--db", "{db}"], "nope.yaml"),
    ("sweep-not-yaml", ["sweep", "{sweep_notyaml}", "--db", "{db}"], ""),
    ("sweep-empty", ["sweep", "{sweep_empty}", "--db", "{db}"], ""),
    ("sweep-list", ["sweep", "{sweep_list}", "--db", "{db}"], ""),
    ("sweep-missing-models", ["sweep", "{sweep_missing}", "--db", "{db}"], "models"),
    ("sweep-unknown-kind", ["sweep", "{sweep_kind}", "--db", "{db}"], "teleport"),
    ("sweep-batch-zero", ["sweep", "{sweep_batch}", "--db", "{db}"], "batch"),
    ("sweep-folder", ["sweep", "{dir}", "--db", "{db}"], ""),
    ("sweep-binary", ["sweep", "{binary_yaml}", "--db", "{db}"], ""),
    ("sweep-model-outside-folder", ["sweep", "{sweep_outside}", "--db", "{db}", "--dry-run"], "--allow-outside"),
    ("sweep-model-etc-passwd", ["sweep", "{sweep_etc}", "--db", "{db}"], "outside"),
    ("sweep-long-name", ["sweep", "{sweep_long_name}", "--db", "{db}"], "255"),
    ("sweep-control-name", ["sweep", "{sweep_control_name}", "--db", "{db}"], "control characters"),
    ("sweep-hw-comma-list-unknown", ["sweep", "{sweep_hw_commas}", "--db", "{db}", "--dry-run"], "'warp-drive'"),
    ("sweep-precision-comma-list", ["sweep", "{sweep_precision_commas}", "--db", "{db}", "--dry-run"], "fp7"),
    ("sweep-alias-bomb", ["sweep", "{sweep_bomb}", "--db", "{db}", "--dry-run"], "nested aliases"),
    ("sweep-recursive-alias", ["sweep", "{sweep_recursive}", "--db", "{db}"], "recursive"),
    ("sweep-huge-grid", ["sweep", "{sweep_huge}", "--db", "{db}", "--dry-run"], "--yes"),
    ("hw-show-alias-bomb", ["hw", "show", "{spec_bomb}"], "nested aliases"),
    ("sweep-executor", ["sweep", "{sweep_good}", "--db", "{db}", "--executor", "slurm"], "slurm"),
    ("sweep-unreachable-db", ["sweep", "{sweep_good}", "--db", UNREACHABLE_PG, "-q"], ""),
    ("sweep-again-no-resume", ["sweep", "{sweep_good}", "--db", "{db}", "-q"], "resume"),
    ("sweep-ray-unreachable", ["sweep", "{sweep_good}", "--db", "{db}", "--executor", "ray", "--address",
                               "127.0.0.1:1", "-q"], "Ray"),
    # results
    ("results-show-missing", ["results", "show", "999999", "--db", "{db}"], "999999"),
    ("results-show-alpha", ["results", "show", "abc", "--db", "{db}"], ""),
    ("results-list-unreachable", ["results", "list", "--db", UNREACHABLE_PG], ""),
    ("results-show-unreachable", ["results", "show", "1", "--db", UNREACHABLE_PG], ""),
    ("results-export-unreachable", ["results", "export", "--db", UNREACHABLE_PG], ""),
    ("results-list-bad-filter", ["results", "list", "--db", "{db}", "--where", "nonsense"], "nonsense"),
    ("results-list-unknown-key", ["results", "list", "--db", "{db}", "--where", "colour=red"], "colour"),
    ("results-list-bad-batch", ["results", "list", "--db", "{db}", "--where", "batch=a"], "batch"),
    ("results-list-limit-negative", ["results", "list", "--db", "{db}", "--limit", "-5"], "--limit"),
    ("results-export-format", ["results", "export", "--db", "{db}", "-f", "xml"], "xml"),
    ("results-export-readonly", ["results", "export", "--db", "{db}", "-o", "{readonly_dir}/x.csv"], ""),
    ("results-export-missing-dir", ["results", "export", "--db", "{db}", "-o", "{missing_dir_out}"], ""),
    ("results-export-onto-db", ["results", "export", "--db", "{db}", "-o", "{db}"], "input"),
    ("results-export-onto-db-wal", ["results", "export", "--db", "{db}", "-f", "json", "-o", "{db}-wal"], "input"),
    ("report-onto-db", ["report", "--db", "{db}", "--sweep", "kept", "-o", "{db}"], ""),
    ("report-onto-json", ["report", "--json", "{spec_good}", "-o", "{spec_good}"], "input"),
    ("profile-onto-model", ["profile", "{good}", "-f", "json", "-o", "{good}"], "input"),
    ("estimate-onto-spec", ["estimate", "{good}", "--hw", "{spec_good}", "-o", "{spec_good}"], "input"),
    ("run-onto-model", ["run", "{good}", "--quick", "-f", "json", "-o", "{good}"], "input"),
    ("compare-onto-db", ["compare", "{good}", "--hw", "{spec_good}", "--db", "{db}", "-o", "{db}"], ""),
    ("results-list-foreign-sqlite", ["results", "list", "--db", "{foreign_db}"], "not a fitbench"),
    ("results-list-foreign-table", ["results", "list", "--db", "{foreign_table_db}"], "not a fitbench"),
    ("report-foreign-sqlite", ["report", "--db", "{foreign_db}", "--list"], "not a fitbench"),
    ("results-list-malformed-db", ["results", "list", "--db", "{malformed_db}"], "malformed"),
    ("results-db-is-a-folder", ["results", "list", "--db", "{dir}"], ""),
    ("results-db-not-sqlite", ["results", "list", "--db", "{spec_good}"], ""),
    ("results-db-scheme", ["results", "list", "--db", "mysql://a@b/c"], ""),
    # a mistyped --db for a read-only command: refused, never created
    ("results-list-missing-db", ["results", "list", "--db", "{dir}/resluts.db"], "no results database at"),
    ("results-show-missing-db", ["results", "show", "1", "--db", "{dir}/resluts.db"], "no results database at"),
    ("results-export-missing-db", ["results", "export", "--db", "{dir}/resluts.db"], "no results database at"),
    ("report-list-missing-db", ["report", "--db", "{dir}/resluts.db", "--list"], "no results database at"),
    ("report-sweep-missing-db", ["report", "--db", "{dir}/resluts.db", "--sweep", "kept", "-o", "{dir}/r.html"],
     "no results database at"),
    # compare
    ("compare-unknown-hw", ["compare", "{good}", "--hw", "tpu-v99"], "tpu-v99"),
    ("compare-bad-spec", ["compare", "{good}", "--hw", "{spec_winograd}"], "winograd"),
    ("compare-truncated", ["compare", "{truncated}", "--hw", "{spec_good}"], ""),
    ("compare-unbound", ["compare", "{sym}", "--hw", "{spec_good}"], ""),
    ("compare-batch-zero", ["compare", "{good}", "--hw", "{spec_good}", "--batch", "0"], "batch"),
    ("compare-batch-alpha", ["compare", "{good}", "--hw", "{spec_good}", "--batch", "a"], "batch"),
    ("compare-unknown-runtime", ["compare", "{good}", "--measure", "tensorflow"], "tensorflow"),
    ("compare-unknown-runtime-with-hw", ["compare", "{good}", "--hw", "{spec_good}", "--measure", "tensorflow"],
     "unknown runtime 'tensorflow'"),
    ("compare-baseline", ["compare", "{good}", "--hw", "{spec_good}", "--baseline", "resnet5000"], "resnet5000"),
    ("compare-unreachable-db", ["compare", "{good}", "--hw", "{spec_good}", "--db", UNREACHABLE_PG], ""),
    ("compare-readonly-out", ["compare", "{good}", "--hw", "{spec_good}", "-o", "{readonly_dir}/c.json"], ""),
    ("compare-input-sizes", ["compare", "{good}", "--hw", "{spec_good}", "--input-sizes", "big"], "big"),
    ("compare-winograd", ["compare", "{good}", "--hw", "{spec_good}", "--winograd", "sometimes"], "sometimes"),
    ("compare-out-suffix", ["compare", "{good}", "--hw", "{spec_good}", "-o", "{dir}/c.pdf"], "pdf"),
    # report
    ("report-missing-json", ["report", "--json", "{dir}/nope.json"], "nope.json"),
    ("report-not-json", ["report", "--json", "{spec_good}"], ""),
    ("report-unknown-sweep", ["report", "--db", "{db}", "--sweep", "nosuch", "-o", "{dir}/r.html"], "nosuch"),
    ("report-unreachable-db", ["report", "--db", UNREACHABLE_PG, "--list"], ""),
    ("report-readonly-out", ["report", "--db", "{db}", "--sweep", "kept", "-o", "{readonly_dir}/r.html"], ""),
    ("report-out-suffix", ["report", "--db", "{db}", "--sweep", "kept", "-o", "{dir}/r.pdf"], "pdf"),
    ("report-json-folder", ["report", "--json", "{dir}"], ""),
    ("report-json-binary", ["report", "--json", "{good}"], ""),
    ("report-json-list", ["report", "--json", "{json_list}"], ""),
    # demo
    ("demo-readonly-out", ["demo", "--no-measure", "-o", "{readonly_dir}/demo"], ""),
    ("demo-unreachable-db", ["demo", "--no-measure", "-o", "{dir}/demo", "--db", UNREACHABLE_PG], ""),
]


def _count(db: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("select count(*) from fitbench_results").fetchone()[0]


@pytest.fixture(scope="module")
def stored(files) -> int:
    """A database holding a finished sweep; every failing command must leave it as it was."""
    res = runner.invoke(app, ["sweep", files["sweep_good"], "--db", files["db"], "-q"])
    assert res.exit_code == 0, res.output
    n = _count(files["db"])
    assert n == 2  # one model x batch 1, 2
    return n


def _check_one_line(code: int, stderr: str, stdout: str, fragment: str) -> None:
    assert "Traceback" not in stderr + stdout
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert fragment.lower() in lines[0].lower()
    assert code == 2, (code, stderr)


@pytest.mark.parametrize("argv,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(files, stored, argv, fragment):
    res = runner.invoke(app, _fill(argv, files))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception  # a traceback: show it
    _check_one_line(res.exit_code, res.stderr, res.stdout, fragment)
    assert _count(files["db"]) == stored


SUBPROCESS_CASES = ["profile-truncated", "profile-strict-unknown-op", "run-huge", "hw-show-list",
                    "estimate-batch-alpha", "sweep-not-yaml", "results-show-missing", "results-list-unreachable",
                    "results-list-missing-db", "sweep-ray-unreachable"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_real_entry_point(files, stored, case):
    argv = next(c[1] for c in CASES if c[0] == case)
    fragment = next(c[2] for c in CASES if c[0] == case)
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "fitbench.cli.app", *_fill(argv, files)], capture_output=True,
                          text=True, env=env, timeout=120)
    _check_one_line(proc.returncode, proc.stderr, proc.stdout, fragment)
    assert _count(files["db"]) == stored


@pytest.mark.parametrize("case", [c[0] for c in CASES if c[0].endswith("-missing-db")])
def test_a_mistyped_database_is_not_created(files, case):
    argv = next(c[1] for c in CASES if c[0] == case)
    runner.invoke(app, _fill(argv, files))
    assert not Path(files["dir"], "resluts.db").exists()


def test_uncosted_ops_are_noted_not_an_error(files):
    """An op with no cost rule is listed in the estimate (throughput unknown, shown as a dash), not refused."""
    res = runner.invoke(app, ["estimate", files["unknown_op"], "--hw", files["spec_good"]])
    assert res.exit_code == 0, res.output
    assert "1 uncosted layer(s) are not in the estimate: frob (Frobnicate)" in " ".join(res.stdout.split())


@pytest.mark.parametrize("argv", [
    ["run", "{good}", "--quick", "-o", "{good}/r.json"],
    ["estimate", "{good}", "--hw", "{spec_good}", "-o", "{dir}/no/such/e.txt"],
    ["compare", "{good}", "--hw", "{spec_good}", "--measure", "onnxruntime", "-o", "{good}/sub/c.json"],
])
def test_unwritable_output_is_refused_before_the_work(files, argv, monkeypatch):
    """A measurement or a comparison can take minutes: an -o that cannot be written is refused first."""
    import fitbench.compare
    import fitbench.measure

    def must_not_run(*args, **kwargs):
        raise AssertionError("the work ran before the output path was checked")

    monkeypatch.setattr(fitbench.measure, "measure", must_not_run)
    monkeypatch.setattr(fitbench.compare, "compare", must_not_run)
    res = runner.invoke(app, _fill(argv, files))
    _check_one_line(res.exit_code, res.stderr, res.stdout, "cannot write")


def test_compare_creates_the_output_folder(files, tmp_path):
    out = tmp_path / "new" / "folder" / "c.json"
    res = runner.invoke(app, ["compare", files["good"], "--hw", files["spec_good"], "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and res.stderr.strip() == f"wrote {out}"


def test_version_and_help():
    from fitbench import __version__

    res = runner.invoke(app, ["--version"])
    assert (res.exit_code, res.stdout.strip()) == (0, __version__)
    for argv in (["--help"], ["zoo", "--help"]):
        res = runner.invoke(app, argv)
        assert res.exit_code == 0 and "Usage" in res.stdout
