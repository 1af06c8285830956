"""The article's story on the built-in catalog: ResNet-50 at 224x224, batch 32 vs YOLOv3 at 1920x1080, batch 1.

At least two catalog chips swap places between the two rankings, and every flip sentence quotes the
figures of the estimate it comes from (checked here against a direct call of the estimator).
"""

from __future__ import annotations

import pytest

from fitbench.compare import compare
from fitbench.compare.ranking import fmt_bytes, fmt_mem, fmt_pct, fmt_rate, ordinal
from fitbench.hardware.estimator import estimate
from fitbench.hardware.spec import catalog, load_hardware
from fitbench.profile import profile


@pytest.fixture(scope="module")
def comp():
    return compare("yolov3", resolution=(1080, 1920), batch=[1], hw="catalog:*",
                   baseline="resnet50@224:batch=32", precision="int8", batch_curve=(1,), input_sizes=[])


def test_every_catalog_chip_is_ranked_where_it_can_run(comp):
    assert {r.offering for r in comp.rows} == {s.name for s in catalog()}
    assert all(r.tops_rank for r in comp.rows)
    for r in comp.rows:
        off = comp.offering(r.offering)
        assert bool(r.workload_rank) == off.at("workload", 1).feasible, r.offering
        assert bool(r.baseline_rank) == off.at("baseline", 32).feasible, r.offering
    # only chips without DRAM cannot run a model at all (hailo-8: YOLOv3 1080p exceeds its on-chip memory)
    unranked = {r.offering for r in comp.rows if not (r.workload_rank and r.baseline_rank)}
    assert unranked <= {s.name for s in catalog() if not s.has_dram}


def test_a_rank_flip_between_two_catalog_chips_is_found(comp):
    drops = [f for f in comp.flips if f.direction == "drops"]
    rises = [f for f in comp.flips if f.direction == "rises"]
    assert drops and rises, "ResNet-50 b32 and YOLOv3 1080p b1 should not rank the catalog the same way"
    # a pair that swapped: ahead on ResNet-50, behind on YOLOv3 -- checked with the estimator called directly
    yolo = profile("yolov3", resolution=(1080, 1920), batch=1, precision="int8")
    resnet = profile("resnet50", resolution=(224, 224), batch=1, precision="int8")
    down, up = drops[0].offering, next(f.offering for f in rises
                                       if f.baseline_rank > drops[0].baseline_rank)

    def ips(prof, name, b):
        return estimate(prof, load_hardware(name), batch=[b], precision="int8").points[0].throughput_ips

    assert ips(resnet, down, 32) > ips(resnet, up, 32)
    assert ips(yolo, down, 1) < ips(yolo, up, 1)


def test_every_flip_sentence_quotes_its_estimate(comp):
    # the sentences speak of the ranks among the offerings estimated on both workloads (competition ranking:
    # 1 + the number of those strictly faster); a chip that cannot run one of them (hailo-8, no DRAM) is left out
    both = [r for r in comp.rows if r.workload_rank and r.baseline_rank]

    def among(r, attr):
        return 1 + sum(1 for x in both if getattr(x, attr) > getattr(r, attr))

    by_name = {r.offering: r for r in comp.rows}
    for f in comp.flips:
        off = comp.offering(f.offering)
        if f.cause == "infeasible":
            assert "cannot run" in f.sentence and f.offering in {s.name for s in catalog() if not s.has_dram}
            continue
        w = off.at("workload", 1)
        r = by_name[f.offering]
        b_rank, w_rank = among(r, "baseline_throughput_ips"), among(r, "workload_throughput_ips")
        moved = "drops" if w_rank > b_rank else "rises"   # Flip.direction compares the table's ranks instead
        assert f.sentence.startswith(f"{f.offering} {moved} from {ordinal(b_rank)} to {ordinal(w_rank)}")
        assert f" (TOPS alone ranks it {ordinal(f.tops_rank)})" in f.sentence
        assert f.cause == w.dominant_bound
        if moved == "drops" and f.cause == "weights":
            assert fmt_bytes(w.dram_weight_bytes_per_inference) in f.sentence
            assert fmt_rate(off.dram_bandwidth) in f.sentence
        if moved == "drops" and f.cause == "activations":
            assert fmt_mem(off.sram_bytes) in f.sentence
            assert fmt_bytes(w.dram_activation_bytes_per_inference) in f.sentence
            assert fmt_rate(off.dram_bandwidth) in f.sentence
            assert fmt_pct(w.bound_share["activations"]) in f.sentence
        if moved == "drops" and f.cause == "compute":
            assert fmt_pct(w.mac_utilization) in f.sentence
