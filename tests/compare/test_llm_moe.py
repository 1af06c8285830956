"""MoE variant of the Llama family: Mixtral-8x7B's published parameter counts, the expected distinct experts
under uniform routing, and decode weight traffic = the touched experts' weights.

Published: Mixtral 8x7B has 46.7 B parameters, 12.9 B active per token (Jiang et al. 2024, arXiv:2401.04088,
section 2); config.json (huggingface.co/mistralai/Mixtral-8x7B-v0.1): 32 layers, hidden 4096, 32 heads, 8 KV
heads, FFN 14336, vocab 32000, 8 experts, 2 per token, untied LM head.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fitbench import zoo
from fitbench.compare.llm import llm_estimate
from fitbench.profile import profile
from fitbench.zoo.llama import PRESETS, expected_experts, moe_parameters, touched_experts

L, D, H, KVH, DH, FFN, V, E, K = 32, 4096, 32, 8, 128, 14336, 32000, 8, 2
ATTN = D * (H * DH + 2 * KVH * DH) + H * DH * D
EXPERT = 3 * D * FFN
SHARED = ATTN + D * E + 2 * D          # attention, router, two RMSNorms per layer
OUTER = 2 * V * D + D                  # embedding, LM head, final norm
SMALL = {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2, "head_dim": 16, "ffn": 96, "vocab": 256}


def closed_touched(tokens: int) -> int:
    return round(E * (1 - (1 - K / E) ** tokens))


def test_mixtral_published_parameter_counts():
    total, active = moe_parameters(PRESETS["mixtral-8x7b"][0])
    assert total == L * (SHARED + E * EXPERT) + OUTER
    assert active == L * (SHARED + K * EXPERT) + OUTER
    assert round(total / 1e9, 1) == 46.7 and round(active / 1e9, 1) == 12.9


def test_expected_distinct_experts_closed_form():
    assert expected_experts(8, 2, 1) == pytest.approx(2.0)            # one token: exactly k
    assert expected_experts(8, 2, 8) == pytest.approx(8 * (1 - 0.75 ** 8))  # 7.199
    assert expected_experts(8, 2, 10_000) == pytest.approx(8.0)
    assert [touched_experts(8, 2, t) for t in (1, 2, 8, 64)] == [2, 4, 7, 8]  # 2, 3.5 -> 4, 7.2 -> 7, 8.0
    # never more experts than token-expert rows: 1 token, top-2 of 64 touches 2
    assert touched_experts(64, 2, 1) == 2


@pytest.mark.parametrize("batch", [1, 2, 8, 64])
def test_decode_graph_holds_the_touched_experts(batch):
    m = zoo.build("mixtral-8x7b", batch=batch, context=16)
    assert m.parameters == L * (SHARED + closed_touched(batch) * EXPERT) + OUTER
    if batch == 1:
        assert m.parameters == moe_parameters(PRESETS["mixtral-8x7b"][0])[1]  # the active parameters


def test_prefill_touches_every_expert():
    m = zoo.build("mixtral-8x7b", phase="prefill", prompt=64)
    assert m.parameters == L * (SHARED + E * EXPERT) + OUTER


@pytest.mark.parametrize("batch", [1, 3])
def test_moe_macs_are_k_experts_per_token(batch):
    """Routed MACs = a dense SwiGLU of width k x ffn, plus the router's d x E per token."""
    moe = profile("mixtral-8x7b", batch=batch, context=8, **SMALL)
    dense = profile("llm-100m", batch=batch, context=8, **{**SMALL, "ffn": K * SMALL["ffn"]})
    assert moe.totals.macs == dense.totals.macs + batch * SMALL["layers"] * SMALL["hidden"] * E


def test_small_moe_runs_on_onnxruntime():
    import onnxruntime as ort

    m = zoo.build("mixtral-8x7b", batch=3, context=4, materialize_weights=True, **SMALL)
    init = {t.name for t in m.proto.graph.initializer}
    feeds = {}
    for i in m.proto.graph.input:
        if i.name in init:
            continue
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        feeds[i.name] = (np.zeros(shape, np.int64) if i.name in ("input_ids", "position_ids")
                         else np.ones(shape, np.float32))
    sess = ort.InferenceSession(m.proto.SerializeToString(), providers=["CPUExecutionProvider"])
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    assert out["logits"].shape == (3, 256) and out["present.1.key"].shape == (3, 2, 5, 16)
    assert np.isfinite(out["logits"]).all()


