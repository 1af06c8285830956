"""Results that break a rule are rejected with the reason, and nothing is stored: the tamper cases of issue
16 (an edited summary value, an INVALID run, a wrong model hash, a shorter min duration, a changed scenario,
outputs outside tolerance, a missing file) and results from another kit."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from kit_short import short_settings
from typer.testing import CliRunner

from fitbench.cli.app import _register, app
from fitbench.kit import OnnxRuntimeSUT, create_kit, load_sut, run_kit, verify_kit
from fitbench.kit import run as kit_run_module
from fitbench.kit.manifest import digest, sha256_file
from fitbench.measure import scenarios as sc
from fitbench.store import open_store

_register()
runner = CliRunner()


def failed(ver) -> dict[str, str]:
    return {c.name: c.detail for c in ver.checks if not c.ok}


def rewrite_manifest(results: Path, change=None) -> None:
    """What a forger would do after editing files: re-hash them and re-digest results.json."""
    path = results / "results.json"
    doc = json.loads(path.read_text())
    if change:
        change(doc)
    doc["files"] = {rel: sha256_file(results / rel) for rel in doc["files"] if (results / rel).is_file()}
    doc["digest"] = digest(doc)
    path.write_text(json.dumps(doc))


def edit_p90(results: Path) -> tuple[str, str]:
    path = results / "single-stream" / "mlperf_log_summary.txt"
    text = path.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("90.0th percentile latency (ns)"))
    value = line.split(":")[1].strip()
    better = str(int(value) // 2)
    path.write_text(text.replace(line, line.replace(value, better)))
    return value, better


def test_the_clean_run_verifies(kit_run, tmp_path):
    ver = verify_kit(*kit_run, store=tmp_path / "r.db")
    assert ver.verified and failed(ver) == {} and len(ver.stored_ids) == 2


def test_edited_summary_value_breaks_its_hash(kit_run, results_copy):
    edit_p90(results_copy)
    ver = verify_kit(kit_run[0], results_copy)
    assert not ver.verified
    assert "single-stream/mlperf_log_summary.txt does not match its sha256" in failed(ver)["files"]


def test_edited_summary_value_with_rehashed_manifest_disagrees_with_the_detail_log(kit_run, results_copy):
    old, new = edit_p90(results_copy)
    rewrite_manifest(results_copy)
    bad = failed(verify_kit(kit_run[0], results_copy))
    assert list(bad) == ["single-stream summary"]
    assert f"90.0th percentile latency (ns): summary {new}, detail log {old}" in bad["single-stream summary"]


def test_invalid_run_is_rejected(tmp_path):
    # a kit whose minimum query count cannot be reached before its maximum duration: LoadGen says INVALID
    kit = create_kit("tiny", tmp_path / "kit", samples=1,
                     scenarios=short_settings("single-stream", min_queries=10**5, max_duration_s=0.2))
    run_kit(kit.path, OnnxRuntimeSUT(threads=1), tmp_path / "res")
    bad = failed(verify_kit(kit.path, tmp_path / "res"))
    assert list(bad) == ["single-stream LoadGen result"]
    assert bad["single-stream LoadGen result"].startswith("summary INVALID, detail log INVALID")
    assert "Min queries satisfied: NO" in bad["single-stream LoadGen result"]


def test_wrong_model_hash_is_rejected(kit_run, results_copy):
    other = "0" * 64
    rewrite_manifest(results_copy, lambda d: d.update(model_sha256=other))
    bad = failed(verify_kit(kit_run[0], results_copy))
    kit_sha = json.loads((kit_run[0] / "kit.json").read_text())["model"]["sha256"]
    assert bad == {"model": f"the SUT ran model sha256 {other}, the kit's is {kit_sha}"}


def test_shorter_min_duration_is_rejected(kit_run, tmp_path, monkeypatch):
    real = kit_run_module.loadgen_settings

    def shorter(cfg, expected, seed=0):
        s = real(cfg, expected, seed)
        s.min_duration_s = 0.05
        return s

    monkeypatch.setattr(kit_run_module, "loadgen_settings", shorter)
    run_kit(kit_run[0], OnnxRuntimeSUT(threads=1), tmp_path / "res")
    bad = failed(verify_kit(kit_run[0], tmp_path / "res"))
    assert set(bad) == {"single-stream settings", "offline settings"}
    assert bad["single-stream settings"] == "min duration (ms): log 50, kit 200"


def test_changed_scenario_is_rejected(kit_run, tmp_path, monkeypatch):
    real = kit_run_module.run_scenario

    def offline_instead(call, cfg, settings):
        return sc.offline(call, settings) if cfg["scenario"] == "single-stream" else real(call, cfg, settings)

    monkeypatch.setattr(kit_run_module, "run_scenario", offline_instead)
    run_kit(kit_run[0], OnnxRuntimeSUT(threads=1), tmp_path / "res")
    bad = failed(verify_kit(kit_run[0], tmp_path / "res"))
    # (an offline run on single-stream's calibration may also end before its minimum duration: INVALID too)
    assert set(bad) - {"single-stream LoadGen result"} == {"single-stream settings"}
    assert bad["single-stream settings"] == ("scenario: log Offline, kit SingleStream; "
                                             "scenario run: log Offline, kit SingleStream")


NOISY_SUT = '''
import numpy as np
from fitbench.kit import OnnxRuntimeSUT

class Noisy(OnnxRuntimeSUT):
    """ONNX Runtime with every output moved by 1% of its largest value: wrong beyond fp32's 1e-3."""
    def predict(self, inputs):
        return [y + 0.01 * np.max(np.abs(y)) for y in super().predict(inputs)]
