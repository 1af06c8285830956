"""Ranking and flip logic on hand-built figures: every expected value is written out by hand."""

from __future__ import annotations

import pytest

from fitbench.compare.ranking import build_rows, find_flips, fmt_bytes, fmt_rate, ordinal, rank
from fitbench.compare.result import Figures, Offering
from fitbench.compare.workload import parse_workload
from fitbench.errors import FitbenchError
from fitbench.hardware.estimator.bounds import BOUND_WORDS


@pytest.mark.parametrize(("values", "higher", "expected"), [
    ({"a": 10, "b": 30, "c": 20}, True, {"a": 3, "b": 1, "c": 2}),
    ({"a": 10, "b": 30, "c": 20}, False, {"a": 1, "b": 3, "c": 2}),
    ({"a": 5, "b": 5, "c": 1}, True, {"a": 1, "b": 1, "c": 3}),       # competition ranking: 1, 1, 3
    ({"a": 5, "b": None, "c": 7}, True, {"a": 2, "b": None, "c": 1}),  # no figure, no rank
    ({}, True, {}),
])
def test_rank(values, higher, expected):
    assert rank(values, higher_is_better=higher) == expected


@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                         (13, "13th"), (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th")])
def test_ordinal(n, text):
    assert ordinal(n) == text


@pytest.mark.parametrize(("n", "text"), [(62e6, "62 MB"), (8 * 2**20, "8.4 MB"), (1.5e9, "1.5 GB"), (999, "999 B")])
def test_fmt_bytes(n, text):
    assert fmt_bytes(n) == text


def test_fmt_rate():
    assert fmt_rate(17e9) == "17 GB/s"


def _fig(batch, latency_s, **kw):
    return Figures(batch=batch, latency_s=latency_s, throughput_ips=batch / latency_s, **kw)


def _two_chips():
    """Chip "streamer" wins ResNet-50 at batch 32 but streams its weights at batch 1; "holder" keeps them on chip.

    streamer: baseline 32 images in 0.010 s -> 3200/s; workload batch 1 in 1/(62e6/17e9)... we state the
    workload latency as the weight streaming time 62e6 B / 17e9 B/s = 3.647 ms (weights bound, 90 % share).
    holder:   baseline 32 images in 0.016 s -> 2000/s; workload batch 1 in 2.0 ms (compute bound).
    """
    streamer = Offering(name="streamer", kind="hardware", peak_tops=40.0, sram_bytes=4e6, dram_bandwidth=17e9,
                        workload=[_fig(1, 62e6 / 17e9, bound_share={"compute": 0.1, "weights": 0.9},
                                       dram_weight_bytes_per_inference=62e6, mac_utilization=0.05)],
                        baseline=[_fig(32, 0.010, bound_share={"compute": 1.0}, mac_utilization=0.9)])
    holder = Offering(name="holder", kind="hardware", peak_tops=10.0, sram_bytes=64e6, dram_bandwidth=10e9,
                      workload=[_fig(1, 0.002, bound_share={"compute": 0.8, "activations": 0.2},
                                     mac_utilization=0.75, effective_tops=7.5)],
                      baseline=[_fig(32, 0.016, bound_share={"compute": 1.0}, mac_utilization=0.8)])
    return [streamer, holder]


def test_rows_rank_workload_baseline_and_tops():
    rows = build_rows(_two_chips(), rank_batch=1, baseline_batch=32)
    by = {r.offering: r for r in rows}
    # workload: holder 1/0.002 = 500/s beats streamer 17e9/62e6 = 274.2/s
    assert by["holder"].workload_throughput_ips == pytest.approx(1 / 0.002)
    assert by["streamer"].workload_throughput_ips == pytest.approx(17e9 / 62e6)
    assert (by["holder"].workload_rank, by["streamer"].workload_rank) == (1, 2)
    # baseline: streamer 32/0.010 = 3200/s beats holder 32/0.016 = 2000/s
    assert (by["streamer"].baseline_rank, by["holder"].baseline_rank) == (1, 2)
    # TOPS alone: 40 > 10
    assert (by["streamer"].tops_rank, by["holder"].tops_rank) == (1, 2)
    assert [r.offering for r in rows] == ["holder", "streamer"]  # sorted by workload rank
    assert by["streamer"].workload_bound == "weights"


def test_flips_are_explained_from_the_bound_breakdown():
    offs = _two_chips()
    rows = build_rows(offs, 1, 32)
    flips = {f.offering: f for f in find_flips(offs, rows, 1, 32, "yolov3 1920x1080", "resnet50 224x224", "frame")}
    assert set(flips) == {"streamer", "holder"}
    down, up = flips["streamer"], flips["holder"]
    assert (down.baseline_rank, down.workload_rank, down.direction, down.cause) == (1, 2, "drops", "weights")
    assert down.sentence.startswith("streamer drops from 1st to 2nd (TOPS alone ranks it 1st): at batch 1 it streams "
                                    "62 MB of weights per frame over 17 GB/s")
    assert "90%" in down.sentence  # its share of time waiting on weights
    assert (up.direction, up.cause) == ("rises", "compute")
    assert up.sentence.startswith("holder rises from 2nd to 1st (TOPS alone ranks it 2nd): it stays compute-bound")
    assert "75% MAC utilisation" in up.sentence
    assert "while streamer is held back by weight traffic" in up.sentence


def test_no_flip_when_order_holds():
    a = Offering(name="a", kind="hardware", workload=[_fig(1, 0.001)], baseline=[_fig(32, 0.01)])
    b = Offering(name="b", kind="hardware", workload=[_fig(1, 0.002)], baseline=[_fig(32, 0.02)])
    rows = build_rows([a, b], 1, 32)
    assert find_flips([a, b], rows, 1, 32, "w", "b") == []


def test_offering_without_baseline_is_ranked_only_on_the_workload():
    a = Offering(name="a", kind="hardware", workload=[_fig(1, 0.001)], baseline=[_fig(32, 0.01)])
    m = Offering(name="ort", kind="runtime", workload=[_fig(1, 0.0005, method="measured")])
    rows = {r.offering: r for r in build_rows([a, m], 1, 32)}
    assert (rows["ort"].workload_rank, rows["ort"].baseline_rank, rows["ort"].tops_rank) == (1, None, None)
    assert (rows["a"].workload_rank, rows["a"].baseline_rank) == (2, 1)
    # a is 1st of 1 on the baseline and 2nd of 2 on the workload only because the measured runtime (which has
    # no baseline figure) slots in above it: no flip (it read 'a drops from 1st to 2nd', with a made-up cause)
    assert find_flips([a, m], list(rows.values()), 1, 32, "w", "b") == []


def test_a_measured_runtime_shifts_no_estimated_offering_into_a_flip():
    # baseline: a (1/0.01*32=3200/s) > b (1600/s) > c (800/s); workload: ort (2000/s) > a (1000) > c (700) > b (500)
    a = Offering(name="a", kind="hardware", workload=[_fig(1, 0.001)], baseline=[_fig(32, 0.01)])
    b = Offering(name="b", kind="hardware", workload=[_fig(1, 0.002)], baseline=[_fig(32, 0.02)])
    c = Offering(name="c", kind="hardware", workload=[_fig(1, 1 / 700)], baseline=[_fig(32, 0.04)])
    m = Offering(name="ort", kind="runtime", workload=[_fig(1, 0.0005, method="measured")])
    offs = [a, b, c, m]
    rows = build_rows(offs, 1, 32)
    assert {r.offering: (r.workload_rank, r.baseline_rank) for r in rows} == {
        "ort": (1, None), "a": (2, 1), "c": (3, 3), "b": (4, 2)}
    flips = {f.offering: f for f in find_flips(offs, rows, 1, 32, "w", "b")}
    # among the estimated: a 1st -> 1st (no flip), b 2nd -> 3rd, c 3rd -> 2nd
    assert sorted(flips) == ["b", "c"]
    assert flips["b"].sentence.startswith("b drops from 2nd to 3rd of the estimated offerings:")
    assert flips["c"].sentence.startswith("c rises from 3rd to 2nd of the estimated offerings:")


@pytest.mark.parametrize(("text", "model", "params", "batches"), [
    ("resnet50@224:batch=32", "resnet50", {"resolution": (224, 224)}, [32]),
    ("yolov3@1920x1080:batch=1,4", "yolov3", {"resolution": (1080, 1920)}, [1, 4]),
    ("bert-base:seq_len=128", "bert-base", {"seq_len": 128}, [1]),
    ("my.onnx", "my.onnx", {}, [1]),
    ("pkg.mod:factory:batch=2", "pkg.mod:factory", {}, [2]),
])
def test_parse_workload(text, model, params, batches):
    w = parse_workload(text)
    assert (w.model, w.params, w.batches) == (model, params, batches)


@pytest.mark.parametrize("bad", ["", "resnet50@abc", "resnet50:batch=0", "resnet50:batch=x", "resnet50:=3",
                                 "@224"])
def test_parse_workload_rejects(bad):
    with pytest.raises(FitbenchError):
        parse_workload(bad)


def test_measured_figures_keep_the_measured_throughput_and_never_derive_one():
    from fitbench.compare.engine import figures_from_measurement

    lat = {"p50_ms": 2.0, "p90_ms": 3.0, "p99_ms": None, "mean_ms": 2.5, "count": 100}
    f = figures_from_measurement({"latency": lat, "throughput": 1500.0}, batch=4)
    # ms -> s; throughput as measured (completed items / wall time), not 4 / 2.5 ms = 1600/s
    assert (f.latency_s, f.latency_p90_s, f.latency_p99_s, f.throughput_ips) == (2e-3, 3e-3, None, 1500.0)
    assert (f.method, f.samples) == ("measured", 100)
    # a measurement without a throughput (no wall time) has none: unknown, never batch / mean latency
    assert figures_from_measurement({"latency": lat, "throughput": None}, batch=4).throughput_ips is None
    assert rank({"measured": None, "chip": 10.0}) == {"measured": None, "chip": 1}


def test_a_measured_offering_passed_by_a_chip_gets_no_made_up_bound():
    # holder (compute-bound, 500/s at batch 1) passes a runtime measured on both workloads (400/s at batch 1,
    # 3000/s at batch 32): the runtime has no bound breakdown, so the sentence names it and claims no bound
    holder = _two_chips()[1]
    ort = Offering(name="ort", kind="runtime", workload=[_fig(1, 1 / 400, method="measured")],
                   baseline=[_fig(32, 32 / 3000, method="measured")])
    rows = build_rows([holder, ort], 1, 32)
    flips = {f.offering: f for f in find_flips([holder, ort], rows, 1, 32, "w", "b")}
    up = flips["holder"]
    assert (up.baseline_rank, up.workload_rank, up.cause) == (2, 1, "compute")
    assert up.sentence.endswith("it stays compute-bound on w at 75% MAC utilisation (7.5 of 10 TOPS), passing ort.")
    assert "held back" not in up.sentence


def test_a_chip_that_draws_level_is_not_said_to_hold_the_other_back():
    # baseline: a 3200/s > b 1600/s; workload: both 500/s (compute-bound at the same speed): b rises 2nd -> 1st
    # (a shared 1st), and the sentence says it is level with a (it said "while a is held back by compute")
    a = Offering(name="a", kind="hardware", peak_tops=8.0,
                 workload=[_fig(1, 0.002, bound_share={"compute": 1.0}, mac_utilization=0.5, effective_tops=4.0)],
                 baseline=[_fig(32, 0.01, bound_share={"compute": 1.0})])
    b = Offering(name="b", kind="hardware", peak_tops=8.0,
                 workload=[_fig(1, 0.002, bound_share={"compute": 1.0}, mac_utilization=0.5, effective_tops=4.0)],
                 baseline=[_fig(32, 0.02, bound_share={"compute": 1.0})])
    flips = find_flips([a, b], build_rows([a, b], 1, 32), 1, 32, "w", "base")
    assert [f.offering for f in flips] == ["b"]
    assert flips[0].sentence.startswith("b rises from 2nd to 1st")
    assert flips[0].sentence.endswith(", level with a.") and "held back" not in flips[0].sentence


def test_an_overhead_bound_chip_is_explained_by_its_per_layer_overhead():
    """"gpu" wins the batch-32 baseline but at batch 1 pays 50 layers x 5 µs = 250 µs of launch overhead
    (80 % of its 312.5 µs latency); "npu" runs the workload in 0.2 ms, compute-bound."""
    gpu = Offering(name="gpu", kind="hardware", peak_tops=100.0, sram_bytes=40e6, dram_bandwidth=900e9,
                   workload=[_fig(1, 250e-6 / 0.8, bound_share={"overhead": 0.8, "compute": 0.2})],
                   baseline=[_fig(32, 0.001, bound_share={"compute": 1.0})])
    npu = Offering(name="npu", kind="hardware", peak_tops=10.0, sram_bytes=8e6, dram_bandwidth=20e9,
                   workload=[_fig(1, 0.0002, bound_share={"compute": 1.0}, mac_utilization=0.9, effective_tops=9.0)],
                   baseline=[_fig(32, 0.004, bound_share={"compute": 1.0})])
    offs = [gpu, npu]
    flips = {f.offering: f for f in find_flips(offs, build_rows(offs, 1, 32), 1, 32, "w", "b", "frame")}
    down, up = flips["gpu"], flips["npu"]
    assert (down.direction, down.cause) == ("drops", "overhead")
    assert "per-layer (launch/dispatch) overhead is 80% of its time" in down.sentence
    assert "while gpu is held back by per-layer overhead" in up.sentence


@pytest.mark.parametrize("cause, words", [
    ("call", "it pays 400 µs per call (runtime and driver)"),
    ("link", "it pays 400 µs per call over its host link"),
    ("fallback", "none of its engines runs go to the host fallback"),
    ("state", "cannot hold w's persistent state (KV cache)"),
])
def test_v2_bounds_explain_a_drop(cause, words):
    """"edge" wins the batch-32 baseline but at batch 1 spends 400 µs of its 500 µs latency (80 %) on one v2
    term; "card" runs the workload in 0.2 ms, compute-bound."""
    edge = Offering(name="edge", kind="hardware", peak_tops=100.0, sram_bytes=8e6, dram_bandwidth=20e9,
                    workload=[_fig(1, 500e-6, bound_share={cause: 0.8, "compute": 0.2})],
                    baseline=[_fig(32, 0.001, bound_share={"compute": 1.0})])
    card = Offering(name="card", kind="hardware", peak_tops=10.0, sram_bytes=8e6, dram_bandwidth=20e9,
                    workload=[_fig(1, 0.0002, bound_share={"compute": 1.0}, mac_utilization=0.9, effective_tops=9.0)],
                    baseline=[_fig(32, 0.004, bound_share={"compute": 1.0})])
    offs = [edge, card]
    flips = {f.offering: f for f in find_flips(offs, build_rows(offs, 1, 32), 1, 32, "w", "b", "frame")}
    down, up = flips["edge"], flips["card"]
    assert (down.direction, down.cause) == ("drops", cause)
    assert words in down.sentence and "80%" in down.sentence
    assert f"while edge is held back by {BOUND_WORDS[cause]}" in up.sentence
