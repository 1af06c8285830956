"""compare() with the real profile and estimator, on chips whose figures are computed by hand.

The workload is one MatMul, [B, 1024] x [1024, 1024] at INT8: W = 1024*1024 = 1,048,576 weight bytes and
MACs = 1,048,576 per sample. The estimator overlaps compute and DRAM (layer time = max of the two):
* streamer (65536 MACs/cycle, 1 GHz; 256 KiB SRAM; 100 GB/s) streams W once per batch:
  latency(B) = max(B * 1,048,576 / 65.536e12, 1,048,576 / 100e9) = 10.48576 us for B <= 640.
* holder (256 MACs/cycle, 1 GHz; 64 MiB SRAM keeps W resident): latency(B) = B * 1,048,576 / 256e9.
"""

from __future__ import annotations

import pytest
from hand_chips import HOLDER, STREAMER, matmul_model

from fitbench.compare import compare
from fitbench.store import open_store

W = 1024 * 1024
MACS = 1024 * 1024


@pytest.fixture(scope="module")
def comp(mm_path):
    return compare(mm_path, hw=[STREAMER, HOLDER], batch=[1], baseline=f"{mm_path}:batch=32", precision="int8",
                   batch_curve=(1, 32))


def test_throughputs_are_the_hand_computed_ones(comp):
    s, h = comp.offering("streamer"), comp.offering("holder")
    assert s.at("workload", 1).latency_s == pytest.approx(W / 100e9, rel=1e-6)
    assert s.at("workload", 1).throughput_ips == pytest.approx(1 / (W / 100e9), rel=1e-6)         # 95,367/s
    assert s.at("baseline", 32).throughput_ips == pytest.approx(32 / (W / 100e9), rel=1e-6)       # 3,051,758/s
    assert h.at("workload", 1).throughput_ips == pytest.approx(256e9 / MACS, rel=1e-6)            # 244,141/s
    assert h.at("baseline", 32).throughput_ips == pytest.approx(256e9 / MACS, rel=1e-6)
    assert s.at("workload", 1).dram_weight_bytes_per_inference == pytest.approx(W)
    assert s.at("baseline", 32).dram_weight_bytes_per_inference == pytest.approx(W / 32)
    assert h.at("workload", 1).dram_weight_bytes_per_inference == 0
    assert s.peak_tops == pytest.approx(2 * 65536 * 1e9 / 1e12)  # 131.07 TOPS
    assert h.peak_tops == pytest.approx(2 * 256 * 1e9 / 1e12)    # 0.512 TOPS


def test_rankings_side_by_side(comp):
    ranks = {r.offering: (r.tops_rank, r.baseline_rank, r.workload_rank) for r in comp.rows}
    # 3.05 M/s > 244 k/s at batch 32; 244 k/s > 95 k/s at batch 1; 131 > 0.512 TOPS
    assert ranks == {"streamer": (1, 1, 2), "holder": (2, 2, 1)}
    assert [r.offering for r in comp.rows] == ["holder", "streamer"]


def test_flip_is_explained_by_weight_streaming(comp):
    flips = {f.offering: f for f in comp.flips}
    assert set(flips) == {"streamer", "holder"}
    s = flips["streamer"]
    assert (s.baseline_rank, s.workload_rank, s.cause) == (1, 2, "weights")
    # 1,048,576 B is "1.0 MB" (decimal), over 100 GB/s; all of its time waits on weights
    assert "at batch 1 it streams 1.0 MB of weights per inference over 100 GB/s" in s.sentence
    assert "100% of its time" in s.sentence
    h = flips["holder"]
    assert (h.baseline_rank, h.workload_rank, h.cause) == (2, 1, "compute")
    assert "while streamer is held back by weight traffic" in h.sentence


def test_card_and_dict(comp):
    card = comp.card
    assert card["precision"] == "int8"
    work, base = card["workloads"]
    assert len(work["sha256"]) == 64 and work["sha256"] == base["sha256"]  # the same file, two batches
    assert work["input_shapes"] == {"X": [1, 1024]}
    assert (work["batches"], base["batches"]) == ([1], [32])
    assert {o["name"]: o["source"] for o in card["offerings"]} == {"streamer": "test: hand-made",
                                                                    "holder": "test: hand-made"}
    d = comp.to_dict()
    import json

    json.dumps(d)  # JSON-safe
    from fitbench.compare import Comparison

    again = Comparison.from_dict(json.loads(json.dumps(d)))
    assert [f.sentence for f in again.flips] == [f.sentence for f in comp.flips]
    df = comp.to_dataframe()
    # 2 offerings x (workload batches 1, 32 + baseline batch 32) rows
    assert len(df) == 2 * 3
    row = df[(df.offering == "holder") & (df.workload == "workload") & (df.batch == 1)].iloc[0]
    assert row["rank"] == 1