'''


def test_outputs_outside_tolerance_are_rejected(kit_run, tmp_path):
    (tmp_path / "noisy.py").write_text(textwrap.dedent(NOISY_SUT))
    res = runner.invoke(app, ["kit", "run", str(kit_run[0]), "--sut", f"{tmp_path / 'noisy.py'}:Noisy",
                              "-o", str(tmp_path / "res")])
    assert res.exit_code == 0, res.output
    bad = failed(verify_kit(kit_run[0], tmp_path / "res"))
    assert list(bad) == ["outputs"]
    # every output value moved by 0.01 x max|ref| (on the batch's own max, which is the reference's): 1e-2 > 1e-3
    assert bad["outputs"].startswith("fc: max|y - ref| / max|ref| = 0.01") and "> tolerance 0.001" in bad["outputs"]


def test_missing_file_is_rejected(kit_run, results_copy):
    (results_copy / "offline" / "mlperf_log_detail.txt").unlink()
    bad = failed(verify_kit(kit_run[0], results_copy))
    assert bad == {"files": "the results folder lacks offline/mlperf_log_detail.txt (listed in results.json)"}


def test_results_from_another_kit_are_rejected(kit_run, tmp_path):
    other = create_kit("tiny", tmp_path / "other", scenarios=short_settings("single-stream", "offline"), samples=4,
                       seed=1)
    bad = failed(verify_kit(other.path, kit_run[1]))
    assert list(bad) == ["same kit"] and "not this kit" in bad["same kit"]


@pytest.mark.parametrize("case", ["summary", "invalid", "model", "missing", "other-kit"])
def test_the_cli_rejects_with_one_line_exit_2_and_stores_nothing(case, kit_run, results_copy, tmp_path):
    kit = kit_run[0]
    if case == "summary":
        edit_p90(results_copy)
        rewrite_manifest(results_copy)
        reason = "single-stream summary: 90.0th percentile latency (ns)"
    elif case == "invalid":
        path = results_copy / "offline" / "mlperf_log_summary.txt"
        path.write_text(path.read_text().replace("Result is : VALID", "Result is : INVALID"))
        rewrite_manifest(results_copy)
        reason = "offline LoadGen result: summary INVALID, detail log VALID"
    elif case == "model":
        rewrite_manifest(results_copy, lambda d: d.update(model_sha256="f" * 64))
        reason = "model: the SUT ran model sha256 ffff"
    elif case == "missing":
        (results_copy / "outputs" / "output0.npy").unlink()
        reason = "files: the results folder lacks outputs/output0.npy"
    else:
        kit = create_kit("tiny", tmp_path / "other", scenarios=short_settings("offline"), samples=1).path
        reason = "same kit: the results answer kit"
    db = tmp_path / "r.db"
    res = runner.invoke(app, ["kit", "verify", str(kit), str(results_copy), "--db", str(db)])
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: results rejected, nothing stored: " + reason), err
    assert "verdict: REJECTED" in res.stdout
    assert not db.exists()


@pytest.mark.parametrize("case,message", [
    ("no-kit", "kit {kit}x does not exist"),
    ("no-results", "results folder {res}x does not exist"),
    ("kit-not-a-kit", "kit {res} has no kit.json"),
    ("truncated-model", "kit {kit}: model.onnx does not match its sha256 in kit.json (truncated or edited)"),
    ("truncated-results-json", "{res}/results.json is not valid JSON (truncated or edited?)"),
    ("edited-results-json", "{res}/results.json was edited after it was written"),
    ("edited-kit-settings", "{kit}/kit.json was edited after it was written"),
])
def test_unreadable_or_tampered_folders_are_one_line_exit_2(case, message, kit_run, results_copy, tmp_path):
    kit = tmp_path / "kit"
    shutil.copytree(kit_run[0], kit)
    res_dir = results_copy
    args = [str(kit), str(res_dir)]
    if case == "no-kit":
        args[0] += "x"
    elif case == "no-results":
        args[1] += "x"
    elif case == "kit-not-a-kit":
        args[0] = str(res_dir)
    elif case == "truncated-model":
        data = (kit / "model.onnx").read_bytes()
        (kit / "model.onnx").write_bytes(data[: len(data) // 2])
    elif case == "truncated-results-json":
        text = (res_dir / "results.json").read_text()
        (res_dir / "results.json").write_text(text[: len(text) // 2])
    elif case == "edited-results-json":
        doc = json.loads((res_dir / "results.json").read_text())
        doc["conditions"]["device"] = "a faster chip"
        (res_dir / "results.json").write_text(json.dumps(doc))
    else:
        doc = json.loads((kit / "kit.json").read_text())
        doc["scenarios"][0]["min_duration_ms"] = 50
        (kit / "kit.json").write_text(json.dumps(doc))
    db = tmp_path / "r.db"
    res = runner.invoke(app, ["kit", "verify", *args, "--db", str(db)])
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: " + message.format(kit=kit, res=res_dir)), err
    assert not db.exists()


def test_run_refuses_a_tampered_kit_and_a_bad_sut(kit_run, tmp_path):
    kit = tmp_path / "kit"
    shutil.copytree(kit_run[0], kit)
    (kit / "samples" / "input0.npy").unlink()
    res = runner.invoke(app, ["kit", "run", str(kit), "--runtime", "onnxruntime", "-o", str(tmp_path / "res")])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"error: kit {kit}: kit lacks samples/input0.npy (listed in kit.json)"
    assert not (tmp_path / "res").exists()
    (tmp_path / "sut.py").write_text("class NoPredict:\n    def load(self, path, inputs): pass\n")
    res = runner.invoke(app, ["kit", "run", str(kit_run[0]), "--sut", f"{tmp_path / 'sut.py'}:NoPredict",
                              "-o", str(tmp_path / "res")])
    assert res.exit_code == 2
    assert res.stderr.strip() == "error: NoPredict lacks the method predict(); see docs/kit.md for the SUT interface"
    with pytest.raises(Exception, match="expects PYTHON_FILE:ClassName"):
        load_sut("nocolon")


def test_nothing_is_stored_for_a_rejected_run_through_the_api(kit_run, results_copy, tmp_path):
    (results_copy / "offline" / "mlperf_log_detail.txt").unlink()
    store = open_store(tmp_path / "r.db")
    ver = verify_kit(kit_run[0], results_copy, store=store)
    assert not ver.verified and ver.stored_ids == [] and store.count() == 0
