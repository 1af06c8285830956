"""Ranking robustness: a winner or a flip holds when the two throughputs' ratio exceeds the product of the two
offerings' error bands; hand-built figures, every expected number written out."""

from __future__ import annotations

import pytest

from fitbench.compare.ranking import build_rows, find_flips, flip_robustness, winner_robustness
from fitbench.compare.result import Comparison, Figures, Offering


def _fig(batch, latency_s, bound):
    return Figures(batch=batch, latency_s=latency_s, throughput_ips=batch / latency_s, bound_share={bound: 1.0},
                   mac_utilization=0.5, effective_tops=1.0)


def _chips(band_a, band_b):
    """"a" wins the baseline (32 in 10 ms = 3200/s vs 32 in 16 ms = 2000/s); on the workload at batch 1 "b" is
    faster: 1 / 2.0 ms = 500/s against 1 / 2.2 ms = 454.5/s, a ratio of 2.2 / 2.0 = 1.1."""
    a = Offering(name="a", kind="hardware", peak_tops=40.0, dram_bandwidth=17e9, error_band=band_a,
                 workload=[_fig(1, 2.2e-3, "weights")], baseline=[_fig(32, 0.010, "compute")])
    b = Offering(name="b", kind="hardware", peak_tops=20.0, dram_bandwidth=17e9, error_band=band_b,
                 workload=[_fig(1, 2.0e-3, "compute")], baseline=[_fig(32, 0.016, "compute")])
    offs = [a, b]
    rows = build_rows(offs, 1, 32)
    flips = find_flips(offs, rows, 1, 32, "work", "base")
    return offs, rows, flips


def test_a_flip_that_cannot_survive_the_band_is_reported_as_such():
    offs, rows, flips = _chips(1.2, 1.3)  # together x1.56 > the ratio 1.1
    assert {f.offering for f in flips} == {"a", "b"}
    for f in flips:
        rob = flip_robustness(f, rows, offs)
        assert rob is not None and rob.survives is False
        assert rob.ratio == pytest.approx(1.1) and rob.band == pytest.approx(1.2 * 1.3)
        assert "does not survive the stated error of x1.6" in rob.sentence


def test_a_flip_beyond_the_bands_holds():
    offs, rows, flips = _chips(1.02, 1.03)  # together x1.0506 < 1.1
    rob = flip_robustness(flips[0], rows, offs)
    assert rob.survives is True
    assert "holds unless the estimates are off by more than 10 %" in rob.sentence


def test_winner():
    offs, rows, _ = _chips(1.02, 1.03)
    w = winner_robustness(rows, offs)
    assert (w.offering, w.other, w.survives) == ("b", "a", True)
    assert w.sentence.startswith("b ranks 1st on the workload: holds unless")
    offs, rows, _ = _chips(1.5, 1.0)
    assert winner_robustness(rows, offs).survives is False


def test_unknown_band_states_nothing():
    offs, rows, flips = _chips(None, 1.1)
    assert flip_robustness(flips[0], rows, offs) is None and winner_robustness(rows, offs) is None


def test_round_trip_through_dict():
    offs, rows, flips = _chips(1.2, 1.3)
    for f in flips:
        f.robustness = flip_robustness(f, rows, offs)
    comp = Comparison(workload={"label": "work"}, baseline={"label": "base"}, precision="int8", rank_batch=1,
                      baseline_batch=32, offerings=offs, rows=rows, flips=flips, card={},
                      winner=winner_robustness(rows, offs))
    back = Comparison.from_dict(comp.to_dict())
    assert back.winner == comp.winner and [f.robustness for f in back.flips] == [f.robustness for f in flips]
    assert back.offering("a").error_band == 1.2


def test_cli_compare_calibrate_inline_and_default_bands():
    import json

    from typer.testing import CliRunner

    from fitbench.cli.app import _register, app
    from fitbench.validation import validate

    _register()
    runner = CliRunner()
    # MLPerf Inference v1.1 closed, Lenovo T4x1_TRT ResNet-50 SingleStream, 90th percentile 819062 ns
    r = runner.invoke(app, ["compare", "resnet18", "--hw", "nvidia-t4,nvdla-nv-large,edge-npu-slow-dram",
                            "--calibrate", "nvidia-t4=resnet50:batch=1:latency=0.819062ms", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    offs = {o["name"]: o for o in d["offerings"]}
    assert "nvidia-t4" not in offs
    t4 = offs["nvidia-t4-calibrated"]
    assert t4["spec"]["provenance"] == "calibrated" and t4["error_band"] == t4["spec"]["calibration"]["band_factor"]
    rep = validate()
    per = {g.name: g.stats for g in rep.per_chip}
    assert offs["nvdla-nv-large"]["validation_error"] == pytest.approx(per["nvdla-nv-large"].median_error_factor)
    assert offs["nvdla-nv-large"]["error_band"] == pytest.approx(per["nvdla-nv-large"].median_error_factor)
    # no published point of this chip: the dataset's overall median error
    assert offs["edge-npu-slow-dram"]["validation_error"] is None
    assert offs["edge-npu-slow-dram"]["error_band"] == pytest.approx(rep.overall.median_error_factor)
    w = d["winner"]
    assert w is not None and w["survives"] == (w["ratio"] > w["band"])


@pytest.mark.parametrize("value", ["nvidia-t4", "nvidia-t4=resnet50:ips=3", "no-chip=resnet50:batch=1:ips=3"])
def test_cli_compare_bad_calibrate_is_one_line(value):
    from typer.testing import CliRunner

    from fitbench.cli.app import _register, app

    _register()
    r = CliRunner().invoke(app, ["compare", "tiny", "--hw", "nvidia-t4", "--calibrate", value])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
