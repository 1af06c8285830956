"""``compare`` reads verified supplier results from the store: which rows belong to the workload, which one
of several is used, and a verified chip that is not among ``--hw`` (stored rows written here by hand)."""

from __future__ import annotations

import pytest

from fitbench.compare import compare
from fitbench.store import SUPPLIER_VERIFIED, ResultRecord, open_store


def _row(hw, scenario, thr, lat, kit="k1", shape=(1, 3, 32, 32), batch=1, provenance=SUPPLIER_VERIFIED):
    return ResultRecord(kind="measure", model="tiny", model_sha256="0" * 64, batch=batch, precision="fp32",
                        hardware=hw, runtime="my_sdk",
                        conditions={"provenance": provenance, "scenario": scenario, "device": "X1",
                                    "kit": {"kit_id": kit, "name": "tiny b1",
                                            "inputs": {"input": {"shape": list(shape), "dtype": "float32"}}}},
                        metrics={"throughput_ips": thr, "latency_s": lat, "latency_p50_s": lat})


@pytest.fixture
def store(tmp_path):
    st = open_store(tmp_path / "r.db")
    for r in [
        _row("chip-x", "offline", 100.0, 0.5, kit="old"),  # an older kit: replaced by k1 below
        _row("chip-x", "single-stream", 50.0, 0.02),       # k1: latency from single-stream,
        _row("chip-x", "offline", 300.0, 0.9),             # throughput from offline
        _row("chip-y", "offline", 1.0, None, shape=(1, 3, 64, 64)),          # another input size: not ours
        _row("chip-y", "offline", 2.0, None, batch=4),                       # another batch: not ranked here
        _row("chip-y", "offline", 3.0, None, provenance="supplier-measured"),  # not verified: never used
    ]:
        st.put(r)
    return st


def test_verified_rows_are_chosen_combined_and_ranked(store):
    comp = compare("tiny", hw=["nvdla-nv-small"], store=store)
    x = comp.offering("chip-x")
    assert x.kind == "supplier" and x.workload == [] and len(x.verified) == 1
    fig = x.verified[0]
    assert (fig.throughput_ips, fig.latency_s, fig.method) == (300.0, 0.02, SUPPLIER_VERIFIED)
    with pytest.raises(KeyError):
        comp.offering("chip-y")
    rows = {r.offering: r for r in comp.rows}
    est = comp.offering("nvdla-nv-small").at("workload", 1).throughput_ips
    assert rows["chip-x"].workload_throughput_ips == 300.0 and rows["chip-x"].figure == SUPPLIER_VERIFIED
    assert rows["chip-x"].workload_rank == (1 if 300.0 > est else 2)
    assert rows["chip-x"].estimate_throughput_ips is None  # no estimate of chip-x to set beside it
    df = comp.to_dataframe()
    assert df[(df.offering == "chip-x")].workload.tolist() == ["verified"]


def test_without_a_store_nothing_supplier_measured_is_shown():
    comp = compare("tiny", hw=["nvdla-nv-small"])
    assert [o.name for o in comp.offerings] == ["nvdla-nv-small"]
    assert all(r.figure == "estimate" for r in comp.rows)
