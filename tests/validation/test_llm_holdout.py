"""Hold-out points (issue 17 item 6): LLM tokens/s figures loaded with their sources, never fitted on, and
reported by ``validate`` apart from the calibration set."""

from __future__ import annotations

import pytest
import yaml

from fitbench.compare.llm import llm_estimate
from fitbench.validation import DatasetError, load_dataset
from fitbench.validation.calibrate import CalibrationError, from_published
from fitbench.validation.dataset import calibration_points, holdout_points, parse_points
from fitbench.validation.holdout import leave_model_out
from fitbench.validation.validate import validate

SRC = {"repository": "example/results", "path": "closed/x/results/sys/llm/Offline/performance/run_1/summary.txt"}
LLM = {"prompt": 64, "output": 32, "source": {"document": "benchmark README", "table": "dataset lengths"}}
TOK = {"chip": "nvidia-h200", "model": "llm-100m", "batch": 4, "precision": "fp16", "scenario": "offline",
       "metric": "tokens_per_s", "value": 5000.0, "split": "holdout", "source": SRC, "llm": LLM}


def _load(tmp_path, *points):
    f = tmp_path / "points.yaml"
    f.write_text(yaml.safe_dump({"points": list(points)}))
    return load_dataset(f)


def test_a_holdout_llm_point_loads_with_its_lengths(tmp_path):
    (p,) = _load(tmp_path, TOK)
    assert p.is_holdout and p.metric == "tokens_per_s"
    assert (p.llm.prompt, p.llm.output, p.llm.context) == (64, 32, 64 + 16)  # context = prompt + output / 2
    assert p.llm.batch_rule == "stated" and p.llm.kv_precision == "fp16"
    assert "in 64 / out 32 tokens" in p.input_label()


@pytest.mark.parametrize("change, words", [
    ({"source": None}, "source: missing"),
    ({"llm": None}, "needs llm"),
    ({"split": "calibration"}, "must be split: holdout"),
    ({"split": "test"}, "split"),
    ({"llm": {**LLM, "output": 0}}, "positive number of tokens"),
    ({"llm": {k: v for k, v in LLM.items() if k != "source"}}, "llm.source: missing"),
])
def test_a_bad_holdout_point_is_one_line(tmp_path, change, words):
    point = {**TOK, **change}
    for k in [k for k, v in change.items() if v is None]:
        del point[k]
    with pytest.raises(DatasetError) as exc:
        _load(tmp_path, point)
    assert "\n" not in str(exc.value) and words in str(exc.value), str(exc.value)


def test_the_shipped_holdout_points_are_the_published_mlperf_figures():
    pts = load_dataset()
    held = {p.source.path.split("/")[4]: p for p in holdout_points(pts)}
    assert sorted(held) == ["llama2-70b-99", "mixtral-8x7b"]
    assert all(p.source.repository == "mlcommons/inference_results_v4.1" and p.source.commit and p.split == "holdout"
               and p.metric == "tokens_per_s" and p.scenario == "offline" for p in held.values())
    # closed/NVIDIA/results/GH200-..._aarch64x1_TRT/mixtral-8x7b/Offline/performance/run_1/mlperf_log_summary.txt:
    # "Tokens per second: 8021.46"; language/mixtral-8x7b/README.md: 'tokens_per_sample': 144.84
    m = held["mixtral-8x7b"]
    assert (m.model, m.value, m.llm.output, m.llm.batch_rule) == ("mixtral-8x7b", 8021.46, 145, "max-fit")
    # .../llama2-70b-99/Offline/performance/run_1/mlperf_log_detail.txt: result_tokens_per_second 4067.52;
    # language/llama2-70b/README.md: "Tokens per sample: 294.45"; Llama-2-70B's config.json
    lm = held["llama2-70b-99"]
    assert (lm.value, lm.llm.output) == (4067.52, 294)
    assert lm.params == {"layers": 80, "hidden": 8192, "heads": 64, "kv_heads": 8, "ffn": 28672, "vocab": 32000,
                         "rope_theta": 10000.0}
    assert len(calibration_points(pts)) == len(pts) - 2


def test_calibration_refuses_a_holdout_point(tmp_path):
    bert = {"chip": "nvidia-t4", "model": "bert-large", "params": {"seq_len": 384}, "batch": 1, "precision": "int8",
            "scenario": "single-stream", "metric": "latency_s", "value": 0.01, "source": SRC, "split": "holdout"}
    (p,) = parse_points([bert], "test")
    with pytest.raises(CalibrationError, match="hold-out"):
        from_published(p)