def test_results_are_stored(mm_path, tmp_path):
    store = open_store(tmp_path / "r.db")
    comp = compare(mm_path, hw=[STREAMER, HOLDER], batch=[1], baseline=f"{mm_path}:batch=32", batch_curve=(1,),
                   store=store)
    recs = store.query(sweep_id=comp.sweep_id)
    kinds = sorted(r.kind for r in recs)
    # 2 profiles, 2 offerings x (workload b1 + baseline b32) estimates, 1 comparison
    assert kinds == ["comparison"] + ["estimate"] * 4 + ["profile"] * 2
    est = {(r.hardware, r.batch): r for r in recs if r.kind == "estimate"}
    assert est[("streamer", 1)].metrics["throughput_ips"] == pytest.approx(100e9 / W, rel=1e-6)
    from fitbench.report.sweep import load_sweep

    again = load_sweep(store, comp.sweep_id)
    assert [r.offering for r in again.rows] == ["holder", "streamer"]


def test_bad_inputs_are_one_line_errors(mm_path):
    from fitbench.errors import FitbenchError

    with pytest.raises(FitbenchError, match="unknown hardware"):
        compare(mm_path, hw=["no-such-chip"], baseline=f"{mm_path}:batch=32")
    with pytest.raises(FitbenchError, match="named twice"):
        compare(mm_path, hw=[HOLDER, HOLDER], baseline=f"{mm_path}:batch=32")
    with pytest.raises(FitbenchError, match="batch"):
        compare(mm_path, hw=[HOLDER], batch=[0], baseline=f"{mm_path}:batch=32")


def test_a_chip_without_the_precision_is_left_out_with_a_note(mm_path):
    fp16_chip = dict(HOLDER, name="holder16", macs_per_cycle={"int8": 256, "fp16": 128})
    comp = compare(mm_path, hw=[STREAMER, fp16_chip], batch=[1], baseline=f"{mm_path}:batch=32", precision="fp16",
                   batch_curve=(1,))
    assert [r.offering for r in comp.rows] == ["holder16"]
    assert len(comp.notes) == 1 and comp.notes[0].startswith("streamer is left out:") and "fp16" in comp.notes[0]
    # fp16: 1024 x 1024 x 2 bytes of weights; 128 MACs/cycle at 1 GHz -> latency = MACs / 128e9
    assert comp.offering("holder16").at("workload", 1).latency_s == pytest.approx(MACS / 128e9, rel=1e-6)
    from fitbench.errors import FitbenchError

    with pytest.raises(FitbenchError, match="no offering could be compared"):
        compare(mm_path, hw=[STREAMER], baseline=f"{mm_path}:batch=32", precision="fp16", batch_curve=(1,))
    with pytest.raises(FitbenchError, match="unknown precision"):
        compare(mm_path, hw=[STREAMER], baseline=f"{mm_path}:batch=32", precision="int3")


def test_latency_vs_input_size_of_an_onnx_file(tmp_path):
    """A conv model from a file, bound at three input sizes: MACs grow with the pixels (1 MAC per pixel x 9 x 8)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((8, 1, 3, 3), dtype=np.float32), "W")
    node = helper.make_node("Conv", ["X", "W"], ["Y"], name="conv", pads=[1, 1, 1, 1])
    graph = helper.make_graph([node], "c", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 1, "H", "W"])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 8, "H", "W"])], [w])
    path = tmp_path / "conv.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    comp = compare(str(path), inputs={"X": "1x1x64x64"}, hw=[HOLDER], baseline="tiny@32:batch=32",
                   input_sizes=[(32, 32), (64, 64), (128, 128)], batch_curve=(1,))
    curve = {(c["height"], c["width"]): c for c in comp.input_size_curve}
    assert {k: v["macs"] for k, v in curve.items()} == {(32, 32): 32 * 32 * 9 * 8, (64, 64): 64 * 64 * 9 * 8,
                                                        (128, 128): 128 * 128 * 9 * 8}
    # the holder is compute bound: latency = MACs / (256 MACs/cycle x 1 GHz)
    assert curve[(128, 128)]["latency_s"] == pytest.approx(128 * 128 * 9 * 8 / 256e9, rel=1e-6)


def test_uncosted_layers_are_named_in_the_comparison(tmp_path):
    """A custom op after the MatMul has no cost rule: the comparison says so instead of timing it as 0."""
    import onnx
    from onnx import helper

    model = onnx.load(matmul_model(tmp_path / "mm.onnx"))
    model.graph.node[0].output[0] = "H"
    model.graph.node.append(helper.make_node("Mystery", ["H"], ["Y"], name="mystery", domain="custom.ops"))
    model.opset_import.append(helper.make_opsetid("custom.ops", 1))
    onnx.save(model, str(tmp_path / "mystery.onnx"))
    path = str(tmp_path / "mystery.onnx")
    plain = matmul_model(tmp_path / "plain.onnx")
    comp = compare(path, hw=[HOLDER], batch=[1], baseline=f"{plain}:batch=32", batch_curve=(1,))
    (note,) = [n for n in comp.notes if "no cost rule" in n]
    assert "1 layer(s) have no cost rule (Mystery x1)" in note and "lower bounds" in note
    assert comp.workload["uncosted"] == [{"op_type": "Mystery", "count": 1, "reason": "no cost rule for this op"}]
    # what is costed is still the hand-computed MatMul: MACs / (256 MACs/cycle x 1 GHz)
    assert comp.offering("holder").at("workload", 1).latency_s == pytest.approx(MACS / 256e9, rel=1e-6)
