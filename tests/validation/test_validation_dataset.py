"""The published-figures dataset: the loader's rules, and the shipped file against its sources."""

from __future__ import annotations

import math

import pytest
import yaml

from fitbench.validation import DatasetError, load_dataset
from fitbench.validation.dataset import parse_points

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
    points = load_dataset()
    assert len(points) > 100
    assert all(p.source.label() for p in points)
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
