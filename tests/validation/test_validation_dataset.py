"""The published-figures dataset: the loader's rules, and the shipped file against its sources."""

from __future__ import annotations

import math

import pytest
import yaml

from fitbench.validation import DatasetError, load_dataset
from fitbench.validation.dataset import calibration_points, parse_points

GOOD = {"chip": "nvdla-nv-large", "model": "resnet50", "params": {"resolution": "224x224"}, "batch": 1,
        "precision": "int8", "scenario": "offline", "metric": "throughput_ips", "value": 269.0,
        "source": {"document": "NVDLA Primer", "table": "Example Area and Performance with NVDLA"}}


def _one(tmp_path, **change):
    point = {**GOOD, **change}
    for k in [k for k, v in change.items() if v is None]:
        del point[k]
    f = tmp_path / "points.yaml"
    f.write_text(yaml.safe_dump({"points": [point]}))
    return f


def _error(tmp_path, **change) -> str:
    with pytest.raises(DatasetError) as exc:
        load_dataset(_one(tmp_path, **change))
    msg = str(exc.value)
    assert "\n" not in msg and "point 1" in msg and "points.yaml" in msg
    return msg


def test_a_good_point_loads(tmp_path):
    (p,) = load_dataset(_one(tmp_path))
    assert (p.chip, p.model, p.batch, p.value) == ("nvdla-nv-large", "resnet50", 1, 269.0)
    assert p.zoo_params() == {"resolution": (224, 224)}  # WIDTHxHEIGHT -> (H, W)
    assert p.source.label() == "NVDLA Primer, Example Area and Performance with NVDLA"


def test_a_point_without_a_source_is_refused(tmp_path):
    assert "source: missing" in _error(tmp_path, source=None)


@pytest.mark.parametrize("source", [{"repository": "mlcommons/inference_results_v1.1"}, {"document": "a primer"},
                                    {"path": "closed/x.txt", "table": "t"}, {}])
def test_an_incomplete_source_is_refused(tmp_path, source):
    assert "repository and path, or document and table" in _error(tmp_path, source=source)


@pytest.mark.parametrize("field,value,words", [
    ("scenario", "batch-stream", "'batch-stream' is not one of"),
    ("precision", "int4", "'int4' is not one of"),
    ("metric", "fps", "'fps' is not one of"),
    ("value", 0, "positive finite"),
    ("value", -3.5, "positive finite"),
    ("value", math.nan, "positive finite"),
    ("value", math.inf, "positive finite"),
    ("batch", 0, "positive integer"),
    ("params", {"resolution": "224"}, "WIDTHxHEIGHT"),
    ("chip", " ", "must not be empty"),
])
def test_bad_fields_are_one_line_errors(tmp_path, field, value, words):
    msg = _error(tmp_path, **{field: value})
    assert field in msg and words in msg


def test_unknown_fields_and_bad_files_are_refused(tmp_path):
    assert "extra" in _error(tmp_path, fps=3).lower()
    missing = tmp_path / "nope.yaml"
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(missing)
    with pytest.raises(DatasetError, match="expected a list of points"):
        parse_points({"points": 3}, "x.yaml")


def test_the_shipped_dataset_names_a_source_for_every_point():
    assert all(p.source.label() for p in load_dataset())
    points = calibration_points(load_dataset())  # the calibration set (hold-outs: tests/validation/test_llm_holdout.py)
    assert len(points) > 100
    mlperf = [p for p in points if p.source.repository == "mlcommons/inference_results_v1.1"]
    assert all(p.source.path.startswith("closed/") and p.source.path.endswith("/mlperf_log_summary.txt")
               for p in mlperf)
    assert {p.model for p in points} == {"resnet50", "ssd-mobilenet-v1", "ssd-resnet34", "bert-large"}
    assert {p.scenario for p in mlperf} <= {"offline", "single-stream", "server"}
    assert all(p.metric == ("latency_s" if p.scenario == "single-stream" else "throughput_ips") for p in points)


