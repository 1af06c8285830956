"""Estimator v2 on zoo models: what real chips show and v1 could not (issue "Estimator v2", Done means).

The GPU-like spec is written here (T4-class datasheet figures, guesses stated) so the expectations do not move
when the catalog is refined.
"""

from __future__ import annotations

import pytest

import fitbench
from fitbench.hardware.estimator import estimate

GPU_LIKE = {"name": "gpu-like", "source": "test: T4-class datasheet figures", "kind": "gpu", "clock": "1.5 GHz",
            "peak_tops": {"int8": "130 TOPS"}, "sram": "4 MiB", "dram_bandwidth": "320 GB/s", "sm_count": 40,
            "tile": "128x128", "layer_overhead": "4 us", "inference_overhead": "20 us", "host_link": "pcie3x16",
            "vector_ops_per_cycle": 2560}


@pytest.fixture(scope="module")
def ds2():
    return {s: fitbench.profile("deepspeech2", precision="int8", audio_seconds=s) for s in (5, 10)}


def test_deepspeech2_is_bound_by_its_sequential_steps(ds2):
    p10 = estimate(ds2[10], GPU_LIKE, batch=[1, 8])
    one = p10.point(1)
    rnn = [x for x in one.layers if x.op_class == "recurrent"]
    assert rnn and all(x.steps > 400 for x in rnn)
    # the recurrent layers, one dependent step after another, are nearly all of the time...
    assert sum(x.time_s for x in rnn) > 0.9 * one.latency_s
    # ...each step pays its overhead and maps a batch-1 GEMM: per-layer time >= steps x overhead
    assert all(x.time_s >= x.steps * 4e-6 for x in rnn)
    # so 10 s of audio takes twice 5 s (steps scale with the audio), and 8 utterances at once take far less
    # than 8 x one: the step, not the MACs, is what binds at batch 1
    five = estimate(ds2[5], GPU_LIKE).point(1)
    assert one.latency_s / five.latency_s == pytest.approx(2.0, rel=0.05)
    assert p10.point(8).latency_s < 2 * one.latency_s


def test_bert_embedding_costs_rows_not_the_table():
    bert = fitbench.profile("bert-base", precision="int8")           # 128 tokens, d = 768
    p = estimate(bert, {**GPU_LIKE, "sram": "1 MiB"}).point(1)
    (emb,) = [x for x in p.layers if x.name == "embeddings.word_embeddings.gather"]
    table = next(x.weight_bytes for x in bert.layers if x.name == "embeddings.word_embeddings.gather")
    assert table == 30522 * 768                                       # the vocabulary table, INT8
    assert emb.dram_weight_bytes == 128 * 768                         # the rows read, not the table