def test_leave_model_out_never_sees_holdout_points():
    t4 = [p for p in load_dataset() if p.chip == "nvidia-t4"]
    assert any(p.model == "resnet50" for p in t4) and any(p.model != "resnet50" for p in t4)
    extra = parse_points([{**t4[-1].to_dict(), "split": "holdout", "value": t4[-1].value * 10}], "test")
    base = leave_model_out(t4)
    with_holdout = leave_model_out(t4 + extra)  # would raise in from_published if the hold-out reached a fit
    assert len(with_holdout.held) == len(base.held) > 0
    assert [h.calibrated for h in with_holdout.held] == [h.calibrated for h in base.held]


def test_validate_reports_holdout_points_apart_with_the_formula(tmp_path):
    pts = _load(tmp_path, TOK)
    r = validate(points=pts)
    assert r.points == [] and r.overall.n == 0 and r.rankings == []  # the calibration statistics see none of it
    (h,) = r.holdout
    assert h.status == "compared"
    # independently: B sequences prefilled (TTFT at 64 tokens), then 32 decode steps at context 64 + 32/2 = 80
    e = llm_estimate("llm-100m", "nvidia-h200", batch=4, prompt=64, context=80, precision="fp16").point(4)
    expected = 4 * 32 / (e.ttft_s + 32 * e.tpot_s)
    assert h.predicted == pytest.approx(expected, rel=1e-9)
    assert h.ratio == pytest.approx(expected / 5000.0, rel=1e-9)
    assert r.holdout_stats.n == 1 and r.holdout_stats.median_error_factor == pytest.approx(
        max(expected / 5000.0, 5000.0 / expected))
    assert r.to_dict()["holdout"]["points"][0]["predicted"] == pytest.approx(expected)


def test_max_fit_uses_the_largest_batch_that_fits(tmp_path):
    (p,) = _load(tmp_path, {**TOK, "llm": {**LLM, "batch_rule": "max-fit"}})
    (h,) = validate(points=[p]).holdout
    e1 = llm_estimate("llm-100m", "nvidia-h200", batch=1, prompt=64, context=80, precision="fp16")
    # max_batch = floor((141 GB - weights) / (KV bytes per token x 80)); llm-100m: 12 layers, 4 KV heads of 64
    kv_seq = 2 * 12 * 4 * 64 * 2 * 80
    assert e1.max_batch == int((141e9 - e1.weight_bytes) // kv_seq)
    assert f"batch {e1.max_batch} (max-fit)" in h.detail


def test_the_calibration_set_summary_is_unchanged_by_holdout_points():
    shipped = load_dataset()
    full, calib, left_out = validate(), validate(points=calibration_points(shipped)), validate(holdout=False)
    for r in (calib, left_out):
        assert full.overall == r.overall and len(full.points) == len(r.points)
        assert [g.stats for g in full.per_chip] == [g.stats for g in r.per_chip]
        assert [(k.model, k.spearman) for k in full.rankings] == [(k.model, k.spearman) for k in r.rankings]
    assert len(full.holdout) == 2 and left_out.holdout == []
    assert all(h.status == "compared" for h in full.holdout) and full.holdout_stats.n == 2


def test_the_cli_prints_the_holdout_section_apart(tmp_path):
    from typer.testing import CliRunner

    from fitbench.cli.app import _register, app

    _register()
    cal = {"chip": "nvidia-t4", "model": "resnet50", "params": {"resolution": "224x224"}, "batch": 1,
           "precision": "int8", "scenario": "single-stream", "metric": "latency_s", "value": 0.001, "source": SRC}
    f = tmp_path / "two.yaml"
    f.write_text(yaml.safe_dump({"points": [cal, TOK]}))
    res = CliRunner().invoke(app, ["validate", "--dataset", str(f)], terminal_width=250)
    assert res.exit_code == 0, res.output
    assert "1 published point(s)" in res.output  # the calibration-set count: the hold-out is not in it
    assert "Hold-out points (1; not in the calibration set" in res.output and "tok/s" in res.output
    csv = CliRunner().invoke(app, ["validate", "--dataset", str(f), "--format", "csv"]).output.splitlines()
    assert csv[0].endswith(",split") and csv[-1].endswith(",holdout") and len(csv) == 3