def test_the_shipped_dataset_holds_the_nvdla_primer_table():
    # nvdla/doc doc/primer.rst, "Example Area and Performance with NVDLA": Int8 ResNet-50 frames/sec at 1 GHz
    # for 2048, 1024, 512, 256, 128, 64 and 32 MACs
    table = {2048: 269, 1024: 153, 512: 93, 256: 46, 128: 20, 64: 7.3, 32: 3.6}
    nvdla = {p.system.split()[1]: p for p in load_dataset() if p.source.document}
    assert {int(k): p.value for k, p in nvdla.items()} == table
    assert nvdla["2048"].chip == "nvdla-nv-large" and nvdla["64"].chip == "nvdla-nv-small"


def test_the_shipped_dataset_holds_published_mlperf_figures():
    # closed/NVIDIA/results/A10x1_TRT/resnet50/Offline/performance/run_1/mlperf_log_summary.txt:
    # "Samples per second: 13805.2"; .../SingleStream/...: "90th percentile latency (ns) : 465924"
    by_path = {p.source.path: p for p in load_dataset() if p.source.path}
    base = "closed/NVIDIA/results/A10x1_TRT/resnet50/{}/performance/run_1/mlperf_log_summary.txt"
    off, ss = by_path[base.format("Offline")], by_path[base.format("SingleStream")]
    assert (off.chip, off.scenario, off.metric, off.value) == ("nvidia-a10", "offline", "throughput_ips", 13805.2)
    assert (ss.scenario, ss.metric, ss.batch) == ("single-stream", "latency_s", 1)
    assert ss.value == pytest.approx(465924e-9, rel=1e-12)


EFFECTIVE = {"params": {"seq_len": 32}, "why": "padding dropped",
             "source": {"document": "a paper", "table": "abstract"}}
BERT = {**GOOD, "model": "bert-base", "params": {"seq_len": 128}, "batch": 4, "value": 100.0}


@pytest.mark.parametrize("effective,words", [
    ({**EFFECTIVE, "why": " "}, "must say why"),
    ({k: v for k, v in EFFECTIVE.items() if k != "source"}, "effective.source: missing"),
    ({**EFFECTIVE, "params": {}}, "needs at least one zoo parameter"),
    ({**EFFECTIVE, "params": {"resolution": "224"}}, "effective.params.resolution"),
])
def test_a_bad_effective_workload_is_refused(tmp_path, effective, words):
    assert words in _error(tmp_path, **BERT, effective=effective)


def test_an_effective_workload_overrides_the_params_of_the_estimate(tmp_path):
    from fitbench.hardware.estimator import estimate
    from fitbench.hardware.spec import load_hardware
    from fitbench.profile import profile
    from fitbench.validation import validate

    (p,) = load_dataset(_one(tmp_path, **BERT, effective=EFFECTIVE))
    assert p.params == {"seq_len": 128} and p.estimate_params() == {"seq_len": 32}
    assert p.zoo_params() == {"seq_len": 32} and "as seq_len=32" in p.input_label()
    (r,) = validate(points=[p]).points
    # a second method: the estimate of bert-base at 32 tokens, batch 4, on the chip, made here directly
    want = estimate(profile("bert-base", seq_len=32, precision="int8"), load_hardware("nvdla-nv-large"),
                    batch=[4], precision="int8").points[0].throughput_ips
    at_128 = estimate(profile("bert-base", seq_len=128, precision="int8"), load_hardware("nvdla-nv-large"),
                      batch=[4], precision="int8").points[0].throughput_ips
    assert r.predicted == pytest.approx(want) and want > 3 * at_128  # 4x fewer tokens: well over 3x the rate


def test_the_shipped_bert_offline_points_are_estimated_without_padding():
    # every v1.1 BERT submission kept drops the padding: a batched point runs (1 - 0.54) x 384 real tokens
    bert = [p for p in load_dataset() if p.model == "bert-large"]
    assert bert
    for p in bert:
        assert p.params == {"seq_len": 384}
        if p.batch > 1:
            assert p.effective is not None and p.effective.params == {"seq_len": round(0.46 * 384)}
            assert "54%" in p.effective.source.table and "padding" in p.effective.why
        else:
            assert p.effective is None and "upper bound" in p.notes
