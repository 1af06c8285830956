"""compare's LLM side table: decode tokens/s against the context length per offering, and its report figure.

On a chip bound by 100 GB/s of DRAM (compute 10^16 MAC/s, weights streamed), each extra token of context adds
its KV cache, 2 x layers x kv_heads x head_dim x 2 bytes (fp16), to every decode step: TPOT grows by that over
the bandwidth. Memory fit: weights + batch x KV cache of the context <= dram_capacity.
"""

from __future__ import annotations

import pytest

from fitbench.compare import compare
from fitbench.report.figures import all_figures

KV_TOKEN = 2 * 12 * 4 * 64 * 2  # llm-100m: 12 layers, 4 KV heads of 64, fp16
HAND = {"name": "hand-bw", "source": "test: a bandwidth-bound chip", "clock": "1 GHz",
        "macs_per_cycle": {"fp16": 10**7, "int8": 10**7}, "sram": "1 MiB", "dram_bandwidth": "100 GB/s",
        "residency": "streamed", "dram_capacity": "300 MB"}


@pytest.fixture(scope="module")
def comp():
    return compare("llm-100m:batch=1:context=256:prompt=32", hw=[HAND], precision="fp16", batch_curve=())


def test_tokens_per_second_against_context(comp):
    curve = comp.llm[0]["context_curve"]
    assert [c["context"] for c in curve] == [256, 1024, 4096, 16384]  # the workload's own context, then the grid
    by = {c["context"]: c for c in curve}
    # TPOT(16384) - TPOT(1024) = (16384 - 1024) tokens of KV cache over 100 GB/s
    assert (by[16384]["tpot_s"] - by[1024]["tpot_s"]) * 100e9 == pytest.approx((16384 - 1024) * KV_TOKEN, rel=1e-6)
    for c in curve:
        assert c["tokens_per_s"] == pytest.approx(1 / c["tpot_s"])  # batch 1
    # the workload's own context gives the side table's TPOT
    assert by[256]["tpot_s"] == comp.llm[0]["points"][0]["tpot_s"]
    # memory: fp16 weights (2 bytes x 100,682,496 parameters) + the KV cache of one sequence, against 300 MB
    weights = comp.llm[0]["weight_bytes"]
    assert weights == pytest.approx(2 * 100_682_496, rel=1e-6)
    for c in curve:
        assert c["fits_memory"] is (weights + c["context"] * KV_TOKEN <= 300e6)
    assert by[4096]["fits_memory"] and not by[16384]["fits_memory"]


def test_report_draws_the_context_curve(comp):
    figs = {fid: fig for fid, _, fig in all_figures(comp)}
    assert {"llm-phases", "llm-context", "throughput"} <= set(figs)
    (trace,) = figs["llm-context"]["data"]
    assert trace["x"] == [256, 1024, 4096, 16384]
    assert trace["marker"]["symbol"] == ["circle", "circle", "circle", "circle-open"]  # 16384 does not fit
    assert figs["llm-context"]["layout"]["xaxis"]["type"] == "log"