def test_decode_weight_traffic_grows_with_the_touched_experts():
    """On a chip bound by 100 GB/s of DRAM (compute 10^16 MAC/s), int8 weights: going from batch 1 to batch 8
    reads (7 - 2) more experts per layer per step; the KV cache (16 tokens) is negligible beside them."""
    hand = {"name": "hand-bw", "source": "test", "clock": "1 GHz", "macs_per_cycle": {"fp16": 10**7, "int8": 10**7},
            "sram": "1 MiB", "dram_bandwidth": "100 GB/s", "residency": "streamed", "dram_capacity": "80 GB"}
    e = llm_estimate("mixtral-8x7b", hand, batch=[1, 8], prompt=16, context=16, precision="int8", layers=2)
    p1, p8 = e.point(1), e.point(8)
    extra = 2 * (closed_touched(8) - K) * EXPERT  # bytes at int8
    assert (p8.tpot_s - p1.tpot_s) * 100e9 == pytest.approx(extra, rel=2e-3)
    # memory holds every expert: weights = all 2-layer parameters at one byte each
    total = 2 * (SHARED + E * EXPERT) + OUTER
    assert e.weight_bytes == pytest.approx(total, rel=1e-6)
    kv_seq = 2 * 2 * KVH * DH * 2 * 16
    assert e.max_batch == math.floor((80e9 - e.weight_bytes) / kv_seq)
    assert p1.tokens_per_s == pytest.approx(1 / p1.tpot_s) and p8.tokens_per_s == pytest.approx(8 / p8.tpot_s)


def test_moe_prefill_at_a_batch_is_that_many_prompts_of_compute():
    """Prefill touches all 8 experts at batch 1 and 8 alike, so on a compute-bound chip (10^12 int8 MAC/s,
    DRAM far faster than needed) TTFT at batch 8 = 8 x TTFT at batch 1; the model counts every expert."""
    chip = {"name": "hand-compute", "source": "test", "clock": "1 GHz", "macs_per_cycle": {"int8": 1000},
            "sram": "1 MiB", "dram_bandwidth": "1000 TB/s", "residency": "streamed"}
    e = llm_estimate("mixtral-8x7b", chip, batch=[1, 8], prompt=16, context=16, precision="int8", layers=2)
    assert e.point(8).ttft_s / e.point(1).ttft_s == pytest.approx(8, rel=1e-2)
    assert e.parameters == 2 * (SHARED + E * EXPERT) + OUTER


def test_moe_decode_at_a_batch_runs_its_shared_layers_as_one_gemm_of_b_rows():
    """A decode step at batch B built at B: each linear layer ([B, 1, d] @ [d, n], the weight shared by the
    B sequences) is ONE GEMM of B rows, as a batch-1 graph scaled to B is, not B GEMMs of one row. On a GPU
    model of 1 SM with 8 x 8 output tiles, 10^12 MAC/s, DRAM far faster than needed and no vector or overhead
    costs: every GEMM of >= 8 rows and a multiple of 8 columns fills its tiles (utilisation 1), while
    attention's per-head GEMMs of 1 query row fill 1/8 of a tile. So TPOT = (B x the step's non-attention
    MACs + 8 x its attention MACs) / 10^12. (With B one-row GEMMs the linear layers ran at 1/8: TPOT x ~8.)"""
    chip = {"name": "hand-tiles", "source": "test", "clock": "1 GHz", "macs_per_cycle": {"fp16": 1000, "int8": 1000},
            "sm_count": 1, "tile": "8x8", "sram": "1 MiB", "dram_bandwidth": "1000000 TB/s", "overlap": True,
            "residency": "streamed"}
    b, ctx, layers = 32, 7, 2
    cfg = {**SMALL, "layers": layers}
    d, a, kv, ffn, vocab = cfg["hidden"], cfg["heads"] * cfg["head_dim"], cfg["kv_heads"] * cfg["head_dim"], \
        cfg["ffn"], cfg["vocab"]
    assert closed_touched(b) == E  # 64 expert rows in chunks of 8: every expert GEMM has 8 rows
    per_token = layers * (d * (a + 2 * kv) + a * d + d * E + K * 3 * d * ffn) + vocab * d  # LM head untied
    attention = layers * 2 * cfg["heads"] * cfg["head_dim"] * (ctx + 1)  # scores and values over ctx + 1 keys
    e = llm_estimate("mixtral-8x7b", chip, batch=b, prompt=8, context=ctx, precision="int8", **cfg)
    assert e.decode_macs_per_token == per_token + attention  # the batch-1 graph: k experts per token
    assert e.point(b).tpot_s == pytest.approx((b * per_token + 8 * b * attention) / 1e12, rel=1e-3)
